"""The review API (``/v1/moderation/*``) and the marketplaces' decisions feed (``/v1/decisions``).

Moderation endpoints take a moderator's token — a login session (``POST /v1/moderation/login``) or a
moderator key (``phishguard users key``) — as ``Authorization: Bearer …``; scanning API keys are not
moderator tokens, so they can neither read nor decide flags. Viewers read; moderators and admins
decide. A decision is answered only after the store committed it.

The feed (``GET /v1/decisions``) is for marketplaces: it takes the scanning key and shows the events
of that key's tenant plus the global ones (domains confirmed or dismissed).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..service.body import read_model
from ..service.errors import ApiError
from ..service.handlers import json_response
from ..service.keys import parse_bearer
from ..service.state import TENANT
from .runtime import MODERATION, AuthError, Forbidden, LoginPaused, Moderation
from .store.base import FlagQuery, NotFound, StoreError, User

__all__ = ["API_ROUTES", "FEED_ROUTES", "REQUEST_MODELS", "flag_query"]

MAX_BODY = 65536
MAX_ID = 2**63 - 1  # the stores' ids are signed 64-bit integers (SQLite INTEGER, PostgreSQL BIGINT)
MAX_DOMAIN = 253  # the longest DNS name, in characters


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_max_length=10000)  # SPEC §3: unknown fields are ignored


class LoginRequest(_Body):
    user: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class DecisionRequest(_Body):
    action: Literal["confirm", "dismiss", "reopen"]
    note: str = Field("", max_length=2000)


Domain = Annotated[str, StringConstraints(max_length=MAX_DOMAIN, pattern=r"\S")]  # not blank


class CampaignDecisionRequest(DecisionRequest):
    key: str = Field(min_length=3, max_length=500)


class DomainDecisionRequest(DecisionRequest):
    domains: list[Domain] = Field(min_length=1, max_length=1000)


def _moderation(request: web.Request) -> Moderation:
    mod = request.app.get(MODERATION)
    if mod is None:
        raise ApiError(404, "not_found", "moderation is not enabled on this service")
    return mod


async def _user(request: web.Request) -> tuple[Moderation, User]:
    mod = _moderation(request)
    token = parse_bearer(request.headers.get("Authorization"))
    user = await _store(mod.user_for_token(token)) if token else None
    if user is None:
        message = "missing moderator token (Authorization: Bearer <token>)" if not token else "invalid or expired moderator token"
        raise ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
    request[TENANT] = f"moderator:{user.name}"
    return mod, user


async def _store(awaitable: Any) -> Any:
    """Await a store call; its failures become SPEC error bodies (404 / 403 / 503)."""
    try:
        return await awaitable
    except NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except Forbidden as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except StoreError as exc:
        raise ApiError(503, "store_unavailable", f"the moderation store is unavailable: {exc}") from None


def _number(request: web.Request, name: str, kind: type[int] | type[float]) -> Any:
    """Query parameter ``name`` as ``kind`` (None when absent); 400 when it is not a finite number."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = kind(raw)
    except ValueError:
        raise ApiError(400, "invalid_request", f"query parameter {name}: must be {'an integer' if kind is int else 'a number'}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ApiError(400, "invalid_request", f"query parameter {name}: must be a finite number")
    return value


def _int(request: web.Request, name: str, default: int | None = None, *, lo: int = 0, hi: int = 2**62) -> int | None:
    value = _number(request, name, int)
    if value is None:
        return default
    if not lo <= value <= hi:
        raise ApiError(400, "invalid_request", f"query parameter {name}: must be within [{lo}, {hi}]")
    return value


def _float(request: web.Request, name: str) -> float | None:
    return _number(request, name, float)


def _choice(request: web.Request, name: str, choices: tuple[str, ...]) -> str | None:
    raw = request.query.get(name) or None
    if raw is not None and raw not in choices:
        raise ApiError(400, "invalid_request", f"query parameter {name}: one of {', '.join(choices)}")
    return raw


def flag_query(request: web.Request) -> FlagQuery:
    """The queue filters of a request's query string (shared with the web page)."""
    q = request.query
    return FlagQuery(
        status=_choice(request, "status", ("open", "confirmed", "dismissed")),  # type: ignore[arg-type]
        category=q.get("category") or None,
        brand=q.get("brand") or None,
        domain=(q.get("domain") or "").strip().lower() or None,
        tenant=q.get("tenant") or None,
        campaign=q.get("campaign") or None,
        since=_float(request, "since"),
        until=_float(request, "until"),
        min_score=_float(request, "min_score"),
        max_score=_float(request, "max_score"),
        limit=_int(request, "limit", 50, lo=1, hi=500) or 50,
        before_id=_int(request, "before"),
    )


def _plain(obj: Any) -> Any:
    return dataclasses.asdict(obj)


async def login(request: web.Request) -> web.Response:
    """POST /v1/moderation/login {user, password} -> a session token."""
    mod = _moderation(request)
    body = await read_model(request, MAX_BODY, LoginRequest)
    try:
        token, user = await _store(mod.login(body.user, body.password))
    except LoginPaused as exc:
        raise ApiError(429, "rate_limited", str(exc), {"Retry-After": str(int(exc.retry_after) + 1)}) from None
    except AuthError as exc:
        raise ApiError(401, "unauthorized", str(exc)) from None
    return json_response({"token": token, "user": user.name, "role": user.role,
                          "expires_at": time.time() + mod.config.session_ttl_s})


async def logout(request: web.Request) -> web.Response:
    """POST /v1/moderation/logout: the session token stops working."""
    mod, _ = await _user(request)
    token = parse_bearer(request.headers.get("Authorization")) or ""
    await _store(mod.logout(token))
    return json_response({"status": "logged_out"})


async def list_flags(request: web.Request) -> web.Response:
    """GET /v1/moderation/flags: the queue, filtered, newest first; ``next`` pages on (``before``)."""
    mod, _ = await _user(request)
    query = flag_query(request)
    page = await _store(mod.run(lambda s: s.list_flags(query)))
    return json_response({"items": [_plain(f) for f in page.items], "next": page.next})


def _flag_id(request: web.Request) -> int:
    """The path's flag id; 404 for anything that cannot be a stored id (not an integer, out of range)."""
    try:
        fid = int(request.match_info["flag_id"])
    except ValueError:
        fid = 0
    if not 1 <= fid <= MAX_ID:
        raise ApiError(404, "not_found", "no such flag")
    return fid


async def get_flag(request: web.Request) -> web.Response:
    """GET /v1/moderation/flags/{id}: everything the scanner saw, and the flag's decisions."""
    mod, _ = await _user(request)
    fid = _flag_id(request)
    flag, history = await _store(mod.run(lambda s: (s.get_flag(fid), s.decisions(flag_id=fid))))
    return json_response({"flag": _plain(flag), "decisions": [_plain(d) for d in history]})


async def decide_flag(request: web.Request) -> web.Response:
    """POST /v1/moderation/flags/{id}/decision {action, note}: answered after the commit."""
    mod, user = await _user(request)
    fid = _flag_id(request)
    body = await read_model(request, MAX_BODY, DecisionRequest)
    decisions = await _store(mod.decide(user, body.action, flag_ids=[fid], note=body.note))
    return json_response({"decisions": [_plain(d) for d in decisions]})


async def list_campaigns(request: web.Request) -> web.Response:
    """GET /v1/moderation/campaigns: open flags grouped by shared domain, path template or kit."""
    mod, _ = await _user(request)
    status = _choice(request, "status", ("open", "confirmed", "dismissed")) or "open"
    min_flags = _int(request, "min_flags", 2, lo=1, hi=1_000_000) or 2
    limit = _int(request, "limit", 100, lo=1, hi=1000) or 100
    found = await _store(mod.run(lambda s: s.campaigns(status=status, min_flags=min_flags, limit=limit)))  # type: ignore[arg-type]
    return json_response({"campaigns": [_plain(c) for c in found]})


async def decide_campaign(request: web.Request) -> web.Response:
    """POST /v1/moderation/campaigns/decision {key, action, note}: every open flag of the campaign."""
    mod, user = await _user(request)
    body = await read_model(request, MAX_BODY, CampaignDecisionRequest)
    decisions = await _store(mod.decide_campaign(user, body.key, body.action, body.note))
    return json_response({"decisions": [_plain(d) for d in decisions]})


async def decide_domains(request: web.Request) -> web.Response:
    """POST /v1/moderation/domains/decision {domains, action, note}: decide on domains directly."""
    mod, user = await _user(request)
    body = await read_model(request, MAX_BODY, DomainDecisionRequest)
    domains = [d.strip().lower().rstrip(".") for d in body.domains if d.strip()]
    decisions = await _store(mod.decide(user, body.action, domains=domains, note=body.note))
    return json_response({"decisions": [_plain(d) for d in decisions]})


async def list_domains(request: web.Request) -> web.Response:
    """GET /v1/moderation/domains: the moderators' deny and allow lists as every worker applies them."""
    mod, _ = await _user(request)
    version, statuses = await _store(mod.run(lambda s: (s.lists_version(), s.domain_statuses())))
    return json_response({"version": version, "domains": [_plain(d) for d in statuses]})


async def history(request: web.Request) -> web.Response:
    """GET /v1/moderation/decisions: the audit trail, oldest first (``after`` = last id seen)."""
    mod, _ = await _user(request)
    after = _int(request, "after", 0) or 0
    limit = _int(request, "limit", 100, lo=1, hi=1000) or 100
    fid = _int(request, "flag_id")
    found = await _store(mod.run(lambda s: s.decisions(flag_id=fid, after_id=after, limit=limit)))
    return json_response({"decisions": [_plain(d) for d in found]})


async def feed(request: web.Request) -> web.Response:
    """GET /v1/decisions?after=ID: decisions and re-judged messages for the key's tenant (poll it)."""
    mod = _moderation(request)
    after = _int(request, "after", 0) or 0
    limit = _int(request, "limit", 100, lo=1, hi=1000) or 100
    tenant = request.get(TENANT)
    events = await _store(mod.run(lambda s: s.events(after_id=after, tenant=tenant, limit=limit)))
    items = [_plain(e) for e in events]
    return json_response({"events": items, "next": items[-1]["id"] if items else after})


REQUEST_MODELS = (LoginRequest, DecisionRequest, CampaignDecisionRequest, DomainDecisionRequest)

# (method, path, handler); the app registers them with access class "moderation" (own auth) or
# "feed" (a scanning key).
API_ROUTES = (
    ("POST", "/v1/moderation/login", login),
    ("POST", "/v1/moderation/logout", logout),
    ("GET", "/v1/moderation/flags", list_flags),
    ("GET", "/v1/moderation/flags/{flag_id}", get_flag),
    ("POST", "/v1/moderation/flags/{flag_id}/decision", decide_flag),
    ("GET", "/v1/moderation/campaigns", list_campaigns),
    ("POST", "/v1/moderation/campaigns/decision", decide_campaign),
    ("POST", "/v1/moderation/domains/decision", decide_domains),
    ("GET", "/v1/moderation/domains", list_domains),
    ("GET", "/v1/moderation/decisions", history),
)
FEED_ROUTES = (("GET", "/v1/decisions", feed),)
