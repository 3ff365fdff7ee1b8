"""Admission limits aiohttp does not have: an in-flight cap and a per-key request rate.

Both are per worker process (state in memory, no lock needed on one event loop). With N workers a
key may reach N times ``rate_per_key`` in the worst case; the docs say so.

>>> b = RateLimiter(rate=2.0, burst=2, clock=iter([0.0, 0.0, 0.0, 0.5]).__next__)
>>> b.acquire("k"), b.acquire("k"), b.acquire("k"), b.acquire("k")
(0.0, 0.0, 0.5, 0.0)
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

__all__ = ["InFlight", "RateLimiter", "retry_after"]


class InFlight:
    """Counts requests being handled; ``enter()`` is False when the cap is reached. :meth:`wait_idle`
    lets background work (the flag writer) run between requests rather than beside them."""

    __slots__ = ("_idle", "cap", "current")

    def __init__(self, cap: int):
        self.cap = cap
        self.current = 0
        self._idle: asyncio.Future[None] | None = None  # resolved when current drops to 0

    def enter(self) -> bool:
        if self.current >= self.cap:
            return False
        self.current += 1
        return True

    def leave(self) -> None:
        self.current -= 1
        if not self.current and self._idle is not None:
            idle, self._idle = self._idle, None
            if not idle.done():
                idle.set_result(None)

    async def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled, at most ``timeout`` seconds: True if none is, False if
        the time ran out. A request that started while the waiter was being woken is waited for too."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self.current:
            left = end - loop.time()
            if left <= 0:
                return False
            if self._idle is None:
                self._idle = loop.create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._idle), left)
            except TimeoutError:
                return False
        return True


class RateLimiter:
    """A token bucket per key: ``burst`` tokens, refilled at ``rate`` per second.

    ``acquire(key)`` takes a token and returns 0.0, or returns the seconds until one is available
    (and takes nothing). ``rate`` 0 disables the limit. Buckets of idle keys are dropped when the table
    grows past ``max_keys``.
    """

    def __init__(self, rate: float, burst: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 10000):
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if key not in self._buckets and len(self._buckets) >= self._max_keys:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` header value: whole seconds, at least 1.

    >>> retry_after(0.01), retry_after(2.2)
    ('1', '3')
    """
    return str(max(1, math.ceil(seconds)))
