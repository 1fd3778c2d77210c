"""The console's view of the handoff service: a team member's queue, her own
chats, a transcript, and the actions (take, reply, release, end, note).

Every action goes through the same code as the Telegram side
(``handoff.team_side``), so a Take in the console and a Take on a Telegram
card race on the same conditional update: one wins, the other is told.

A console login is a member's ``console_id`` in the teams file; the member is
the identity ``("console", login)``. Members see only requests of their own
teams, and a transcript only of the chats they hold.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.console.labels import shown_area, topic_label
from bot.messages import Incoming, utcnow

CONSOLE = "console"
#: Requests per page of the console's queue; every page is reachable.
QUEUE_PAGE = 50


class NotAllowed(Exception):
    """Not a request of her teams, or not her chat."""


@dataclass(frozen=True, slots=True)
class Result:
    ok: bool
    message: str = ""


class Desk:
    def __init__(self, handoff: Any, stats: Any = None) -> None:
        self.h = handoff
        self.stats = stats

    @property
    def config(self) -> Any:
        return self.h.config

    def me(self, login: str) -> tuple[str, str]:
        return (CONSOLE, login)

    def teams(self, login: str) -> list[tuple[Any, Any]]:
        """(team, member) pairs of this login."""
        return list(self.config.teams_of(self.me(login)))

    def team_ids(self, login: str) -> list[str]:
        return [team.id for team, _member in self.teams(login)]

    def member_keys(self, login: str) -> list[str]:
        return list(self.h.team_side.member_keys(self.me(login)))

    def logins_for_address(self, address: str) -> set[str]:
        """Console logins to notify for an outbox row on the console channel: the
        member herself, or every console member of a team whose queue it is."""
        team = self.config.is_group((CONSOLE, address))
        if team is None:
            return {address}
        return {ident for m in team.members for ch, ident in m.identities() if ch == CONSOLE}

    # ---- reading -------------------------------------------------------------

    async def state(self, login: str, language: str = "vi", page: int = 0) -> dict[str, Any]:
        """Her teams' whole queue, a page at a time, longest waiting first,
        with the count; her chats; a flood if there is one (the banner)."""
        from handoff import store
        from handoff.models import ACTIVE

        team_ids = self.team_ids(login)
        keys = self.member_keys(login)
        now = utcnow()
        page = max(0, page)
        async with self.h.db.transaction() as session:
            queued, total = await store.queue_page(session, team_ids, page * QUEUE_PAGE, QUEUE_PAGE)
            mine = await store.member_requests(session, keys) if keys else []
            mine = [r for r in mine if r.status == ACTIVE]
            flood = await self.h.flood(session) if hasattr(self.h, "flood") else None

        team_areas = [a for team, _m in self.teams(login) for a in team.areas]

        def row(r: Any) -> dict[str, Any]:
            area, topic = store.open_details(self.h.keyring, r)
            return {
                "id": r.id,
                "alias": f"#{r.alias}",
                "area": shown_area(area, team_areas, language),
                "language": r.language,
                "topic": topic_label(topic, language),
                "team": r.team_id,
                "waiting_seconds": max(0, int((now - r.queued_at).total_seconds())),
            }

        async with self.h.db.transaction() as session:
            from handoff import duty

            on = {t.id: await duty.is_on(session, t, m) for t, m in self.teams(login)}
        return {
            "login": login,
            "on_duty": any(on.values()),
            "teams": [
                {"id": t.id, "name": t.name, "alias": m.alias, "on_duty": on[t.id]}
                for t, m in self.teams(login)
            ],
            "queue": [row(r) for r in queued],
            "queue_total": total,
            "page": page,
            "pages": max(1, -(-total // QUEUE_PAGE)),
            "flood": flood,
            "mine": [row(r) for r in mine],
        }

    async def _request(self, session: Any, login: str, request_id: int) -> Any:
        from handoff.models import HandoffRequest

        request = await session.get(HandoffRequest, request_id)
        if request is None:
            raise NotAllowed()
        team_ids = self.team_ids(login)
        if request.team_id not in team_ids and request.original_team_id not in team_ids:
            raise NotAllowed()
        return request

    async def _mine(self, session: Any, login: str, request_id: int) -> Any:
        request = await self._request(session, login, request_id)
        if request.member_key is None or request.member_key not in self.member_keys(login):
            raise NotAllowed()
        return request

    async def chat(self, login: str, request_id: int, language: str = "vi") -> dict[str, Any]:
        """Her chat with this member: the transcript and the team's private notes."""
        from handoff import store
        from handoff.models import ACTIVE, HandoffMessage

        async with self.h.db.transaction() as session:
            request = await self._request(session, login, request_id)
            area, topic = store.open_details(self.h.keyring, request)
            held = request.member_key is not None and request.member_key in self.member_keys(login)
            team_areas = [a for team, _m in self.teams(login) for a in team.areas]
            info: dict[str, Any] = {
                "id": request.id,
                "alias": f"#{request.alias}",
                "status": request.status,
                "close_reason": request.close_reason,
                "area": shown_area(area, team_areas, language),
                "language": request.language,
                "topic": topic_label(topic, language),
                "mine": held,
                # What the card says about her answers before connecting.
                "card": self.h.requests.card_extra(request) if request.intake_step is None else [],
                "messages": [],
                "notes": [],
                "tips": [],
                "transfer_to": [],
            }
            if held and request.status == ACTIVE:
                from handoff import quick_replies

                info["tips"] = [
                    {"n": n, "label": label, "preview": first}
                    for n, label, first in quick_replies.menu(self.h.ctx, request.language)
                ]
                team = self.h.ctx.team_of(request)
                me = self.h.team_side.member_for(request, self.me(login))
                info["transfer_to"] = [
                    m.alias for m in team.members if me is None or m.alias != me.alias
                ] + [t.id for t in self.config.teams if t.id != team.id]
            if not held:
                return info  # a queued request shows its card, never her words
            rows = (
                await session.scalars(
                    select(HandoffMessage)
                    .where(HandoffMessage.request_id == request.id)
                    .order_by(HandoffMessage.id)
                )
            ).all()
        for r in rows:
            item = {
                "id": r.id,
                "kind": r.kind,
                "text": self.h.keyring.open(r.body_enc),
                "at": r.created_at.isoformat(),
            }
            (info["notes"] if r.kind == "note" else info["messages"]).append(item)
        return info

    # ---- actions ----------------------------------------------------------------

    async def take(self, login: str, request_id: int) -> Result:
        from handoff.models import ACTIVE

        incoming = Incoming(
            channel=CONSOLE,
            address=login,
            message_id=f"console-take-{uuid.uuid4().hex}",
            payload=f"ho:take:{request_id}",
        )
        async with self.h.db.transaction() as session:
            await self._request(session, login, request_id)
            answer = await self.h.team_side.take(session, request_id, self.me(login), incoming)
            request = await self._request(session, login, request_id)
            won = request.status == ACTIVE and request.member_key in self.member_keys(login)
        self.h.outbox.wake()
        text = answer[0].text if answer else ""
        return Result(won, text)

    async def reply(self, login: str, request_id: int, text: str) -> Result:
        text = text.strip()[:4000]
        if not text:
            return Result(False, "")
        async with self.h.db.transaction() as session:
            request = await self._mine(session, login, request_id)
            answer = await self.h.team_side.reply(session, request, text, None)
        self.h.outbox.wake()
        return Result(True, answer[0].text if answer else "")

    async def release(self, login: str, request_id: int) -> Result:
        async with self.h.db.transaction() as session:
            request = await self._mine(session, login, request_id)
            ok = await self.h.requests.release(session, request, reason="member")
        self.h.outbox.wake()
        return Result(bool(ok))

    async def end(self, login: str, request_id: int) -> Result:
        async with self.h.db.transaction() as session:
            request = await self._mine(session, login, request_id)
            member = self.h.team_side.member_for(request, self.me(login))
            ok = await self.h.requests.close(session, request, "member", by_member=member)
        self.h.outbox.wake()
        return Result(bool(ok))

    async def note(self, login: str, request_id: int, text: str) -> Result:
        """A private team note, sealed in the transcript (purged with it)."""
        text = text.strip()[:4000]
        if not text:
            return Result(False)
        async with self.h.db.transaction() as session:
            request = await self._mine(session, login, request_id)
            self.h.relay.keep(session, request, "note", text)
        return Result(True)

    async def tip(self, login: str, request_id: int, number: int) -> Result:
        """Insert a vetted text (the same list as ``/tip``) into her chat."""
        from handoff import quick_replies

        async with self.h.db.transaction() as session:
            request = await self._mine(session, login, request_id)
            values = self.h.ctx.team_placeholders(self.h.ctx.team_of(request))
            text = quick_replies.pick(self.h.ctx, number, request.language, values)
            if text is None:
                return Result(False)
            answer = await self.h.team_side.reply(session, request, text, None)
        self.h.outbox.wake()
        return Result(True, answer[0].text if answer else "")

    async def transfer(self, login: str, request_id: int, to: str) -> Result:
        """To a colleague or another team, like ``/transfer``; audited."""
        from handoff.transfer import transfer

        async with self.h.db.transaction() as session:
            request = await self._mine(session, login, request_id)
            member = self.h.team_side.member_for(request, self.me(login))
            if member is None:
                raise NotAllowed()
            done = await transfer(self.h.team_side, session, request, member, to.strip()[:40])
        self.h.outbox.wake()
        return Result(done is not None, done or "")

    async def set_duty(self, login: str, on: bool) -> Result:
        """The console's on/off duty toggle, like ``/on`` and ``/off``."""
        async with self.h.db.transaction() as session:
            answer = await self.h.team_side.duty(session, self.me(login), on)
        return Result(True, answer[0].text if answer else "")
