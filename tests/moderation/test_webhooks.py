"""Standard Webhooks signing and the webhook sender, against real local receivers.

Network rule: only 127.0.0.1 is contacted (an aiohttp receiver started by each test), through the
SSRF-safe client with ``allow_networks`` admitting loopback — except in the refusal test, where it
is not admitted and the receiver must see nothing. The store is a tiny in-memory fake of the three
outbox methods the sender calls; the real stores are tested with the store suite.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from phishguard.moderation.config import WebhookEndpoint
from phishguard.moderation.store.base import Delivery, Event
from phishguard.moderation.webhooks import (
    Backoff,
    WebhookSender,
    WebhookVerificationError,
    event_body,
    new_secret,
    secret_key,
    sign,
    signed_headers,
    verify,
)
from phishguard.page.fetch import FetchConfig, PageFetcher

# The test vector published with the Standard Webhooks reference libraries
# (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py, test_sign_function;
# the same values appear in the other languages' test suites).
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

T0 = 1_700_000_000.0


# ------------------------------------------------------------------------------------ signing


def test_the_spec_vector():
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP + 299) == SPEC_ID


def _spec_headers(**override: str) -> dict[str, str]:
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    headers.update(override)
    return headers


@pytest.mark.parametrize(
    ("secret", "headers", "body", "now", "why"),
    [
        (SPEC_SECRET, _spec_headers(), b'{"test": 2432232315}', SPEC_TIMESTAMP, "no matching signature"),
        (new_secret(), _spec_headers(), SPEC_BODY, SPEC_TIMESTAMP, "no matching signature"),
        (SPEC_SECRET, _spec_headers(), SPEC_BODY, SPEC_TIMESTAMP + 301, "too old"),
        (SPEC_SECRET, _spec_headers(), SPEC_BODY, SPEC_TIMESTAMP - 301, "in the future"),
        (SPEC_SECRET, _spec_headers(**{"webhook-timestamp": str(SPEC_TIMESTAMP + 1)}), SPEC_BODY,
         SPEC_TIMESTAMP, "no matching signature"),
        (SPEC_SECRET, _spec_headers(**{"webhook-id": "msg_other"}), SPEC_BODY, SPEC_TIMESTAMP,
         "no matching signature"),
        (SPEC_SECRET, _spec_headers(**{"webhook-timestamp": "hello"}), SPEC_BODY, SPEC_TIMESTAMP, "not an integer"),
        (SPEC_SECRET, _spec_headers(**{"webhook-signature": "v2," + SPEC_SIGNATURE[3:]}), SPEC_BODY,
         SPEC_TIMESTAMP, "no matching signature"),
        (SPEC_SECRET, {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP)}, SPEC_BODY,
         SPEC_TIMESTAMP, "missing header webhook-signature"),
    ],
    ids=["tampered-body", "wrong-secret", "old", "future", "other-timestamp", "other-id", "bad-timestamp",
         "other-version", "no-signature"],
)
def test_verify_rejects(secret: str, headers: dict[str, str], body: bytes, now: float, why: str):
    with pytest.raises(WebhookVerificationError, match=why):
        verify(secret, headers, body, now=now)


def test_verify_takes_a_list_of_signatures_and_any_header_case():
    rotated = f"v1,{'A' * 43}= v1a,bm90IGEgc2lnbmF0dXJl v1,***** {SPEC_SIGNATURE}"
    headers = {"Webhook-Id": SPEC_ID, "WEBHOOK-TIMESTAMP": str(SPEC_TIMESTAMP), "webhook-signature": rotated}
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TIMESTAMP) == SPEC_ID


def test_secrets():
    s = new_secret()
    assert s.startswith("whsec_") and len(secret_key(s)) == 32 and s != new_secret()
    assert len(secret_key(new_secret(24))) == 24
    with pytest.raises(ValueError):
        new_secret(16)
    with pytest.raises(ValueError, match="base64"):
        sign("whsec_not base64!", "evt_1", 1, b"")
    with pytest.raises(ValueError, match="'.'"):
        sign(SPEC_SECRET, "evt.1", 1, b"")


def test_the_receiver_example_in_the_docs_verifies_our_signatures():
    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", text, re.S)
    assert code is not None and len(code.group(1).splitlines()) <= 15
    scope: dict[str, Any] = {}
    exec(code.group(1), scope)
    secret, body = new_secret(), "{\"type\":\"flag.decided\",\"note\":\"фишинг\"}".encode()
    headers = signed_headers(secret, "evt_42", int(time.time()), body)
    assert scope["verify_webhook"](secret, headers, body) == "evt_42"
    with pytest.raises(ValueError, match="signature"):
        scope["verify_webhook"](secret, headers, body + b" ")
    assert scope["verify_webhook"](SPEC_SECRET, _spec_headers(), SPEC_BODY, tolerance=10**10) == SPEC_ID


def test_event_body_is_the_standard_envelope():
    ev = Event(id=7, kind="domain.confirmed", tenant=None, payload={"domains": ["аvito-pay.ru"]}, created_at=T0 + 0.25)
    doc = json.loads(event_body(ev))
    assert doc == {"type": "domain.confirmed", "timestamp": "2023-11-14T22:13:20.250000Z",
                   "data": {"domains": ["аvito-pay.ru"]}}
    assert event_body(ev) == event_body(ev)


def test_backoff_grows_is_capped_and_jittered():
    rng = random.Random(1)
    b = Backoff(base_s=5, factor=5, cap_s=3600, jitter=0.2)
    delays = [b.delay(n, rng) for n in range(1, 9)]
    for n, d in enumerate(delays, start=1):
        nominal = min(5 * 5 ** (n - 1), 3600)
        assert 0.8 * nominal <= d <= 1.2 * nominal
    assert delays[0] < delays[1] < delays[2] < delays[3]
    assert max(delays) <= 3600 * 1.2


# ------------------------------------------------------------------------------------ fakes


class Clock:
    """A settable wall clock (UNIX seconds)."""

    def __init__(self, t: float = T0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@dataclass
class _Row:
    id: int
    event: Event
    endpoint: str
    attempts: int = 0
    next_at: float = T0
    done_at: float | None = None
    gave_up: bool = False
    errors: list[str] = field(default_factory=list)


class FakeOutbox:
    """The outbox part of a Store the sender uses: claim_deliveries, delivery_done, delivery_failed."""

    def __init__(self) -> None:
        self.rows: dict[int, _Row] = {}
        self.claims: list[float] = []

    def queue(self, event: Event, endpoint: str, *, next_at: float = T0) -> _Row:
        row = _Row(id=len(self.rows) + 1, event=event, endpoint=endpoint, next_at=next_at)
        self.rows[row.id] = row
        return row

    def due_deliveries(self, *, now: float, limit: int = 50) -> list[Delivery]:
        due = [r for r in self.rows.values() if r.done_at is None and not r.gave_up and r.next_at <= now]
        due.sort(key=lambda r: (r.next_at, r.id))
        return [Delivery(id=r.id, event_id=r.event.id, endpoint=r.endpoint, attempts=r.attempts, next_at=r.next_at,
                         event=r.event) for r in due[:limit]]

    def claim_deliveries(self, *, now: float, lease_s: float, limit: int = 50) -> list[Delivery]:
        self.claims.append(lease_s)
        due = self.due_deliveries(now=now, limit=limit)
        for d in due:
            self.rows[d.id].next_at = now + lease_s
        return due

    def delivery_done(self, delivery_id: int, *, now: float) -> None:
        self.rows[delivery_id].done_at = now

    def delivery_failed(self, delivery_id: int, *, error: str, next_at: float | None) -> None:
        row = self.rows[delivery_id]
        row.attempts += 1
        row.errors.append(error)
        if next_at is None:
            row.gave_up = True
        else:
            row.next_at = next_at


def runner_for(store: Any) -> Callable[[Callable[[Any], Any]], Any]:
    async def run(fn: Callable[[Any], Any]) -> Any:
        return fn(store)

    return run


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1: answers with the scripted statuses (then 200), keeps every
    request, and verifies each with :func:`verify` at the test clock's time."""

    secret: str
    clock: Clock
    statuses: list[int] = field(default_factory=list)
    extra_headers: dict[str, str] = field(default_factory=dict)
    seen: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.seen.append((dict(request.headers), body))
        self.verified.append(verify(self.secret, request.headers, body, now=self.clock()))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok", headers=self.extra_headers)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


