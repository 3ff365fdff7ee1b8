"""Reading a request body as one JSON object, within a byte limit."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from .errors import ApiError

__all__ = ["read_json_object"]


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"request body larger than {limit} bytes")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed ``limit`` (Content-Length, else while reading)."""
    length = request.content_length
    if length is not None and length > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_json_object(request: web.Request, limit: int) -> dict[str, Any]:
    """The body parsed as a JSON object: 413 if too large, 400 invalid_json / invalid_request otherwise."""
    raw = await read_body(request, limit)
    if not raw.strip():
        raise ApiError(400, "invalid_json", "empty body: send a JSON object")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        detail = f": {exc.msg} at position {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, "invalid_json", f"the body is not valid JSON{detail}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_request", "the body must be a JSON object")
    return data
