"""The handoff service: what the rest of the bot calls (``bot.interfaces.Handoff``).

The user side lives here (consent, start, end, erase, placeholders, delivery
failures, retention). It builds the parts from one :class:`HandoffContext`:
:mod:`handoff.relay` carries words, :mod:`handoff.requests` owns a request's
life, :mod:`handoff.team_side` handles members and :mod:`handoff.timers` the
clocks; :mod:`handoff.store` holds every query. No part holds the service.

Everything that must reach someone other than the sender of the current update
goes through the database outbox in the caller's transaction, so a decision
and its messages are committed together or not at all (docs/design.md, promise 9).
"""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, assert_never

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import KeyRing
from bot.interfaces import Action, ActionCall, Failure, FlowRunner
from bot.logs import short
from bot.messages import Button, Incoming, Outgoing, utcnow
from bot.outbox import Outbox
from bot.stats import Stats
from bot.store import kv
from bot.store.db import Database
from bot.store.models import OutboxItem, User
from handoff import duty, store, summary, texts, waiting
from handoff.context import Clock, HandoffContext, HandoffLimits
from handoff.copies import MemberCopies
from handoff.models import ACTIVE, OPEN_STATES, QUEUED, HandoffRequest
from handoff.relay import Relay, parse_ref, ref
from handoff.requests import Requests
from handoff.routing import Route, route
from handoff.team_side import TeamSide
from handoff.teams import TeamsConfig
from handoff.timers import Timers

log = logging.getLogger(__name__)

#: The one channel that can pass her voice on to a member (by file reference).
VOICE_CHANNEL = "telegram"
WAIT_PAYLOAD = "ho:wait"
_SAFE = {"ho:safe:yes": "yes", "ho:safe:short": "short", "ho:safe:no": "no"}
#: Typed answers to the questions before connecting (Zalo numbers come as
#: payloads already; these are for typed words).
_TYPED = {
    "summary": {
        "co": "ho:share:yes",
        "có": "ho:share:yes",
        "yes": "ho:share:yes",
        "dong y": "ho:share:yes",
        "đồng ý": "ho:share:yes",
        "khong": "ho:share:no",
        "không": "ho:share:no",
        "no": "ho:share:no",
    },
    "safety": {
        "co": "ho:safe:yes",
        "có": "ho:safe:yes",
        "yes": "ho:safe:yes",
        "an toan": "ho:safe:yes",
        "an toàn": "ho:safe:yes",
        "khong": "ho:safe:no",
        "không": "ho:safe:no",
        "no": "ho:safe:no",
    },
}
_WAIT_WORDS = ("còn bao lâu", "con bao lau", "bao lâu", "bao lau", "how long", "how much longer")


def _answer_of(text: str | None, step: str | None) -> str | None:
    if not text or step not in _TYPED:
        return None
    folded = " ".join(text.casefold().strip(" .!?").split())
    return _TYPED[str(step)].get(folded)


def _asks_wait(text: str | None) -> bool:
    """ "còn bao lâu?", "how long": short questions about the wait only."""
    if not text or len(text.split()) > 6:
        return False
    folded = text.casefold()
    return any(w in folded for w in _WAIT_WORDS)


def _with_buttons(
    messages: list[Outgoing], table: dict[str, list[tuple[str, str]]], language: str
) -> None:
    if messages:
        pairs = table.get(language) or table["vi"]
        mine = [Button(label, payload) for label, payload in pairs]
        messages[-1].buttons = [*mine, *messages[-1].buttons]


#: How long team update ids are kept for dedupe (redeliveries come within minutes).
SEEN_KEEP = timedelta(days=3)


