"""Moderation through the service: flags recorded off the response path, the review API, decisions
that change what every worker's scanner says, campaigns, the decisions feed, auth boundaries."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import pytest

from phishguard.moderation.passwords import hash_password
from phishguard.moderation.runtime import MODERATION
from phishguard.moderation.store import open_store
from phishguard.scanner import Scanner
from phishguard.service.app import create_app
from phishguard.service.keys import hash_key, new_key
from phishguard.settings import Settings

SCAM = "Покупатель оплатил товар, получите деньги: https://avito-bezopasnaya-sdelka.ru/pay/123"
SCAM2 = "Оплата прошла, подтвердите получение: https://avito-bezopasnaya-sdelka.ru/pay/456"
OTHER = "Доставка оплачена, заберите средства https://youla-dostavka-pay.ru/order/77"
SAFE = "Здравствуйте, велосипед ещё продаётся?"
SCAN_KEY = new_key()
KEYS = [{"tenant": "acme", "sha256": hash_key(SCAN_KEY)}]
AUTH = {"Authorization": f"Bearer {SCAN_KEY}"}
PASSWORD = "correct horse battery"


@pytest.fixture
def db_url(store_url, monkeypatch) -> str:
    """Every test here runs on SQLite and on PostgreSQL (tests/moderation/conftest.py). Set in the
    environment: it wins over values given to Settings(), as it does for a deployed service."""
    monkeypatch.setenv("PHISHGUARD_DATABASE_URL", store_url)
    return store_url


def settings(db_url: str, **moderation) -> Settings:
    return Settings(
        lang="en", database_url=db_url, service={"api_keys": KEYS},
        moderation={"poll_interval_s": 0.05, "retry_s": 0.05, **moderation},
    )


@pytest.fixture
def users(db_url):
    store = open_store(db_url)
    store.migrate()
    for name, role in (("anna", "moderator"), ("victor", "viewer")):
        store.add_user(name, role, hash_password(PASSWORD), now=time.time())
    store.close()


@pytest.fixture
def make_client(aiohttp_client, db_url, users):
    async def make(**moderation):
        s = settings(db_url, **moderation)
        return await aiohttp_client(create_app(s, scanner=Scanner(s)))

    return make


async def login(client, user: str = "anna") -> dict[str, str]:
    resp = await client.post("/v1/moderation/login", json={"user": user, "password": PASSWORD})
    assert resp.status == 200, await resp.text()
    return {"Authorization": f"Bearer {(await resp.json())['token']}"}


async def scan(client, text: str, **extra) -> dict:
    resp = await client.post("/v1/scan", json={"text": text, **extra}, headers=AUTH)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def flags(client, mod: dict[str, str], want: int, **query) -> list[dict]:
    """The queue once it holds ``want`` flags (the writer is asynchronous)."""
    for _ in range(200):
        resp = await client.get("/v1/moderation/flags", params=query, headers=mod)
        assert resp.status == 200, await resp.text()
        items = (await resp.json())["items"]
        if len(items) >= want:
            return items
        await asyncio.sleep(0.02)
    raise AssertionError(f"only {len(items)} flags of {want}")


async def test_flag_recorded_with_context_and_safe_not(make_client):
    client = await make_client()
    mod = await login(client)
    v = await scan(client, SCAM, id="m-1", context={"chat_id": "c-9", "sender_id": "u-7"})
    assert v["verdict"] in ("suspicious", "fraud")
    await scan(client, SAFE, id="m-2")
    [flag] = await flags(client, mod, 1)
    assert flag["message_id"] == "m-1" and flag["tenant"] == "acme" and flag["status"] == "open"
    assert flag["context"] == {"chat_id": "c-9", "sender_id": "u-7"}
    assert flag["text"] == SCAM and flag["score"] == v["score"]
    assert flag["domains"] == ["avito-bezopasnaya-sdelka.ru"]
    assert [r["rule"] for r in flag["reasons"]] == [r["rule"] for r in v["reasons"]]
    assert flag["rules_version"] == v["rules_version"]


async def test_flags_written_between_requests_reach_the_queue(make_client):
    """moderation.write_idle_chunk in a service: scans that overlap, then a quiet worker; every flag of
    them is stored (the writer waited on the app's own in-flight counter)."""
    client = await make_client(write_idle_chunk=2, write_idle_wait_s=30)
    mod = await login(client)
    verdicts = await asyncio.gather(*(scan(client, SCAM, id=f"m-{i}") for i in range(5)))
    assert all(v["verdict"] in ("suspicious", "fraud") for v in verdicts)
    stored = await flags(client, mod, 5)
    assert sorted(f["message_id"] for f in stored) == [f"m-{i}" for i in range(5)]


async def test_redacted_and_no_text(make_client):
    client = await make_client(store_text="redacted")
    mod = await login(client)
    await scan(client, "Для возврата пришлите номер карты и CVV на +7 912 345-67-89 " + SCAM)
    [flag] = await flags(client, mod, 1)
    assert "[phone]" in flag["text"] and "345-67-89" not in flag["text"]


async def test_confirm_makes_the_domain_fraud_everywhere(make_client):
    a, b = await make_client(), await make_client()  # two workers on one store
    mod = await login(a)
    await scan(a, SCAM, id="m-1")
    [flag] = await flags(a, mod, 1)
    before = await scan(b, "https://avito-bezopasnaya-sdelka.ru/")
    assert not any(r["rule"] == "reputation.moderator-confirmed" for r in before["reasons"])

    resp = await a.post(f"/v1/moderation/flags/{flag['id']}/decision", json={"action": "confirm", "note": "kit"}, headers=mod)
    assert resp.status == 200
    [decision] = (await resp.json())["decisions"]
    assert decision["moderator"] == "anna" and decision["domains"] == ["avito-bezopasnaya-sdelka.ru"]

    now_a = await scan(a, "https://avito-bezopasnaya-sdelka.ru/")  # the deciding worker: at once
    assert now_a["verdict"] == "fraud"
    reason = next(r for r in now_a["reasons"] if r["rule"] == "reputation.moderator-confirmed")
    assert reason["category"] == "reputation" and "anna" in reason["message"]["en"]
    assert f"#{decision['id']}" in reason["message"]["en"]
    for _ in range(100):  # the other worker: within its poll interval
        now_b = await scan(b, "https://avito-bezopasnaya-sdelka.ru/")
        if now_b["verdict"] == "fraud":
            break
        await asyncio.sleep(0.02)
    assert now_b["verdict"] == "fraud"

    resp = await a.get(f"/v1/moderation/flags/{flag['id']}", headers=mod)
    body = await resp.json()
    assert body["flag"]["status"] == "confirmed" and [d["action"] for d in body["decisions"]] == ["confirm"]


async def test_dismiss_then_reopen_is_an_audit_trail(make_client):
    client = await make_client()
    mod = await login(client)
    await scan(client, SCAM)
    [flag] = await flags(client, mod, 1)
    url = f"/v1/moderation/flags/{flag['id']}/decision"
    assert (await client.post(url, json={"action": "dismiss"}, headers=mod)).status == 200
    dismissed = await scan(client, "https://avito-bezopasnaya-sdelka.ru/pay/1")
    assert dismissed["verdict"] == "safe"
    assert any(r["rule"] == "reputation.moderator-dismissed" for r in dismissed["reasons"])
    assert (await client.post(url, json={"action": "reopen", "note": "wrong"}, headers=mod)).status == 200
    again = await scan(client, "https://avito-bezopasnaya-sdelka.ru/pay/1")
    assert again["verdict"] != "safe"
    trail = await (await client.get("/v1/moderation/decisions", params={"flag_id": flag["id"]}, headers=mod)).json()
    assert [d["action"] for d in trail["decisions"]] == ["dismiss", "reopen"]


async def test_campaign_confirmed_in_one_action(make_client):
    client = await make_client()
    mod = await login(client)
    for text in (SCAM, SCAM2, OTHER):
        await scan(client, text)
    await flags(client, mod, 3)
    camps = (await (await client.get("/v1/moderation/campaigns", headers=mod)).json())["campaigns"]
    domain = next(c for c in camps if c["key"] == "domain:avito-bezopasnaya-sdelka.ru")
    assert domain["flags"] == 2
    assert any(c["key"].startswith("path:avito|") and c["flags"] == 2 for c in camps)
    resp = await client.post("/v1/moderation/campaigns/decision", json={"key": domain["key"], "action": "confirm"}, headers=mod)
    assert resp.status == 200 and len((await resp.json())["decisions"]) == 2
    still_open = await flags(client, mod, 1, status="open")
    assert [f["domains"] for f in still_open] == [["youla-dostavka-pay.ru"]]


async def test_scan_keys_cannot_moderate_and_viewers_cannot_decide(make_client):
    client = await make_client()
    await scan(client, SCAM)
    for headers in ({}, AUTH, {"Authorization": "Bearer nonsense"}):
        resp = await client.get("/v1/moderation/flags", headers=headers)
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "unauthorized"
    viewer = await login(client, "victor")
    [flag] = await flags(client, viewer, 1)
    resp = await client.post(f"/v1/moderation/flags/{flag['id']}/decision", json={"action": "confirm"}, headers=viewer)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    bad = await client.post("/v1/moderation/login", json={"user": "anna", "password": "nope"})
    assert bad.status == 401
    unknown = await client.post("/v1/moderation/login", json={"user": "nobody", "password": "nope"})
    assert unknown.status == 401


async def test_bad_requests_get_json_errors(make_client):
    client = await make_client()
    mod = await login(client)
    for path, body, status in (
        ("/v1/moderation/flags/999/decision", {"action": "confirm"}, 404),
        ("/v1/moderation/flags/abc/decision", {"action": "confirm"}, 404),
        ("/v1/moderation/flags/1/decision", {"action": "delete"}, 400),
        ("/v1/moderation/campaigns/decision", {"key": "domain:nothing.example", "action": "confirm"}, 404),
    ):
        resp = await client.post(path, json=body, headers=mod)
        assert resp.status == status, (path, await resp.text())
        assert "error" in await resp.json()
    resp = await client.get("/v1/moderation/flags", params={"limit": "many"}, headers=mod)
    assert resp.status == 400


async def test_feed_shows_the_tenant_its_decisions_and_rejudged_messages(make_client):
    client = await make_client()
    mod = await login(client)
    await scan(client, SCAM, id="m-1", context={"chat_id": "c-1"})
    await scan(client, "посмотрите https://avito-bezopasnaya-sdelka.ru", id="m-2")  # a sighting, maybe not flagged
    [flag, *_] = await flags(client, mod, 1)
    await client.post("/v1/moderation/domains/decision", json={"domains": ["avito-bezopasnaya-sdelka.ru"], "action": "confirm"}, headers=mod)
    for _ in range(100):
        events = (await (await client.get("/v1/decisions", headers=AUTH)).json())["events"]
        if any(e["kind"] == "messages.rejudged" for e in events):
            break
        await asyncio.sleep(0.02)
    kinds = [e["kind"] for e in events]
    assert "domain.confirmed" in kinds and "messages.rejudged" in kinds
    rejudged = next(e for e in events if e["kind"] == "messages.rejudged")
    ids = {m["message_id"] for m in rejudged["payload"]["messages"]}
    assert {"m-1", "m-2"} <= ids and all(m["verdict"] == "fraud" for m in rejudged["payload"]["messages"])
    resp = await client.get(f"/v1/moderation/flags/{flag['id']}", headers=mod)
    assert (await resp.json())["flag"]["verdict"] == "fraud"


async def test_store_down_scans_still_answer_and_flags_wait(make_client, db_url, tmp_path):
    client = await make_client()
    mod = await login(client)
    moderation = client.app[MODERATION]
    real = moderation._write
    failures = 0

    async def failing(batch):
        nonlocal failures
        if failures < 3:
            failures += 1
            raise RuntimeError("database is locked")
        await real(batch)

    moderation._write = failing
    v = await scan(client, SCAM)
    assert v["verdict"] in ("suspicious", "fraud")
    await flags(client, mod, 1)
    metrics = await (await client.get("/metrics")).text()
    assert 'phishguard_flags_total{outcome="retried"} 3.0' in metrics
    assert 'phishguard_flags_total{outcome="recorded"} 1.0' in metrics


async def test_readyz_reports_an_unreachable_store(aiohttp_client, db_url):
    s = settings(db_url)
    client = await aiohttp_client(create_app(s, scanner=Scanner(s)))
    assert (await client.get("/readyz")).status == 200
    moderation = client.app[MODERATION]

    def broken(store):
        raise RuntimeError("connection refused")

    real_run = moderation.run
    moderation.run = lambda fn: real_run(broken)
    resp = await client.get("/readyz")
    assert resp.status == 503 and "store" in (await resp.json())["error"]["message"]


async def test_a_decision_reaches_the_marketplace_webhook_signed(aiohttp_client, aiohttp_server, db_url, users, monkeypatch):
    from aiohttp import web

    from phishguard.moderation.webhooks import new_secret, verify
    from phishguard.page import fetch

    secret, got = new_secret(), []

    async def hook(request):
        body = await request.read()
        verify(secret, request.headers, body)  # raises on a bad signature -> 500 -> the test fails below
        got.append(json.loads(body))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    receiver = await aiohttp_server(app)
    real = fetch.config_from_settings  # let the SSRF-safe client reach this loopback receiver (tests only)
    monkeypatch.setattr(
        fetch, "config_from_settings",
        lambda s: dataclasses.replace(real(s), allow_networks=("127.0.0.0/8",), allowed_ports=frozenset({receiver.port})),
    )
    hooks = [{"name": "mkt", "url": f"http://127.0.0.1:{receiver.port}/hook", "secret": secret}]
    s = settings(db_url, webhooks=hooks)
    client = await aiohttp_client(create_app(s, scanner=Scanner(s)))
    mod = await login(client)
    await scan(client, SCAM, id="m-1", context={"chat_id": "c-1"})
    [flag] = await flags(client, mod, 1)
    resp = await client.post(f"/v1/moderation/flags/{flag['id']}/decision", json={"action": "confirm"}, headers=mod)
    assert resp.status == 200
    for _ in range(200):
        if {"flag.decided", "domain.confirmed", "messages.rejudged"} <= {e["type"] for e in got}:
            break
        await asyncio.sleep(0.02)
    decided = next(e for e in got if e["type"] == "flag.decided")
    assert decided["data"]["message_id"] == "m-1" and decided["data"]["context"] == {"chat_id": "c-1"}
    assert decided["data"]["moderator"] == "anna" and decided["data"]["action"] == "confirm"
    assert {e["type"] for e in got} >= {"domain.confirmed", "messages.rejudged"}


async def test_logins_pause_after_repeated_failures(make_client):
    client = await make_client(login_max_failures=3, login_pause_s=60)
    for _ in range(3):
        assert (await client.post("/v1/moderation/login", json={"user": "anna", "password": "guess"})).status == 401
    resp = await client.post("/v1/moderation/login", json={"user": "anna", "password": PASSWORD})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) > 0
    assert (await resp.json())["error"]["code"] == "rate_limited"
    assert (await client.post("/v1/moderation/login", json={"user": "victor", "password": PASSWORD})).status == 200


async def test_polling_an_unchanged_store_keeps_the_lists_and_the_link_cache(make_client):
    client = await make_client()
    moderation = client.app[MODERATION]
    installed = moderation.standings
    await scan(client, SCAM)
    assert await moderation.refresh() is False and await moderation.refresh() is False
    assert moderation.standings is installed  # nothing re-read, nothing re-installed
