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

from ..jsonfast import dumpb
from .body import read_model
from .errors import ApiError
from .metrics import CONTENT_TYPE_LATEST
from .schemas import BatchItem, BatchRequest, ScanRequest, first_error
from .state import LOG, STATE, TENANT, ServiceState

__all__ = ["healthz", "metrics", "openapi", "readyz", "reload", "scan", "scan_batch"]

YIELD_EVERY_S = 0.005  # a batch gives the loop a turn at least this often


JSON_UTF8 = "application/json; charset=utf-8"


def json_response(data: Any, status: int = 200) -> web.Response:
    # one Content-Type header, as content_type= + charset= would set it, without their parsing
    return web.Response(body=dumpb(data), status=status, headers={"Content-Type": JSON_UTF8})


def _ready_state(request: web.Request) -> ServiceState:
    state = request.app[STATE]
    if not state.ready or state.scanner is None:
        raise ApiError(503, "not_ready", "the scanner is not loaded yet")
    return state


async def scan(request: web.Request) -> web.Response:
    """POST /v1/scan: one message -> its verdict (scored with the others of the same loop turn: coalesce.py)."""
    state = _ready_state(request)
    req = await read_model(request, state.settings.service.limits.max_body_bytes, ScanRequest)
    if req.fetch and state.fetcher is not None:
        verdict = (await _fetching(state, state.scanner, req.text, id=req.id, context=req.context, lang=req.lang)).to_dict()
    else:
        found = await state.coalescer.scan(state.scanner, req.text, id=req.id, context=req.context, lang=req.lang)
        verdict = found.to_dict()
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
    """POST /v1/scan/batch: verdicts in order; a bad item gets ``{"id", "error"}`` in its place.

    Messages are scanned in chunks: each chunk's texts are normalized and scored by the text model in one
    vectorized pass (:meth:`Scanner.prepared`), then scanned one by one with their own id, context and
    language. Between chunks the batch yields to the event loop; a chunk is sized to take about
    ``YIELD_EVERY_S``. A message not started when the time budget is spent gets a ``time_budget`` error.
    """
    state = _ready_state(request)
    limits = state.settings.service.limits
    t0 = time.perf_counter()
    req = await read_model(request, limits.max_batch_body_bytes, BatchRequest)
    if len(req.messages) > limits.max_batch_messages:
        raise ApiError(
            413, "payload_too_large", f"{len(req.messages)} messages; at most {limits.max_batch_messages} per batch"
        )
    run = _BatchRun(state, request[TENANT], req.lang, t0 + limits.batch_budget_ms / 1000.0)
    items = [_parse_item(index, item) for index, item in enumerate(req.messages)]
    if req.fetch and state.fetcher is not None:
        await run.fetching(items)
    else:
        await run.chunked(items)
    info = request[LOG]
    info["messages"] = len(req.messages)
    info["verdicts"] = dict(run.counts)
    if run.texts is not None:
        info["texts"] = run.texts
    return json_response({"results": run.results})


CHUNK_FIRST = 16  # messages in a batch's first chunk, before the per-message time is known
CHUNK_MAX = 256  # the most messages prepared and scanned between two turns of the event loop


def _parse_item(index: int, item: Any) -> BatchItem | dict[str, Any]:
    """The validated message, or the ``{"id", "error"}`` entry that takes its place."""
    if not isinstance(item, dict):
        return _item_error(item, "invalid_request", f"messages.{index}: must be a JSON object")
    try:
        return BatchItem.model_validate(item)
    except ValidationError as exc:
        return _item_error(item, "invalid_request", first_error(exc, f"messages.{index}"))


class _BatchRun:
    """One batch request's scanning: results in order, verdict counts, texts for the log, the budget."""

    def __init__(self, state: ServiceState, tenant: str, lang: str | None, deadline: float):
        self.state = state
        self.scanner = state.scanner  # one scanner for the whole batch, even if a reload happens meanwhile
        self.tenant = tenant
        self.lang = lang
        self.deadline = deadline
        self.results: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.texts: list[str] | None = [] if state.settings.service.log_text else None

    def _out_of_time(self, m: BatchItem | dict[str, Any]) -> bool:
        """Past the deadline: the item gets a ``time_budget`` error (never a verdict nobody computed)."""
        if time.perf_counter() <= self.deadline:
            return False
        raw = {"id": m.id} if isinstance(m, BatchItem) else m
        self.results.append(_item_error(raw, "time_budget", "not scanned: the request's scan time budget was spent"))
        self.counts["time_budget"] += 1
        return True

    def _error(self, entry: dict[str, Any]) -> None:
        self.results.append(entry)
        self.counts["error"] += 1

    def _done(self, msg: BatchItem, found: Any) -> None:
        """Record one scanned message: metrics, moderation, counts, the log's texts, the result."""
        verdict = found.to_dict()
        self.state.metrics.count_verdict(verdict)
        moderation = self.state.moderation
        if moderation is not None:
            moderation.record(verdict, tenant=self.tenant, text=msg.text, message_id=msg.id, context=msg.context)
        self.counts[verdict["verdict"]] += 1
        if self.texts is not None:
            self.texts.append(msg.text)
        self.results.append(verdict)

    async def chunked(self, items: list[BatchItem | dict[str, Any]]) -> None:
        """Scan ``items`` chunk by chunk, each chunk prepared in one vectorized pass."""
        size, start = CHUNK_FIRST, 0
        while start < len(items):
            if start:
                await asyncio.sleep(0)  # other requests of this worker get a turn between chunks
            chunk = items[start:start + size]
            began = time.perf_counter()
            self._scan_chunk(chunk)
            start += len(chunk)
            per_message = (time.perf_counter() - began) / len(chunk)
            size = max(1, min(CHUNK_MAX, int(YIELD_EVERY_S / per_message) if per_message > 0 else CHUNK_MAX))

    def _scan_chunk(self, chunk: list[BatchItem | dict[str, Any]]) -> None:
        texts = [m.text for m in chunk if isinstance(m, BatchItem)]
        if not texts or time.perf_counter() > self.deadline:
            for m in chunk:
                self._one_without_scan(m)
            return
        scanner = self.scanner
        with scanner.prepared(texts):
            for m in chunk:
                if self._one_without_scan(m):
                    continue
                assert isinstance(m, BatchItem)
                self._done(m, scanner.scan(m.text, id=m.id, context=m.context, lang=m.lang or self.lang))

    def _one_without_scan(self, m: BatchItem | dict[str, Any]) -> bool:
        """Answer ``m`` if it needs no scan (past the budget, or invalid); True if answered."""
        if self._out_of_time(m):
            return True
        if not isinstance(m, BatchItem):
            self._error(m)
            return True
        return False

    async def fetching(self, items: list[BatchItem | dict[str, Any]]) -> None:
        """Scan ``items`` one by one, each fetching the pages behind its links (no shared preparation)."""
        last_yield = time.perf_counter()
        for m in items:
            if time.perf_counter() - last_yield > YIELD_EVERY_S:
                await asyncio.sleep(0)
                last_yield = time.perf_counter()
            if self._one_without_scan(m):
                continue
            assert isinstance(m, BatchItem)
            lang = m.lang or self.lang
            self._done(m, await _fetching(self.state, self.scanner, m.text, id=m.id, context=m.context, lang=lang))


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