class HandoffService:
    def __init__(
        self,
        config: TeamsConfig,
        db: Database,
        keyring: KeyRing,
        outbox: Outbox,
        runner: FlowRunner | None,
        *,
        stats: Stats | None = None,
        clock: Clock = utcnow,
        tick_seconds: float = 15.0,
        member_copy_hours: float = 1.0,
        limits: HandoffLimits | None = None,
    ) -> None:
        self.ctx = HandoffContext(
            config=config,
            db=db,
            keyring=keyring,
            outbox=outbox,
            runner=runner,
            stats=stats,
            clock=clock,
            member_copy_hours=member_copy_hours,
            limits=limits or HandoffLimits(),
        )
        self.relay = Relay(self.ctx)
        self.copies = MemberCopies(self.ctx)
        self.requests = Requests(self.ctx, self.relay)
        self.team_side = TeamSide(self.ctx, self.relay, self.requests)
        self.timers = Timers(self.ctx, self.relay, self.requests, interval=tick_seconds)

    @property
    def config(self) -> TeamsConfig:
        return self.ctx.config

    @property
    def db(self) -> Database:
        return self.ctx.db

    @property
    def keyring(self) -> KeyRing:
        return self.ctx.keyring

    @property
    def outbox(self) -> Outbox:
        return self.ctx.outbox

    # ---- engine interface ------------------------------------------------

    async def handle_team(self, incoming: Incoming) -> list[Outgoing] | None:
        return await self.team_side.handle(incoming)

    async def is_active(self, session: AsyncSession, user: User) -> bool:
        return await store.open_request_for_user(session, user.key) is not None

    async def on_action(
        self, session: AsyncSession, user: User, call: ActionCall
    ) -> list[Outgoing]:
        match call.action:
            case Action.CONSENT:
                return self._consent(session, user, call.args)
            case Action.START_HANDOFF:
                return await self._start(session, user, call.args)
            case Action.END:
                return await self._end(session, user, call.args)
            case Action.ERASE:
                await self.forget(session, user.key)
                return []
            case Action.VOICE_CHOICE:
                return await self._voice_choice(session, user, bool(call.args.get("send")))
            case (
                Action.SET_LANGUAGE
                | Action.SET_DISCREET
                | Action.CHECKIN
                | Action.CHECKIN_STOP
                | Action.OFFER_CHECKIN
            ):
                return []  # her settings: the engine's business
            case _:
                assert_never(call.action)

    async def relay_from_user(
        self, session: AsyncSession, user: User, incoming: Incoming, intent: str | None
    ) -> list[Outgoing]:
        request = await store.open_request_for_user(session, user.key)
        if request is None:
            return []
        intake = await self._while_open(session, request, incoming)
        if intake is not None:
            return intake
        emergency = intent == "emergency"
        if (
            request.status == QUEUED
            and not emergency
            and await store.held_count(session, request.id) >= self.ctx.limits.held_messages
        ):
            # What she sent before stays with the request; danger always gets through.
            self.ctx.count("handoff_limited", "held")
            return self.ctx.render("handoff_held_full", user.language or "vi")
        answer: list[Outgoing] = []
        voice_ref: str | None = None
        if incoming.transcribed and incoming.voice is not None:
            # A voice can identify her: the member gets the transcript unless
            # she chose otherwise, and she is asked once per chat.
            if request.voice_choice is None:
                request.voice_choice = "asked"
                answer = self.ctx.render("voice_ask", user.language or "vi")
            elif request.voice_choice == "voice" and self._voice_passes(user, request):
                voice_ref = incoming.voice.forward_ref
        await self.relay.from_user(
            session,
            request,
            incoming.text,
            incoming.attachment,
            emergency=emergency,
            transcribed=incoming.transcribed,
            voice_ref=voice_ref,
        )
        return answer

    @staticmethod
    def _voice_passes(user: User, request: HandoffRequest) -> bool:
        """Her audio can go on only from Telegram to a member on Telegram, by
        the platform's own file reference (the bot never keeps the audio)."""
        return (
            user.channel == VOICE_CHANNEL
            and request.status == ACTIVE
            and request.member_channel == VOICE_CHANNEL
        )

    async def _voice_choice(self, session: AsyncSession, user: User, send: bool) -> list[Outgoing]:
        language = user.language or "vi"
        request = await store.open_request_for_user(session, user.key)
        if request is None:
            return self.ctx.render("expired", language)
        if not send:
            request.voice_choice = "text"
            return self.ctx.render("voice_choice_text", language)
        if user.channel != VOICE_CHANNEL:
            request.voice_choice = "text"
            return self.ctx.render("voice_unavailable", language)
        request.voice_choice = "voice"
        return self.ctx.render("voice_choice_send", language)

    async def placeholders(self, session: AsyncSession, user: User) -> dict[str, str]:
        """Her routed team's hours and contacts, else the fallback team's."""
        request = await store.last_request_for_user(session, user.key)
        team = self.ctx.team_of(request) if request is not None else self.config.fallback
        return self.ctx.team_placeholders(team)

    async def forget(self, session: AsyncSession, user_key: str) -> None:
        """Erase: every outbox row of her chats goes (sent ones too), any open
        chat ends (the member only learns that she ended it), the copies in
        members' chats are queued for deletion and the cards turn into a
        neutral line; then every handoff row about her is deleted."""
        requests = await store.requests_of_user(session, user_key)
        for request in requests:
            await self.copies.drop_outbox(session, request)
            if request.status in OPEN_STATES:
                await self.requests.close(session, request, "erased", by_member=None)
            await self.copies.wipe(session, request)
        ids = [r.id for r in requests]
        await store.delete_requests(session, ids)
        await store.delete_consents(session, user_key)
        log.info("handoff erase user=%s requests=%d", short(user_key), len(ids))

    # ---- runtime hooks -----------------------------------------------------

    async def on_undeliverable(
        self, session: AsyncSession, item: OutboxItem, failure: Failure
    ) -> None:
        """A message failed for good. To her during a chat (blocked, Zalo's reply
        window closed): tell the member once. The member's "connected" notice
        (the member never opened a private chat with the bot): back to the queue."""
        now = self.ctx.clock()
        parsed = parse_ref(item.ref)
        if parsed is not None and parsed[1] == "connect":
            request = await store.request_by_id(session, parsed[0])
            if (
                request is not None
                and request.status == ACTIVE
                and request.member_key == item.recipient
            ):
                member_alias = request.member_alias or "?"
                if await self.requests.release(session, request, reason="undeliverable"):
                    team = self.ctx.team_of(request)
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

    async def on_delivered(self, session: AsyncSession, item: OutboxItem, ids: list[str]) -> None:
        """Relays delivered to a member are recorded for later deletion."""
        await self.copies.on_delivered(session, item, ids)

    async def purge_hook(self, session: AsyncSession, retention: timedelta) -> int:
        """Closed chats' transcripts, cards and requests after the retention
        period; consent records of people who are gone or withdrew long ago."""
        now = self.ctx.clock()
        return await store.purge(session, now - retention, now - SEEN_KEEP)

    async def keep_hook(self, session: AsyncSession) -> set[str]:
        """People in an open chat are not purged as inactive."""
        return await store.users_in_open_chats(session)

    def team_group_ids(self, channel: str = "telegram") -> set[str]:
        """Team groups on ``channel``: the Telegram adapter stays in these and
        leaves any other group; the Zalo Bot adapter reads only these."""
        return {
            address
            for team in self.config.teams
            for ch, address in team.group_addresses()
            if ch == channel
        }

    def background_tasks(self) -> list[Coroutine[Any, Any, None]]:
        return [self.timers.run(), self.copies.run()]

    async def counts_by_state(self, session: AsyncSession) -> dict[str, int]:
        """For /metrics and `helpline team list-requests`: counts only, with
        the requests of the past hour so a flood shows on a dashboard."""
        counts = await store.counts_by_state(session)
        since = self.ctx.clock() - timedelta(hours=1)
        counts["requested_last_hour"] = await store.requests_since(session, since)
        return counts

    # ---- user side --------------------------------------------------------

    def _consent(self, session: AsyncSession, user: User, args: dict[str, Any]) -> list[Outgoing]:
        store.add_consent(
            session,
            user.key,
            version=str(args.get("version") or "?"),
            language=str(args.get("language") or user.language or "vi"),
            node=str(args["node"]) if args.get("node") else None,
            at=self.ctx.clock(),
        )
        return []

    async def _start(
        self, session: AsyncSession, user: User, args: dict[str, Any]
    ) -> list[Outgoing]:
        language = user.language or "vi"
        render = self.ctx.render
        existing = await store.open_request_for_user(session, user.key)
        if existing is not None:
            if existing.status == QUEUED:
                team = self.ctx.team_of(existing)
                return render("handoff_queued", language, self.ctx.team_placeholders(team))
            return []
        if not await store.has_consent(session, user.key):
            # Never connect anyone without a recorded consent (the flow asks first).
            log.warning("start_handoff without consent user=%s", short(user.key))
            return render("handoff_unavailable", language)
        now = self.ctx.clock()
        hour_ago = now - timedelta(hours=1)
        limits = self.ctx.limits
        if (
            await store.requests_of_user_since(session, user.key, hour_ago)
            >= limits.requests_per_hour
        ):
            self.ctx.count("handoff_limited", "requests")
            return render("handoff_limited", language)
        area_arg = args.get("area")
        topic = args.get("topic")
        routed = route(str(area_arg) if area_arg else None, self.config)
        if (
            not await duty.anyone_on(session, routed.team)
            and routed.team.id != self.config.fallback.id
        ):
            if await duty.anyone_on(session, self.config.fallback):
                routed = Route(self.config.fallback, routed.area, routed.matched)
        ask = self.config.ask_before_connecting
        shared = summary.build(
            args.get("seen"),
            str(topic) if topic else None,
            routed.area if routed.matched else None,
            language,
        )
        request = await self.requests.create(
            session,
            user.key,
            language,
            routed,
            str(topic) if topic else None,
            ask=ask,
            summary=shared if ask else None,
        )
        await self._flood_check(session, hour_ago)
        out: list[Outgoing] = []
        if not await duty.anyone_on(session, routed.team):
            # Told at once, not after the claim timeout: nobody would see the card.
            self.ctx.count("nobody_on_duty", routed.team.id)
            out += render(
                "handoff_nobody_on_duty", language, self.ctx.team_placeholders(routed.team)
            )
        if ask:
            return out + self._ask_summary(request, language, shared)
        return out + await self._queued_notice(session, request)

    def _ask_summary(
        self, request: HandoffRequest, language: str, shared: dict[str, Any]
    ) -> list[Outgoing]:
        """She sees exactly what would be shared, then says yes or no."""
        messages = self.ctx.render(
            "handoff_share_summary", language, {"summary": summary.text(shared)}
        )
        _with_buttons(messages, texts.SHARE_BUTTONS, language)
        return messages

    async def _queued_notice(
        self, session: AsyncSession, request: HandoffRequest
    ) -> list[Outgoing]:
        """What she reads once her request is in the queue, with a button to ask
        where she is in it."""
        language = request.language
        team = self.ctx.team_of(request)
        placeholders = self.ctx.team_placeholders(team)
        if not team.is_open(self.ctx.clock()):
            self.ctx.count("out_of_hours", team.id)
            messages = self.ctx.render("handoff_out_of_hours", language, placeholders)
        else:
            messages = self.ctx.render("handoff_queued", language, placeholders)
        if messages:
            label = texts.WAIT_BUTTON.get(language, texts.WAIT_BUTTON["vi"])
            messages[-1].buttons = [Button(label, WAIT_PAYLOAD), *messages[-1].buttons]
        return messages

    async def _while_open(
        self, session: AsyncSession, request: HandoffRequest, incoming: Incoming
    ) -> list[Outgoing] | None:
        """Her answers to the questions before connecting, and "how long?";
        None when the message is for the member."""
        language = request.language
        answer = incoming.payload or _answer_of(incoming.text, request.intake_step)
        if request.status == QUEUED and (answer == WAIT_PAYLOAD or _asks_wait(incoming.text)):
            return await waiting.answer(self.ctx, session, request)
        if request.intake_step == "summary" and answer in ("ho:share:yes", "ho:share:no"):
            if answer == "ho:share:no":
                request.summary_enc = None
            request.intake_step = "safety"
            messages = self.ctx.render("handoff_safe_now", language)
            _with_buttons(messages, texts.SAFE_BUTTONS, language)
            return messages
        if request.intake_step == "safety" and answer in _SAFE:
            request.safe_now = _SAFE[answer]
            await self.requests.finish_intake(session, request)
            return await self._queued_notice(session, request)
        if incoming.payload is not None and incoming.payload.startswith("ho:"):
            return []  # an old button: nothing to do
        return None

    async def _flood_check(self, session: AsyncSession, hour_ago: datetime) -> None:
        """Above the flood threshold the team is told, once an hour across all
        processes (a ``kv`` row per hour decides who tells): a notice in every
        team group, besides the console banner and the metric."""
        count = await store.requests_since(session, hour_ago)
        if count <= self.ctx.limits.flood_per_hour:
            return
        now = self.ctx.clock()
        self.ctx.count("handoff_flood", "requests")
        name = f"hflood:{now:%Y%m%d%H}"
        sealed = self.keyring.seal(str(count))
        if not await kv.put_if_absent(session, self.db, name, sealed, now):
            return
        await kv.remove_older(session, "hflood:", now - timedelta(days=1))
        log.warning("handoff flood: %d requests in the past hour; teams told", count)
        for team in self.config.teams:
            for channel, address in team.group_addresses():
                self.outbox.to_address(
                    session, channel, address, Outgoing(texts.flood_notice(count)), ref="ho:flood"
                )

    async def flood(self, session: AsyncSession) -> int | None:
        """Requests in the past hour when that is a flood (the console's banner)."""
        count = await store.requests_since(session, self.ctx.clock() - timedelta(hours=1))
        return count if count > self.ctx.limits.flood_per_hour else None

    async def _end(self, session: AsyncSession, user: User, args: dict[str, Any]) -> list[Outgoing]:
        await store.withdraw_consents(session, user.key, self.ctx.clock())
        request = await store.open_request_for_user(session, user.key)
        if request is None:
            return []
        reason = "left" if args.get("reason") == "left" else "user"
        if not await self.requests.close(session, request, reason, by_member=None):
            return []
        if reason == "left":
            return []  # she is gone from the page; nothing to show
        return self.ctx.render("handoff_closed", user.language or "vi")
