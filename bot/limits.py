"""In-memory rate limits for one process: at most ``limit`` events per
``window`` seconds per key. Keys are opaque (a session id's hash, an IP's
keyed digest): nothing here is logged or stored.

Limits in memory are per process; behind a load balancer with N processes a
source gets up to N times the limit, which is still bounded. What must hold
across processes (handoff requests per person and in total) is counted in
the database by handoff/.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

#: Keys tracked at most; the oldest are dropped first (a flood of fresh keys
#: cannot grow memory without bound).
MAX_KEYS = 50_000


class RateLimit:
    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._events: dict[str, deque[float]] = {}

    def hit(self, key: str) -> float:
        """Count one event; 0.0 if allowed, else the seconds until one would be."""
        now = self.clock()
        events = self._events.pop(key, None) or deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        self._events[key] = events  # most recently used last
        if len(events) >= self.limit:
            return max(0.1, events[0] + self.window - now)
        events.append(now)
        while len(self._events) > MAX_KEYS:
            del self._events[next(iter(self._events))]
        return 0.0

    def forget(self, key: str) -> None:
        self._events.pop(key, None)
