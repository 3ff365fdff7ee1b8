"""The endpoints of SPEC §3. Scans run inline on the event loop (see docs/service.md for the
measurement behind that); a batch yields to the loop every few milliseconds so one large batch does
not stall the other requests of its worker."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from .body import read_model
from .errors import ApiError
from .metrics import CONTENT_TYPE_LATEST
from .schemas import BatchItem, BatchRequest, ScanRequest, first_error
from .state import LOG, STATE, TENANT, ServiceState

__all__ = ["healthz", "metrics", "openapi", "readyz", "reload", "scan", "scan_batch"]

YIELD_EVERY_S = 0.005  # a batch gives the loop a turn at least this often


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
JSON_UTF8 = "application/json; charset=utf-8"


def json_response(data: Any, status: int = 200) -> web.Response:
    # one Content-Type header, as content_type= + charset= would set it, without their parsing
    return web.Response(body=_dumps(data).encode("utf-8"), status=status, headers={"Content-Type": JSON_UTF8})


def _ready_state(request: web.Request) -> ServiceState:
    state = request.app[STATE]
    if not state.ready or state.scanner is None:
        raise ApiError(503, "not_ready", "the scanner is not loaded yet")
    return state


async def scan(request: web.Request) -> web.Response:
    """POST /v1/scan: one message -> its verdict."""
    state = _ready_state(request)
    req = await read_model(request, state.settings.service.limits.max_body_bytes, ScanRequest)
    if req.fetch and state.fetcher is not None:
        verdict = (await _fetching(state, state.scanner, req.text, id=req.id, context=req.context, lang=req.lang)).to_dict()
    else:
        verdict = state.scanner.scan(req.text, id=req.id, context=req.context, lang=req.lang).to_dict()
    state.metrics.count_verdict(verdict)
    if state.moderation is not None:
        state.moderation.record(verdict, tenant=request[TENANT], text=req.text, message_id=req.id, context=req.context)
    info = request[LOG]
    info["id"] = req.id
    info["verdict"] = verdict["verdict"]
    info["score"] = verdict["score"]
    if state.settings.service.log_text:
        info["text"] = req.text
    return json_response(verdict)


async def _fetching(state: ServiceState, scanner: Any, text: str, **kw: Any) -> Any:
    """A scan that also fetches and judges the pages behind the message's non-official links."""
    from ..page.scan import scan_fetching_within

    f = state.settings.fetch
    return await scan_fetching_within(scanner, state.fetcher, text, f.budget_ms / 1000.0, max_links=f.max_links, **kw)


def _item_id(item: Any) -> Any:
    if isinstance(item, dict):
        value = item.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return value
    return None


def _item_error(item: Any, code: str, message: str) -> dict[str, Any]:
    return {"id": _item_id(item), "error": {"code": code, "message": message}}


async def scan_batch(request: web.Request) -> web.Response:
    """POST /v1/scan/batch: verdicts in order; a bad item gets ``{"id", "error"}`` in its place."""
    state = _ready_state(request)
    limits = state.settings.service.limits
    t0 = time.perf_counter()
    req = await read_model(request, limits.max_batch_body_bytes, BatchRequest)
    if len(req.messages) > limits.max_batch_messages:
        raise ApiError(
            413, "payload_too_large", f"{len(req.messages)} messages; at most {limits.max_batch_messages} per batch"
        )
    scanner = state.scanner  # one scanner for the whole batch, even if a reload happens meanwhile
    deadline = t0 + limits.batch_budget_ms / 1000.0
    log_text = state.settings.service.log_text
    moderation, tenant = state.moderation, request[TENANT]
    results: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    texts: list[str] = []
    last_yield = time.perf_counter()
    for index, item in enumerate(req.messages):
        now = time.perf_counter()
        if now > deadline:
            results.append(_item_error(item, "time_budget", "not scanned: the request's scan time budget was spent"))
            counts["time_budget"] += 1
            continue
        if now - last_yield > YIELD_EVERY_S:
            await asyncio.sleep(0)
            last_yield = time.perf_counter()
        if not isinstance(item, dict):
            results.append(_item_error(item, "invalid_request", f"messages.{index}: must be a JSON object"))
            counts["error"] += 1
            continue
        try:
            msg = BatchItem.model_validate(item)
        except ValidationError as exc:
            results.append(_item_error(item, "invalid_request", first_error(exc, f"messages.{index}")))
            counts["error"] += 1
            continue
        if req.fetch and state.fetcher is not None:
            found = await _fetching(state, scanner, msg.text, id=msg.id, context=msg.context, lang=msg.lang or req.lang)
        else:
            found = scanner.scan(msg.text, id=msg.id, context=msg.context, lang=msg.lang or req.lang)
        verdict = found.to_dict()
        state.metrics.count_verdict(verdict)
        if moderation is not None:
            moderation.record(verdict, tenant=tenant, text=msg.text, message_id=msg.id, context=msg.context)
        counts[verdict["verdict"]] += 1
        if log_text:
            texts.append(msg.text)
        results.append(verdict)
    info = request[LOG]
    info["messages"] = len(req.messages)
    info["verdicts"] = dict(counts)
    if log_text:
        info["texts"] = texts
    return json_response({"results": results})


async def healthz(request: web.Request) -> web.Response:
    """GET /healthz: the process answers."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """GET /readyz: rules loaded and not stopping."""
    state = _ready_state(request)
    if state.stopping:
        raise ApiError(503, "not_ready", "this worker is stopping")
    if state.moderation is not None:
        try:
            await state.moderation.ping()
        except Exception as exc:  # noqa: BLE001 - any store failure: not ready, say why
            raise ApiError(503, "not_ready", f"the moderation store is unreachable: {exc}") from None
    return json_response({"status": "ok", "rules_version": state.scanner.rules_version})


async def metrics(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus exposition text."""
    body = request.app[STATE].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def openapi(request: web.Request) -> web.Response:
    """GET /openapi.json: the OpenAPI 3.1 document (built once, on the first request: ~10 ms of
    pydantic schema generation that start-up does not need)."""
    state = request.app[STATE]
    if not state.openapi:
        from .openapi import build_openapi

        state.openapi = json.dumps(build_openapi(), ensure_ascii=False).encode("utf-8")
    return web.Response(body=state.openapi, content_type="application/json", charset="utf-8")


async def reload(request: web.Request) -> web.Response:
    """POST /v1/admin/reload: rebuild the scanner from the configuration and swap it in."""
    state = request.app[STATE]
    from ..ruleset import RuleLoadError
    from ..settings import ConfigError

    try:
        previous, current = await state.reload()
    except (ConfigError, RuleLoadError) as exc:
        raise ApiError(500, "reload_failed", f"reload failed, the previous rules stay in use: {exc}") from None
    return json_response({"status": "reloaded", "rules_version": current, "previous_rules_version": previous})
