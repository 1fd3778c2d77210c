"""The handoff service: what the engine calls (``bot.interfaces.Handoff``).

The user side lives here (consent, start, end, erase, placeholders, delivery
failures, retention); the team side is in :mod:`handoff.team_side`, the
message carrying in :mod:`handoff.relay` and the clocks in :mod:`handoff.timers`.

Everything that must reach someone other than the sender of the current update
goes through the database outbox in the caller's transaction, so a decision
and its messages are committed together or not at all (DESIGN.md §3.9).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import KeyRing
from bot.interfaces import Action, Failure
from bot.logs import short
from bot.messages import Button, Incoming, Outgoing, utcnow
from bot.outbox import Outbox
from bot.store.db import Database
from bot.store.models import OutboxItem, User
from handoff import store, texts
from handoff.models import (
    ACTIVE,
    CLOSED,
    OPEN_STATES,
    QUEUED,
    HandoffCard,
    HandoffConsent,
    HandoffMessage,
    HandoffRequest,
    HandoffSeen,
)
from handoff.relay import Relay, parse_ref, ref
from handoff.routing import route
from handoff.teams import Member, Team, TeamsConfig

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: How long team update ids are kept for dedupe (redeliveries come within minutes).
SEEN_KEEP = timedelta(days=3)


class HandoffService:
    def __init__(
        self,
        config: TeamsConfig,
        db: Database,
        keyring: KeyRing,
        outbox: Outbox,
        runner: Any,
        *,
        clock: Clock = utcnow,
        tick_seconds: float = 15.0,
    ) -> None:
        from handoff.team_side import TeamSide
        from handoff.timers import Timers

        self.config = config
        self.db = db
        self.keyring = keyring
        self.outbox = outbox
        self.runner = runner
        #: Injectable so tests move time instead of sleeping.
        self.clock: Clock = clock
        #: The runtime's daily counters (bot.stats.Stats), set by build_runtime:
        #: requests, claims and time to claim by team, never a person.
        self.stats: Any = None
        self.relay = Relay(self)
        self.team_side = TeamSide(self)
        self.timers = Timers(self, interval=tick_seconds)

    # ---- engine interface ------------------------------------------------

    async def handle_team(self, incoming: Incoming) -> list[Outgoing] | None:
        return await self.team_side.handle(incoming)

    async def is_active(self, session: AsyncSession, user: User) -> bool:
        return await store.open_request_for_user(session, user.key) is not None

    async def on_action(self, session: AsyncSession, user: User, action: Action) -> list[Outgoing]:
        if action.name == "consent":
            return await self._consent(session, user, action.args)
        if action.name == "start_handoff":
            return await self._start(session, user, action.args)
        if action.name == "end":
            return await self._end(session, user, action.args)
        if action.name == "erase":
            await self.forget(session, user.key)
        return []

    async def relay_from_user(
        self, session: AsyncSession, user: User, incoming: Incoming, intent: str | None
    ) -> list[Outgoing]:
        request = await store.open_request_for_user(session, user.key)
        if request is None:
            return []
        await self.relay.from_user(
            session, request, incoming.text, incoming.attachment, emergency=intent == "emergency"
        )
        return []

    async def placeholders(self, session: AsyncSession, user: User) -> dict[str, str]:
        """Her routed team's hours and contacts, else the fallback team's."""
        request = await store.last_request_for_user(session, user.key)
        team = self.team_of(request) if request is not None else self.config.fallback
        return self._team_placeholders(team)

    async def forget(self, session: AsyncSession, user_key: str) -> None:
        """Erase: end any open chat (the member only learns that she ended it)
        and delete every handoff row about her, transcripts first."""
        requests = list(
            (
                await session.scalars(
                    select(HandoffRequest).where(HandoffRequest.user_key == user_key)
                )
            ).all()
        )
        for request in requests:
            if request.status in OPEN_STATES:
                await self.close(session, request, "erased", by_member=None)
            # Her words still waiting in the outbox for the member are dropped too.
            await session.execute(
                delete(OutboxItem).where(
                    OutboxItem.ref == ref(request, "r"), OutboxItem.status == "pending"
                )
            )
        ids = [r.id for r in requests]
        if ids:
            await session.execute(delete(HandoffMessage).where(HandoffMessage.request_id.in_(ids)))
            await session.execute(delete(HandoffCard).where(HandoffCard.request_id.in_(ids)))
            await session.execute(delete(HandoffRequest).where(HandoffRequest.id.in_(ids)))
        await session.execute(delete(HandoffConsent).where(HandoffConsent.user_key == user_key))
        log.info("handoff erase user=%s requests=%d", short(user_key), len(ids))

    # ---- optional runtime hooks -----------------------------------------

    async def on_undeliverable(self, session: AsyncSession, item: OutboxItem, failure: Failure) -> None:
        """A message failed for good. To her during a chat (blocked, Zalo's reply
        window closed): tell the member once. The member's "connected" notice
        (the member never opened a private chat with the bot): back to the queue."""
        now = self.clock()
        parsed = parse_ref(item.ref)
        if parsed is not None and parsed[1] == "connect":
            request = await session.get(HandoffRequest, parsed[0])
            if request is not None and request.status == ACTIVE and request.member_key == item.recipient:
                member_alias = request.member_alias or "?"
                if await self.team_side.release(session, request, reason="undeliverable"):
                    team = self.team_of(request)
                    for channel, address in team.group_addresses():
                        self.outbox.to_address(
                            session,
                            channel,
                            address,
                            Outgoing(texts.member_never_started(member_alias, request.alias)),
                            ref=ref(request, "m"),
                        )
            return
        request = await store.open_request_for_user(session, item.recipient)
        if request is None or request.status != ACTIVE or request.unreachable_since is not None:
            return
        request.unreachable_since = now
        self.relay.to_member(session, request, texts.unreachable(request.alias))
        log.info("handoff %s: user unreachable (%s)", request.id, failure.value)

    async def purge_hook(self, session: AsyncSession, retention: timedelta) -> int:
        """Closed chats' transcripts, cards and requests after the retention
        period; consent records of people who are gone or withdrew long ago."""
        cutoff = self.clock() - retention
        old = select(HandoffRequest.id).where(
            HandoffRequest.status == CLOSED, HandoffRequest.closed_at < cutoff
        )
        ids = list((await session.scalars(old)).all())
        n = 0
        if ids:
            n += (
                await session.execute(delete(HandoffMessage).where(HandoffMessage.request_id.in_(ids)))
            ).rowcount or 0  # type: ignore[attr-defined]
            await session.execute(delete(HandoffCard).where(HandoffCard.request_id.in_(ids)))
            n += (
                await session.execute(delete(HandoffRequest).where(HandoffRequest.id.in_(ids)))
            ).rowcount or 0  # type: ignore[attr-defined]
        await session.execute(
            delete(HandoffSeen).where(HandoffSeen.created_at < self.clock() - SEEN_KEEP)
        )
        gone = HandoffConsent.user_key.not_in(select(User.key))
        n += (
            await session.execute(
                delete(HandoffConsent).where(
                    (HandoffConsent.withdrawn_at < cutoff)
                    | ((HandoffConsent.created_at < cutoff) & gone)
                )
            )
        ).rowcount or 0  # type: ignore[attr-defined]
        return n

    async def keep_hook(self, session: AsyncSession) -> set[str]:
        """People in an open chat are not purged as inactive."""
        rows = await session.scalars(
            select(HandoffRequest.user_key).where(HandoffRequest.status.in_(OPEN_STATES))
        )
        return set(rows.all())

    def team_group_ids(self) -> set[str]:
        """Telegram groups that are team groups: the adapter stays in these and
        leaves any other group it is added to."""
        return {
            address
            for team in self.config.teams
            for channel, address in team.group_addresses()
            if channel == "telegram"
        }

    def background_tasks(self) -> list[Coroutine[Any, Any, None]]:
        return [self.timers.run()]

    async def counts_by_state(self, session: AsyncSession) -> dict[str, int]:
        """For /metrics and `helpline team list-requests`: counts only."""
        return await store.counts_by_state(session)

    # ---- user side --------------------------------------------------------

    async def _consent(self, session: AsyncSession, user: User, args: dict[str, Any]) -> list[Outgoing]:
        session.add(
            HandoffConsent(
                user_key=user.key,
                text_version=str(args.get("version") or "?")[:64],
                language=str(args.get("language") or user.language or "vi")[:5],
                node=str(args["node"])[:64] if args.get("node") else None,
                created_at=self.clock(),
            )
        )
        return []

    async def _has_consent(self, session: AsyncSession, user: User) -> bool:
        found = await session.scalar(
            select(HandoffConsent.id)
            .where(HandoffConsent.user_key == user.key, HandoffConsent.withdrawn_at.is_(None))
            .limit(1)
        )
        return found is not None

    async def _start(self, session: AsyncSession, user: User, args: dict[str, Any]) -> list[Outgoing]:
        language = user.language or "vi"
        existing = await store.open_request_for_user(session, user.key)
        if existing is not None:
            if existing.status == QUEUED:
                return self.render("handoff_queued", language, self._team_placeholders(self.team_of(existing)))
            return []
        if not await self._has_consent(session, user):
            # Never connect anyone without a recorded consent (the flow asks first).
            log.warning("start_handoff without consent user=%s", short(user.key))
            return self.render("handoff_unavailable", language, {})
        area_arg = args.get("area")
        topic = args.get("topic")
        routed = route(str(area_arg) if area_arg else None, self.config)
        now = self.clock()
        request = await store.create_request(
            session,
            self.db,
            {
                "user_key": user.key,
                "status": QUEUED,
                "team_id": routed.team.id,
                "original_team_id": routed.team.id,
                "language": language[:5],
                "details_enc": store.seal_details(
                    self.keyring, routed.area, str(topic)[:80] if topic else None
                ),
                "created_at": now,
                "queued_at": now,
                "last_activity_at": now,
                "from_user_count": 0,
                "from_member_count": 0,
            },
        )
        await self.post_cards(session, request, routed.team)
        await store.audit(session, now, "queued", request, detail="matched" if routed.matched else "fallback")
        log.info("handoff %s queued team=%s user=%s", request.id, routed.team.id, short(user.key))
        placeholders = self._team_placeholders(routed.team)
        self.count("handoff_requested", routed.team.id)
        if not routed.team.is_open(now):
            self.count("out_of_hours", routed.team.id)
            return self.render("handoff_out_of_hours", language, placeholders)
        return self.render("handoff_queued", language, placeholders)

    async def _end(self, session: AsyncSession, user: User, args: dict[str, Any]) -> list[Outgoing]:
        now = self.clock()
        for consent in (
            await session.scalars(
                select(HandoffConsent).where(
                    HandoffConsent.user_key == user.key, HandoffConsent.withdrawn_at.is_(None)
                )
            )
        ).all():
            consent.withdrawn_at = now
        request = await store.open_request_for_user(session, user.key)
        if request is None:
            return []
        reason = "left" if args.get("reason") == "left" else "user"
        if not await self.close(session, request, reason, by_member=None):
            return []
        if reason == "left":
            return []  # she is gone from the page; nothing to show
        return self.render("handoff_closed", user.language or "vi", {})

    # ---- shared by both sides -------------------------------------------

    async def close(
        self, session: AsyncSession, request: HandoffRequest, reason: str, *, by_member: Member | None
    ) -> bool:
        """Close once (a conditional update), tell the other side, finish the cards."""
        was = request.status
        now = self.clock()
        if not await store.transition(
            session,
            request,
            expect=OPEN_STATES,
            values={"status": CLOSED, "closed_at": now, "close_reason": reason[:16]},
        ):
            return False
        if was == ACTIVE and by_member is None:
            note = texts.user_left(request.alias) if reason == "left" else texts.ended_by_user(request.alias)
            self.relay.to_member(session, request, note)
        if by_member is not None:
            await self.relay.to_user(
                session, request, self.render("handoff_closed", request.language, {})
            )
        await self.finish_cards(session, request, texts.card_closed(request.alias))
        await store.audit(
            session,
            now,
            "end",
            request,
            member_alias=request.member_alias,
            detail=f"by={'member' if by_member else reason} u={request.from_user_count} m={request.from_member_count}",
        )
        log.info("handoff %s closed (%s)", request.id, reason)
        return True

    async def post_cards(
        self, session: AsyncSession, request: HandoffRequest, team: Team, note: str = ""
    ) -> None:
        """A request card with the Take button in each of the team's groups.
        Only alias, area, language, topic and waiting time: never content."""
        area, topic = store.open_details(self.keyring, request)
        text = texts.card(request.alias, area, request.language, topic, request.queued_at, note)
        for channel, address in team.group_addresses():
            message = Outgoing(text, buttons=[Button(texts.TAKE_LABEL, f"ho:take:{request.id}")])
            item = self.outbox.to_address(session, channel, address, message, ref=ref(request, "card"))
            await session.flush()
            session.add(
                HandoffCard(
                    request_id=request.id,
                    team_id=team.id,
                    channel=channel,
                    address_enc=self.keyring.seal(address),
                    outbox_id=item.id,
                    state="open",
                    created_at=self.clock(),
                )
            )

    async def finish_cards(self, session: AsyncSession, request: HandoffRequest, text: str) -> None:
        """Edit every open card of the request (taken, closed...) so no Take
        button is left on it; a card not delivered yet gets a follow-up line."""
        for card in await store.open_cards(session, request.id):
            message_id = await store.card_message_id(session, card)
            card.state = "done"
            address = self.keyring.open(card.address_enc)
            self.outbox.to_address(
                session, card.channel, address, Outgoing(text, edit_of=message_id), ref=ref(request, "edit")
            )

    def count(self, metric: str, label: str) -> None:
        if self.stats is not None:
            self.stats.count(metric, label)

    def team_of(self, request: HandoffRequest) -> Team:
        """The request's current team; the fallback if the file changed since."""
        return self.config.team(request.team_id) or self.config.fallback

    def _team_placeholders(self, team: Team) -> dict[str, str]:
        fallback = self.config.fallback
        return {
            "team_hours": team.hours_text() or fallback.hours_text(),
            "local_contacts": "\n".join(team.contacts or fallback.contacts),
        }

    def render(self, node: str, language: str, placeholders: dict[str, str]) -> list[Outgoing]:
        """A node of the flows; the built-in text if the flows lack it, so she is
        never left without an answer."""
        try:
            messages = (
                list(self.runner.render(node, language, placeholders) or [])
                if self.runner is not None
                else []
            )
        except Exception:  # a missing node must not lose her request
            log.exception("flows cannot render %s; using the built-in text", node)
            messages = []
        if messages:
            return messages
        table = texts.FALLBACK.get(node, {})
        template = table.get(language) or table.get("vi") or ""
        values = {"team_hours": "", "local_contacts": "", **placeholders}
        return [Outgoing(template.format_map(values))] if template else []
