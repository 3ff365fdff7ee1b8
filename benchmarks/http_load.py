"""HTTP load on loopback: `phishguard serve` (one worker, pinned to CPU 0) driven from CPU 1.

Usage: python benchmarks/http_load.py [--seconds S] [--connections C] [--batch-size B] [--unique-links]
                                      [--workers N] [--no-access-log] [--rss-soak N]

Prints, on the realistic chat mix of benchmarks/scan_throughput.py:
  1. spawn to first answered scan, and the worker's RSS;
  2. single-message requests/s at saturation (closed loop, C keep-alive connections) and its p50/p99 latency;
  3. messages/s through /v1/scan/batch (closed loop, 2 connections);
  4. p50/p90/p99 latency at fixed offered loads (open loop: requests leave on a fixed schedule, whatever
     the answers do, and latency counts from the scheduled time, so queueing is not hidden);
  5. the cost of handing one scan to a thread (run_in_executor) versus calling it inline.
With --rss-soak N it instead sends N single-message requests (closed loop, at most SOAK_MAX_SECONDS) and
prints the worker's RSS after warm-up, every N/10 requests and at the end, and the growth.
Only 127.0.0.1; every phase is bounded in time (--seconds, at most 30) and in requests.
The load generator is a minimal HTTP/1.1 keep-alive client on a bare asyncio Protocol (an aiohttp
client, or even asyncio streams, saturate a core before the server does); the open loop is all callbacks.
Every phase also prints the server's CPU time per request and how busy its core was (closed loop below
~95%: the generator or another job set the rate; open loop: requests that arrive alone are not batched, so
they cost more than at saturation), and the load average is printed (report contention). Asserts nothing;
report the machine with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scan_throughput import make_messages

HOST = "127.0.0.1"
MAX_SECONDS = 30.0
SOAK_MAX_SECONDS = 1800.0  # --rss-soak: the whole soak stops after this, however many requests were sent


# --------------------------------------------------------------------------- a minimal HTTP client


class _Client(asyncio.Protocol):
    """The reading side of one connection: buffers bytes, completes the waiting future per response."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.need = -1  # bytes of the current response (head + body) once its head is complete
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            m = _CONTENT_LENGTH.search(self.buf, 0, end + 2)
            self.need = end + 4 + (int(m.group(1)) if m else 0)
            self.head = end + 4
        if len(self.buf) >= self.need:
            status = int(self.buf[9:12])
            body = bytes(self.buf[self.head : self.need])
            del self.buf[: self.need]
            self.need = -1
            if self.waiter is not None and not self.waiter.done():
                self.waiter.set_result((status, body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionResetError("connection closed"))


_CONTENT_LENGTH = re.compile(rb"(?i)\r\ncontent-length: *(\d+)")


class Conn:
    """One keep-alive HTTP/1.1 connection; ``post`` sends a JSON body and returns (status, body).
    A bare asyncio Protocol (no StreamReader): the generator must stay well ahead of the server."""

    def __init__(self, transport: asyncio.Transport, proto: _Client, port: int):
        self.transport, self.proto, self.port = transport, proto, port
        self.loop = asyncio.get_running_loop()
        self.prefix = f"Host: {HOST}:{port}\r\nContent-Type: application/json\r\nContent-Length: ".encode()

    @classmethod
    async def open(cls, port: int) -> Conn:
        transport, proto = await asyncio.get_running_loop().create_connection(_Client, HOST, port)
        return cls(transport, proto, port)  # type: ignore[arg-type]

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        waiter = self.proto.waiter = self.loop.create_future()
        self.transport.write(b"POST %s HTTP/1.1\r\n%s%d\r\n\r\n%s" % (path.encode(), self.prefix, len(body), body))
        return await waiter

    def close(self) -> None:
        self.transport.close()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


# --------------------------------------------------------------------------- phases


async def closed_loop(
    port: int, bodies: list[bytes], path: str, connections: int, seconds: float, latencies: list[float] | None = None
) -> tuple[int, int, float]:
    """Each connection sends back-to-back for ``seconds``. Returns (requests, non-200, elapsed); each
    request's latency is appended to ``latencies`` when given."""
    conns = [await Conn.open(port) for _ in range(connections)]
    stop = time.perf_counter() + seconds
    counts = [0, 0]
    perf = time.perf_counter

    async def run(conn: Conn, offset: int) -> None:
        i = offset
        while (t := perf()) < stop:
            status, _ = await conn.post(path, bodies[i % len(bodies)])
            if latencies is not None:
                latencies.append(perf() - t)
            counts[0] += 1
            counts[1] += status != 200
            i += connections

    t0 = time.perf_counter()
    await asyncio.gather(*(run(c, k) for k, c in enumerate(conns)))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return counts[0], counts[1], elapsed


async def open_loop(port: int, bodies: list[bytes], rate: float, seconds: float, connections: int) -> dict:
    """Requests leave at ``rate``/s on a fixed schedule over a pool of ``connections``.

    All callbacks, no task per request: the scheduler sends each request at its due time on a free
    connection (or, when all are busy, queues it and the next connection to get its answer sends it
    at once); latency counts from the due time, so neither queueing nor a late send is hidden.
    """
    loop = asyncio.get_running_loop()
    conns = [await Conn.open(port) for _ in range(connections)]
    n = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    free: list[Conn] = list(conns)
    pending: collections.deque[tuple[int, float]] = collections.deque()
    finished = loop.create_future()
    perf = time.perf_counter

    def send(conn: Conn, i: int, due: float) -> None:
        waiter = conn.proto.waiter = loop.create_future()
        waiter.add_done_callback(lambda f: answered(conn, due, f))
        body = bodies[i % len(bodies)]
        conn.transport.write(b"POST /v1/scan HTTP/1.1\r\n%s%d\r\n\r\n%s" % (conn.prefix, len(body), body))

    def answered(conn: Conn, due: float, f: asyncio.Future) -> None:
        nonlocal errors
        latencies.append(perf() - due)
        if f.exception() is not None or f.result()[0] != 200:
            errors += 1
        if pending:
            send(conn, *pending.popleft())
        else:
            free.append(conn)
        if len(latencies) == n and not finished.done():
            finished.set_result(None)

    start = perf() + 0.05
    for i in range(n):
        due = start + i / rate
        while True:  # sleep coarsely, then spin for sub-millisecond send times
            ahead = due - perf()
            if ahead <= 0:
                break
            await asyncio.sleep(ahead - 0.0015 if ahead > 0.002 else 0)
        if free:
            send(free.pop(), i, due)
        else:
            pending.append((i, due))
    if n:
        await asyncio.wait_for(finished, timeout=MAX_SECONDS)
    for conn in conns:
        conn.close()
    lat = sorted(latencies)
    return {
        "sent": n,
        "errors": errors,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p90_ms": percentile(lat, 0.90) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "max_ms": lat[-1] * 1000 if lat else float("nan"),
    }


async def executor_overhead(messages: list[str], n: int = 3000) -> tuple[float, float]:
    """Mean µs per scan: inline, and through loop.run_in_executor (one thread)."""
    from concurrent.futures import ThreadPoolExecutor

    from phishguard.scanner import Scanner
    from phishguard.settings import Settings

    scanner = Scanner(Settings(lang="en"))
    for m in messages[:200]:
        scanner.scan(m)
    t0 = time.perf_counter()
    for i in range(n):
        scanner.scan(messages[i % len(messages)])
    inline = (time.perf_counter() - t0) / n * 1e6
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(1) as pool:
        t0 = time.perf_counter()
        for i in range(n):
            await loop.run_in_executor(pool, scanner.scan, messages[i % len(messages)])
        threaded = (time.perf_counter() - t0) / n * 1e6
    return inline, threaded


# --------------------------------------------------------------------------- the server


def start_server(
    workers: int, access_log: bool, logdir: str, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen, int, float, Path]:
    """``phishguard serve`` on a free loopback port; ``settings``: more PHISHGUARD_* variables for it."""
    log = Path(logdir) / "serve.log"
    env = {**os.environ, **(settings or {})}  # the caller's PHISHGUARD_* settings apply (e.g. a config to measure)
    env["PHISHGUARD_SERVICE__ACCESS_LOG"] = "true" if access_log else "false"
    env["PHISHGUARD_SERVICE__LIMITS__MAX_IN_FLIGHT"] = "4096"
    env.setdefault("PHISHGUARD_DATABASE_URL", f"sqlite:///{logdir}/moderation.db")  # flags of the run, thrown away
    t0 = time.perf_counter()
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "phishguard", "serve", "--host", HOST, "--port", "0", "--workers", str(workers)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            start_new_session=True,  # its own process group, ended as a whole below
        )
    if workers == 1:
        pin(proc.pid)
    return proc, listening_port(proc, log), t0, log


