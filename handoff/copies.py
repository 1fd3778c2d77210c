"""Copies of her words on the team's side, and their end.

A relay puts her words in a team member's private chat with the bot, and the
member's replies sit there too. The bot records the platform ids of both
(sealed, in ``handoff_copies``) and deletes them:

- at once when she erases her data;
- ``HELPLINE_MEMBER_COPY_HOURS`` after the chat closes (the member is told
  when the chat ends), together with the transcript, so the console forgets
  at the same moment.

Deleting goes through the outbox as a deletion job (``Outgoing.deletion``),
so it survives a restart and runs once across processes; the same job edits
every request card in the team group to a neutral line. Telegram lets a bot
delete messages in a private chat for 48 hours only: older copies stay on the
member's phone, and Zalo cannot delete at all (docs/privacy.md says so).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import address_context
from bot.messages import Incoming, Outgoing
from bot.store.models import OutboxItem
from handoff import store, texts
from handoff.context import HandoffContext
from handoff.models import HandoffRequest
from handoff.relay import parse_ref, ref

log = logging.getLogger(__name__)

#: Outbox kinds that carry her words (``r``) or her area and topic
#: (``connect``) into a member's chat. Other notices (reminders, "she ended
#: the chat") carry only the alias and stay.
COPY_KINDS = frozenset({"r", "connect"})
#: How far back Telegram lets a bot delete messages in a private chat.
DELETE_WINDOW = timedelta(hours=48)
BATCH = 50


class MemberCopies:
    def __init__(self, ctx: HandoffContext, *, interval: float = 60.0) -> None:
        self.ctx = ctx
        self.interval = interval

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.ctx.member_copy_hours)

    # ---- recording ----------------------------------------------------------

    async def on_delivered(self, session: AsyncSession, item: OutboxItem, ids: list[str]) -> None:
        """A relay reached a member: remember its ids. If the request was erased
        or wiped while it was on its way, delete it again at once."""
        parsed = parse_ref(item.ref)
        if parsed is None or parsed[1] not in COPY_KINDS or not ids:
            return
        request = await store.locked_request(session, self.ctx.db, parsed[0])
        # The outbox seals an address bound to its recipient (bot.crypto.address_context).
        address = self.ctx.keyring.open(item.address_enc, address_context(item.recipient))
        if request is None or request.wiped_at is not None:
            self.ctx.outbox.to_address(
                session, item.channel, address, Outgoing.deletion(ids), ref=f"ho:{parsed[0]}:wipe"
            )
            return
        store.add_copy(
            session,
            request.id,
            item.channel,
            self.ctx.keyring.seal(address),
            self.ctx.keyring.seal_json([str(i) for i in ids]),
            self.ctx.clock(),
        )

    def note_member_message(
        self, session: AsyncSession, request: HandoffRequest, incoming: Incoming
    ) -> None:
        """The member's own reply in the private chat, where the channel can
        delete it later (Telegram gives its id)."""
        if not incoming.chat_message_id:
            return
        store.add_copy(
            session,
            request.id,
            incoming.channel,
            self.ctx.keyring.seal(str(incoming.address)),
            self.ctx.keyring.seal_json([str(incoming.chat_message_id)]),
            self.ctx.clock(),
        )

    # ---- deleting -------------------------------------------------------------

    async def drop_outbox(self, session: AsyncSession, request: HandoffRequest) -> None:
        """Every outbox row of the request, sent or not (sent relays still hold
        her words, sealed). Card ids are read from the rows first: the cards
        are edited to a neutral line afterwards."""
        for card in await store.all_cards(session, request.id):
            await store.card_message_id(session, card)
        await store.drop_outbox_of_request(session, request.id)

    async def wipe(self, session: AsyncSession, request: HandoffRequest) -> int:
        """Queue the deletion of every recorded copy (one job per chat), a
        neutral notice to each member concerned and a neutral line on every
        card; drop the transcript and the team's notes. Returns the number of
        message ids queued for deletion."""
        now = self.ctx.clock()
        keyring, outbox = self.ctx.keyring, self.ctx.outbox
        chats: dict[tuple[str, str], list[str]] = {}
        for copy in await store.take_copies(session, request.id):
            chat = (copy.channel, keyring.open(copy.address_enc))
            ids = chats.setdefault(chat, [])
            if copy.created_at >= now - DELETE_WINDOW:
                ids.extend(str(i) for i in keyring.open_json(copy.ids_enc))
        queued = 0
        for (channel, address), ids in chats.items():
            if ids:
                outbox.to_address(
                    session, channel, address, Outgoing.deletion(ids), ref=ref(request, "wipe")
                )
                queued += len(ids)
            outbox.to_address(
                session,
                channel,
                address,
                Outgoing(texts.conversation_erased(request.alias)),
                ref=ref(request, "wiped"),
            )
        for card in await store.all_cards(session, request.id):
            if card.message_id:
                outbox.to_address(
                    session,
                    card.channel,
                    keyring.open(card.address_enc),
                    Outgoing(texts.card_closed(request.alias), edit_of=card.message_id),
                    ref=ref(request, "edit"),
                )
            card.state = "done"
        await store.delete_transcript(session, request.id)
        request.wiped_at = now
        log.info("handoff %s: member copies wiped (%d ids)", request.id, queued)
        return queued

    # ---- after a chat closes -------------------------------------------------------

    async def tick(self, now: datetime | None = None) -> int:
        """Closed chats past the grace period: wipe each once (rows locked with
        SKIP LOCKED, so processes share the work)."""
        now = now or self.ctx.clock()
        done = 0
        async with self.ctx.db.transaction() as session:
            for request in await store.due_wipes(session, self.ctx.db, now - self.grace, BATCH):
                await self.drop_outbox(session, request)
                await self.wipe(session, request)
                done += 1
        if done:
            self.ctx.outbox.wake()
            await self.ctx.db.scrub()  # the transcripts leave the disk too
        return done

    async def run(self) -> None:
        """Tick until shutdown; stops between ticks, never mid-transaction."""
        stopping = self.ctx.outbox.stopping
        while not stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("handoff copy deletion failed; will try again")
            try:
                await asyncio.wait_for(stopping.wait(), self.interval)
            except TimeoutError:
                pass
