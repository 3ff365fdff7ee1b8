"""The fuzz targets: one function per attack surface, raw bytes in, an exception out on a bug.

Each target turns the fuzzer's bytes into the input its code reads (any ``str`` — lone surrogates,
NUL, bidi controls included — through atheris' ``FuzzedDataProvider``; raw bytes for request
bodies), calls the code, then checks what the code promises. A check that fails raises
``AssertionError``; any other exception is a crash of the code under test.

Targets (``TARGETS``):

* ``extract``: :func:`phishguard.extract.extract_urls` — spans slice back, are ordered and disjoint,
  respect ``max_urls``; the host parses to itself again; yarl (the fetcher's parser) agrees on host
  and port of the URL handed out.
* ``hosts``: :func:`phishguard.hosts.parse_host` (uncached) — idempotent on its ASCII and display forms.
* ``page``: :func:`phishguard.page.analyze.analyze_page` — never raises, every cap holds.
* ``request``: :func:`phishguard.service.body.read_model` for each request model, without a
  server — only ``ApiError`` 400/413 comes out, and whatever pydantic's JSON parser accepts, the
  ``json.loads`` path accepts with the same values (the claim of ``body.py``).

The module imports ``atheris`` (for ``FuzzedDataProvider``); ``fuzz/run.py`` drives it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import atheris
import yarl
from pydantic import BaseModel, ValidationError

from phishguard.extract import UrlSpan, extract_urls
from phishguard.hosts import HostInfo, parse_host
from phishguard.page.analyze import MAX_FIELDS, MAX_FORMS, MAX_LINKS, MAX_TEXT, analyze_page
from phishguard.service.body import read_model
from phishguard.service.errors import ApiError
from phishguard.service.schemas import REQUEST_MODELS

__all__ = ["TARGETS", "decode_text", "page_input", "request_input"]

#: parse_host without its lru_cache: every input is really parsed.
_parse_host: Callable[[str], HostInfo | None] = parse_host.__wrapped__  # type: ignore[attr-defined]

#: Page addresses the page target picks from (the analyzer resolves form actions and links against it).
PAGE_URLS = (
    "https://avito-pay.top/pay/123",
    "http://xn--vito-43d.ru/",
    "https://[::1]:8443/a?b#c",
    "http://0x7f.1/",
    "not a url",
    "",
)
REQUEST_BODY_LIMIT = 1 << 20
_API_CODES = frozenset({"invalid_json", "invalid_request", "payload_too_large"})


# --- decoding the fuzzer's bytes ----------------------------------------------------------------


def decode_text(data: bytes) -> tuple[int, str]:
    """(a small number, any string) from fuzzer bytes: the number from the first byte, the string
    from the rest (ASCII, UTF-16 or UTF-32 code units, as FuzzedDataProvider chooses)."""
    fdp = atheris.FuzzedDataProvider(data)
    number = fdp.ConsumeIntInRange(0, 255)
    return number, fdp.ConsumeUnicode(fdp.remaining_bytes())


def page_input(data: bytes) -> tuple[str, str]:
    """(html, url) for the page target."""
    number, html = decode_text(data)
    return html, PAGE_URLS[number % len(PAGE_URLS)]


def request_input(data: bytes) -> tuple[type[BaseModel], bytes]:
    """(request model, body) for the request target: the first byte picks the model."""
    if not data:
        return REQUEST_MODELS[0], b""
    return REQUEST_MODELS[data[0] % len(REQUEST_MODELS)], data[1:]


# --- extract ------------------------------------------------------------------------------------


def _check_span(text: str, span: UrlSpan) -> None:
    assert 0 <= span.start < span.end <= len(text), span
    assert text[span.start:span.end] == span.raw, span
    assert span.url.startswith(f"{span.scheme or 'https'}://"), span
    again = _parse_host(span.host.ascii)
    assert again is not None and again.ascii == span.host.ascii, (span.host, again)
    parsed = yarl.URL(span.url)
    assert parsed.raw_host == span.host.ascii, (span.url, parsed.raw_host)
    assert parsed.explicit_port == span.port, (span.url, parsed.explicit_port)


def fuzz_extract(data: bytes) -> None:
    """URLs out of any text: spans are honest, ordered, disjoint, capped; hosts agree with yarl."""
    number, text = decode_text(data)
    limit = number % 120
    spans = extract_urls(text, max_urls=limit)
    assert len(spans) <= limit, (limit, len(spans))
    previous_end = 0
    for span in spans:
        assert span.start >= previous_end, (previous_end, span)
        _check_span(text, span)
        previous_end = span.end


# --- hosts --------------------------------------------------------------------------------------


def fuzz_hosts(data: bytes) -> None:
    """Host normalization: never raises; the ASCII form and the display form parse back to it."""
    _, raw = decode_text(data)
    info = _parse_host(raw)
    if info is None:
        return
    assert info.ascii.isascii() and info.ascii == info.ascii.lower(), info
    again = _parse_host(info.ascii)
    assert again is not None, info
    assert (again.ascii, again.registered_domain, again.ip) == (info.ascii, info.registered_domain, info.ip), (
        info, again)
    if not info.is_ip:
        shown = _parse_host(info.unicode)
        assert shown is not None and shown.ascii == info.ascii, (info, shown)


# --- page ---------------------------------------------------------------------------------------


def fuzz_page(data: bytes) -> None:
    """The HTML analyzer: never raises on any page, and every documented cap holds."""
    html, url = page_input(data)
    view = analyze_page(html, url)
    assert len(view.fields) <= MAX_FIELDS and len(view.forms) <= MAX_FORMS, view
    assert len(view.links) <= MAX_LINKS and len(view.text) <= MAX_TEXT, view
    for f in view.fields:
        assert f.form is None or 0 <= f.form < len(view.forms), f
    assert view.main_form is None or view.forms[view.main_form].fields > 0, view
    assert view.norm.original == view.text  # the normalized page text (page rules match it) builds


# --- request ------------------------------------------------------------------------------------


class _Content:
    """The part of ``aiohttp``'s StreamReader that ``read_body`` uses, over a bytes body."""

    def __init__(self, body: bytes):
        self._body = body

    async def read(self, n: int = -1) -> bytes:
        chunk, self._body = (self._body, b"") if n < 0 else (self._body[:n], self._body[n:])
        return chunk


class _Request:
    """A stand-in for ``web.Request`` carrying only a body (no server, no event loop)."""

    def __init__(self, body: bytes):
        self.content_length = len(body)
        self.content = _Content(body)


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never waits on anything (our fake body is always ready)."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise AssertionError("the coroutine waited on something")


def _check_paths_agree(model: type[BaseModel], raw: bytes) -> None:
    """What pydantic's JSON parser accepts, json.loads + model_validate accepts with the same values."""
    try:
        fast = model.model_validate_json(raw)
    except ValidationError:
        return
    slow = model.model_validate(json.loads(raw))
    assert fast == slow, (raw, fast, slow)


def fuzz_request(data: bytes) -> None:
    """Request bodies: a model or a 400/413 ApiError, nothing else; both parse paths agree."""
    model, raw = request_input(data)
    try:
        parsed = _run(read_model(_Request(raw), REQUEST_BODY_LIMIT, model))  # type: ignore[arg-type]
    except ApiError as err:
        assert err.status in (400, 413) and err.code in _API_CODES, (err.status, err.code)
        assert err.message and "\n" not in err.message, err.message
        return
    assert isinstance(parsed, model), parsed
    _check_paths_agree(model, raw)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "extract": fuzz_extract,
    "hosts": fuzz_hosts,
    "page": fuzz_page,
    "request": fuzz_request,
}
