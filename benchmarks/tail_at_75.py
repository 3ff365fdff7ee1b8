"""Latency at 75% of saturation: `phishguard serve` next to a stand-in with the same CPU cost per message.

Usage: python benchmarks/tail_at_75.py [--reps N] [--seconds S]

The #7 target is p99 <= 2 ms at 75% of saturation (open loop, one worker pinned to CPU 0, the load generator
on CPU 1). This asks how much of the tail is the cost of the scans themselves and how much is the rest.
Each repetition starts, one after the other (interleaved, so drifts of the machine hit all three alike):

  1. ``phishguard serve`` as benchmarks/http_load.py runs it (moderation on, SQLite, access log on);
  2. the same with moderation off (no flag writer);
  3. benchmarks/straw_server.py: aiohttp + uvloop whose handler spins the CPU for each message as long as
     phishguard's own scan of it takes in-process (warm, measured here first), scaled so that its CPU per
     request at saturation equals phishguard's (the same mean and the same spread of costs, message by
     message, without the memory traffic of a real scan).

For each: saturation (closed loop, 16 connections), then the open loop at 75% of it (same generator as
http_load.py): p50/p90/p99, the server's CPU per request and how busy its core was. At the end, the median
of each figure over the repetitions. Asserts nothing; report the machine with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import http_load as H
from scan_throughput import make_messages

CONNECTIONS = 16
PHISHGUARD, MODERATION_OFF, STAND_IN = "phishguard", "phishguard, moderation off", "stand-in"


def scan_costs(messages: list[str]) -> dict[str, float]:
    """Each distinct message's in-process scan time in µs (warm: the median of 5 scans)."""
    from phishguard.scanner import Scanner
    from phishguard.settings import load_settings

    scanner = Scanner(load_settings())
    for m in messages:  # warm: link cache, word caches
        scanner.scan(m)
    costs: dict[str, float] = {}
    for m in dict.fromkeys(messages):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            scanner.scan(m)
            times.append(time.perf_counter() - t0)
        costs[m] = statistics.median(times) * 1e6
    return costs


def start_straw(costs_file: str, logdir: str) -> tuple[subprocess.Popen, int]:
    log = Path(logdir) / "straw.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "straw_server.py"), costs_file], stderr=err, start_new_session=True
        )
    H.pin(proc.pid)
    return proc, H.listening_port(proc, log)


async def measure(port: int, pid: int, bodies: list[bytes], seconds: float) -> dict[str, float]:
    await H.closed_loop(port, bodies, "/v1/scan", CONNECTIONS, min(2.0, seconds))  # warm-up
    c0 = H.cpu_s(pid)
    n, _, el = await H.closed_loop(port, bodies, "/v1/scan", CONNECTIONS, seconds)
    sat_cpu = (H.cpu_s(pid) - c0) / max(1, n)
    saturation = n / el
    rate = round(0.75 * saturation)
    c0, t0 = H.cpu_s(pid), time.perf_counter()
    r = await H.open_loop(port, bodies, rate, seconds, CONNECTIONS)
    cpu, el = H.cpu_s(pid) - c0, time.perf_counter() - t0
    return {
        "saturation": saturation,
        "sat_cpu_us": sat_cpu * 1e6,
        "rate": rate,
        "p50": r["p50_ms"],
        "p90": r["p90_ms"],
        "p99": r["p99_ms"],
        "cpu_us": cpu / max(1, r["sent"]) * 1e6,
        "busy": cpu / el,
    }


def line(name: str, m: dict[str, float]) -> str:
    return (
        f"{name:<26} saturation {m['saturation']:6,.0f} req/s ({m['sat_cpu_us']:3.0f} µs CPU); at 75% ({m['rate']:,.0f}/s):"
        f" p50 {m['p50']:.2f} p90 {m['p90']:.2f} p99 {m['p99']:.2f} ms, {m['cpu_us']:3.0f} µs CPU, {m['busy']:.0%} busy"
    )


async def calibrate(
    costs: dict[str, float], mean: float, target_us: float, bodies: list[bytes], tmp: str
) -> float:
    """The factor on the scan costs that gives the stand-in ``target_us`` of CPU per request at saturation."""
    costs_file = Path(tmp) / "costs.json"
    costs_file.write_text(json.dumps(dict.fromkeys(costs, 0.0)))
    proc, port = start_straw(str(costs_file), tmp)
    try:
        base = (await measure(port, proc.pid, bodies, 3.0))["sat_cpu_us"]
    finally:
        H.stop_server(proc)
    scale = max(0.0, target_us - base) / mean
    print(f"stand-in: {base:.0f} µs CPU a request with no work; scan costs scaled by {scale:.2f}")
    return scale


async def run_one(
    name: str, bodies: list[bytes], seconds: float, tmp: str, costs: dict[str, float]
) -> dict[str, float]:
    """Start the server ``name`` (the stand-in spends ``costs``), measure it, stop it."""
    if name == STAND_IN:
        costs_file = Path(tmp) / "costs.json"
        costs_file.write_text(json.dumps(costs))
        proc, port = start_straw(str(costs_file), tmp)
    else:
        off = {"PHISHGUARD_MODERATION__ENABLED": "false"} if name == MODERATION_OFF else {}
        proc, port, _, _ = H.start_server(1, True, tmp, off)
        await H.first_scan(port, time.perf_counter())
    try:
        return await measure(port, proc.pid, bodies, seconds)
    finally:
        H.stop_server(proc)


async def main_async(args: argparse.Namespace) -> None:
    seconds = min(args.seconds, H.MAX_SECONDS)
    messages = make_messages(5000)
    bodies = [
        json.dumps({"text": m, "id": str(i)}, ensure_ascii=False).encode() for i, m in enumerate(messages)
    ]
    print(f"machine: {H.machine()}; load average {H.loadavg()}")
    costs = scan_costs(messages)
    gc.collect()  # the scanner measured above is gone: the generator must not carry its heap
    mean = sum(costs[m] for m in messages) / len(messages)
    print(
        f"in-process scan of the chat mix (warm): {mean:.0f} µs a message on average, {len(costs)} distinct"
    )
    results: dict[str, list[dict[str, float]]] = {PHISHGUARD: [], MODERATION_OFF: [], STAND_IN: []}
    scale = None
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for name, runs in results.items():
                spent: dict[str, float] = {}
                if name == STAND_IN:
                    if scale is None:  # once: its CPU per request at saturation = phishguard's
                        target = statistics.median(r["sat_cpu_us"] for r in results[MODERATION_OFF])
                        scale = await calibrate(costs, mean, target, bodies, tmp)
                    spent = {m: c * scale for m, c in costs.items()}
                runs.append(await run_one(name, bodies, seconds, tmp, spent))
                print(f"rep {rep + 1}: {line(name, runs[-1])}", flush=True)
    print(f"median of {args.reps} (load average now {H.loadavg()}):")
    for name, runs in results.items():
        print("  " + line(name, {k: statistics.median(r[k] for r in runs) for k in runs[0]}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each phase (at most 30)")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
