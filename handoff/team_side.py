"""Updates from team members: Take presses in team groups, and the member's
private chat with the bot (replies to her, /end, /release, /to, /list).

A member is an identity ``(channel, id)`` from the teams file: on Telegram the
user id (private chat id = user id; in groups it arrives as ``sender_id``), on
the web console a console id. Nothing here depends on Telegram beyond that.

Every team update is handled in its own transaction; anything for her goes
through the outbox. Group chatter is swallowed (answered with nothing), so a
team group is never mistaken for a person asking for help.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Incoming, Outgoing
from bot.stats import record_claim
from handoff import store, texts
from handoff.context import HandoffContext
from handoff.copies import MemberCopies
from handoff.models import ACTIVE, CLOSED, QUEUED, HandoffRequest
from handoff.relay import RECIPIENT_GONE, Relay
from handoff.requests import Requests
from handoff.teams import Identity, Member, Team

log = logging.getLogger(__name__)

TAKE_PREFIX = "ho:take:"
#: A take written as text (apps without buttons, or any private chat):
#: "nhận K7Q2", "nhan #K7Q2", "take K7Q2", "take 12", after an optional @mention.
_CLAIM = re.compile(
    r"^\s*(?:@\S+\s+)?(?:nh[aậâ]n|take|claim)\s+#?([A-Za-z0-9]{1,8})\s*[.!]?\s*$",
    re.IGNORECASE,
)
#: How many of a member's recent relayed messages are searched for a reply target.
REPLY_LOOKBACK = 500


class TeamSide:
    def __init__(self, ctx: HandoffContext, relay: Relay, requests: Requests) -> None:
        self.ctx = ctx
        self.relay = relay
        self.requests = requests
        self.copies = MemberCopies(ctx)

    # ---- dispatch -----------------------------------------------------------

    async def handle(self, incoming: Incoming) -> list[Outgoing] | None:
        config = self.ctx.config
        place: Identity = (incoming.channel, str(incoming.address))
        group = config.is_group(place)
        if group is not None:
            actor = (incoming.channel, str(incoming.sender_id)) if incoming.sender_id else None
            return await self._in_group(incoming, group, actor)
        if config.teams_of(place):
            return await self._in_private(incoming, place)
        return None

    async def _first_time(self, session: AsyncSession, incoming: Incoming) -> bool:
        key = self.ctx.keyring.user_key(incoming.channel, str(incoming.address))
        return await store.first_time(
            session, self.ctx.db, key, incoming.message_id, self.ctx.clock()
        )

    async def _in_group(
        self, incoming: Incoming, group: Team, actor: Identity | None
    ) -> list[Outgoing]:
        payload = incoming.payload or ""
        if not payload.startswith(TAKE_PREFIX):
            claim = _CLAIM.match(incoming.text or "")
            if claim is None or actor is None:
                return []  # chatter in the team group is not for the bot
            async with self.ctx.db.transaction() as session:
                taken = await self.take_by_text(session, claim.group(1), actor, incoming)
            return taken if taken is not None else [Outgoing(texts.UNKNOWN_ALIAS)]
        request_id = payload.removeprefix(TAKE_PREFIX)
        if not request_id.isdigit() or actor is None:
            return [Outgoing(texts.ALERT_CLOSED, alert=True)]
        # No dedupe here: Take is idempotent (a repeat gets "already yours"), and
        # adapters may give every press on one card the same message id.
        async with self.ctx.db.transaction() as session:
            return await self.take(session, int(request_id), actor, incoming)

    async def _in_private(self, incoming: Incoming, me: Identity) -> list[Outgoing]:
        payload = incoming.payload or ""
        async with self.ctx.db.transaction() as session:
            if not await self._first_time(session, incoming):
                return []
            if payload.startswith(TAKE_PREFIX) and payload.removeprefix(TAKE_PREFIX).isdigit():
                # The console (or a forwarded card) may press Take outside a group.
                return await self.take(
                    session, int(payload.removeprefix(TAKE_PREFIX)), me, incoming
                )
            if payload:
                # The channel turns /start, /help, /stop... into payloads ("cmd:help"):
                # in a member's chat they all mean "how does this work".
                return await self._command(session, me, "/help")
            text = (incoming.text or "").strip()
            claim = _CLAIM.match(text)
            if claim is not None:
                # "take care" to her is not a claim: only a code that names a
                # request is; anything else goes on as a message.
                taken = await self.take_by_text(session, claim.group(1), me, incoming)
                if taken is not None:
                    return taken
            if text.startswith("/"):
                return await self._command(session, me, text, incoming)
            if not text and not incoming.attachment:
                return []
            target = await self._target(session, me, incoming.reply_to)
            if isinstance(target, list):
                return target
            return await self.reply(
                session, target, text or None, incoming.attachment, incoming=incoming
            )

    # ---- who is who -------------------------------------------------------------

    def member_keys(self, me: Identity) -> list[str]:
        """Pseudonyms under which this person's chats are stored: every identity
        of the member (Telegram, console), under current and older keys."""
        keys: list[str] = []
        for _team, member in self.ctx.config.teams_of(me):
            for channel, ident in member.identities():
                for key in self.ctx.keyring.candidate_user_keys(channel, ident):
                    if key not in keys:
                        keys.append(key)
        return keys

    def member_for(self, request: HandoffRequest, actor: Identity) -> Member | None:
        """The actor as a member of the request's team (or its original team,
        after an escalation); None if she is not one."""
        for team_id in (request.team_id, request.original_team_id):
            team = self.ctx.config.team(team_id)
            if team is not None:
                member = team.member_by_identity(actor)
                if member is not None:
                    return member
        return None

    # ---- take ---------------------------------------------------------------------

    async def take(
        self, session: AsyncSession, request_id: int, actor: Identity, incoming: Incoming
    ) -> list[Outgoing]:
        """First member of the team to press Take wins: a conditional update
        ``WHERE status='queued'`` decides, whatever the number of processes."""
        request = await store.request_by_id(session, request_id)
        if request is None or request.status == CLOSED:
            return [Outgoing(texts.ALERT_CLOSED, alert=True)]
        member = self.member_for(request, actor)
        if member is None:
            return [Outgoing(texts.ALERT_NOT_MEMBER, alert=True)]
        channel, address = member.reply_identity_for(actor)
        member_key = self.ctx.keyring.user_key(channel, address)
        if request.status == QUEUED and request.intake_step is not None:
            # Her questions before connecting are still open: no card is out yet.
            return [Outgoing(texts.ALERT_CLOSED, alert=True)]
        if request.status != QUEUED:
            mine = request.member_key in self.member_keys(actor)
            return [
                Outgoing(
                    texts.ALERT_YOURS_ALREADY if mine else texts.ALERT_ALREADY_TAKEN, alert=True
                )
            ]
        now = self.ctx.clock()
        won = await store.transition(
            session,
            request,
            expect=(QUEUED,),
            values={
                "status": ACTIVE,
                "claimed_at": now,
                "member_channel": channel,
                "member_key": member_key,
                "member_address_enc": self.ctx.keyring.seal(address),
                "member_alias": member.alias,
                "last_activity_at": now,
                "reminded_at": None,
            },
        )
        if not won:
            return [Outgoing(texts.ALERT_ALREADY_TAKEN, alert=True)]
        if incoming.button_message_id:
            await self._note_pressed_card(session, request, incoming)
        await self.requests.finish_cards(
            session, request, texts.card_taken(request.alias, member.alias)
        )
        await self.connect(session, request)
        await self.relay.to_user(
            session, request, self.ctx.render("handoff_connected", request.language)
        )
        await store.audit(session, now, "claim", request, member_alias=member.alias)
        if self.ctx.stats is not None:
            waited = (now - request.queued_at).total_seconds()
            record_claim(self.ctx.stats, request.team_id, waited)
        log.info("handoff %s claimed", request.id)
        return [Outgoing(texts.ALERT_TAKEN_BY_YOU, alert=True)]

    async def connect(self, session: AsyncSession, request: HandoffRequest) -> None:
        """The member who now holds the request learns what the card said, her
        answers before connecting, the transcript so far (after a release or a
        transfer) and what she wrote while waiting."""
        area, topic = store.open_details(self.ctx.keyring, request)
        extra = self.requests.card_extra(request)
        hint = texts.first_message_hint(request.safe_now)
        if hint:
            extra.append(hint)
        self.relay.to_member(
            session,
            request,
            texts.connected(request.alias, area, request.language, topic, extra),
            kind="connect",
        )
        await self.relay.transcript_to_member(session, request)
        await self.relay.deliver_held(session, request)

    async def take_by_text(
        self, session: AsyncSession, code: str, actor: Identity, incoming: Incoming
    ) -> list[Outgoing] | None:
        """Taking by text, "nhận K7Q2" or "nhận 12" (the number on the card).
        None when the code names no request of the actor's teams."""
        if code.isdigit():
            request = await store.request_by_id(session, int(code))
        else:
            request = await store.open_request_by_alias(session, code)
        if request is None or self.member_for(request, actor) is None:
            return None
        return await self.take(session, request.id, actor, incoming)

    async def _note_pressed_card(
        self, session: AsyncSession, request: HandoffRequest, incoming: Incoming
    ) -> None:
        """The pressed card's message id is known now: no need to wait for the outbox."""
        for card in await store.open_cards(session, request.id):
            if card.message_id is None and card.channel == incoming.channel:
                if self.ctx.keyring.open(card.address_enc) == str(incoming.address):
                    card.message_id = str(incoming.button_message_id)

    # ---- private chat --------------------------------------------------------------

    async def _target(
        self, session: AsyncSession, me: Identity, reply_to: str | None
    ) -> HandoffRequest | list[Outgoing]:
        """Which chat a plain message is for: the one replied to, else the only one."""
        keys = self.member_keys(me)
        mine = await store.member_requests(session, keys)
        if reply_to is not None:
            found = await self._by_reply(session, keys, str(reply_to), mine)
            if found is not None:
                return found
        if len(mine) == 1:
            return mine[0]
        if not mine:
            return [Outgoing(texts.NO_OPEN_CHAT)]
        return [Outgoing(texts.WHICH_CHAT)]

    async def _by_reply(
        self, session: AsyncSession, keys: list[str], reply_to: str, mine: list[HandoffRequest]
    ) -> HandoffRequest | None:
        """Map a Telegram reply to the request: the outbox rows the bot sent to
        this member carry ``ref`` = ho:<id>:... and the platform ids returned."""
        by_id = {r.id: r for r in mine}
        for item_ref, ids in await store.sent_refs(session, keys, REPLY_LOOKBACK):
            if ids and reply_to in [str(i) for i in ids]:
                parts = str(item_ref).split(":")
                if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) in by_id:
                    return by_id[int(parts[1])]
                return None
        return None

    async def _by_alias(
        self, session: AsyncSession, me: Identity, alias: str
    ) -> HandoffRequest | None:
        wanted = store.normalise_alias(alias)
        for request in await store.member_requests(session, self.member_keys(me)):
            if request.alias == wanted:
                return request
        return None

    async def _command(
        self, session: AsyncSession, me: Identity, text: str, incoming: Incoming | None = None
    ) -> list[Outgoing]:
        head, _, rest = text.partition(" ")
        command = head.split("@", 1)[0].lower()
        rest = rest.strip()
        if command in {"/start", "/help"}:
            teams = ", ".join(f"{t.name} ({m.alias})" for t, m in self.ctx.config.teams_of(me))
            return [Outgoing(f"{teams}\n{texts.HELP}")]
        if command == "/list":
            mine = await store.member_requests(session, self.member_keys(me))
            team_ids = [t.id for t, _m in self.ctx.config.teams_of(me)]
            queued = await store.queued_count(session, team_ids)
            items = [(r.alias, store.open_details(self.ctx.keyring, r)[0]) for r in mine]
            return [Outgoing(texts.open_chats(items, queued))]
        if command in {"/on", "/off"}:
            return await self.duty(session, me, command == "/on")
        if command == "/tip":
            return await self._tip(session, me, rest)
        if command == "/transfer":
            return await self._transfer(session, me, rest)
        if command == "/to":
            alias, _, body = rest.partition(" ")
            if not alias or not body.strip():
                return [Outgoing(texts.TO_USAGE)]
            request = await self._by_alias(session, me, alias)
            if request is None:
                return [Outgoing(texts.UNKNOWN_ALIAS)]
            return await self.reply(session, request, body, None, incoming=incoming)
        if command in {"/end", "/release"}:
            target: HandoffRequest | list[Outgoing] | None
            if rest:
                target = await self._by_alias(session, me, rest.split()[0])
                if target is None:
                    return [Outgoing(texts.UNKNOWN_ALIAS)]
            else:
                target = await self._target(session, me, None)
            if isinstance(target, list):
                return target
            if command == "/end":
                member = self.member_for(target, me)
                closed = await self.requests.close(
                    session, target, "member", by_member=member or _anonymous()
                )
                if closed:
                    hours = self.ctx.member_copy_hours
                    ended = texts.ended_by_member(target.alias)
                    return [Outgoing(f"{ended}\n{texts.copies_note(hours)}")]
                return [Outgoing(texts.UNKNOWN_ALIAS)]
            if await self.requests.release(session, target, reason="member"):
                return [Outgoing(texts.released(target.alias))]
            return [Outgoing(texts.UNKNOWN_ALIAS)]
        return [Outgoing(texts.HELP)]

    async def duty(self, session: AsyncSession, me: Identity, on: bool) -> list[Outgoing]:
        """/on, /off: in every team this member belongs to."""
        now = self.ctx.clock()
        for team, member in self.ctx.config.teams_of(me):
            await store.set_duty(session, self.ctx.db, team.id, member.alias, on, now)
            await store.audit_team(session, now, "on" if on else "off", team.id, member.alias)
        return [Outgoing(texts.DUTY_ON if on else texts.DUTY_OFF)]

    async def _pick(
        self, session: AsyncSession, me: Identity, code: str | None
    ) -> HandoffRequest | list[Outgoing]:
        if code:
            found = await self._by_alias(session, me, code)
            return found if found is not None else [Outgoing(texts.UNKNOWN_ALIAS)]
        return await self._target(session, me, None)

    async def _tip(self, session: AsyncSession, me: Identity, rest: str) -> list[Outgoing]:
        """/tip: the numbered list in her language; /tip N [CODE]: send it to her."""
        from handoff import quick_replies

        words = rest.split()
        number = words[0] if words else ""
        target = await self._pick(session, me, words[1] if len(words) > 1 else None)
        language = target.language if isinstance(target, HandoffRequest) else "vi"
        if not number:
            return [Outgoing(texts.tip_menu(quick_replies.menu(self.ctx, language), language))]
        if isinstance(target, list):
            return target
        values = self.ctx.team_placeholders(self.ctx.team_of(target))
        text = (
            quick_replies.pick(self.ctx, int(number), language, values)
            if number.isdigit()
            else None
        )
        if text is None:
            return [Outgoing(texts.TIP_USAGE)]
        answer = await self.reply(session, target, text, None)
        return answer or [Outgoing(texts.TIP_SENT)]

    async def _transfer(self, session: AsyncSession, me: Identity, rest: str) -> list[Outgoing]:
        """/transfer TEAM|COLLEAGUE [CODE]: see :mod:`handoff.transfer`."""
        from handoff.transfer import transfer

        words = rest.split()
        if not words:
            return [Outgoing(texts.TRANSFER_USAGE)]
        target = await self._pick(session, me, words[1] if len(words) > 1 else None)
        if isinstance(target, list):
            return target
        member = self.member_for(target, me) or _anonymous()
        done = await transfer(self, session, target, member, words[0])
        return [Outgoing(done if done else texts.TRANSFER_UNKNOWN)]

    async def reply(
        self,
        session: AsyncSession,
        request: HandoffRequest,
        text: str | None,
        attachment: str | None,
        *,
        incoming: Incoming | None = None,
    ) -> list[Outgoing]:
        """The member writes to her. If she is gone (erased, purged) the chat is
        closed here and the member is told she ended it. The member's message
        itself is recorded so that it leaves the member's chat with her words."""
        if incoming is not None:
            self.copies.note_member_message(session, request, incoming)
        answer = await self.relay.from_member(session, request, text, attachment)
        if answer is RECIPIENT_GONE:
            await self.requests.close(session, request, "erased", by_member=None)
            return [Outgoing(texts.ended_by_user(request.alias))]
        return answer


def _anonymous() -> Member:
    return Member(alias="?", console_id="?")
