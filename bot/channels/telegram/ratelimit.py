"""Telegram's flood limits with a priority lane for danger answers.

PTB's :class:`~telegram.ext.AIORateLimiter` keeps the 20-per-minute cap of
each group and waits out a 429; the overall cap (about 30 messages a second)
is ours, a :class:`~bot.channels.pacing.PriorityPacer`, so that a 113 answer
sent inside :func:`~bot.channels.pacing.urgent_sends` overtakes the ordinary
replies queued for the cap instead of waiting behind them.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram._utils.types import JSONDict
from telegram.ext import AIORateLimiter, BaseRateLimiter

from bot.channels.pacing import PriorityPacer


class PriorityRateLimiter(BaseRateLimiter[int]):
    """``overall_max_rate`` messages a second to chats (0 = uncapped), urgent
    first; group caps and flood-wait retries as PTB's limiter does them."""

    def __init__(self, overall_max_rate: float, max_retries: int = 2) -> None:
        self.pacer = PriorityPacer(overall_max_rate) if overall_max_rate > 0 else None
        self._inner = AIORateLimiter(overall_max_rate=0, max_retries=max_retries)

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        pacer = self.pacer
        if pacer is None or data.get("chat_id") is None:
            return await self._inner.process_request(
                callback, args, kwargs, endpoint, data, rate_limit_args
            )

        async def paced(*a: Any, **kw: Any) -> bool | JSONDict | list[JSONDict]:
            # Inside the group limiter and the flood-wait retries: a retry
            # takes a slot of its own, as it is another message for Telegram.
            await pacer.acquire()
            return await callback(*a, **kw)

        return await self._inner.process_request(
            paced, args, kwargs, endpoint, data, rate_limit_args
        )
