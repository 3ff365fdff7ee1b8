"""The fetcher against local aiohttp servers: fixture pages, limits, and an SSRF table that must all be refused.

Network rule: only 127.0.0.0/8 and ::1 are ever contacted; names resolve through a stub (no DNS, no
internet). A counting listener on 127.0.0.1 (and ::1) at a port the fetcher is *allowed* to use proves
that each refusal comes from the address check, not from the port rule: it must accept 0 connections.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, Self

from aiohttp import web
from aiohttp.abc import AbstractResolver

from phishguard.page.fetch import FetchConfig, PageFetcher
from phishguard.page.scan import page_findings, scan_fetching
from phishguard.ruleset.check import page_example_url

PAGES = Path(__file__).parent / "data" / "pages"
SIDE = "127.0.0.2"  # where the test's own "public" servers listen (admitted only where a test says so)


class StubResolver(AbstractResolver):
    """DNS from a table; a list of answers per name is used in turn (rebinding); unknown names fail."""

    def __init__(self, table: dict[str, Any]):
        self.table = {k: list(v) if isinstance(v, list) and v and isinstance(v[0], list) else [v] for k, v in table.items()}
        self.calls: list[str] = []

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[dict]:
        self.calls.append(host)
        answers = self.table.get(host)
        if not answers:
            raise OSError(f"stub DNS: no such name {host!r}")
        ips = answers.pop(0) if len(answers) > 1 else answers[0]
        return [{"hostname": host, "host": ip, "port": port, "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST} for ip in ips]

    async def close(self) -> None:
        return None


class Listener:
    """Counts TCP connections accepted on 127.0.0.1:port (and [::1]:port when IPv6 loopback exists)."""

    def __init__(self) -> None:
        self.accepted = 0
        self.servers: list[asyncio.base_events.Server] = []
        self.port = 0

    async def _on(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        writer.close()

    async def __aenter__(self) -> Self:
        srv = await asyncio.start_server(self._on, "127.0.0.1", 0)
        self.servers.append(srv)
        self.port = srv.sockets[0].getsockname()[1]
        try:
            self.servers.append(await asyncio.start_server(self._on, "::1", self.port))
        except OSError:
            pass
        return self

    async def __aexit__(self, *exc: object) -> None:
        for s in self.servers:
            s.close()
            await s.wait_closed()


def make_app(hits: dict[str, int]) -> web.Application:
    async def page(request: web.Request) -> web.Response:
        hits[request.path] = hits.get(request.path, 0) + 1
        path = PAGES / request.match_info["name"]
        if path.suffix != ".html" or not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(text=path.read_text(encoding="utf-8"), content_type="text/html")

    async def redirect(request: web.Request) -> web.Response:
        hits[request.path] = hits.get(request.path, 0) + 1
        raise web.HTTPFound(request.query["u"])

    async def big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        await resp.prepare(request)
        for _ in range(48):
            await resp.write(b"<p>" + b"x" * 65533)
        return resp

    async def json_(request: web.Request) -> web.Response:
        return web.json_response({"a": 1})

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late", content_type="text/html")

    async def cookie(request: web.Request) -> web.Response:
        resp = web.HTTPFound("/echo")
        resp.set_cookie("sid", "secret")
        raise resp

    async def echo(request: web.Request) -> web.Response:
        body = f"<p>cookie={request.headers.get('Cookie', '')}</p><p>ua={request.headers.get('User-Agent', '')}</p>"
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/p/{name}", page)
    app.router.add_get("/r", redirect)
    app.router.add_get("/big", big)
    app.router.add_get("/json", json_)
    app.router.add_get("/loop", loop)
    app.router.add_get("/slow", slow)
    app.router.add_get("/cookie", cookie)
    app.router.add_get("/echo", echo)
    return app


async def serve(stack: AsyncExitStack, hits: dict[str, int], host: str = SIDE) -> int:
    runner = web.AppRunner(make_app(hits))
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    site = web.TCPSite(runner, host, 0)
    await site.start()
    return site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro_fn())


# ------------------------------------------------------------------------------------- the SSRF table


def literal_targets(p: int) -> list[str]:
    """Internal targets written as literals or internal names (never resolved)."""
    return [
        f"http://127.0.0.1:{p}/", f"http://127.1:{p}/", f"http://2130706433:{p}/", f"http://017700000001:{p}/",
        f"http://0x7f000001:{p}/", f"http://0x7f.0.0.1:{p}/", f"http://0177.0.0.1:{p}/", f"http://127.0.0.2:{p}/",
        f"http://%31%32%37.0.0.1:{p}/", f"http://127\u30020\u30020\u30021:{p}/", f"http://[::1]:{p}/",
        f"http://[::ffff:127.0.0.1]:{p}/", f"http://[::ffff:7f00:1]:{p}/", f"http://[64:ff9b::7f00:1]:{p}/",
        f"http://[2002:7f00:1::1]:{p}/", f"http://[::127.0.0.1]:{p}/",
        f"http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{p}/", f"http://0.0.0.0:{p}/", f"http://0:{p}/",
        f"http://[::]:{p}/", f"http://10.0.0.1:{p}/", f"http://172.16.5.4:{p}/", f"http://192.168.1.1:{p}/",
        f"http://169.254.169.254:{p}/latest/meta-data/", f"http://100.64.0.1:{p}/", f"http://224.0.0.1:{p}/",
        f"http://239.255.255.250:{p}/", f"http://240.0.0.1:{p}/", f"http://255.255.255.255:{p}/",
        f"http://[fe80::1]:{p}/", f"http://[fc00::1]:{p}/", f"http://[fd12:3456::1]:{p}/", f"http://[ff02::1]:{p}/",
        f"http://[fec0::1]:{p}/", f"http://198.18.0.1:{p}/", f"http://192.0.0.8:{p}/", f"http://localhost:{p}/",
        f"http://LOCALHOST.:{p}/", f"http://api.localhost:{p}/", f"http://metadata:{p}/",
        f"http://printer.local:{p}/", f"http://db.internal:{p}/",
    ]


DNS = {
    "loop.dns-test.com": ["127.0.0.1"],
    "private.dns-test.com": ["10.1.2.3"],
    "v6loop.dns-test.com": ["::1"],
    "mapped.dns-test.com": ["::ffff:127.0.0.1"],
    "nat64.dns-test.com": ["64:ff9b::7f00:1"],
    "sixtofour.dns-test.com": ["2002:7f00:1::5"],
    "mixed.dns-test.com": ["10.0.0.1", "127.0.0.1", "169.254.169.254"],
    "metadata.dns-test.com": ["169.254.169.254"],
    "cgnat.dns-test.com": ["100.100.100.200"],
    "zero.dns-test.com": ["0.0.0.0"],
}


def name_targets(p: int) -> list[str]:
    return [f"http://{name}:{p}/" for name in DNS]


def test_the_table_is_large_enough():
    assert len(literal_targets(1)) + len(name_targets(1)) >= 40


def test_every_internal_target_is_refused_and_never_connected():
    async def main() -> None:
        async with Listener() as lst:
            cfg = FetchConfig(allowed_ports=frozenset({80, 443, lst.port}), cache_ttl=0)
            async with PageFetcher(cfg, resolver=StubResolver(DNS)) as f:
                for url in literal_targets(lst.port) + name_targets(lst.port):
                    r = await f.fetch(url)
                    assert r.refused and not r.html, (url, r)
            assert lst.accepted == 0

    run(main)


def test_redirects_into_internal_targets_are_refused():
    async def main() -> None:
        async with AsyncExitStack() as stack, Listener() as lst:
            hits: dict[str, int] = {}
            port = await serve(stack, hits)
            cfg = FetchConfig(allowed_ports=frozenset({80, 443, lst.port, port}), allow_networks=(f"{SIDE}/32",),
                              cache_ttl=0)
            dns = {**DNS, "shop.dns-test.com": [SIDE]}
            targets = [t for t in literal_targets(lst.port) + name_targets(lst.port) if SIDE not in t]
            targets += ["file:///etc/passwd", "gopher://127.0.0.1:70/", f"http://user:pw@shop.dns-test.com:{port}/"]
            async with PageFetcher(cfg, resolver=StubResolver(dns)) as f:
                for target in targets:
                    r = await f.fetch(f"http://shop.dns-test.com:{port}/r?u={target}")
                    assert r.refused and not r.html, (target, r)
            assert hits.get("/r") == len(targets)
            assert lst.accepted == 0

    run(main)


def test_dns_rebinding_is_pinned_to_the_checked_answer():
    async def main() -> None:
        async with AsyncExitStack() as stack, Listener() as lst:
            hits: dict[str, int] = {}
            port = await serve(stack, hits)
            # the page is on port `port` of 127.0.0.2 (admitted); the listener uses that same port on 127.0.0.1
            cfg = FetchConfig(allowed_ports=frozenset({port}), allow_networks=(f"{SIDE}/32",), cache_ttl=0)
            lst2 = await asyncio.start_server(lst._on, "127.0.0.1", port)
            stack.push_async_callback(lst2.wait_closed)
            stack.callback(lst2.close)
            dns = {"rebind.dns-test.com": [[SIDE], ["127.0.0.1"], ["127.0.0.1", SIDE]]}
            stub = StubResolver(dns)
            url = f"http://rebind.dns-test.com:{port}/p/legit_forum_login.html"
            results = []
            for _ in range(3):  # a new session each time: no pooled connection hides a second lookup
                async with PageFetcher(cfg, resolver=stub) as f:
                    results.append(await f.fetch(url))
            first, second, third = results
            assert first.ok and "Велоклуб" in first.html
            assert second.refused and "127.0.0.1 is loopback" in second.refused
            assert third.ok  # mixed answer: only the admitted address is used
            assert stub.calls == ["rebind.dns-test.com"] * 3
            assert lst.accepted == 0 and hits["/p/legit_forum_login.html"] == 2

    run(main)


def test_the_listener_does_count_when_loopback_is_admitted():
    """Control: with loopback explicitly allowed the same request reaches the listener."""

    async def main() -> None:
        async with Listener() as lst:
            cfg = FetchConfig(allowed_ports=frozenset({lst.port}), allow_networks=("127.0.0.0/8",), cache_ttl=0)
            async with PageFetcher(cfg) as f:
                r = await f.fetch(f"http://127.0.0.1:{lst.port}/")
            assert not r.ok and r.refused is None, r
            assert lst.accepted >= 1

    run(main)


def test_ports_schemes_and_credentials_are_refused_before_anything():
    async def main() -> None:
        stub = StubResolver({})
        async with PageFetcher(FetchConfig(), resolver=stub) as f:
            for url in ("http://example.com:22/", "https://example.com:8443/", "ftp://example.com/",
                        "file:///etc/passwd", "javascript:alert(1)", "http://user:pw@example.com/", "http:///x"):
                r = await f.fetch(url)
                assert r.refused, url
        assert stub.calls == []

    run(main)


# ------------------------------------------------------------------------------ pages, limits, cache


def test_fixture_pages_served_locally_are_judged_right(scanner):
    async def main() -> None:
        async with AsyncExitStack() as stack:
            hits: dict[str, int] = {}
            port = await serve(stack, hits)
            cfg = FetchConfig(allowed_ports=frozenset({port}), allow_networks=(f"{SIDE}/32",))
            async with PageFetcher(cfg) as f:
                for path in sorted(PAGES.glob("*.html")):
                    r = await f.fetch(f"http://{SIDE}:{port}/p/{path.name}")
                    assert r.ok, r
                    v = scanner.scan_page(r.html, page_example_url(r.html))
                    fake = path.name.startswith("fake_")
                    assert v.flagged is fake, path.name
                    assert any(x.category == "payment_page" for x in v.reasons) is fake, path.name

    run(main)


def test_limits_body_type_redirects_timeout_cookies():
    async def main() -> None:
        async with AsyncExitStack() as stack:
            port = await serve(stack, {})
            base = f"http://{SIDE}:{port}"
            cfg = FetchConfig(allowed_ports=frozenset({port}), allow_networks=(f"{SIDE}/32",), timeout=1.0,
                              cache_ttl=0)
            async with PageFetcher(cfg) as f:
                big = await f.fetch(f"{base}/big")
                assert big.ok and big.truncated and len(big.html) == cfg.max_bytes
                js = await f.fetch(f"{base}/json")
                assert js.failed and "not HTML" in js.failed
                loop = await f.fetch(f"{base}/loop")
                assert loop.failed and "redirects" in loop.failed and len(loop.hops) == cfg.max_redirects + 1
                slow = await f.fetch(f"{base}/slow")
                assert slow.failed and "timed out" in slow.failed
                echo = await f.fetch(f"{base}/cookie")
                assert echo.ok and "cookie=</p>" in echo.html and "ua=phishguard/" in echo.html

    run(main)


def test_cache_by_final_url():
    async def main() -> None:
        async with AsyncExitStack() as stack:
            hits: dict[str, int] = {}
            port = await serve(stack, hits)
            cfg = FetchConfig(allowed_ports=frozenset({port}), allow_networks=(f"{SIDE}/32",))
            async with PageFetcher(cfg) as f:
                url = f"http://{SIDE}:{port}/p/fake_3ds.html"
                a = await f.fetch(url)
                b = await f.fetch(url)
                c = await f.fetch(a.final_url)
            assert a is b is c and hits["/p/fake_3ds.html"] == 1

    run(main)


def test_scan_fetching_adds_page_findings_and_refusals(scanner):
    async def main() -> None:
        async with AsyncExitStack() as stack:
            port = await serve(stack, {})
            cfg = FetchConfig(allowed_ports=frozenset({80, 443, port}), allow_networks=(f"{SIDE}/32",))
            dns = {"deal-page.dns-test.com": [SIDE]}
            async with PageFetcher(cfg, resolver=StubResolver(dns)) as f:
                text = (f"Оплатил, заберите деньги: http://deal-page.dns-test.com:{port}/p/fake_boxberry.html "
                        "и ещё http://169.254.169.254/latest/ и https://www.avito.ru/item/1")
                v = await scan_fetching(scanner, f, text, lang="ru")
            rules = [r.rule for r in v.reasons]
            assert "page.balance-field" in rules and "page.fetch-refused" in rules and v.verdict == "fraud"
            refused = next(r for r in v.reasons if r.rule == "page.fetch-refused")
            assert "169.254.169.254" in refused.evidence and refused.weight == 0

    run(main)


def test_page_findings_of_a_failure_is_degraded_only(scanner):
    from phishguard.page.fetch import FetchResult

    found = page_findings(scanner, FetchResult(url="https://x.example.com/", final_url="https://x.example.com/",
                                               failed="HTTP 404"))
    assert [f.rule for f in found] == ["page.fetch-failed"]
