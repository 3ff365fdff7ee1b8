"""The service's one middleware, ``service_middleware``: what used to be three layers (observe,
errors, guard) in one coroutine, since each aiohttp middleware layer costs a coroutine and a
``functools.partial`` call per request. In order:

* observe (outermost): latency and status metrics, the JSON access-log line — always, even when the
  handler raised or the client went away;
* errors: every failure becomes SPEC §3's error body (``errors.response_for``);
* guard (innermost): authentication, per-key rate, in-flight cap — by the access class of the
  matched route (``scan``, ``admin``, ``feed``, ``health``, ``metrics``, ``openapi``, ``moderation``).

``observe_middleware`` / ``guard_middleware`` (and ``errors.error_middleware``) stay importable for
callers that assemble their own stack; the app uses the combined one.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from .accesslog import ACCESS_LOGGER, log_request
from .config import ApiKey
from .errors import ApiError, error_middleware, response_for
from .keys import parse_bearer
from .limits import retry_after
from .state import LOG, STATE, TENANT, ServiceState

__all__ = ["ACCESS", "guard_middleware", "observe_middleware", "service_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ACCESS = web.AppKey("phishguard_access", dict)  # canonical path -> access class
LOCAL_TENANT = "local"

# what the guard does for an access class (precomputed per app: ServiceState.policy)
OPEN, AUTH, AUTH_ADMIN, AUTH_LIMITED = 0, 1, 2, 3

_perf_counter = time.perf_counter


def access_policy(access: dict[str, str], svc: object) -> dict[str, int]:
    """Canonical path -> OPEN / AUTH / AUTH_LIMITED / AUTH_ADMIN, from the access classes and settings."""
    opened = {
        "health": svc.open_health,  # type: ignore[attr-defined]
        "metrics": svc.open_metrics,  # type: ignore[attr-defined]
        "openapi": svc.open_openapi,  # type: ignore[attr-defined]
        "moderation": True,  # moderators' endpoints check moderator tokens themselves, never API keys
    }
    policy = {}
    for path, cls in access.items():
        if opened.get(cls, False):
            policy[path] = OPEN
        elif cls == "admin":
            policy[path] = AUTH_ADMIN
        elif cls == "scan":
            policy[path] = AUTH_LIMITED
        else:
            policy[path] = AUTH
    return policy


def _endpoint(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def _authenticate(state: ServiceState, request: web.Request, need_admin: bool) -> str:
    """The tenant of the request's key; 401 without a valid key, 403 when admin is needed."""
    if not state.keys:
        return LOCAL_TENANT  # no keys configured: local use (serve binds loopback only)
    key = parse_bearer(request.headers.get("Authorization"))
    entry: ApiKey | None = state.keys.lookup(key) if key is not None else None
    if entry is None:
        message = "missing API key (Authorization: Bearer <key>)" if key is None else "unknown API key"
        raise ApiError(401, "unauthorized", message, {"WWW-Authenticate": "Bearer"})
    if need_admin and not entry.admin:
        raise ApiError(403, "forbidden", "this key may not call admin endpoints")
    return entry.tenant


async def _guarded(state: ServiceState, policy: int, request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, then apply the per-key rate and the in-flight cap to /v1 endpoints."""
    tenant = _authenticate(state, request, need_admin=policy == AUTH_ADMIN)
    request[TENANT] = tenant
    if policy == AUTH:
        return await handler(request)
    wait = state.rate.acquire(tenant)
    if wait > 0:
        state.metrics.count_rejected("rate_limited")
        raise ApiError(429, "rate_limited", "too many requests for this key", {"Retry-After": retry_after(wait)})
    if not state.in_flight.enter():
        state.metrics.count_rejected("overloaded")
        raise ApiError(
            503,
            "overloaded",
            "too many requests in flight; retry later",
            {"Retry-After": str(state.settings.service.limits.retry_after_s)},
        )
    gauge = state.metrics.in_flight
    gauge.inc()
    try:
        return await handler(request)
    finally:
        state.in_flight.leave()
        gauge.dec()


def _observe(state: ServiceState, request: web.Request, endpoint: str, status: int, elapsed: float, info: dict) -> None:
    state.metrics.observe(endpoint, status, elapsed)
    if state.access_log and ACCESS_LOGGER.isEnabledFor(20):  # logging.INFO
        record = {
            "method": request.method,
            "path": endpoint if endpoint != "unmatched" else request.path[:200],
            "status": status,
            "latency_ms": round(elapsed * 1000.0, 3),
            "tenant": request.get(TENANT),
        }
        record.update(info)
        log_request(record)


@web.middleware
async def service_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Observe, map errors, guard: the three concerns above in one layer."""
    t0 = _perf_counter()
    info: dict = {}
    request[LOG] = info
    state = request.app[STATE]
    resource = request.match_info.route.resource
    endpoint = resource.canonical if resource is not None else "unmatched"
    status = 499  # the client went away (or the handler was cancelled) before an answer
    try:
        try:
            policy = state.policy.get(endpoint)
            if policy is None or policy == OPEN:  # None: 404 / 405, let the router's error through
                response = await handler(request)
            else:
                response = await _guarded(state, policy, request, handler)
        except Exception as exc:  # noqa: BLE001 - response_for re-raises what must not be answered
            response = response_for(request, exc)
        status = response.status
        return response
    finally:
        _observe(state, request, endpoint, status, _perf_counter() - t0, info)


# ----------------------------------------------------------------- the separate layers (not used by the app)


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time the request; count it by endpoint and status; write its access-log line."""
    t0 = _perf_counter()
    info: dict = {}
    request[LOG] = info
    status = 499
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        _observe(request.app[STATE], request, _endpoint(request), status, _perf_counter() - t0, info)


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, then apply the per-key rate and the in-flight cap to /v1 endpoints."""
    state = request.app[STATE]
    policy = state.policy.get(_endpoint(request))
    if policy is None or policy == OPEN:
        return await handler(request)
    return await _guarded(state, policy, request, handler)


STACK = (observe_middleware, error_middleware, guard_middleware)  # equivalent to service_middleware
