"""What one service worker runs for moderation (``app[MODERATION]``).

* **The store thread.** The store is synchronous (one connection); every call runs on one dedicated
  thread of this worker (:meth:`Moderation.run`), so the event loop never waits on disk or network.
* **The flag writer.** A scan answers first; its flag (and the sightings of its non-official domains)
  go into a bounded queue that one task writes in batches. If the store fails, the batch is kept and
  retried every ``retry_s``; when the queue is full new flags are dropped — both counted in
  ``/metrics``. A clean stop flushes the queue; a crash loses at most what is in it
  (``moderation.queue_size`` flags + one batch). With ``write_idle_chunk`` set, a service worker under
  load stores a few flags at a time whenever it has no request in hand (:meth:`Moderation._chunk`), so
  the writer's work runs between requests rather than beside them.
* **Decisions** are answered only after the store committed them (``Store.decide``). The deciding
  worker installs the new lists at once; every other worker polls ``lists_version`` every
  ``poll_interval_s`` and installs the moderators' lists into its scanner when it changed.
* **Effects of a confirmed domain.** Open flags carrying it are re-judged with the new lists and
  updated in the store; they and the recent messages that carried it (sightings) are announced in a
  ``messages.rejudged`` event (feed and webhooks).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from aiohttp import web

from ..jsonfast import dumps, loads
from ..ruleset.moderated import Standing, Standings
from ..settings import Settings
from .flags import FLAGGED, new_flag, sightings
from .passwords import hash_password, new_token, token_hash, verify_password
from .store import NotFound, Store, StoreError, open_store
from .store.base import Decision, DomainStatus, Flag, NewFlag, Sighting, User

__all__ = ["MODERATION", "AuthError", "Forbidden", "LoginPaused", "Moderation", "Quiet", "standings_of"]

log = logging.getLogger("phishguard.moderation")
T = TypeVar("T")

DECIDERS = frozenset({"moderator", "admin"})

@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user is unknown, so both failures take the same time."""
    return hash_password("not a password")


class AuthError(Exception):
    """Unknown user, wrong password, or an invalid / expired token."""


class LoginPaused(AuthError):
    """Too many failed logins for this user name: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: float):
        super().__init__(f"too many failed logins; try again in {int(retry_after) + 1} s")
        self.retry_after = retry_after


class Forbidden(Exception):
    """The user's role may not do this (viewers cannot decide)."""


def standings_of(statuses: Sequence[DomainStatus], version: int) -> Standings:
    """The store's domain statuses as the scanner's :class:`Standings`."""
    return Standings(
        version,
        {s.domain: Standing(s.status, s.decision_id, s.moderator, s.decided_at) for s in statuses},
    )


class Quiet(Protocol):
    """What tells the flag writer the worker has no request in hand (``service.limits.InFlight``)."""

    async def wait_idle(self, timeout: float) -> bool: ...


