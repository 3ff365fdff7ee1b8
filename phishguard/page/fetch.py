"""The page fetcher: an aiohttp client that cannot be turned against the network it runs in.

Every request — the first and each redirect hop, followed by hand — passes
:meth:`AddressGuard.check_url` (scheme, credentials, port, literal host). Names are resolved by
:class:`GuardedResolver`, which drops every address the guard refuses and hands aiohttp only the
ones that passed: aiohttp connects to exactly those (``use_dns_cache=False``, one resolution per
connection), so a second DNS answer cannot swap in an internal address between check and connect.

Limits (all in :class:`FetchConfig`): at most 5 redirects, 5 s in total, 1 MiB of body (read in
chunks and cut, never buffered whole, also after decompression), HTML/XHTML content types only,
no cookies kept, no credentials sent, ``trust_env=False`` (a proxy variable cannot route around the
checks), a clear User-Agent. Nothing raises to the caller: a refusal or failure is a
:class:`FetchResult` with ``refused`` or ``failed`` set, which the scanner turns into a degraded
reason. Results are cached by final URL (and by requested URL) for ``cache_ttl`` seconds.

:meth:`PageFetcher.post_json` sends a webhook through the same guard, resolver and session: the URL
is checked once, redirects are never followed (a 3xx is a failure), at most 4 KiB of the answer is
read, nothing is cached, and the outcome is a :class:`PostResult` (never an exception).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from .. import __version__
from .guard import AddressGuard

__all__ = [
    "FetchConfig",
    "FetchResult",
    "GuardedResolver",
    "PageFetcher",
    "PostResult",
    "RefusedAddress",
    "config_from_settings",
]

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
POST_READ_BYTES = 4096  # of a webhook receiver's answer: read only so the connection can be reused


@dataclass(frozen=True)
class FetchConfig:
    """Fetcher settings; the defaults are the production ones.

    ``allow_networks`` admits internal networks (e.g. ``127.0.0.0/8``) and exists for tests only.
    """

    timeout: float = 5.0
    max_redirects: int = 5
    max_bytes: int = 1 << 20
    allowed_ports: frozenset[int] = frozenset({80, 443})
    allow_networks: tuple[str, ...] = ()
    user_agent: str = f"phishguard/{__version__} (fraud-link checker; +https://example.invalid/phishguard)"
    cache_ttl: float = 300.0
    cache_size: int = 1024

    def guard(self) -> AddressGuard:
        return AddressGuard(allowed_ports=frozenset(self.allowed_ports), allow_networks=tuple(self.allow_networks))


@dataclass(frozen=True)
class FetchResult:
    """What one fetch gave.

    url:       the URL asked for;  final_url: where the page was found (after redirects)
    html:      the decoded body (``""`` when refused or failed);  truncated: cut at ``max_bytes``
    refused:   why the guard refused a hop (an address, a port, a scheme ...), else None
    failed:    why the fetch failed otherwise (timeout, HTTP status, content type ...), else None
    """

    url: str
    final_url: str
    html: str = ""
    status: int | None = None
    truncated: bool = False
    refused: str | None = None
    failed: str | None = None
    hops: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.refused is None and self.failed is None


@dataclass(frozen=True)
class PostResult:
    """What one POST gave.

    status:      the HTTP status, or None when no answer came
    refused:     why the guard refused the URL or every address of its host, else None
    failed:      why the POST failed otherwise (timeout, connection, a non-2xx status ...), else None
    retry_after: seconds the receiver asked to wait (``Retry-After`` in seconds), else None
    """

    url: str
    status: int | None = None
    refused: str | None = None
    failed: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return self.refused is None and self.failed is None

    @property
    def error(self) -> str | None:
        """One line for logs and the outbox: ``refused: …`` or the failure, None when ok."""
        if self.refused is not None:
            return f"refused: {self.refused}"
        return self.failed


class RefusedAddress(OSError):
    """Raised by :class:`GuardedResolver` when every address of a name is refused."""

    def __init__(self, host: str, reason: str):
        super().__init__(f"{host}: {reason}")
        self.reason = reason


Lookup = Callable[[str, int, socket.AddressFamily], Awaitable[list[ResolveResult]]]


class GuardedResolver(AbstractResolver):
    """Resolves with ``inner`` (aiohttp's threaded resolver by default), keeps only admitted addresses.

    The addresses returned are the ones aiohttp connects to: the check pins the connection.
    """

    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None):
        self.guard = guard
        self.inner = inner if inner is not None else aiohttp.ThreadedResolver()
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        problem = self.guard.check_name(host) if not _is_ip(host) else None
        if problem:
            raise RefusedAddress(host, problem)
        answers = await self.inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        reasons: list[str] = []
        for ans in answers:
            try:
                ip = ipaddress.ip_address(ans["host"])
            except ValueError:
                reasons.append(f"unparseable address {ans['host']!r}")
                continue
            why = self.guard.check_ip(ip)
            if why is None:
                kept.append(ans)
            else:
                reasons.append(why)
        if not kept:
            raise RefusedAddress(host, "; ".join(dict.fromkeys(reasons)) or "no address")
        return kept

    async def close(self) -> None:
        await self.inner.close()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _refusal_in(exc: BaseException) -> str | None:
    """The guard's reason if ``exc`` (or what it wraps) is a :class:`RefusedAddress`."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, RefusedAddress):
            return e.reason
        todo.extend([e.__cause__, e.__context__, getattr(e, "os_error", None)])
    return None


class _TTLCache:
    """A small map with expiry; emptied when full (cheap, and hot pages come back at once)."""

    def __init__(self, ttl: float, size: int, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.size, self.clock = ttl, size, clock
        self._data: dict[str, tuple[float, FetchResult]] = {}

    def get(self, key: str) -> FetchResult | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        if hit[0] < self.clock():
            self._data.pop(key, None)
            return None
        return hit[1]

    def put(self, keys: tuple[str, ...], value: FetchResult) -> None:
        if self.ttl <= 0 or self.size <= 0:
            return
        if len(self._data) + len(keys) > self.size:
            self._data.clear()
        expires = self.clock() + self.ttl
        for k in keys:
            self._data[k] = (expires, value)


class PageFetcher:
    """One shared fetcher (session, resolver, cache). Use as ``async with PageFetcher(cfg) as f``.

    ``resolver`` replaces the system DNS lookup (tests pass a stub: no test reaches the internet).
    """

    def __init__(self, config: FetchConfig | None = None, *, resolver: AbstractResolver | None = None):
        self.config = config if config is not None else FetchConfig()
        self.guard = self.config.guard()
        self._inner_resolver = resolver
        self.resolver: GuardedResolver | None = None
        self._session: aiohttp.ClientSession | None = None
        self.cache = _TTLCache(self.config.cache_ttl, self.config.cache_size)

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        if self._session is not None:
            return
        self.resolver = GuardedResolver(self.guard, self._inner_resolver)
        connector = aiohttp.TCPConnector(resolver=self.resolver, use_dns_cache=False, limit=20)
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=self.config.timeout),
            headers={"User-Agent": self.config.user_agent, "Accept": "text/html,application/xhtml+xml"},
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(self, url: str) -> FetchResult:
        """Fetch ``url`` under every limit; never raises (refusals and failures are in the result)."""
        cached = self.cache.get(url)
        if cached is not None:
            return cached
        await self.open()
        try:
            async with asyncio.timeout(self.config.timeout):
                result = await self._follow(url)
        except TimeoutError:
            result = FetchResult(url=url, final_url=url, failed=f"timed out after {self.config.timeout:g} s")
        if result.ok:
            self.cache.put((url, result.final_url), result)
        return result

    async def _follow(self, url: str) -> FetchResult:
        current = url
        hops: list[str] = []
        for _ in range(self.config.max_redirects + 1):
            why = self.guard.check_url(current)
            if why is not None:
                return FetchResult(url=url, final_url=current, refused=why, hops=tuple(hops))
            hops.append(current)
            outcome = await self._request(url, current, tuple(hops))
            if isinstance(outcome, FetchResult):
                return outcome
            current = outcome
        return FetchResult(url=url, final_url=current, failed=f"more than {self.config.max_redirects} redirects",
                           hops=tuple(hops))

    async def _request(self, url: str, current: str, hops: tuple[str, ...]) -> FetchResult | str:
        """One hop: a result, or the next URL to follow."""
        assert self._session is not None
        try:
            async with self._session.get(URL(current, encoded=False), allow_redirects=False) as resp:
                if resp.status in REDIRECTS:
                    location = resp.headers.get("Location")
                    if not location:
                        return FetchResult(url=url, final_url=current, status=resp.status, hops=hops,
                                           failed=f"HTTP {resp.status} without Location")
                    return str(URL(current).join(URL(location)))
                if resp.status != 200:
                    return FetchResult(url=url, final_url=current, status=resp.status, hops=hops,
                                       failed=f"HTTP {resp.status}")
                ctype = resp.content_type.lower()
                if ctype not in HTML_TYPES:
                    return FetchResult(url=url, final_url=current, status=resp.status, hops=hops,
                                       failed=f"content type {ctype!r} is not HTML")
                body, truncated = await self._read(resp)
                charset = resp.charset or "utf-8"
                try:
                    html = body.decode(charset, "replace")
                except LookupError:
                    html = body.decode("utf-8", "replace")
                return FetchResult(url=url, final_url=current, html=html, status=resp.status,
                                   truncated=truncated, hops=hops)
        except TimeoutError:
            return FetchResult(url=url, final_url=current, hops=hops, failed=f"timed out after {self.config.timeout:g} s")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            refusal = _refusal_in(exc)
            if refusal is not None:
                return FetchResult(url=url, final_url=current, refused=refusal, hops=hops)
            return FetchResult(url=url, final_url=current, hops=hops, failed=f"{type(exc).__name__}: {exc}"[:300])

    async def post_json(
        self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float | None = None
    ) -> PostResult:
        """POST ``body`` (JSON) to ``url`` under the fetcher's guard; never raises.

        The URL passes :meth:`AddressGuard.check_url` and its host's addresses the resolver's checks,
        exactly as for :meth:`fetch`. Redirects are not followed, cookies are neither kept nor sent,
        and ``timeout`` (default: the fetcher's) bounds the whole exchange.
        """
        limit = self.config.timeout if timeout is None else timeout
        why = self.guard.check_url(url)
        if why is not None:
            return PostResult(url=url, refused=why)
        await self.open()
        try:
            async with asyncio.timeout(limit):
                return await self._post(url, body, headers, limit)
        except TimeoutError:
            return PostResult(url=url, failed=f"timed out after {limit:g} s")

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str], limit: float) -> PostResult:
        assert self._session is not None
        sent = {**headers, "Content-Type": "application/json", "Accept": "*/*"}
        try:
            async with self._session.post(
                URL(url, encoded=False), data=body, headers=sent, allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=limit),
            ) as resp:
                await resp.content.read(POST_READ_BYTES)
                status = resp.status
                wait = _retry_after(resp.headers.get("Retry-After"))
        except TimeoutError:
            return PostResult(url=url, failed=f"timed out after {limit:g} s")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            refusal = _refusal_in(exc)
            if refusal is not None:
                return PostResult(url=url, refused=refusal)
            return PostResult(url=url, failed=f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= status < 300:
            return PostResult(url=url, status=status)
        note = " (redirects are not followed)" if status in REDIRECTS else ""
        return PostResult(url=url, status=status, failed=f"HTTP {status}{note}", retry_after=wait)

    async def _read(self, resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
        """At most ``max_bytes`` of the (decompressed) body, read in chunks; True when cut."""
        limit = self.config.max_bytes
        parts: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                return b"".join(parts)[:limit], True
        return b"".join(parts), False


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` given in seconds (the HTTP-date form is ignored), else None.

    >>> _retry_after("120"), _retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), _retry_after(None)
    (120.0, None, None)
    """
    if value is None or not value.strip().isascii() or not value.strip().isdigit():
        return None
    return float(value.strip())


def config_from_settings(settings: Any) -> FetchConfig:
    """The fetcher configuration of ``settings.fetch`` (``allow_networks`` stays empty: tests only)."""
    f = settings.fetch
    return FetchConfig(
        timeout=f.timeout_s,
        max_redirects=f.max_redirects,
        max_bytes=f.max_bytes,
        allowed_ports=frozenset(f.allowed_ports),
        cache_ttl=f.cache_ttl_s,
    )
