"""SSRF through the live service: the page fetcher's refusal table (tests/test_page_fetch.py), each
entry sent as ``POST /v1/scan {"text": URL, "fetch": true}``.

Every request must be answered with a verdict carrying the ``page.fetch-refused`` degraded reason
(rules/page.yaml), and a canary listener on 127.0.0.1 (and ::1) at a port the fetcher is *allowed*
to use must accept no connection — the refusal comes from the address check, not the port rule.

* Literal addresses and internal names go through a real ``phishguard serve`` process (no DNS is
  involved: literals are parsed, internal names refused by name).
* Names that resolve to internal addresses need DNS answers: they go through the same service app
  served in-process on a loopback socket, its fetcher given the table's stub resolver (no test
  sends a DNS query).

Network rule: only 127.0.0.0/8 and ::1 are contacted.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from test_page_fetch import DNS, Listener, StubResolver, literal_targets, name_targets

from phishguard.page.fetch import PageFetcher, config_from_settings
from phishguard.service.app import create_app
from phishguard.service.state import STATE
from phishguard.settings import load_settings

REFUSED = "page.fetch-refused"


@pytest.fixture(scope="module")
def harness(conformance_harness: Any) -> Any:
    return conformance_harness


def assert_refused(url: str, status: int, verdict: dict[str, Any]) -> None:
    """A 200 verdict whose reasons include the fetch-refused degraded reason."""
    assert status == 200, (url, status, verdict)
    assert verdict["verdict"] in {"safe", "suspicious", "fraud"}, (url, verdict)
    refused = [r for r in verdict["reasons"] if r["rule"] == REFUSED]
    assert refused, f"{url!r}: no {REFUSED} reason in {[r['rule'] for r in verdict['reasons']]}"
    assert all(r["category"] == "degraded" and r["weight"] == 0 for r in refused), (url, refused)


async def scan_each(session: aiohttp.ClientSession, base: str, urls: list[str], headers: dict[str, str]) -> int:
    """POST each URL with fetch on; check every answer; the number checked."""
    for url in urls:
        async with session.post(base + "/v1/scan", json={"text": url, "fetch": True}, headers=headers) as resp:
            assert_refused(url, resp.status, await resp.json())
    return len(urls)


def test_the_live_table_is_the_fetchers_table():
    assert len(literal_targets(1)) + len(name_targets(1)) >= 40


async def test_literal_targets_through_phishguard_serve_are_refused_and_never_connected(harness, tmp_path):
    async with Listener() as canary:
        ports = json.dumps([80, 443, canary.port])
        with harness.running_service(tmp_path, PHISHGUARD_FETCH__ALLOWED_PORTS=ports) as service:
            auth = {"Authorization": f"Bearer {service.api_key}"}
            async with aiohttp.ClientSession() as session:
                checked = await scan_each(session, service.base, literal_targets(canary.port), auth)
        assert checked == len(literal_targets(canary.port))
        assert canary.accepted == 0


async def test_names_resolving_inside_are_refused_and_never_connected(aiohttp_client):
    async with Listener() as canary:
        settings = load_settings(None, fetch={"allowed_ports": [80, 443, canary.port], "cache_ttl_s": 0})
        app = create_app(settings)
        client = await aiohttp_client(app)  # the service app on a real 127.0.0.1 socket
        base = str(client.make_url("")).rstrip("/")
        state = app[STATE]
        async with PageFetcher(config_from_settings(settings), resolver=StubResolver(DNS)) as fetcher:
            served, state.fetcher = state.fetcher, fetcher
            try:
                async with aiohttp.ClientSession() as session:
                    checked = await scan_each(session, base, name_targets(canary.port), {})
            finally:
                state.fetcher = served
        assert checked == len(DNS)
        assert canary.accepted == 0
