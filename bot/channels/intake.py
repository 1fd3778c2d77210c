"""Background turns for the channels that acknowledge first and work after:
Telegram polling (the updater has confirmed the update) and both Zalo
webhooks (Zalo wants its 200 within 2 seconds). Nobody would redeliver, so
the work is kept here:

- one person's turns run one after the other, in arrival order; different
  people in parallel (at most ``max_parallel`` at once, if given). The
  engine's own per-user lock would not keep the order: a task may be overtaken
  before it reaches the lock;
- :meth:`Intake.retry` tries a turn again with backoff while the database is
  down (the engine dedupes, so a retry never answers twice);
- :meth:`Intake.wait` waits for the work in hand (tests), :meth:`Intake.close`
  lets it finish for a while at shutdown, then cancels what is left;
- a turn cancelled while it waits for the one before it does not run, and the
  turn before it is not disturbed; the turns after it still wait for that
  earlier one, so the order holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """How often and how patiently a failed turn is tried again."""

    attempts: int = 20
    first_delay: float = 0.5
    factor: float = 2.0
    max_delay: float = 30.0


class Intake:
    """Per-person ordered background work with retry and an orderly shutdown."""

    def __init__(
        self, name: str, *, backoff: Backoff = Backoff(), max_parallel: int | None = None
    ) -> None:
        self.name = name
        self.backoff = backoff
        self._slots = asyncio.Semaphore(max_parallel) if max_parallel else None
        #: Per key, the gate the next turn waits for: set once every turn
        #: submitted so far for that key has finished (or was cancelled).
        self._gates: dict[Hashable, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.closing = False

    @property
    def busy(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def submit(self, key: Hashable, work: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run ``work`` after every earlier turn of ``key``. Its exceptions are
        logged (by class only), never raised into the event loop."""
        loop = asyncio.get_running_loop()
        before = self._gates.get(key)
        gate: asyncio.Future[None] = loop.create_future()
        self._gates[key] = gate
        gate.add_done_callback(lambda g: self._forget_gate(key, g))
        task = asyncio.create_task(self._turn(before, gate, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _forget_gate(self, key: Hashable, gate: asyncio.Future[None]) -> None:
        if self._gates.get(key) is gate:
            del self._gates[key]

    async def _turn(
        self,
        before: asyncio.Future[None] | None,
        gate: asyncio.Future[None],
        work: Callable[[], Awaitable[None]],
    ) -> None:
        try:
            if before is not None and not before.done():
                # ``wait`` neither cancels ``before`` when this task is cancelled
                # nor swallows this task's own cancellation: a cancelled turn
                # ends here and its work never runs.
                await asyncio.wait({before})
            if self._slots is None:
                await self._run(work)
            else:
                async with self._slots:
                    await self._run(work)
        finally:
            _open_after(before, gate)

    async def _run(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await work()
        except Exception as exc:
            log.error("%s: background turn failed (%s)", self.name, type(exc).__name__)

    async def retry(self, call: Callable[[], Awaitable[T]]) -> T | None:
        """``call()``'s result, tried again with backoff when it raises; None
        once it kept failing, or failed while the intake is closing (logged
        without personal data)."""
        delay = self.backoff.first_delay
        attempts = self.backoff.attempts
        for attempt in range(1, attempts + 1):
            try:
                return await call()
            except Exception as exc:
                if self.closing or attempt == attempts:
                    log.error(
                        "%s: update given up after %d tries (%s)",
                        self.name,
                        attempt,
                        type(exc).__name__,
                    )
                    return None
                log.warning(
                    "%s: update not handled (%s); retry in %.1fs",
                    self.name,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * self.backoff.factor, self.backoff.max_delay)
        return None

    async def wait(self, seconds: float | None = None) -> None:
        """Return once the work submitted so far is done (or after ``seconds``)."""
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=seconds)

    async def close(self, seconds: float = 10.0) -> None:
        """Shutdown: no more retries, let turns in progress finish for up to
        ``seconds``, then cancel the rest and wait for them to end."""
        self.closing = True
        await self.wait(seconds)
        left = [t for t in self._tasks if not t.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
        self.closing = False


def _open_after(before: asyncio.Future[None] | None, gate: asyncio.Future[None]) -> None:
    """Open ``gate`` once ``before`` is open too: a turn that ended early
    (cancelled while waiting) still holds back the turns after it."""

    def open_gate(_: object = None) -> None:
        if not gate.done():
            gate.set_result(None)

    if before is None or before.done():
        open_gate()
    else:
        before.add_done_callback(open_gate)