class Moderation:
    """One worker's moderation: store thread, flag writer, lists poller, decisions with effects."""

    def __init__(
        self,
        settings: Settings,
        scanner: Callable[[], Any],
        metrics: Any = None,
        quiet: Quiet | None = None,
    ):
        self.settings = settings
        self.config = settings.moderation
        self._scanner = scanner  # the worker's current scanner (replaced on reload)
        self.metrics = metrics
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="phishguard-store")
        self._store: Store | None = None
        self._queue: asyncio.Queue[Any] = asyncio.Queue()  # _Queued items; bound kept by record()
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: list[_Queued] = []  # the batch being written
        self._quiet = quiet  # the service's in-flight counter: write between requests (see _chunk)
        self._stop_called: asyncio.Future[None] | None = None  # made by start(), set by stop(): flush, no waiting
        self.standings = Standings()
        self._loaded_version: int | None = None  # the store's lists_version the standings were read at
        self.store_ok = False
        self._background: set[asyncio.Task[Any]] = set()
        self.sender: Any = None  # webhooks.WebhookSender when webhooks are configured
        self._failed_logins: dict[str, list[float]] = {}  # user name -> monotonic times of recent failures

    # ------------------------------------------------------------------ life cycle

    async def start(self, *, client: Any = None, migrate: bool = True) -> None:
        """Open the store (and migrate it), load the lists, start the writer, the lists poller, the
        purger and — with webhooks configured — the webhook sender, which POSTs through ``client``
        (the SSRF-safe :class:`~phishguard.page.fetch.PageFetcher` of the worker)."""
        endpoints = [w.name for w in self.config.webhooks]
        self._stop_called = asyncio.get_running_loop().create_future()
        self._store = await self._call(lambda: open_store(self.settings.database_url, webhook_endpoints=endpoints))
        if migrate:
            await self.run(lambda s: s.migrate())
        await self.refresh()
        self._tasks = [
            asyncio.create_task(self._writer(), name="phishguard-flag-writer"),
            asyncio.create_task(self._poller(), name="phishguard-lists-poller"),
            asyncio.create_task(self._purger(), name="phishguard-purger"),
        ]
        if self.config.webhooks and client is not None:
            from .webhooks import WebhookSender

            self.sender = WebhookSender(
                self.run, self.config.webhooks, client, max_attempts=self.config.webhook_max_attempts
            )
            self.sender.start()

    async def stop(self, flush_timeout: float = 10.0) -> None:
        """Stop polling, let the writer store what is queued (up to ``flush_timeout`` s), close."""
        if self.sender is not None:
            await self.sender.stop()
        writer, *others = self._tasks or [None]
        for task in [*others, *self._background]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._stop_called is not None and not self._stop_called.done():
            self._stop_called.set_result(None)  # a writer waiting for a quiet moment writes everything now
        if writer is not None:
            self._queue.put_nowait(_STOP)  # the queue is unbounded: record() enforces the bound
            try:
                await asyncio.wait_for(asyncio.shield(writer), flush_timeout)
            except asyncio.TimeoutError:
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await writer
        self._tasks = []
        left = sum(1 for item in [*self._pending, *_drain(self._queue)] if item is not _STOP and item[0])
        if left:
            log.error("stopping with %d flags not written (the store did not accept them in time)", left)
        if self._store is not None:
            store, self._store = self._store, None
            await self._call(store.close)
        self._pool.shutdown(wait=True)

    # ------------------------------------------------------------------ the store thread

    async def _call(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def run(self, fn: Callable[[Store], T]) -> T:
        """``fn(store)`` on this worker's store thread."""
        store = self._store
        if store is None:
            raise StoreError("the moderation store is not open")
        return await self._call(lambda: fn(store))

    async def ping(self) -> None:
        await self.run(lambda s: s.ping())

    # ------------------------------------------------------------------ flags

    def record(self, verdict: dict[str, Any], *, tenant: str, text: str, message_id: Any, context: Any) -> None:
        """Queue the flag of a suspicious/fraud verdict and the sightings of its domains (never blocks).

        The queue holds a tuple of strings and numbers (the verdict and context as JSON): the garbage
        collector does not walk those, while queued flags of dicts and lists made every young collection
        of a busy worker milliseconds long. The flag is built on the store thread (:func:`_built`)."""
        flagged = verdict["verdict"] in FLAGGED
        if not flagged and not (self.config.sightings and verdict["urls"]):
            return
        if self._queue.qsize() >= self.config.queue_size:  # full: count the loss, build nothing
            self._count("dropped", 1 if flagged else 0)
            return
        self._queue.put_nowait((
            flagged, dumps(verdict), tenant, text, None if message_id is None else str(message_id),
            dumps(context) if context else None, time.time(),
        ))  # fmt: skip
        self._gauge()

    async def _writer(self) -> None:
        """Write queued flags in batches until the stop marker; a failed batch is kept and retried
        (never written twice: it is only dropped from ``_pending`` once the store has it)."""
        stopping = False
        while not (stopping and self._queue.empty()):
            batch = [await self._queue.get()]
            if batch[0] is not _STOP and self._queue.qsize() < self.config.batch_size:
                await asyncio.sleep(self.config.write_linger_s)  # let a batch gather: one commit for many flags
            while len(batch) < self.config.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            stopping = stopping or _STOP in batch
            self._pending = [b for b in batch if b is not _STOP]
            while self._pending:
                chunk = await self._chunk()
                try:
                    await self._write(chunk)
                    del self._pending[: len(chunk)]
                except Exception as exc:  # noqa: BLE001 - the store is down: keep the batch, retry
                    self.store_ok = False
                    self._count("retried", sum(1 for item in self._pending if item[0]))
                    log.warning("flag write failed, retrying in %.1fs: %s", self.config.retry_s, _line(exc))
                    await asyncio.sleep(self.config.retry_s)
            self._gauge()

    async def _chunk(self) -> list[_Queued]:
        """The part of ``_pending`` to write now. With ``write_idle_chunk`` set, in a service under load,
        that many flags once the worker has no request in hand: the store thread's work (building rows,
        SQLite) then runs between requests instead of taking the core and the GIL from one in progress,
        and a chunk is short (~0.5 ms), so a request arriving meanwhile waits little. Everything pending
        once the oldest flag has waited ``write_idle_wait_s`` (a worker that is never idle still writes
        whole batches, as fast as without), once ``stop()`` was called, outside a service, and with
        ``write_idle_chunk`` 0 (the default)."""
        n, stop_called = self.config.write_idle_chunk, self._stop_called
        if self._quiet is None or not n or stop_called is None or stop_called.done():
            return list(self._pending)
        waited = time.time() - self._pending[0][6]
        idle = asyncio.ensure_future(self._quiet.wait_idle(self.config.write_idle_wait_s - waited))
        try:
            await asyncio.wait((idle, stop_called), return_when=asyncio.FIRST_COMPLETED)
        finally:
            idle.cancel()  # stop() was called (or this task was cancelled): no more waiting
        quiet = idle.done() and not idle.cancelled() and idle.result()
        return self._pending[:n] if quiet and not stop_called.done() else list(self._pending)

    async def _write(self, batch: list[_Queued]) -> None:
        store_text, with_sightings = self.config.store_text, self.config.sightings

        def write(store: Store) -> int:
            flags: list[NewFlag] = []
            seen: list[Sighting] = []
            slice_end = time.perf_counter() + _SLICE_S
            for item in batch:
                if time.perf_counter() > slice_end:  # the event loop's thread gets the GIL between slices
                    time.sleep(0)
                    slice_end = time.perf_counter() + _SLICE_S
                try:
                    flag, its = _built(item, store_text, with_sightings)
                except Exception:  # a verdict new_flag cannot take: lose it, not the batch
                    log.exception("a flag could not be built and is dropped")
                    self._count("dropped", 1 if item[0] else 0)
                    continue
                if flag is not None:
                    flags.append(flag)
                seen += its
            store.add_flags(flags, seen)
            return len(flags)

        written = await self.run(write)
        self.store_ok = True
        self._count("recorded", written)

    def _count(self, outcome: str, n: int) -> None:
        if self.metrics is not None and n:
            self.metrics.count_flags(outcome, n)

    def _gauge(self) -> None:
        if self.metrics is not None:
            self.metrics.flag_queue.set(self._queue.qsize())

    # ------------------------------------------------------------------ the moderators' lists

    async def refresh(self) -> bool:
        """Load the lists if the store's version changed; install them into the scanner. True if new."""
        version = await self.run(lambda s: s.lists_version())
        if version == self._loaded_version:  # unchanged: keep the lists (and the scanner's link cache)
            return False
        statuses = await self.run(lambda s: s.domain_statuses())
        self.standings = standings_of(statuses, version)
        self._loaded_version = version
        self.apply()
        return True

    def apply(self, scanner: Any = None) -> None:
        """Install the current lists into ``scanner`` (default: the worker's current one)."""
        scanner = scanner if scanner is not None else self._scanner()
        if scanner is not None and scanner.standings is not self.standings:
            scanner.install_standings(self.standings)

    async def _poller(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_interval_s)
            try:
                await self.refresh()
                self.store_ok = True
            except Exception as exc:  # noqa: BLE001 - keep the lists we have; try again next time
                self.store_ok = False
                log.warning("could not read moderators' lists: %s", _line(exc))

    async def _purger(self) -> None:
        while True:
            await asyncio.sleep(self.config.purge_interval_s)
            try:
                counts = await self.purge()
                log.info("purged past retention: %s", counts)
            except Exception as exc:  # noqa: BLE001 - try again next time
                log.warning("purge failed: %s", _line(exc))

    async def purge(self) -> dict[str, int]:
        """Remove texts, sender ids and sightings older than ``retention_days`` (decisions stay)."""
        before = time.time() - self.config.retention_days * 86400.0
        return await self.run(lambda s: s.purge(before=before))

    # ------------------------------------------------------------------ users and sessions

    async def login(self, name: str, password: str) -> tuple[str, User]:
        """A new session token for ``name`` (AuthError on a wrong name or password; LoginPaused
        after ``login_max_failures`` failures for the name within ``login_pause_s``)."""
        now = time.monotonic()
        failures = [t for t in self._failed_logins.get(name, ()) if now - t < self.config.login_pause_s]
        if len(failures) >= self.config.login_max_failures:
            raise LoginPaused(self.config.login_pause_s - (now - failures[0]))
        try:
            user, stored = await self.run(lambda s: s.get_user(name))
        except NotFound:
            user, stored = None, _dummy_hash()
        ok = await asyncio.get_running_loop().run_in_executor(None, verify_password, password, stored)
        if user is None or not ok or user.disabled:
            if len(self._failed_logins) > 10000:  # bounded: a flood of made-up names cannot grow it
                self._failed_logins.clear()
            self._failed_logins[name] = [*failures, now]
            raise AuthError("wrong user name or password")
        self._failed_logins.pop(name, None)
        token = new_token()
        now = time.time()
        expires = now + self.config.session_ttl_s
        await self.run(lambda s: s.add_token(token_hash(token), user.name, kind="session", expires_at=expires, now=now))
        return token, user

    async def user_for_token(self, token: str) -> User | None:
        if not token:
            return None
        return await self.run(lambda s: s.user_for_token(token_hash(token), now=time.time()))

    async def logout(self, token: str) -> None:
        await self.run(lambda s: s.drop_token(token_hash(token)))

    # ------------------------------------------------------------------ decisions

    async def decide(
        self, user: User, action: str, *, flag_ids: Sequence[int] = (), domains: Sequence[str] = (), note: str = ""
    ) -> list[Decision]:
        """Commit a decision, apply the new lists here at once, then re-judge in the background."""
        if user.role not in DECIDERS:
            raise Forbidden(f"{user.role}s cannot decide")
        now = time.time()

        def commit(store: Store) -> tuple[list[Decision], list[Flag]]:
            flags = [store.get_flag(i) for i in flag_ids]
            events = _events(action, user.name, note, flags, domains, now)
            return store.decide(
                action=action, moderator=user.name, note=note, flag_ids=list(flag_ids), domains=list(domains),
                events=events, now=now,
            ), flags

        decisions, _ = await self.run(commit)
        await self.refresh()
        self._wake_sender()
        if action == "confirm":
            confirmed = sorted({d for dec in decisions for d in dec.domains})
            if confirmed:
                task = asyncio.create_task(self.rejudge(confirmed))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
        return decisions

    async def decide_campaign(self, user: User, key: str, action: str, note: str = "") -> list[Decision]:
        """Decide every open flag of a campaign at once (NotFound if it has none)."""
        ids = await self.run(lambda s: s.campaign_flag_ids(key, status="open" if action != "reopen" else "confirmed"))
        if not ids:
            raise NotFound(f"no flags to decide in campaign {key!r}")
        return await self.decide(user, action, flag_ids=ids, note=note)

    async def rejudge(self, domains: Sequence[str]) -> dict[str, Any]:
        """Re-scan the open flags carrying ``domains`` with the current lists, record their new
        verdicts, and announce them and the recent messages with those domains (``messages.rejudged``)."""
        scanner = self._scanner()
        since = time.time() - self.config.retention_days * 86400.0
        affected: list[dict[str, Any]] = []
        for domain in domains:
            flags = await self.run(lambda s, d=domain: s.flags_with_domain(d, status="open"))
            for flag in flags:
                if scanner is not None and flag.text:
                    v = scanner.scan(flag.text, id=flag.message_id, context=flag.context).to_dict()
                    await self.run(
                        lambda s, f=flag, v=v: s.update_flag_verdict(f.id, v["verdict"], v["score"], v["reasons"], v["rules_version"])
                    )
                    verdict, score = v["verdict"], v["score"]
                else:
                    verdict, score = "fraud", 1.0  # a confirmed domain floors at fraud
                affected.append({"tenant": flag.tenant, "message_id": flag.message_id, "flag_id": flag.id,
                                 "context": flag.context, "verdict": verdict, "score": score, "domain": domain})
            seen = await self.run(lambda s, d=domain: s.sightings(d, since=since))
            flagged_ids = {(a["tenant"], a["message_id"]) for a in affected}
            for s in seen:
                if (s.tenant, s.message_id) not in flagged_ids:
                    affected.append({"tenant": s.tenant, "message_id": s.message_id, "flag_id": None,
                                     "context": s.context, "verdict": "fraud", "score": 1.0, "domain": domain})
        by_tenant: dict[str, list[dict[str, Any]]] = {}
        for a in affected:
            by_tenant.setdefault(a["tenant"], []).append(a)
        now = time.time()
        events = [("messages.rejudged", tenant, {"domains": list(domains), "messages": items}) for tenant, items in by_tenant.items()]
        if events:
            await self.run(lambda s: s.add_events(events, now=now))
            self._wake_sender()
        return {"domains": list(domains), "messages": len(affected)}

    def _wake_sender(self) -> None:
        if self.sender is not None:
            self.sender.wake()


def _events(
    action: str, moderator: str, note: str, flags: Sequence[Flag], domains: Sequence[str], now: float
) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The feed entries of one decision: one ``flag.decided`` per flag (to its tenant) and one
    ``domain.<confirmed|dismissed|reopened>`` per affected domain (to everyone)."""
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    events: list[tuple[str, str | None, dict[str, Any]]] = []
    for f in flags:
        events.append(("flag.decided", f.tenant, {
            "action": action, "moderator": moderator, "note": note, "decided_at": at, "flag_id": f.id,
            "message_id": f.message_id, "tenant": f.tenant, "context": f.context, "domains": f.domains,
        }))
    past = {"confirm": "confirmed", "dismiss": "dismissed", "reopen": "reopened"}[action]
    every = list(dict.fromkeys([*domains, *(d for f in flags for d in f.domains)]))
    for d in every:
        events.append((f"domain.{past}", None, {"domain": d, "action": action, "moderator": moderator, "note": note, "decided_at": at}))
    return events


_STOP = object()  # the writer's stop marker

#: Building a batch's flags is pure Python (~25 µs a flag): the store thread offers the GIL to the event
#: loop's thread after this long, instead of holding it up to the interpreter's 5 ms switch interval.
_SLICE_S = 0.0005

#: A queued flag: (flagged, verdict JSON, tenant, text, message id, context JSON or None, time recorded).
_Queued = tuple[bool, str, str, str, "str | None", "str | None", float]


def _built(item: _Queued, store_text: str, with_sightings: bool) -> tuple[NewFlag | None, list[Sighting]]:
    """The flag (None unless flagged) and the sightings of a queued item, on the store thread."""
    flagged, verdict_json, tenant, text, message_id, context_json, now = item
    verdict = loads(verdict_json)
    context = loads(context_json) if context_json is not None else None
    flag = None
    if flagged:
        flag = new_flag(
            verdict, tenant=tenant, text=text, message_id=message_id, context=context, store_text=store_text, now=now
        )
    seen: list[Sighting] = []
    if with_sightings:
        domains = flag.domains if flag is not None else None  # the flag has them already
        seen = list(sightings(verdict, tenant=tenant, message_id=message_id, context=context, now=now, domains=domains))
    return flag, seen


def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


def _line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]


MODERATION = web.AppKey("phishguard_moderation", Moderation)