def pin(pid: int) -> None:
    """The server ``pid`` on CPU 0, this process (the load generator) on CPU 1 (where there are two)."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(pid, {0})
        os.sched_setaffinity(0, {1})


def listening_port(proc: subprocess.Popen, log: Path) -> int:
    """The port the server announces in ``log`` ("listening on http://127.0.0.1:PORT"), within 20 s."""
    deadline = time.perf_counter() + 20
    while time.perf_counter() < deadline:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit(f"server did not start: {log.read_text(errors='replace')}")


def stop_server(proc: subprocess.Popen) -> int:
    """SIGTERM the server (a graceful stop), SIGKILL its process group after 20 s; its exit status."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


async def first_scan(port: int, t0: float) -> float:
    body = json.dumps({"text": "Получите оплату: https://аvito.ru/pay/1"}).encode()
    deadline = time.perf_counter() + 20
    while time.perf_counter() < deadline:
        try:
            conn = await Conn.open(port)
            status, _ = await conn.post("/v1/scan", body)
            conn.close()
            if status == 200:
                return time.perf_counter() - t0
        except OSError:
            await asyncio.sleep(0.002)
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process has used (/proc/PID/stat), NaN where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text()).group(1)
    except (OSError, AttributeError):
        pass
    import aiohttp

    return f"{os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, aiohttp {aiohttp.__version__}"


