"""Platform ids of the messages in a person's chat, kept 48 hours so that erase
can delete them from the chat itself (Telegram).

Recording them is off the reply path: ids are buffered and written in one
transaction every fraction of a second, instead of one transaction per turn.
A crash can lose the last fraction of a second of ids (those messages would
then survive an erase); erase itself also takes the ids still in the buffer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import utcnow
from bot.store.db import Database
from bot.store.models import MessageRef

log = logging.getLogger(__name__)


class MessageRefRecorder:
    def __init__(self, db: Database, interval: float = 0.25) -> None:
        self.db = db
        self.interval = interval
        self._pending: dict[str, list[tuple[str, object]]] = defaultdict(list)

    def add(self, user_key: str, ids: list[str]) -> None:
        now = utcnow()
        self._pending[user_key].extend((str(i)[:64], now) for i in ids)

    def take(self, user_key: str) -> list[str]:
        """Her ids not yet written (erase deletes them and must not write them)."""
        return [mid for mid, _ in self._pending.pop(user_key, [])]

    def write_into(self, session: AsyncSession) -> int:
        batch, self._pending = self._pending, defaultdict(list)
        count = 0
        for user_key, items in batch.items():
            for mid, at in items:
                session.add(MessageRef(user_key=user_key, platform_message_id=mid, created_at=at))
                count += 1
        return count

    async def flush(self) -> None:
        if not self._pending:
            return
        try:
            async with self.db.transaction() as session:
                self.write_into(session)
        except Exception:
            log.exception("could not record chat message ids")

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await asyncio.wait_for(stopping.wait(), self.interval)
            except TimeoutError:
                pass
            await self.flush()
