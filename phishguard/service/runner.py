"""``phishguard serve``: bind once, run N worker processes on the one listening socket.

The parent loads the scanner once (so a bad config or rule fails before binding, and forked workers
share its memory copy-on-write), binds the socket, then forks the workers (pre-fork: one accept queue,
so a stopping worker never strands connections the kernel assigned to it, as SO_REUSEPORT can). With
one worker there is no fork. Signals: SIGTERM/SIGINT stop accepting, finish requests in flight (up to
``service.shutdown_grace`` seconds) and exit 0; SIGHUP reloads rules and keys in every worker.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable

from ..settings import ConfigError, Settings

__all__ = ["check_bind", "check_runtime", "is_loopback", "loop_factory", "serve"]

log = logging.getLogger("phishguard.service")

MIN_AIOHTTP = (3, 14, 1)


def check_runtime() -> None:
    """Refuse to serve on an aiohttp older than 3.14.1 or without its C HTTP parser."""
    import aiohttp
    from aiohttp import http_parser

    version = tuple(int(p) for p in aiohttp.__version__.split(".")[:3] if p.isdigit())
    if version < MIN_AIOHTTP:
        raise ConfigError(f"aiohttp {aiohttp.__version__} is too old: the service needs aiohttp>=3.14.1")
    if getattr(http_parser, "HttpRequestParserC", None) is not http_parser.HttpRequestParser:
        raise ConfigError(
            "aiohttp's C HTTP parser is not in use (AIOHTTP_NO_EXTENSIONS set, or no compiled wheel): "
            "the service refuses the pure-Python parser"
        )


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The workers' event loop (``service.event_loop``): uvloop's where installed, unless ``asyncio`` is asked
    for (None: asyncio's own). uvloop runs the sockets, timers and callbacks in C (libuv): less CPU per
    request and a shorter tail than the pure-Python selector loop; see docs/service.md for the figures."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise ConfigError("service.event_loop is uvloop, but uvloop is not installed") from None
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def is_loopback(host: str) -> bool:
    """
    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, has_keys: bool, insecure: bool) -> None:
    """Without API keys, only a loopback address (unless ``insecure``)."""
    if not has_keys and not insecure and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without API keys: add service.api_keys "
            "(phishguard keys create), listen on 127.0.0.1, or pass --insecure"
        )


def bind(host: str, port: int, backlog: int = 1024) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if host.lower() == "localhost":
        host, family = "127.0.0.1", socket.AF_INET
    try:
        sock = socket.create_server((host.strip("[]"), port), family=family, backlog=backlog)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


# --------------------------------------------------------------------------- one worker


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """A worker whose supervisor died (SIGKILL, crash) stops like on SIGTERM instead of lingering."""
    while not stop.is_set():
        if os.getppid() != parent:
            log.error("worker %d: the supervisor %d is gone, stopping", os.getpid(), parent)
            stop.set()
            return
        await asyncio.sleep(0.5)


