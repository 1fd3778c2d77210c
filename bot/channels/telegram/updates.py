"""Reading Telegram's updates without letting one bad update stop the others.

python-telegram-bot builds its objects from the JSON strictly: a field its
version does not expect to be missing (a banned member without
``until_date``) or a newer service message whose shape changed (``unique_gift``)
raises ``TypeError`` from ``Update.de_json``. Telegram retries a webhook call
answered 4xx or 5xx for hours, and in polling PTB would fetch the same batch
again and again (logging the raw JSON, texts and ids included, at CRITICAL).

So an update that cannot be read is acknowledged as an empty update with the
same ``update_id``: Telegram moves on, polling confirms it, and the
``helpline_unreadable_updates`` counter shows that it happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from telegram import Bot, Update
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

OnUnreadable = Callable[[], None]


def update_id_of(data: Any) -> int | None:
    """The ``update_id`` of a body that looks like an update; None otherwise."""
    if not isinstance(data, dict):
        return None
    value = data.get("update_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_update(data: dict[str, Any], bot: Bot, on_unreadable: OnUnreadable) -> Update:
    """``data`` (with an ``update_id``) as an :class:`Update`; one PTB cannot
    read becomes an empty update with the same id, counted and logged by type."""
    try:
        update = Update.de_json(data, bot)
    except Exception as exc:  # PTB raises TypeError, KeyError, ValueError...
        update = None
        log.warning("telegram: unreadable update acknowledged (%s)", type(exc).__name__)
    if update is None:
        on_unreadable()
        update = Update(update_id=int(data["update_id"]))
        update.set_bot(bot)
    return update


class TolerantBot(ExtBot[Any]):
    """PTB's bot, except that ``getUpdates`` results are read one by one:
    an update that cannot be read is replaced by an empty one, so the rest of
    the batch is handled and the offset moves past it.

    ``_post`` is the seam PTB itself documents for subclasses (ExtBot overrides
    the call below it for rate limiting)."""

    def __init__(self, *args: Any, on_unreadable: OnUnreadable, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._on_unreadable = on_unreadable

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint != "getUpdates" or not isinstance(result, list):
            return result
        return [self._readable(item) for item in result]

    def _readable(self, item: Any) -> Any:
        """The item itself if PTB can read it, else ``{"update_id": N}``."""
        update_id = update_id_of(item)
        if update_id is None:
            return item  # not an update at all: let PTB say so
        try:
            Update.de_json(item, self)
        except Exception as exc:
            log.warning("telegram: unreadable polled update skipped (%s)", type(exc).__name__)
            self._on_unreadable()
            return {"update_id": update_id}
        return item