async def moved(request: web.Request) -> web.Response:
    return web.Response(status=307, headers={"Location": "/hook"})


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(0.4)
    return web.Response(status=204)


@asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    app.router.add_post("/moved", moved)
    app.router.add_post("/slow", slow)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield receiver
    finally:
        await runner.cleanup()


def client_for(port: int, *, loopback: bool = True) -> PageFetcher:
    allow = ("127.0.0.1/32",) if loopback else ()
    return PageFetcher(FetchConfig(allowed_ports=frozenset({port}), allow_networks=allow, timeout=5.0))


def decided(event_id: int = 1, tenant: str | None = "t1") -> Event:
    payload = {"decision_id": 3, "action": "confirm", "moderator": "alice", "note": "kit", "flag_id": 11,
               "message_id": "m-1", "tenant": tenant, "context": {"chat_id": "c-1"}, "domains": ["avito-pay.ru"]}
    return Event(id=event_id, kind="flag.decided", tenant=tenant, payload=payload, created_at=T0 - 1)


def sender(store: Any, endpoints: list[WebhookEndpoint], client: Any, clock: Clock, **kw: Any) -> WebhookSender:
    kw.setdefault("max_attempts", 8)
    return WebhookSender(runner_for(store), endpoints, client, clock=clock, rng=random.Random(0), **kw)