async def _run_worker(
    sock: socket.socket,
    settings: Settings,
    scanner: object,
    reload_settings: Callable[[], Settings],
    parent: int | None = None,
) -> None:
    from ..resources import gc_paused

    with gc_paused():  # the app's modules and objects live as long as the worker
        from aiohttp import web

        from .app import STATE, create_app

        app = create_app(settings, scanner=scanner, reload_settings=reload_settings)  # type: ignore[arg-type]
        runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=settings.service.shutdown_grace
        )
        await runner.setup()
        site = web.SockSite(runner, sock)
        await site.start()
        _freeze_heap()  # and what the app and its start-up made
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    tasks: set[asyncio.Task[object]] = set()

    def reload() -> None:
        task = loop.create_task(_reload(app[STATE]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)
    if parent is not None:
        watcher = loop.create_task(_watch_parent(parent, stop))
        tasks.add(watcher)
    try:
        await stop.wait()
        log.info("worker %d stopping: finishing requests in flight", os.getpid())
    finally:
        await runner.cleanup()


def _migrate(settings: Settings) -> None:
    """Open the moderation store once before forking and apply its migrations, so a bad
    ``database_url`` stops ``serve`` with one line and the workers find the schema ready (they do not
    race to create a new SQLite file)."""
    if not settings.moderation.enabled:
        return
    from ..moderation.store import open_store

    store = open_store(settings.database_url)
    try:
        store.migrate()
    finally:
        store.close()


def _warm(scanner: object) -> None:
    """Warm the scanner up (:meth:`Scanner.warm_up`: the models and numpy, the public suffix list) before
    forking, so the workers share what it loads and the first request does not pay for it (~0.5 s,
    ~65 MB of a worker's RSS when left to it); then give the loading's freed memory back."""
    scanner.warm_up()  # type: ignore[attr-defined]
    _trim_heap()


def _trim_heap() -> None:
    """Give the C heap's free pages back to the system (glibc ``malloc_trim``): loading leaves ~7 MB of
    freed temporaries that would otherwise count in every worker's RSS. A no-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (musl): nothing to trim this way
        pass


def _freeze_heap() -> None:
    """Move everything alive now (modules, rules, models: ~60k objects) out of the cyclic GC's reach.

    A full collection over the loaded scanner takes ~25 ms, a pause that lands on whichever request is
    running (the p99 target is 2 ms); frozen, the collector only walks what requests allocate. Before
    forking it also keeps the GC from writing to (and so un-sharing) the pages of the shared scanner.
    A reloaded scanner is not frozen (frozen garbage in reference cycles would never be freed); no
    ``gc.collect()`` first either (it would add its ~25 ms to start-up, to free a little start-up garbage).
    """
    gc.freeze()


async def _reload(state: object) -> None:
    try:
        await state.reload()  # type: ignore[attr-defined]
    except Exception as exc:  # noqa: BLE001 - a bad rules file must not kill the worker: keep the old scanner
        log.error("reload failed, the previous rules stay in use: %s", exc)


def _worker(
    sock: socket.socket,
    settings: Settings,
    scanner: object,
    reload_settings: Callable[[], Settings],
    parent: int | None = None,
) -> int:
    with asyncio.Runner(loop_factory=loop_factory(settings.service.event_loop)) as runner:
        runner.run(_run_worker(sock, settings, scanner, reload_settings, parent))
    return 0


# --------------------------------------------------------------------------- the supervisor


class _Supervisor:
    """Forks ``n`` workers, forwards signals to them, replaces a worker that dies unexpectedly."""

    def __init__(self, n: int, start: Callable[[], int], sock: socket.socket):
        self.n = n
        self.start = start
        self.sock = sock
        self.children: dict[int, float] = {}  # pid -> start time
        self.stopping = False
        self.failed = False

    def spawn(self) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(sig, signal.SIG_DFL)
            code = 1
            try:
                code = self.start()
            except BaseException:
                log.exception("worker %d failed", os.getpid())
            finally:
                logging.shutdown()
                os._exit(code)
        self.children[pid] = time.monotonic()

    def _forward(self, signum: int, _frame: object) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stopping = True
            self.sock.close()  # the workers hold their own copies until they stop accepting
        for pid in list(self.children):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def run(self) -> int:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, self._forward)
        for _ in range(self.n):
            self.spawn()
        while self.children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            started = self.children.pop(pid, None)
            if started is None:
                continue
            _mark_dead(pid)
            code = os.waitstatus_to_exitcode(status)
            if code != 0:
                self.failed = True
                log.error("worker %d exited with status %d", pid, code)
            if not self.stopping:
                if time.monotonic() - started < 1.0:  # dying at once: do not spin
                    time.sleep(1.0)
                if not self.stopping:
                    self.spawn()
        return 1 if self.failed else 0


def _mark_dead(pid: int) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


# --------------------------------------------------------------------------- entry


def serve(
    settings: Settings,
    *,
    reload_settings: Callable[[], Settings],
    insecure: bool = False,
    announce: Callable[[str], None] | None = None,
) -> int:
    """Run the service until SIGTERM/SIGINT; return the exit status (0 after a clean stop)."""
    from ..resources import gc_paused
    from .accesslog import setup_logging

    svc = settings.service
    with gc_paused():
        check_runtime()  # imports aiohttp
    factory = loop_factory(svc.event_loop)  # a missing uvloop that was asked for stops here, before binding
    check_bind(svc.host, bool(svc.api_keys), insecure)
    setup_logging(svc.access_log)
    metrics_dir = None
    if svc.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        if "prometheus_client" in sys.modules:  # too late to switch it to files (embedding callers)
            log.warning("prometheus_client already imported: /metrics shows one worker per scrape")
        else:
            metrics_dir = tempfile.mkdtemp(prefix="phishguard-metrics-")
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    with gc_paused():  # what loads here lives as long as the workers: no collection would free any of it
        from ..scanner import Scanner

        scanner = Scanner(settings)  # once, before forking: errors stop here, workers share it
        _migrate(settings)
        _warm(scanner)
        _freeze_heap()
    sock = bind(svc.host, svc.port)
    host, port = sock.getsockname()[:2]
    loop_name = "asyncio" if factory is None else "uvloop"
    message = (
        f"phishguard {scanner.rules_version} listening on http://{_fmt_host(host)}:{port}"
        f" ({svc.workers} workers, {loop_name} event loop)"
    )
    log.info(message)
    if announce is not None:
        announce(message)
    try:
        if svc.workers == 1:
            return _worker(sock, settings, scanner, reload_settings)
        supervisor = os.getpid()
        return _Supervisor(
            svc.workers, lambda: _worker(sock, settings, scanner, reload_settings, supervisor), sock
        ).run()
    finally:
        sock.close()
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


def _fmt_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
