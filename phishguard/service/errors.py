"""The one error middleware: every failure becomes SPEC §3's ``{"error": {"code", "message"}}``.

Handlers raise :class:`ApiError`; aiohttp's own HTTP exceptions (404, 405, 413 …) are mapped to the
same shape; anything else is logged with its traceback and answered with a bare 500 ``internal``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

__all__ = ["ApiError", "error_middleware", "error_response", "response_for"]

log = logging.getLogger("phishguard.service")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "invalid_request",
    429: "rate_limited",
    503: "overloaded",
}


class ApiError(Exception):
    """A failure with an HTTP status, a SPEC error code and a one-line message."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def error_response(status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _from_http(exc: web.HTTPException) -> web.Response:
    status = exc.status
    code = _CODES.get(status, "internal" if status >= 500 else "invalid_request")
    message = exc.reason or "error"
    if status == 404:
        message = "no such endpoint"
    elif status == 405:
        message = "method not allowed on this endpoint"
    elif status == 413:
        message = "request body too large"
    headers = {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")}
    return error_response(status, code, message, headers)


def response_for(request: web.Request, exc: Exception) -> web.Response:
    """The SPEC error answer for ``exc`` raised while handling ``request``; re-raises what must not
    be answered (redirects and other non-error HTTP exceptions, a client that went away)."""
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.headers)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:  # redirects and the like pass through unchanged
            raise exc
        return _from_http(exc)
    if isinstance(exc, ConnectionResetError):  # the client went away: nobody to answer
        raise exc
    log.error("internal error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "internal", "internal error")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into the SPEC error body; never a traceback on the wire."""
    try:
        return await handler(request)
    except Exception as exc:  # noqa: BLE001 - response_for re-raises what must not be answered
        return response_for(request, exc)
