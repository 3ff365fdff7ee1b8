"""Two middlewares around the one error middleware (``errors.error_middleware``):

* ``observe_middleware`` (outermost): latency and status metrics, the JSON access-log line;
* ``guard_middleware`` (innermost): authentication, per-key rate, in-flight cap — by the access
  class of the matched route (``scan``, ``admin``, ``health``, ``metrics``, ``openapi``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from .accesslog import log_request
from .config import ApiKey
from .errors import ApiError
from .keys import parse_bearer
from .limits import retry_after
from .state import LOG, STATE, TENANT, ServiceState

__all__ = ["ACCESS", "guard_middleware", "observe_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

ACCESS = web.AppKey("phishguard_access", dict)  # canonical path -> access class
LOCAL_TENANT = "local"


def _endpoint(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time the request; count it by endpoint and status; write its access-log line."""
    t0 = time.perf_counter()
    info: dict = {}
    request[LOG] = info
    status = 499  # the client went away (or the handler was cancelled) before an answer
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        elapsed = time.perf_counter() - t0
        state = request.app[STATE]
        endpoint = _endpoint(request)
        state.metrics.observe(endpoint, status, elapsed)
        if state.settings.service.access_log:
            record = {
                "method": request.method,
                "path": endpoint if endpoint != "unmatched" else request.path[:200],
                "status": status,
                "latency_ms": round(elapsed * 1000.0, 3),
                "tenant": request.get(TENANT),
            }
            record.update(info)
            log_request(record)


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


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authenticate, then apply the per-key rate and the in-flight cap to /v1 endpoints."""
    access = request.app[ACCESS].get(_endpoint(request))
    if access is None:  # 404 / 405: let the router's error through
        return await handler(request)
    state = request.app[STATE]
    svc = state.settings.service
    opened = {"health": svc.open_health, "metrics": svc.open_metrics, "openapi": svc.open_openapi}
    if opened.get(access, False):
        return await handler(request)
    tenant = _authenticate(state, request, need_admin=access == "admin")
    request[TENANT] = tenant
    if access not in ("scan", "admin"):
        return await handler(request)
    wait = state.rate.acquire(tenant)
    if wait > 0:
        state.metrics.rejected.labels("rate_limited").inc()
        raise ApiError(429, "rate_limited", "too many requests for this key", {"Retry-After": retry_after(wait)})
    if not state.in_flight.enter():
        state.metrics.rejected.labels("overloaded").inc()
        raise ApiError(
            503,
            "overloaded",
            "too many requests in flight; retry later",
            {"Retry-After": str(svc.limits.retry_after_s)},
        )
    state.metrics.in_flight.inc()
    try:
        return await handler(request)
    finally:
        state.in_flight.leave()
        state.metrics.in_flight.dec()