async def closed_loop_count(port: int, bodies: list[bytes], connections: int, count: int, stop_at: float) -> tuple[int, int]:
    """Closed loop on /v1/scan until ``count`` requests were answered or ``stop_at``. Returns (sent, non-200)."""
    conns = [await Conn.open(port) for _ in range(connections)]
    counts = [0, 0]

    async def run(conn: Conn, offset: int) -> None:
        i = offset
        while counts[0] < count and time.perf_counter() < stop_at:
            counts[0] += 1
            status, _ = await conn.post("/v1/scan", bodies[i % len(bodies)])
            counts[1] += status != 200
            i += connections

    await asyncio.gather(*(run(c, k) for k, c in enumerate(conns)))
    for c in conns:
        c.close()
    return counts[0], counts[1]


async def rss_soak(port: int, pid: int, bodies: list[bytes], connections: int, total: int) -> None:
    """RSS of the worker after warm-up, every ``total``/10 requests and at the end; growth in percent."""
    await closed_loop(port, bodies, "/v1/scan", connections, 2.0)  # warm-up: link cache, allocator, models
    start = rss_mb(pid)
    print(f"RSS after warm-up: {start:.1f} MB; soak of {total:,} single-message requests, load average {loadavg()}")
    stop_at = time.perf_counter() + SOAK_MAX_SECONDS
    step = max(1, total // 10)
    done = bad = 0
    t0, c0 = time.perf_counter(), cpu_s(pid)
    while done < total and time.perf_counter() < stop_at:
        n, b = await closed_loop_count(port, bodies, connections, min(step, total - done), stop_at)
        done, bad = done + n, bad + b
        el = time.perf_counter() - t0
        print(f"  {done:>9,} requests, {el:6.0f} s, {done / el:,.0f} req/s, RSS {rss_mb(pid):.1f} MB", flush=True)
    end = rss_mb(pid)
    cpu = (cpu_s(pid) - c0) / max(1, done)
    print(
        f"RSS {start:.1f} -> {end:.1f} MB over {done:,} requests ({bad} non-200): {100 * (end - start) / start:+.1f}%;"
        f" server CPU {cpu * 1e6:.0f} µs per request; load average {loadavg()}"
    )


async def main_async(args: argparse.Namespace) -> None:
    seconds = min(args.seconds, MAX_SECONDS)
    messages = make_messages(5000, unique_links=args.unique_links)
    singles = [json.dumps({"text": m, "id": str(i)}, ensure_ascii=False).encode() for i, m in enumerate(messages)]
    b = args.batch_size
    batches = [
        json.dumps({"messages": [{"text": m, "id": j} for j, m in enumerate(messages[i : i + b])]}, ensure_ascii=False).encode()
        for i in range(0, len(messages) - b + 1, b)
    ]
    print(f"machine: {machine()}")
    mix = "unique links" if args.unique_links else "links from a pool of 50 (link cache hits)"
    print(f"messages: chat mix of benchmarks/scan_throughput.py, a third with a link ({mix})")
    with tempfile.TemporaryDirectory() as logdir:
        proc, port, t0, _ = start_server(args.workers, not args.no_access_log, logdir)
        try:
            spawn = await first_scan(port, t0)
            if args.rss_soak:
                print(f"spawn to first answered scan: {spawn * 1000:.0f} ms; RSS {rss_mb(proc.pid):.1f} MB")
                await rss_soak(port, proc.pid, singles, args.connections, args.rss_soak)
                return
            pinned = "server pinned to CPU 0, load generator to CPU 1" if args.workers == 1 else "unpinned (contention)"
            print(f"server: {args.workers} worker(s), {pinned}, access log {'off' if args.no_access_log else 'on'}")
            print(f"spawn to first answered scan: {spawn * 1000:.0f} ms (includes the interpreter start)")
            # warm up (link cache, allocator), then measure
            await closed_loop(port, singles, "/v1/scan", args.connections, min(1.0, seconds))
            print(f"RSS after warm-up: {rss_mb(proc.pid):.0f} MB (supervisor process; workers fork from it)")
            print(f"load average before the phases: {loadavg()} (other jobs on the machine skew every figure)")
            c0 = cpu_s(proc.pid)
            lat: list[float] = []
            n, bad, el = await closed_loop(port, singles, "/v1/scan", args.connections, seconds, lat)
            busy = (cpu_s(proc.pid) - c0) / el
            sat = n / el
            lat.sort()
            print(
                f"single scans, {args.connections} connections, closed loop: {sat:,.0f} req/s ({n} in {el:.1f} s,"
                f" {bad} non-200); p50 {percentile(lat, 0.5) * 1000:.2f} ms, p99 {percentile(lat, 0.99) * 1000:.2f} ms"
            )
            print(
                f"  server CPU {busy * el / n * 1e6:.0f} µs per request, {busy:.0%} of a core busy"
                f" (below ~95%: the load generator or another job, not the server, was the limit)"
            )
            c0 = cpu_s(proc.pid)
            n, bad, el = await closed_loop(port, batches, "/v1/scan/batch", 2, seconds)
            busy = (cpu_s(proc.pid) - c0) / el
            print(f"batch of {b}, 2 connections, closed loop: {n * b / el:,.0f} messages/s ({n} batches, {bad} non-200)")
            print(f"  server CPU {busy * el / max(1, n * b) * 1e6:.0f} µs per message, {busy:.0%} of a core busy")
            for share in (0.5, 0.75, 1.0):
                rate = round(sat * share)
                c0, t0 = cpu_s(proc.pid), time.perf_counter()
                r = await open_loop(port, singles, rate, min(seconds, 10.0), args.connections)
                cpu, el = cpu_s(proc.pid) - c0, time.perf_counter() - t0
                print(
                    f"open loop {rate:,} req/s ({share:.0%} of saturation), {args.connections} connections: "
                    f"p50 {r['p50_ms']:.2f} ms, p90 {r['p90_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                    f"max {r['max_ms']:.1f} ms ({r['sent']} sent, {r['errors']} non-200); "
                    f"server CPU {cpu / max(1, r['sent']) * 1e6:.0f} µs per request, {cpu / el:.0%} of a core busy"
                )
            print(f"RSS after the run: {rss_mb(proc.pid):.0f} MB; load average {loadavg()}")
        finally:
            print(f"server exit status after SIGTERM: {stop_server(proc)}")
    inline, threaded = await executor_overhead(messages)
    print(f"one scan in-process: inline {inline:.1f} µs, via run_in_executor {threaded:.1f} µs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="length of each phase (at most 30)")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=500)
    ap.add_argument("--workers", type=int, default=1, help="1 is pinned; more measure contention on 2 cores")
    ap.add_argument("--unique-links", action="store_true", help="every link new (no link-cache hits)")
    ap.add_argument("--no-access-log", action="store_true")
    ap.add_argument("--rss-soak", type=int, default=0, metavar="N", help="only the RSS soak: N single-message requests")
    args = ap.parse_args()
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
