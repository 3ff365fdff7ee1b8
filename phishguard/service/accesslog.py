"""Access log: one JSON line per request (logger ``phishguard.access``), never the message text
unless ``service.log_text`` is on.

``phishguard serve`` (``setup_logging``) gives that logger a :class:`LineBuffer` handler: lines are
gathered and written to stderr together, at most ``FLUSH_S`` after the first unwritten one (or at
``MAX_BUFFER`` bytes, or when logging shuts down at exit). One ``write`` per request was a syscall per
request, and the ``logging`` record machinery around it cost as much again; with that handler installed,
``log_request`` hands the line to it directly. Anything else (a test's ``caplog``, an embedding
application's own handlers) gets ordinary ``logging`` records, as before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any, TextIO

from ..jsonfast import dumps

__all__ = ["ACCESS_LOGGER", "JsonFormatter", "LineBuffer", "flush_access_log", "log_request", "setup_logging"]

ACCESS_LOGGER = logging.getLogger("phishguard.access")

FLUSH_S = 0.1  # an access line reaches stderr at most this late
MAX_BUFFER = 64 * 1024  # ... or as soon as this many characters wait

_dumps = dumps
_time = time.time
_running_loop = asyncio._get_running_loop  # None off a loop (the public get_running_loop raises instead)


class LineBuffer(logging.Handler):
    """Writes lines in batches: when ``MAX_BUFFER`` characters wait, ``FLUSH_S`` after the first
    waiting line (a timer on the running event loop, if any; else at once), and on ``flush()``."""

    def __init__(self, stream: TextIO | None = None):
        super().__init__()
        self.stream = stream
        self._lines: list[str] = []
        self._size = 0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def _stream(self) -> TextIO:
        # sys.stderr as it is when writing (tests swap it)
        return self.stream if self.stream is not None else sys.stderr

    def add(self, line: str) -> None:
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size >= MAX_BUFFER:
            self.flush()
            return
        loop = _running_loop()
        if loop is None:  # not on an event loop: nothing would flush later
            self.flush()
        elif self._timer is None or self._timer_loop is not loop:  # (a timer on a finished loop never fires)
            self._timer = loop.call_later(FLUSH_S, self.flush)
            self._timer_loop = loop

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.add(self.format(record))
        except Exception:  # noqa: BLE001 - logging never raises into the caller
            self.handleError(record)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lines:
            return
        data = "\n".join(self._lines) + "\n"
        self._lines = []
        self._size = 0
        try:
            stream = self._stream()
            stream.write(data)
            stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: the lines are lost, the service goes on
            pass

    def close(self) -> None:
        self.flush()
        super().close()


_sink: LineBuffer | None = None  # the handler setup_logging installed, when it is the only one


def flush_access_log() -> None:
    """Write the access lines still waiting (an app's cleanup: its loop will not fire the timer)."""
    if _sink is not None:
        _sink.flush()


def log_request(record: dict[str, Any]) -> None:
    """Write one access line (skipped cheaply when the logger is off)."""
    if ACCESS_LOGGER.isEnabledFor(logging.INFO):
        record["ts"] = round(_time(), 3)
        line = _dumps(record)
        sink = _sink
        if sink is not None and ACCESS_LOGGER.handlers == [sink] and not ACCESS_LOGGER.filters:
            sink.add(line)  # what ACCESS_LOGGER.info(line) would end in, without the LogRecord
        else:
            ACCESS_LOGGER.info(line)


class JsonFormatter(logging.Formatter):
    """The service's own messages as JSON lines (a traceback, if any, in ``exc``)."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(access_log: bool) -> None:
    """Send access lines (batched, see :class:`LineBuffer`) and the service's own messages (at once)
    to stderr, one per line."""
    global _sink
    if _sink is not None:
        _sink.flush()
    handler = LineBuffer()
    handler.setFormatter(logging.Formatter("%(message)s"))
    ACCESS_LOGGER.handlers[:] = [handler]
    ACCESS_LOGGER.propagate = False
    ACCESS_LOGGER.setLevel(logging.INFO if access_log else logging.WARNING)
    _sink = handler
    service = logging.getLogger("phishguard.service")
    if not service.handlers:
        service_handler = logging.StreamHandler()
        service_handler.setFormatter(JsonFormatter())
        service.addHandler(service_handler)
    service.setLevel(logging.INFO)
