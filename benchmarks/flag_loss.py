"""How many flags a crash can lose: the bound of issue #8, measured.

Flags are written off the response path (a bounded queue per worker, one writer). A clean stop
writes what is queued; a ``kill -9`` loses what the queue holds at that instant — at most
``moderation.queue_size`` flags plus the batch being written. This script sends bursts of scam
messages (each one flagged) to ``phishguard serve``, kills the server with SIGKILL right after the
last answer, and counts the acknowledged flagged scans missing from the store.

Usage: python benchmarks/flag_loss.py [--rounds R] [--burst N] [--concurrency C] [--database-url URL]
(default store: a fresh SQLite file per round in a temporary folder). Prints one line per round and the
worst case beside the configured bound. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from http_load import start_server  # noqa: E402

from phishguard.moderation.config import ModerationSettings  # noqa: E402
from phishguard.moderation.store import open_store  # noqa: E402
from phishguard.moderation.store.base import FlagQuery  # noqa: E402


def count_flags(url: str) -> int:
    store = open_store(url)
    try:
        n, before = 0, None
        while True:
            page = store.list_flags(FlagQuery(limit=500, before_id=before))
            n += len(page.items)
            if page.next is None:
                return n
            before = page.next
    finally:
        store.close()


async def burst(port: int, n: int, concurrency: int, round_no: int) -> int:
    """Send ``n`` scam messages with ``concurrency`` connections; the number answered as flagged."""
    sem = asyncio.Semaphore(concurrency)
    base = f"http://127.0.0.1:{port}/v1/scan"

    async def one(session: aiohttp.ClientSession, i: int) -> bool:
        text = f"Покупатель оплатил заказ №{i}, получите деньги: https://avito-pay-{round_no}-{i}.ru/pay/{i}"
        async with sem, session.post(base, json={"text": text, "id": f"r{round_no}-{i}"}) as resp:
            return resp.status == 200 and (await resp.json())["verdict"] != "safe"

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        return sum(await asyncio.gather(*(one(session, i) for i in range(n))))


def one_round(args: argparse.Namespace, round_no: int, tmp: str) -> tuple[int, int]:
    url = args.database_url or f"sqlite:///{tmp}/round{round_no}.db"
    os.environ["PHISHGUARD_DATABASE_URL"] = url
    before = count_flags(url) if args.database_url else 0
    proc, port, _, _ = start_server(1, False, tmp)
    try:
        asyncio.run(asyncio.sleep(0.5))  # migrations and the first lists load
        acked = asyncio.run(burst(port, args.burst, args.concurrency, round_no))
        os.killpg(proc.pid, signal.SIGKILL)  # at once: whatever the queue holds now is lost
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    stored = count_flags(url) - before
    return acked, stored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--burst", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    cfg = ModerationSettings()
    bound = cfg.queue_size + cfg.batch_size
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}")
    print(f"bound: queue_size {cfg.queue_size} + batch_size {cfg.batch_size} = {bound} flags per worker")
    worst = 0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            t0 = time.perf_counter()
            acked, stored = one_round(args, r, tmp)
            lost = acked - stored
            worst = max(worst, lost)
            print(f"round {r + 1}: {acked} flagged scans answered, {stored} flags stored, lost {lost} "
                  f"({time.perf_counter() - t0:.1f} s)")
    print(f"worst loss: {worst} flags (bound {bound}); acknowledged decisions are never lost "
          f"(tests/moderation/test_crash.py)")


if __name__ == "__main__":
    main()
