"""Single-message scans that arrive together are scored together.

Under load several ``POST /v1/scan`` requests of a worker become ready in the same turn of the event loop
(one ``epoll`` wake-up delivers many connections' requests). Each handler hands its message to
:class:`Coalescer` and awaits its verdict; the first one schedules a flush for the next turn, by which
time the others have queued theirs. The flush prepares all their texts in one vectorized pass
(:meth:`Scanner.prepared`: normalization and the text model, the costliest part of a scan when done one
message at a time) and then calls ``scanner.scan`` for each message with its own id, context and
language, so every verdict is the one ``scan`` alone gives. A lone request waits one loop turn (a few
microseconds); nothing is delayed on a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

__all__ = ["Coalescer"]

#: The most messages prepared in one pass (the in-flight cap bounds a flush to a few of these).
MAX_GROUP = 64


class _Pending:
    """One queued message and the future its handler awaits."""

    __slots__ = ("scanner", "text", "id", "context", "lang", "future")

    def __init__(
        self, scanner: Any, text: str, id: Any, context: Mapping[str, Any] | None, lang: str | None,
        future: asyncio.Future[Any],
    ):
        self.scanner, self.text, self.id, self.context, self.lang = scanner, text, id, context, lang
        self.future = future


class Coalescer:
    """Scans queued in one turn of the event loop, flushed together in the next (one per worker)."""

    def __init__(self) -> None:
        self._queue: list[_Pending] = []
        self.flushes = 0  # how many flushes ran, and how many messages they scanned (for benchmarks)
        self.scanned = 0

    async def scan(
        self, scanner: Any, text: str, *, id: Any = None, context: Mapping[str, Any] | None = None,
        lang: str | None = None,
    ) -> Any:
        """``scanner.scan(text, id=, context=, lang=)``, run in the next flush; its exceptions propagate."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._queue:
            loop.call_soon(self._flush)
        self._queue.append(_Pending(scanner, text, id, context, lang, future))
        return await future

    def _flush(self) -> None:
        queue, self._queue = self._queue, []
        live = [p for p in queue if not p.future.done()]  # a cancelled handler no longer waits
        self.flushes += 1
        self.scanned += len(live)
        for start in range(0, len(live), MAX_GROUP):
            _scan_group(live[start:start + MAX_GROUP])


def _scan_group(group: list[_Pending]) -> None:
    """Scan ``group`` (prepared together per scanner: a reload may leave two in one flush)."""
    by_scanner: dict[int, list[_Pending]] = {}
    for p in group:
        by_scanner.setdefault(id(p.scanner), []).append(p)
    for items in by_scanner.values():
        scanner = items[0].scanner
        try:
            with scanner.prepared(p.text for p in items):
                for p in items:
                    _settle(p)
        except Exception:  # noqa: BLE001 - preparing failed: scan each alone, each answers for itself
            for p in items:
                if not p.future.done():
                    _settle(p)


def _settle(p: _Pending) -> None:
    """Resolve ``p``'s future with its verdict, or with the exception its scan raised."""
    if p.future.done():  # cancelled meanwhile
        return
    try:
        verdict = p.scanner.scan(p.text, id=p.id, context=p.context, lang=p.lang)
    except Exception as exc:  # noqa: BLE001 - the handler re-raises it (500 internal, logged there)
        p.future.set_exception(exc)
        return
    p.future.set_result(verdict)
