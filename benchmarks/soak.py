"""Load and soak: one ``phishguard serve`` worker on loopback under a fixed open-loop rate for minutes.

Usage: python benchmarks/soak.py --minutes M (--rate R | --share S) [--interval-s 60] [--connections 16]
                                 [--unique-links] [--capacity-seconds 5]

``--rate R`` offers R single-message scans per second; ``--share S`` first measures the worker's
capacity (closed loop, ``--capacity-seconds``) and offers S × that. Requests leave on a fixed schedule
whatever the answers do (benchmarks/http_load.py's open loop: latency counts from the scheduled
send time, so queueing is not hidden), on the realistic chat mix of benchmarks/scan_throughput.py
(a third of messages with a link). The worker (pinned to CPU 0, the generator to CPU 1) records its
flags in a temporary SQLite store and writes its access log, as in production.

Prints one row per interval — offered and achieved rate, errors (non-200 or no answer), p50 / p99 /
max latency, the worker's RSS — then the totals and the RSS growth from the first interval to the
last (the issue's target: zero errors, growth ≤ 5%). Only 127.0.0.1; bounded by --minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from conformance import access_statuses
from http_load import closed_loop, loadavg, machine, open_loop, rss_mb, start_server, stop_server
from scan_throughput import make_messages

MAX_MINUTES = 120.0


@dataclass
class Interval:
    """The figures of one interval of the soak."""

    index: int
    offered: float
    sent: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_mb: float

    @property
    def achieved(self) -> float:
        return (self.sent - self.errors) / self.seconds if self.seconds else 0.0

    def row(self) -> str:
        return (
            f"{self.index:>4} | {self.offered:>8,.0f} | {self.achieved:>8,.0f} | {self.errors:>6} | "
            f"{self.p50_ms:>7.2f} | {self.p99_ms:>8.2f} | {self.max_ms:>8.1f} | {self.rss_mb:>6.1f}"
        )


HEADER = "   # | offered/s | answered/s | errors | p50 ms |   p99 ms |   max ms | RSS MB"


def bodies(unique_links: bool) -> list[bytes]:
    """Request bodies of the realistic chat mix, each with its own id."""
    messages = make_messages(20000, unique_links=unique_links)
    return [json.dumps({"text": m, "id": f"s-{i}"}, ensure_ascii=False).encode() for i, m in enumerate(messages)]


async def capacity(port: int, payload: list[bytes], connections: int, seconds: float) -> float:
    """Answered requests per second at saturation (closed loop), after a 1 s warm-up."""
    await closed_loop(port, payload, "/v1/scan", connections, 1.0)
    n, bad, elapsed = await closed_loop(port, payload, "/v1/scan", connections, seconds)
    return (n - bad) / elapsed


async def soak(port: int, pid: int, payload: list[bytes], rate: float, minutes: float, interval_s: float,
               connections: int) -> list[Interval]:
    """Offer ``rate``/s for ``minutes``, one open-loop run per interval; print each row as it ends."""
    rows: list[Interval] = []
    end = time.monotonic() + minutes * 60.0
    index = 0
    while time.monotonic() < end - 1.0:
        index += 1
        seconds = min(interval_s, end - time.monotonic())
        t0 = time.perf_counter()
        r = await open_loop(port, payload[index % 7 :], rate, seconds, connections)
        rows.append(Interval(index, rate, r["sent"], r["errors"], time.perf_counter() - t0,
                             r["p50_ms"], r["p99_ms"], r["max_ms"], rss_mb(pid)))  # fmt: skip
        print(rows[-1].row(), flush=True)
    return rows


def summary(rows: list[Interval]) -> str:
    """Totals and the RSS growth from the first interval to the last."""
    sent = sum(r.sent for r in rows)
    errors = sum(r.errors for r in rows)
    seconds = sum(r.seconds for r in rows)
    first, last = rows[0].rss_mb, rows[-1].rss_mb
    growth = (last - first) / first * 100.0 if first else float("nan")
    worst = max(rows, key=lambda r: r.p99_ms)
    return (
        f"total: {sent:,} requests in {seconds:.0f} s ({(sent - errors) / seconds:,.0f}/s answered), "
        f"{errors} errors; worst interval p99 {worst.p99_ms:.2f} ms (#{worst.index})\n"
        f"RSS: {first:.1f} MB after the first interval, {last:.1f} MB after the last: growth {growth:+.1f}% "
        f"(target ≤ 5%); peak {max(r.rss_mb for r in rows):.1f} MB"
    )


async def main_async(args: argparse.Namespace) -> int:
    payload = bodies(args.unique_links)
    print(f"machine: {machine()}; load average {loadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, _, log = start_server(1, True, tmp)
        try:
            await asyncio.sleep(1.0)  # migrations, first lists
            rate = args.rate
            if rate is None:
                cap = await capacity(port, payload, args.connections, args.capacity_seconds)
                rate = round(cap * args.share)
                print(f"capacity (closed loop, {args.connections} connections, {args.capacity_seconds:g} s): "
                      f"{cap:,.0f} req/s; offering {args.share:.0%}: {rate:,} req/s")
            print(f"soak: {args.minutes:g} min at {rate:,.0f} req/s, {args.connections} connections, "
                  f"rows every {args.interval_s:g} s; worker RSS at start {rss_mb(proc.pid):.1f} MB")
            print(HEADER)
            rows = await soak(port, proc.pid, payload, rate, args.minutes, args.interval_s, args.connections)
            print(summary(rows))
            print(f"load average at the end: {loadavg()}")
        finally:
            print(f"server exit status after SIGTERM: {stop_server(proc)}")
            # errors the server answered (non-200) versus ones it never answered (connection failures)
            print(f"statuses in the worker's access log: {dict(sorted(access_statuses(log).items()))}")
    return 1 if any(r.errors for r in rows) else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, required=True, help=f"length of the soak (at most {MAX_MINUTES:g})")
    load = ap.add_mutually_exclusive_group(required=True)
    load.add_argument("--rate", type=float, help="offered requests per second")
    load.add_argument("--share", type=float, help="offered load as a share of the measured capacity, e.g. 0.8")
    ap.add_argument("--interval-s", type=float, default=60.0, help="one row per this many seconds")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--capacity-seconds", type=float, default=5.0)
    ap.add_argument("--unique-links", action="store_true", help="every link new (no link-cache hits)")
    args = ap.parse_args()
    args.minutes = min(args.minutes, MAX_MINUTES)
    sys.exit(asyncio.run(main_async(args)))


if __name__ == "__main__":
    main()