# ------------------------------------------------------------------------------------ delivery


async def test_signed_posts_reach_a_real_receiver_that_verifies_them():
    clock, store, secret = Clock(), FakeOutbox(), new_secret()
    store.queue(decided(1), "mkt")
    store.queue(decided(2, tenant=None), "mkt")
    async with receiving(Receiver(secret, clock)) as rx, client_for(rx.port) as client:
        ep = WebhookEndpoint(name="mkt", url=rx.url, secret=secret)
        assert await sender(store, [ep], client, clock).deliver_due() == 2
    assert sorted(rx.verified) == ["evt_1", "evt_2"]
    assert all(r.done_at == clock.t and not r.errors for r in store.rows.values())
    headers, body = next((h, b) for h, b in rx.seen if h["webhook-id"] == "evt_1")
    assert headers["webhook-timestamp"] == str(int(clock.t))
    assert headers["Content-Type"] == "application/json" and "Cookie" not in headers
    assert headers["User-Agent"].startswith("phishguard/")
    doc = json.loads(body)
    assert doc["type"] == "flag.decided" and doc["data"]["moderator"] == "alice"
    assert doc["timestamp"] == "2023-11-14T22:13:19.000000Z"


async def test_a_500_is_retried_later_with_the_same_webhook_id():
    clock, store, secret = Clock(), FakeOutbox(), new_secret()
    row = store.queue(decided(5), "mkt")
    async with receiving(Receiver(secret, clock, statuses=[500])) as rx, client_for(rx.port) as client:
        s = sender(store, [WebhookEndpoint(name="mkt", url=rx.url, secret=secret)], client, clock)
        assert await s.deliver_due() == 1
        assert row.attempts == 1 and row.errors == ["HTTP 500"] and row.done_at is None
        assert 4 <= row.next_at - clock.t <= 6  # the first backoff step, jittered
        assert await s.deliver_due() == 0  # not due yet
        clock.t = row.next_at + 1
        assert await s.deliver_due() == 1
    assert row.done_at == clock.t
    assert rx.verified == ["evt_5", "evt_5"]
    first, second = (h["webhook-timestamp"] for h, _ in rx.seen)
    assert first != second  # each attempt is signed at its own time


async def test_gives_up_after_max_attempts():
    clock, store, secret = Clock(), FakeOutbox(), new_secret()
    row = store.queue(decided(9), "mkt")
    async with receiving(Receiver(secret, clock, statuses=[503] * 10)) as rx, client_for(rx.port) as client:
        s = sender(store, [WebhookEndpoint(name="mkt", url=rx.url, secret=secret)], client, clock, max_attempts=3)
        for _ in range(6):
            await s.deliver_due()
            clock.t += 100_000
    assert len(rx.seen) == 3 and row.attempts == 3 and row.gave_up and row.done_at is None


async def test_410_gives_up_at_once_and_retry_after_is_honoured():
    clock, store, secret = Clock(), FakeOutbox(), new_secret()
    gone = store.queue(decided(1), "gone")
    busy = store.queue(decided(2), "busy")
    async with receiving(Receiver(secret, clock, statuses=[410])) as rx_gone, \
            receiving(Receiver(secret, clock, statuses=[429], extra_headers={"Retry-After": "600"})) as rx_busy:
        config = FetchConfig(allowed_ports=frozenset({rx_gone.port, rx_busy.port}), allow_networks=("127.0.0.1/32",))
        async with PageFetcher(config) as client:
            eps = [WebhookEndpoint(name="gone", url=rx_gone.url, secret=secret),
                   WebhookEndpoint(name="busy", url=rx_busy.url, secret=secret)]
            await sender(store, eps, client, clock).deliver_due()
    assert gone.gave_up and gone.attempts == 1 and "gone" in gone.errors[0]
    assert not busy.gave_up and busy.errors == ["HTTP 429"] and busy.next_at - clock.t >= 600


