"""Reading a request body as one JSON object, within a byte limit, and validating it.

``read_model`` first lets pydantic parse and validate the raw bytes in one step
(``model_validate_json``, Rust); when that fails for any reason it takes the original path
(``json.loads`` + ``model_validate``), so every error answer stays exactly what it was. Whatever
``model_validate_json`` accepts, the original path accepts with the same values (tests compare them).
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from .errors import ApiError

__all__ = ["read_body", "read_json_object", "read_model"]

M = TypeVar("M", bound=BaseModel)


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"request body larger than {limit} bytes")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to exceed ``limit`` (Content-Length, else while reading)."""
    length = request.content_length
    if length is not None:
        if length > limit:
            raise too_large(limit)
        # the usual case: the whole body is known and usually already buffered (no async iterator)
        raw = await request.content.read(length) if length else b""
        if len(raw) == length or not raw:
            return raw
        chunks = [raw]
        size = len(raw)
        while size < length:
            chunk = await request.content.read(length - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
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
    return parse_json_object(await read_body(request, limit))


async def read_model(request: web.Request, limit: int, model: type[M]) -> M:
    """The body validated as ``model``: 413 if too large; 400 invalid_json, or invalid_request with
    the first invalid field (``schemas.first_error``)."""
    raw = await read_body(request, limit)
    try:
        return model.model_validate_json(raw)
    except ValidationError:
        pass  # any failure: the original path below gives the error (or, in odd cases, the value)
    data = parse_json_object(raw)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        from .schemas import first_error

        raise ApiError(400, "invalid_request", first_error(exc)) from None


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """``raw`` parsed as a JSON object, else 400 invalid_json / invalid_request."""
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
