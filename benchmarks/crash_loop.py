"""Crash safety under load: kill -9 ``phishguard serve`` at random moments, over and over (issue #9).

Usage: python benchmarks/crash_loop.py --minutes M [--database-url URL | --postgres] [--workers 1]
                                       [--seed S] [--scans N] [--concurrency C]

Each round: start ``phishguard serve`` on the store, drive flagged scans (the flag queue fills) and,
once a share of their flags is in the store, a burst of moderator decisions on them; SIGKILL the whole
process group at a random moment (0.05–1.5 s into the burst); count. After every round the store is
opened and migrated again (it must never be left unusable), and:

* every decision the service acknowledged (HTTP 200) is in the store, and its flag is decided;
* flags lost = flagged scans answered − flags stored, which must stay within
  ``moderation.queue_size + moderation.batch_size`` per worker (issue #8's bound).

``--database-url`` defaults to a SQLite file in a temporary folder; ``--postgres`` starts a throwaway
PostgreSQL cluster (tests/moderation/pgcluster.py: initdb + pg_ctl) for the run. Prints one line per
round and the totals; exit status 1 if any round broke a rule. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from conformance import MODERATOR, PASSWORD, child_env, free_port

from phishguard.moderation.config import ModerationSettings
from phishguard.moderation.passwords import hash_password
from phishguard.moderation.store import open_store
from phishguard.moderation.store.base import FlagQuery

MAX_MINUTES = 120.0


@dataclass
class Round:
    """What one round sent, what the service acknowledged, and what the store holds afterwards."""

    index: int
    flagged: int = 0  # flagged scans answered 200 in this round
    stored: int = 0  # flags of this round in the store after the crash
    decided_acked: int = 0
    decided_lost: int = 0
    killed_at_s: float = 0.0
    store_ok: bool = True
    error: str = ""

    @property
    def flags_lost(self) -> int:
        return self.flagged - self.stored


def prepare(db_url: str) -> None:
    """Migrate the store and add the moderator (once per run)."""
    store = open_store(db_url)
    try:
        store.migrate()
        with contextlib.suppress(Exception):  # already there (a reused database)
            store.add_user(MODERATOR, "moderator", hash_password(PASSWORD), now=time.time())
    finally:
        store.close()


def start(db_url: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    """``phishguard serve`` in its own process group (killed as a whole)."""
    env = child_env(db_url, PHISHGUARD_MODERATION__POLL_INTERVAL_S="0.2", PHISHGUARD_SERVICE__ACCESS_LOG="false")
    with open(log, "ab") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "phishguard", "serve", "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT, start_new_session=True,
        )


def kill9(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


async def ready(session: aiohttp.ClientSession, base: str, proc: subprocess.Popen) -> None:
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited at start-up with status {proc.returncode}")
        with contextlib.suppress(aiohttp.ClientError):
            async with session.get(base + "/readyz") as resp:
                if resp.status == 200:
                    return
        await asyncio.sleep(0.05)
    raise RuntimeError("serve never became ready")


def scam(round_no: int, i: int) -> str:
    return f"Покупатель оплатил заказ №{i}, получите деньги: https://avito-pay-c{round_no}-{i}.ru/pay/{i}"


def store_view(db_url: str, round_no: int) -> tuple[set[str], set[int]]:
    """The message ids of this round's stored flags, and the ids of the flags decided ``confirm``.

    Opening and migrating here is the check that the crash left the store usable."""
    store = open_store(db_url)
    try:
        store.migrate()
        prefix = f"c{round_no}-"
        ids, before = set(), None
        while True:
            page = store.list_flags(FlagQuery(limit=500, before_id=before))
            ids |= {str(f.message_id) for f in page.items if str(f.message_id).startswith(prefix)}
            if page.next is None:
                break
            before = page.next
        confirmed = {d.flag_id for d in store.decisions(limit=100000) if d.action == "confirm"}
        return ids, confirmed
    finally:
        store.close()


async def scans(session: aiohttp.ClientSession, base: str, round_no: int, n: int, concurrency: int) -> list[str]:
    """``n`` scam scans; the ids of those answered 200 and flagged."""
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> str | None:
        mid = f"c{round_no}-{i}"
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with sem, session.post(base + "/v1/scan", json={"text": scam(round_no, i), "id": mid}) as r:
                if r.status == 200 and (await r.json())["verdict"] != "safe":
                    return mid
        return None

    return [m for m in await asyncio.gather(*(one(i) for i in range(n))) if m]


async def decisions(session: aiohttp.ClientSession, base: str, flag_ids: list[int], acked: list[int]) -> None:
    """Confirm each flag (8 at a time) until the process dies; acknowledged ids go into ``acked``."""
    async with session.post(base + "/v1/moderation/login", json={"user": MODERATOR, "password": PASSWORD}) as r:
        auth = {"Authorization": f"Bearer {(await r.json())['token']}"}
    sem = asyncio.Semaphore(8)

    async def decide(fid: int) -> None:
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with sem, session.post(f"{base}/v1/moderation/flags/{fid}/decision",
                                         json={"action": "confirm", "note": "crash loop"}, headers=auth) as r:
                if r.status == 200:
                    await r.json()
                    acked.append(fid)

    await asyncio.gather(*(decide(f) for f in flag_ids))


def open_flag_ids(db_url: str, round_no: int) -> list[int]:
    store = open_store(db_url)
    try:
        page = store.list_flags(FlagQuery(status="open", limit=500))
        return [f.id for f in page.items if str(f.message_id).startswith(f"c{round_no}-")]
    finally:
        store.close()


async def drive(db_url: str, rnd: Round, args: argparse.Namespace, rng: random.Random, log: Path) -> list[int]:
    """Start, load, kill -9 at a random moment during the decisions burst; the acknowledged decisions."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start(db_url, port, args.workers, log)
    acked: list[int] = []
    try:
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await ready(session, base, proc)
            flagged = await scans(session, base, rnd.index, args.scans, args.concurrency)
            rnd.flagged = len(flagged)
            await asyncio.sleep(0.3)  # part of the queue reaches the store, part is still queued
            ids = open_flag_ids(db_url, rnd.index)
            more = asyncio.ensure_future(scans(session, base, rnd.index + 100000, args.scans // 2, args.concurrency))
            burst = asyncio.ensure_future(decisions(session, base, ids, acked))
            rnd.killed_at_s = rng.uniform(0.05, 1.5)
            await asyncio.sleep(rnd.killed_at_s)
            kill9(proc)
            await asyncio.gather(burst, more, return_exceptions=True)
            rnd.flagged += len(more.result()) if more.done() and not more.exception() else 0
    finally:
        if proc.poll() is None:
            kill9(proc)
    return acked


def check(db_url: str, rnd: Round, acked: list[int]) -> None:
    """Count what the store kept of this round; a store that cannot be opened is a failed round."""
    try:
        ids, confirmed = store_view(db_url, rnd.index)
        extra, _ = store_view(db_url, rnd.index + 100000)
    except Exception as exc:  # noqa: BLE001 - any failure to open or migrate is the finding
        rnd.store_ok, rnd.error = False, f"{type(exc).__name__}: {exc}"
        return
    rnd.stored = len(ids) + len(extra)
    rnd.decided_acked = len(acked)
    rnd.decided_lost = len(set(acked) - confirmed)


def line(rnd: Round) -> str:
    return (
        f"round {rnd.index:>3}: killed {rnd.killed_at_s:.2f} s into the burst; flagged scans answered "
        f"{rnd.flagged}, flags stored {rnd.stored}, lost {rnd.flags_lost}; decisions acknowledged "
        f"{rnd.decided_acked}, lost {rnd.decided_lost}; store {'ok' if rnd.store_ok else 'BROKEN: ' + rnd.error}"
    )


@contextlib.contextmanager
def database(args: argparse.Namespace, tmp: str) -> Iterator[str]:
    """The store URL of the run: given, a throwaway PostgreSQL, or a SQLite file in ``tmp``."""
    if args.postgres:
        sys.path.insert(0, str(ROOT / "tests" / "moderation"))
        from pgcluster import postgres_server

        with postgres_server("") as url:
            yield url
    else:
        yield args.database_url or f"sqlite:///{tmp}/crash-loop.db"


def run(args: argparse.Namespace) -> int:
    cfg = ModerationSettings()
    bound = (cfg.queue_size + cfg.batch_size) * args.workers
    rng = random.Random(args.seed)
    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as tmp, database(args, tmp) as db_url:
        kind = db_url.split(":", 1)[0]
        print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
              f"{platform.python_implementation()} {platform.python_version()}; store: {kind}")
        print(f"bound per crash: (queue_size {cfg.queue_size} + batch_size {cfg.batch_size}) × {args.workers} worker(s) = {bound}")
        prepare(db_url)
        end = time.monotonic() + args.minutes * 60.0
        while time.monotonic() < end:
            rnd = Round(len(rounds) + 1)
            try:
                acked = asyncio.run(drive(db_url, rnd, args, rng, Path(tmp) / "serve.log"))
            except RuntimeError as exc:
                rnd.store_ok, rnd.error = False, str(exc)
                acked = []
            if rnd.store_ok:
                check(db_url, rnd, acked)
            rounds.append(rnd)
            print(line(rnd), flush=True)
            if not rnd.store_ok:
                break
    bad = [r for r in rounds if r.decided_lost or r.flags_lost > bound or not r.store_ok]
    print(f"rounds: {len(rounds)}; decisions acknowledged {sum(r.decided_acked for r in rounds)}, lost "
          f"{sum(r.decided_lost for r in rounds)}; flags lost per crash: max {max((r.flags_lost for r in rounds), default=0)} "
          f"(bound {bound}), total {sum(r.flags_lost for r in rounds)} of {sum(r.flagged for r in rounds)}; "
          f"rounds breaking a rule: {len(bad)}")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, required=True, help=f"length of the loop (at most {MAX_MINUTES:g})")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--database-url", default=None, help="the store (default: a temporary SQLite file)")
    where.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL cluster (initdb on PATH)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--scans", type=int, default=400, help="flagged scans per round before the burst")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--seed", type=int, default=20261123)
    args = ap.parse_args()
    args.minutes = min(args.minutes, MAX_MINUTES)
    sys.exit(run(args))


if __name__ == "__main__":
    main()