async def test_loopback_without_allow_networks_is_refused_and_recorded():
    clock, store, secret = Clock(), FakeOutbox(), new_secret()
    row = store.queue(decided(4), "mkt")
    async with receiving(Receiver(secret, clock)) as rx, client_for(rx.port, loopback=False) as client:
        s = sender(store, [WebhookEndpoint(name="mkt", url=rx.url, secret=secret)], client, clock)
        assert await s.deliver_due() == 1
    assert rx.seen == []
    assert row.attempts == 1 and not row.gave_up and row.done_at is None
    assert row.errors == ["refused: address 127.0.0.1 is loopback"]


async def test_post_does_not_follow_redirects():
    clock, secret = Clock(), new_secret()
    async with receiving(Receiver(secret, clock)) as rx, client_for(rx.port) as client:
        result = await client.post_json(f"http://127.0.0.1:{rx.port}/moved", b"{}", {})
        ok = await client.post_json(rx.url, b"{}", signed_headers(secret, "evt_1", int(clock.t), b"{}"))
    assert result.status == 307 and not result.ok and "not followed" in (result.error or "")
    assert ok.ok and ok.status == 200 and ok.error is None
    assert len(rx.seen) == 1  # the redirect target was never POSTed to


async def test_post_timeout_is_the_callers_not_the_fetchers():
    clock = Clock()
    async with receiving(Receiver(new_secret(), clock)) as rx:
        config = FetchConfig(allowed_ports=frozenset({rx.port}), allow_networks=("127.0.0.1/32",), timeout=0.1)
        async with PageFetcher(config) as client:
            url = f"http://127.0.0.1:{rx.port}/slow"
            patient = await client.post_json(url, b"{}", {}, timeout=3.0)
            hasty = await client.post_json(url, b"{}", {})
    assert patient.ok and patient.status == 204
    assert hasty.status is None and "timed out after 0.1 s" in (hasty.error or "")


async def test_unknown_endpoint_and_other_tenant():
    clock, store, secret = Clock(), FakeOutbox(), new_secret()
    lost = store.queue(decided(1), "removed-from-config")
    other = store.queue(decided(2, tenant="t2"), "mkt")
    mine = store.queue(decided(3, tenant="t1"), "mkt")
    async with receiving(Receiver(secret, clock)) as rx, client_for(rx.port) as client:
        ep = WebhookEndpoint(name="mkt", url=rx.url, secret=secret, tenant="t1")
        assert await sender(store, [ep], client, clock).deliver_due() == 3
    assert lost.gave_up and "not configured" in lost.errors[0]
    assert other.done_at is not None and mine.done_at is not None
    assert rx.verified == ["evt_3"]


async def test_deliveries_are_claimed_with_a_lease_longer_than_an_attempt():
    clock, store, secret = Clock(), FakeOutbox(), new_secret()
    row = store.queue(decided(1), "mkt")
    async with receiving(Receiver(secret, clock, statuses=[500])) as rx, client_for(rx.port) as client:
        s = sender(store, [WebhookEndpoint(name="mkt", url=rx.url, secret=secret)], client, clock, timeout_s=10)
        assert await s.deliver_due() == 1
    assert store.claims == [50.0] and row.attempts == 1 and row.next_at < clock.t + 10


async def test_the_loop_survives_a_broken_store_and_stops(caplog: pytest.LogCaptureFixture):
    clock, secret = Clock(), new_secret()
    store = FakeOutbox()
    row = store.queue(decided(1), "mkt")
    calls = 0

    async def flaky_run(fn: Callable[[Any], Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database is locked")
        return fn(store)

    async with receiving(Receiver(secret, clock)) as rx, client_for(rx.port) as client:
        ep = WebhookEndpoint(name="mkt", url=rx.url, secret=secret)
        s = WebhookSender(flaky_run, [ep], client, max_attempts=3, interval_s=0.02, clock=clock)
        s.start()
        for _ in range(200):
            if row.done_at is not None:
                break
            await asyncio.sleep(0.01)
        await s.stop()
        await s.stop()  # twice is fine
    assert row.done_at is not None and rx.verified == ["evt_1"]
    assert any("database is locked" in r.getMessage() for r in caplog.records)
