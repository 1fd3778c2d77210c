"""Pacing sends under a platform's overall cap, with a priority lane.

Telegram allows about 30 messages a second per bot, Zalo has its own quotas.
Under a load that fills the cap, ordinary replies queue; a danger answer
(the 113 / 115 numbers) must not queue behind them. :class:`PriorityPacer`
is a leaky bucket whose waiters are served urgent first, then in arrival
order; :func:`urgent_sends` marks the sends made inside it as urgent, so the
adapters' send paths need no extra argument (the flag follows the task that
sends, through PTB's rate limiter too).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_URGENT: ContextVar[bool] = ContextVar("urgent_send", default=False)


@contextmanager
def urgent_sends(on: bool = True) -> Iterator[None]:
    """Sends made inside this block (in this task) take the priority lane."""
    token = _URGENT.set(on)
    try:
        yield
    finally:
        _URGENT.reset(token)


def is_urgent() -> bool:
    return _URGENT.get()


class PriorityPacer:
    """At most ``rate`` sends per ``period`` seconds (bursts up to ``rate``
    after a quiet spell, like Telegram's own bucket). When sends must wait,
    urgent ones are let through first; among equals, first come first served,
    so one person's ordinary replies keep their order."""

    URGENT, ORDINARY = 0, 1

    def __init__(self, rate: float, period: float = 1.0) -> None:
        if rate <= 0 or period <= 0:
            raise ValueError("rate and period must be positive")
        self.capacity = rate
        self._drain = rate / period  # sends per second
        self._level = 0.0
        self._stamp: float | None = None
        self._queue: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    @property
    def waiting(self) -> int:
        """Sends waiting for a slot now (tests and the benchmark read it)."""
        return sum(1 for *_, f in self._queue if not f.done())

    def _leak(self, now: float) -> None:
        if self._stamp is not None:
            self._level = max(0.0, self._level - (now - self._stamp) * self._drain)
        self._stamp = now

    async def acquire(self, urgent: bool | None = None) -> None:
        """Wait for a slot; ``urgent`` defaults to :func:`urgent_sends`' flag."""
        if urgent is None:
            urgent = is_urgent()
        loop = asyncio.get_running_loop()
        self._leak(loop.time())
        lane = self.URGENT if urgent else self.ORDINARY
        ahead = bool(self._queue) and (not urgent or self._queue[0][0] == self.URGENT)
        if not ahead and self._level + 1 <= self.capacity:
            self._level += 1
            return
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._queue, (lane, next(self._order), future))
        self._schedule(loop)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._level = max(0.0, self._level - 1)  # granted but not used
            raise

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None or not self._queue:
            return
        delay = max(0.0, (self._level + 1 - self.capacity) / self._drain)
        self._timer = loop.call_later(delay, self._release, loop)

    def _release(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._leak(loop.time())
        while self._queue and self._level + 1 <= self.capacity:
            _, _, future = heapq.heappop(self._queue)
            if future.done():
                continue  # its sender gave up (cancelled)
            self._level += 1
            future.set_result(None)
        while self._queue and self._queue[0][2].done():
            heapq.heappop(self._queue)
        self._schedule(loop)
