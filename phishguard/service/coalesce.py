"""Single-message scans that arrive together are prepared together, and answered one by one.

Under load several ``POST /v1/scan`` requests of a worker become ready in the same turn of the event loop
(one ``epoll`` wake-up delivers many connections' requests). Each handler hands its message to
:class:`Coalescer` and awaits its verdict. The coalescer takes the waiting messages as a group (at most
``max_group``), prepares their texts in one vectorized pass (:meth:`Scanner.prepare`: normalization and
the text model, the costliest part of a scan when done one message at a time), then scans them one per
turn of the loop, each with its own id, context and language, so every verdict is the one ``scan``
alone gives. Between two scans the loop runs: the handler of the message just scanned writes its answer
at once (it does not wait for the rest of its group), and new requests are read and queue for the next
group. Messages are scanned in the order they arrived. A lone request waits one loop turn; nothing is
delayed on a timer. A group of one is not prepared: a plain scan scores one message more cheaply
(``LinearModel.scored_one``) than a batch of one.

Why one scan per turn: a group scanned in one go answers all its requests only at its end, so every
request of a group of 30 waits for 30 scans (~6 ms); at 75% of saturation that alone put p99 at 9–14 ms.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Mapping
from typing import Any

__all__ = ["Coalescer"]


class _Pending:
    """One queued message and the future its handler awaits."""

    __slots__ = ("context", "future", "id", "lang", "prepared", "scanner", "text")

    def __init__(
        self, scanner: Any, text: str, id: Any, context: Mapping[str, Any] | None, lang: str | None,
        future: asyncio.Future[Any],
    ):
        self.scanner, self.text, self.id, self.context, self.lang = scanner, text, id, context, lang
        self.future = future
        self.prepared: Any = None  # the Prepared of its group, once the group is taken


class Coalescer:
    """Single scans of one worker: queued, prepared in groups, scanned one per loop turn (see the module doc)."""

    def __init__(self, max_group: int = 64) -> None:
        self.max_group = max_group
        self._queue: deque[_Pending] = deque()  # arrived, not yet in a group
        self._group: deque[_Pending] = deque()  # prepared, waiting for their turn
        self._scheduled = False
        self.groups = 0  # how many groups were prepared, and how many messages they held (for benchmarks)
        self.scanned = 0

    async def scan(
        self, scanner: Any, text: str, *, id: Any = None, context: Mapping[str, Any] | None = None,
        lang: str | None = None,
    ) -> Any:
        """``scanner.scan(text, id=, context=, lang=)``, run in its turn; its exceptions propagate."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._queue.append(_Pending(scanner, text, id, context, lang, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._step)
        return await future

    def _step(self) -> None:
        """Scan the next message (taking and preparing a new group first when the last one is done), then
        give the loop a turn before the next: its handler answers meanwhile."""
        if not self._group:
            self._take_group()
        if self._group:
            _settle(self._group.popleft())
        if self._group or self._queue:
            asyncio.get_running_loop().call_soon(self._step)
        else:
            self._scheduled = False

    def _take_group(self) -> None:
        """Move up to ``max_group`` live messages from the queue into the group, prepared per scanner
        (a reload may leave two scanners among them)."""
        group: list[_Pending] = []
        while self._queue and len(group) < self.max_group:
            p = self._queue.popleft()
            if not p.future.done():  # a cancelled handler no longer waits
                group.append(p)
        if not group:
            return
        by_scanner: dict[int, list[_Pending]] = {}
        for p in group:
            by_scanner.setdefault(id(p.scanner), []).append(p)
        for items in by_scanner.values():
            if len(items) == 1:  # alone: a plain scan (the model's one-message path) is the cheaper one
                continue
            try:
                prepared = items[0].scanner.prepare(p.text for p in items)
            except Exception:  # noqa: BLE001 - preparing failed: each is scanned alone and answers for itself
                prepared = None
            for p in items:
                p.prepared = prepared
        self.groups += 1
        self.scanned += len(group)
        self._group.extend(group)


def _settle(p: _Pending) -> None:
    """Resolve ``p``'s future with its verdict, or with the exception its scan raised."""
    if p.future.done():  # cancelled meanwhile
        return
    scanner = p.scanner
    try:
        if p.prepared is None:
            verdict = scanner.scan(p.text, id=p.id, context=p.context, lang=p.lang)
        else:
            with scanner.using(p.prepared):
                verdict = scanner.scan(p.text, id=p.id, context=p.context, lang=p.lang)
    except Exception as exc:  # noqa: BLE001 - the handler re-raises it (500 internal, logged there)
        p.future.set_exception(exc)
        return
    p.future.set_result(verdict)
