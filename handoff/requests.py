"""The life of a request: created queued, cards posted, released back to the
queue, closed once. Both sides and the timers change a request only through
here, so "tell the other side, finish the cards, write the audit line" is
written once.

Every state change is a conditional update (:func:`handoff.store.transition`):
when two callers race, one wins and the other is told it lost (False).
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import CHECKIN_CHANNELS, Button, Outgoing
from handoff import store, texts
from handoff.context import HandoffContext
from handoff.models import ACTIVE, CLOSED, OPEN_STATES, QUEUED, HandoffRequest
from handoff.relay import Relay, ref
from handoff.routing import Route
from handoff.teams import ZALO_BOT_CHANNEL, Member, Team

log = logging.getLogger(__name__)


class Requests:
    def __init__(self, ctx: HandoffContext, relay: Relay) -> None:
        self.ctx = ctx
        self.relay = relay

    async def create(
        self,
        session: AsyncSession,
        user_key: str,
        language: str,
        routed: Route,
        topic: str | None,
        *,
        ask: bool = False,
        summary: dict[str, object] | None = None,
    ) -> HandoffRequest:
        """A queued request under a fresh alias, with a card in each team group;
        with ``ask`` the cards wait until she answered the questions before
        connecting (summary, safe to talk), see :meth:`finish_intake`."""
        now = self.ctx.clock()
        request = await store.create_request(
            session,
            self.ctx.db,
            {
                "user_key": user_key,
                "status": QUEUED,
                "team_id": routed.team.id,
                "original_team_id": routed.team.id,
                "language": language[:5],
                "details_enc": store.seal_details(
                    self.ctx.keyring, routed.area, topic[:80] if topic else None
                ),
                "created_at": now,
                "queued_at": now,
                "last_activity_at": now,
                "from_user_count": 0,
                "from_member_count": 0,
                "intake_step": "summary" if ask else None,
                "summary_enc": self.ctx.keyring.seal_json(summary) if summary else None,
            },
        )
        if not ask:
            await self.post_cards(session, request, routed.team)
        detail = "matched" if routed.matched else "fallback"
        await store.audit(session, now, "queued", request, detail=detail)
        # The request number alone: a team (her commune) next to her pseudonym
        # would tie where she lives to everything else logged under it.
        log.info("handoff %s queued", request.id)
        self.ctx.count("handoff_requested", routed.team.id)
        return request

    async def close(
        self,
        session: AsyncSession,
        request: HandoffRequest,
        reason: str,
        *,
        by_member: Member | None,
    ) -> bool:
        """Close once (a conditional update), tell the other side, finish the cards."""
        was = request.status
        now = self.ctx.clock()
        if not await store.transition(
            session,
            request,
            expect=OPEN_STATES,
            values={"status": CLOSED, "closed_at": now, "close_reason": reason[:16]},
        ):
            return False
        if was == ACTIVE and by_member is None:
            note = (
                texts.user_left(request.alias)
                if reason == "left"
                else texts.ended_by_user(request.alias)
            )
            if reason != "erased":  # erased: the copies go now, not later
                note += "\n" + texts.copies_note(self.ctx.member_copy_hours)
            self.relay.to_member(session, request, note)
        if by_member is not None:
            closing = self.ctx.render("handoff_closed", request.language)
            user = await store.user_of(session, request)
            if user is not None and user.channel in CHECKIN_CHANNELS:
                # Where the bot may write first, she may ask it to check on her.
                closing += self.ctx.render("checkin_offer", request.language)
            await self.relay.to_user(session, request, closing)
        await self.finish_cards(session, request, texts.card_closed(request.alias))
        by = "member" if by_member else reason
        await store.audit(
            session,
            now,
            "end",
            request,
            member_alias=request.member_alias,
            detail=f"by={by} u={request.from_user_count} m={request.from_member_count}",
        )
        log.info("handoff %s closed (%s)", request.id, reason)
        return True

    async def release(self, session: AsyncSession, request: HandoffRequest, *, reason: str) -> bool:
        """Give a chat back: queued again, a fresh card in the team group."""
        member_alias = request.member_alias
        now = self.ctx.clock()
        won = await store.transition(
            session,
            request,
            expect=(ACTIVE,),
            values={
                "status": QUEUED,
                "queued_at": now,
                "escalated_at": None,
                "claimed_at": None,
                "member_channel": None,
                "member_key": None,
                "member_address_enc": None,
                "member_alias": None,
                "reminded_at": None,
                "unreachable_since": None,
            },
        )
        if not won:
            return False
        await self.post_cards(session, request, self.ctx.team_of(request))
        await store.audit(
            session, now, "release", request, member_alias=member_alias, detail=reason
        )
        return True

    async def finish_intake(self, session: AsyncSession, request: HandoffRequest) -> bool:
        """Her answers are in (or the questions timed out): the request joins
        the queue now and the cards go out. False if another caller did it."""
        now = self.ctx.clock()
        if not await store.transition(
            session,
            request,
            expect=(QUEUED,),
            values={"intake_step": None, "queued_at": now, "last_activity_at": now},
            extra=HandoffRequest.intake_step.is_not(None),
        ):
            return False
        await self.post_cards(session, request, self.ctx.team_of(request))
        return True

    def card_extra(self, request: HandoffRequest) -> list[str]:
        """Her answers before connecting, for the card and the connected notice:
        the summary she agreed to share and whether it is safe to talk."""
        from handoff import summary

        lines = [texts.safe_line(request.safe_now)]
        if request.summary_enc and request.intake_step is None:
            shared = self.ctx.keyring.open_json(request.summary_enc)
            lines += ["📋 Tóm tắt (cô ấy đồng ý) / Summary (she agreed):", *summary.lines(shared)]
        return lines

    async def post_cards(
        self, session: AsyncSession, request: HandoffRequest, team: Team, note: str = ""
    ) -> None:
        """A request card in each of the team's groups: with the Take button
        where the app has buttons, with "nhận K7Q2" on the Zalo Bot Platform.
        A team with no group gets the card in each on-duty member's private
        chat. Only alias, area, language, topic, her answers before connecting
        and the waiting time: never content."""
        from handoff import duty

        area, topic = store.open_details(self.ctx.keyring, request)
        text = texts.card(
            request.alias,
            area,
            request.language,
            topic,
            request.queued_at,
            note,
            extra=self.card_extra(request),
        )
        places = list(team.group_addresses())
        if team.cards_in_private:
            places = [m.reply_identity for m in await duty.on_duty(session, team)]
        for channel, address in places:
            if channel == ZALO_BOT_CHANNEL or team.cards_in_private:
                message = Outgoing(f"{text}\n{texts.claim_hint(request.alias, request.id)}")
            else:
                take = Button(texts.TAKE_LABEL, f"ho:take:{request.id}")
                message = Outgoing(text, buttons=[take])
            item = self.ctx.outbox.to_address(
                session, channel, address, message, ref=ref(request, "card")
            )
            await session.flush()
            store.add_card(
                session,
                request,
                team.id,
                channel,
                self.ctx.keyring.seal(address),
                item.id,
                self.ctx.clock(),
            )

    async def finish_cards(self, session: AsyncSession, request: HandoffRequest, text: str) -> None:
        """Edit every open card of the request (taken, closed...) so no Take
        button is left on it; a card not delivered yet gets a follow-up line."""
        for card in await store.open_cards(session, request.id):
            message_id = await store.card_message_id(session, card)
            card.state = "done"
            address = self.ctx.keyring.open(card.address_enc)
            self.ctx.outbox.to_address(
                session,
                card.channel,
                address,
                Outgoing(text, edit_of=message_id),
                ref=ref(request, "edit"),
            )
