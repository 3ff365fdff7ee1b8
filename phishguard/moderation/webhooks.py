"""Signed webhooks for moderators' decisions (the Standard Webhooks scheme).

Signing (:func:`sign`, :func:`verify`): the secret is ``whsec_<base64>`` and the base64 part, decoded,
is the HMAC-SHA256 key; the signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; the
``webhook-signature`` header is ``v1,<base64 signature>`` (a space-separated list when verifying, so a
secret can be rotated without downtime).

Delivery (:class:`WebhookSender`): one asyncio task per service worker reads the store's outbox and
POSTs each event through the SSRF-safe client (:meth:`phishguard.page.fetch.PageFetcher.post_json`).
The body is ``{"type": kind, "timestamp": ISO-8601 UTC of the event, "data": payload}`` and the
``webhook-id`` is ``evt_<event id>``: the same on every attempt, so receivers can drop repeats.

>>> secret = "whsec_" + "A" * 32
>>> headers = signed_headers(secret, "evt_1", 1700000000, b'{"a":1}')
>>> verify(secret, headers, b'{"a":1}', now=1700000010)
'evt_1'
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from phishguard.page.fetch import PostResult

from .config import WebhookEndpoint
from .store.base import Delivery, Event, Store

__all__ = [
    "Backoff",
    "WebhookClient",
    "WebhookSender",
    "WebhookVerificationError",
    "event_body",
    "new_secret",
    "sign",
    "signed_headers",
    "verify",
    "webhook_id",
]

log = logging.getLogger("phishguard.webhooks")

T = TypeVar("T")
Run = Callable[[Callable[[Store], T]], Awaitable[T]]

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"


class WebhookVerificationError(ValueError):
    """A webhook failed verification (missing header, bad timestamp, no matching signature)."""


# ------------------------------------------------------------------------------------------ signing


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret (a bare base64 secret is accepted too).

    >>> secret_key("whsec_AAEC")
    b'\\x00\\x01\\x02'
    """
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"webhook secret is not {SECRET_PREFIX}<base64>: {exc}") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def new_secret(nbytes: int = 32) -> str:
    """A fresh signing secret: ``whsec_`` + base64 of ``nbytes`` random bytes (24 to 64).

    >>> s = new_secret(); s.startswith("whsec_") and len(secret_key(s))
    32
    """
    if not 24 <= nbytes <= 64:
        raise ValueError("a webhook secret has 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(nbytes)).decode("ascii")


def _digest(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    content = b"%s.%d.%s" % (msg_id.encode("utf-8"), timestamp, body)
    return hmac.new(key, content, hashlib.sha256).digest()


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value (``v1,<base64>``) of one message.

    ``msg_id`` may not contain ``.`` (it would make the signed content ambiguous).
    """
    if not msg_id or "." in msg_id:
        raise ValueError(f"webhook id {msg_id!r} is empty or contains '.'")
    mac = _digest(secret_key(secret), msg_id, int(timestamp), body)
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode('ascii')}"


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise WebhookVerificationError(f"missing header {name}")


def _timestamp(value: str, now: float, tolerance_s: float) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        raise WebhookVerificationError("webhook-timestamp is not an integer")
    ts = int(text)
    if ts < now - tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is too old")
    if ts > now + tolerance_s:
        raise WebhookVerificationError("webhook-timestamp is in the future")
    return ts


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` signatures of a ``webhook-signature`` header (other versions skipped)."""
    found: list[bytes] = []
    for item in header.split():
        version, _, value = item.partition(",")
        if version != SIGNATURE_VERSION:
            continue
        try:
            found.append(base64.b64decode(value, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_s: float = 300,
    now: float | None = None,
) -> str:
    """Check a received webhook; return its ``webhook-id`` (the key to drop repeats by).

    Raises :class:`WebhookVerificationError` when a header is missing, the timestamp is not within
    ``tolerance_s`` of ``now`` (replays), or no ``v1`` signature matches (compared in constant time).
    ``headers`` may be any mapping; names are matched case-insensitively.
    """
    msg_id = _header(headers, "webhook-id")
    ts = _timestamp(_header(headers, "webhook-timestamp"), time.time() if now is None else now, tolerance_s)
    given = _v1_signatures(_header(headers, "webhook-signature"))
    expected = _digest(secret_key(secret), msg_id, ts, body)
    matched = False
    for sig in given:  # every candidate is compared: the time taken does not tell which one matched
        matched |= hmac.compare_digest(sig, expected)
    if not matched:
        raise WebhookVerificationError("no matching signature")
    return msg_id


# ------------------------------------------------------------------------------------------ payload


def webhook_id(event: Event) -> str:
    """``evt_<id>``: stable across retries and endpoints."""
    return f"evt_{event.id}"


def _iso_utc(ts: float) -> str:
    """ISO-8601 in UTC with microseconds and ``Z``.

    >>> _iso_utc(0.5)
    '1970-01-01T00:00:00.500000Z'
    """
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_body(event: Event) -> bytes:
    """The JSON body of an event (compact UTF-8; the same bytes on every attempt)."""
    doc = {"type": event.kind, "timestamp": _iso_utc(event.created_at), "data": event.payload}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ------------------------------------------------------------------------------------------ delivery


class WebhookClient(Protocol):
    """What the sender POSTs with: :class:`phishguard.page.fetch.PageFetcher` (SSRF-safe)."""

    async def post_json(
        self, url: str, body: bytes, headers: Mapping[str, str], *, timeout: float | None = None
    ) -> PostResult: ...


@dataclass(frozen=True)
class Backoff:
    """Delay before the next attempt: ``base_s * factor**(n-1)`` after the n-th failure, capped at
    ``cap_s``, times a random factor in ``[1 - jitter, 1 + jitter]``.

    >>> b = Backoff(jitter=0)
    >>> [b.delay(n, random.Random(0)) for n in (1, 2, 3)], b.delay(20, random.Random(0))
    ([5.0, 25.0, 125.0], 43200.0)
    """

    base_s: float = 5.0
    factor: float = 5.0
    cap_s: float = 12 * 3600.0
    jitter: float = 0.2

    def delay(self, failures: int, rng: random.Random) -> float:
        raw = self.base_s * self.factor ** min(max(failures - 1, 0), 60)
        capped = min(raw, self.cap_s)
        return capped * (1.0 + rng.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class _Outcome:
    """What to record for one delivery: done, or failed with the next attempt's time (None: give up)."""

    done: bool
    error: str = ""
    next_at: float | None = None


class WebhookSender:
    """Delivers the store's webhook outbox; one background task per service worker.

    Each pass takes the due deliveries, POSTs them (at most ``concurrency`` at a time, each within
    ``timeout_s``) and records the outcome: a 2xx answer is done; anything else — a refusal by the
    SSRF guard, a timeout, a connection error, a non-2xx status — is a failed attempt retried after
    an exponential, jittered, capped delay (:class:`Backoff`, or the receiver's ``Retry-After`` when
    longer), until ``max_attempts`` attempts have failed; ``410 Gone`` gives up at once. A delivery
    for an endpoint no longer configured gives up too. Nothing raises out of the loop: each failure
    is one log line.

    Semantics: **at least once**. An event may reach a receiver more than once — after a timeout
    whose POST did arrive, when a worker stops between the POST and the record, or when several
    workers' senders take the same due delivery. Every copy carries the same ``webhook-id``;
    receivers drop repeats by it. The last case is narrowed by the store's ``claim_deliveries``
    (due deliveries taken and their ``next_at`` moved forward by a lease in one transaction; on
    PostgreSQL with ``SKIP LOCKED``), so only a sender whose lease ran out can repeat a send.

    ``run`` executes a function with the store on the store's thread; ``endpoints`` are the
    configured ones (a delivery names its endpoint); ``client`` POSTs through the SSRF guard.
    """

    def __init__(
        self,
        run: Run[Any],
        endpoints: Sequence[WebhookEndpoint],
        client: WebhookClient,
        *,
        max_attempts: int,
        interval_s: float = 1.0,
        timeout_s: float = 15.0,
        batch: int = 50,
        concurrency: int = 8,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.run = run
        self.endpoints = {e.name: e for e in endpoints}
        self.client = client
        self.max_attempts = max_attempts
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.batch = batch
        self.backoff = backoff if backoff is not None else Backoff()
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self._slots = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._unrecorded = 0  # outcomes of the last pass the store did not take

    # -- life cycle

    def start(self) -> None:
        """Start the background loop (idempotent)."""
        if self._task is None or self._task.done():
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="webhook-sender")

    def wake(self) -> None:
        """Run a pass now rather than at the next interval (e.g. right after a decision)."""
        self._wake.set()

    async def stop(self, grace_s: float = 5.0) -> None:
        """Stop the loop: the current pass gets ``grace_s`` to finish, then it is cancelled (an
        unrecorded delivery is simply sent again later)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), grace_s)
        except TimeoutError:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            sent = 0
            try:
                sent = await self.deliver_due()
            except Exception as exc:  # the store is down, a bug ...: log, wait, try again
                log.warning("webhooks: pass failed: %s: %s", type(exc).__name__, exc)
            if sent >= self.batch and not self._unrecorded:
                continue  # more are waiting (but never spin on a store that does not record)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            except TimeoutError:
                pass

    # -- one pass

    async def deliver_due(self) -> int:
        """One pass over the due deliveries; return how many were attempted."""
        self._unrecorded = 0
        due = await self._take_due(self.clock())
        await asyncio.gather(*(self._deliver_one(d) for d in due))
        return len(due)

    async def _take_due(self, now: float) -> list[Delivery]:
        lease = self.timeout_s * 2 + 30.0  # longer than one attempt, so a claim outlives its POST
        limit = self.batch

        return await self.run(lambda store: list(store.claim_deliveries(now=now, lease_s=lease, limit=limit)))

    async def _deliver_one(self, delivery: Delivery) -> None:
        """Attempt one delivery and record the outcome; never raises (a record that fails is logged,
        and the delivery comes due again)."""
        try:
            async with self._slots:
                outcome = await self._attempt(delivery)
            await self._record(delivery, outcome)
        except Exception as exc:
            self._unrecorded += 1
            log.warning("webhooks: delivery %s not recorded: %s: %s", delivery.id, type(exc).__name__, exc)

    async def _attempt(self, d: Delivery) -> _Outcome:
        endpoint = self.endpoints.get(d.endpoint)
        if endpoint is None:
            return _Outcome(False, f"endpoint {d.endpoint!r} is not configured", None)
        if d.event is None:
            return self._failure(d, "delivery came without its event", None)
        if not _for_endpoint(d.event, endpoint):
            return _Outcome(True)
        try:
            body = event_body(d.event)
            headers = signed_headers(endpoint.secret, webhook_id(d.event), int(self.clock()), body)
        except (TypeError, ValueError) as exc:  # a payload that is not JSON, a malformed secret
            return _Outcome(False, f"cannot sign: {exc}", None)
        try:
            result = await self.client.post_json(str(endpoint.url), body, headers, timeout=self.timeout_s)
        except Exception as exc:  # the client is meant not to raise; count it as a failed attempt
            return self._failure(d, f"{type(exc).__name__}: {exc}", None)
        if result.ok:
            return _Outcome(True)
        if result.status == 410:
            return _Outcome(False, f"{result.error} (the receiver is gone)", None)
        return self._failure(d, result.error or f"HTTP {result.status}", result.retry_after)

    def _failure(self, d: Delivery, error: str, retry_after: float | None) -> _Outcome:
        failures = d.attempts + 1
        if failures >= self.max_attempts:
            return _Outcome(False, error, None)
        wait = self.backoff.delay(failures, self.rng)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.backoff.cap_s))
        return _Outcome(False, error, self.clock() + wait)

    async def _record(self, d: Delivery, outcome: _Outcome) -> None:
        now = self.clock()
        if outcome.done:
            await self.run(lambda s: s.delivery_done(d.id, now=now))
            return
        error = outcome.error[:500]
        await self.run(lambda s: s.delivery_failed(d.id, error=error, next_at=outcome.next_at))
        if outcome.next_at is None:
            log.warning("webhook evt_%s to %s: %s; gave up after %d attempts",
                        d.event_id, d.endpoint, error, d.attempts + 1)
        else:
            wait = outcome.next_at - now
            log.warning("webhook evt_%s to %s: %s; attempt %d of %d, next in %.0f s",
                        d.event_id, d.endpoint, error, d.attempts + 1, self.max_attempts, wait)


def _for_endpoint(event: Event, endpoint: WebhookEndpoint) -> bool:
    """An endpoint bound to a tenant gets that tenant's events and the global ones."""
    return endpoint.tenant is None or event.tenant is None or event.tenant == endpoint.tenant
