"""Carrying words between her and the member, and nothing else.

- Her texts reach the member prefixed with her alias (#K7Q2); the member never
  learns her name, username, phone or platform id.
- The member's texts reach her as from "the team"; she never learns the
  member's name or id (the bot writes, not the member).
- Non-text (photos, voice...) is never forwarded: the other side gets a short
  notice, so no media with metadata crosses over. The one exception is her
  own voice note when she chose to send her voice (Telegram to Telegram,
  passed on by the platform's file reference, never downloaded); otherwise a
  voice note reaches the member as its transcript.
- Each relayed text is kept sealed in the transcript while the chat needs it.

The relay carries and never decides: when she is gone (erased, purged) it says
so (:data:`RECIPIENT_GONE`) and the caller closes the request.
"""

from __future__ import annotations

import enum
from typing import Final, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.messages import Outgoing
from bot.text_limits import relay_pieces as chunks
from handoff import store, texts
from handoff.context import HandoffContext
from handoff.models import ACTIVE, HandoffRequest


class _Gone(enum.Enum):
    RECIPIENT_GONE = "recipient gone"


#: What :meth:`Relay.from_member` returns when she no longer exists.
RECIPIENT_GONE: Final = _Gone.RECIPIENT_GONE
RecipientGone = Literal[_Gone.RECIPIENT_GONE]


def ref(request: HandoffRequest, kind: str) -> str:
    """Outbox ``ref`` of a handoff message: ``ho:<id>:<kind>``.

    kinds: ``r`` her words to the member, ``m`` other notices to the member,
    ``connect`` the member's connected notice, ``u`` anything to her, ``card``
    and ``edit`` for team groups."""
    return f"ho:{request.id}:{kind}"


def parse_ref(value: str | None) -> tuple[int, str] | None:
    if not value or not value.startswith("ho:"):
        return None
    parts = value.split(":")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2]


def tag_of(alias: str) -> str:
    return texts.tag(alias)


class Relay:
    def __init__(self, ctx: HandoffContext) -> None:
        self.ctx = ctx

    def to_member(
        self,
        session: AsyncSession,
        request: HandoffRequest,
        text: str,
        kind: str = "m",
        *,
        voice_ref: str | None = None,
    ) -> None:
        """Queue a message to the member who holds the request (with
        ``voice_ref``: her voice, ``text`` as its caption). Her words, her voice
        and her area (kinds ``r`` and ``connect``) go with ``protect``: Telegram
        then blocks forwarding and saving them on the member's phone."""
        if request.member_channel is None or request.member_address_enc is None:
            return
        address = self.ctx.keyring.open(request.member_address_enc)
        message = Outgoing(
            text, voice_ref=voice_ref, protect=kind in ("r", "connect") or voice_ref is not None
        )
        self.ctx.outbox.to_address(
            session, request.member_channel, address, message, ref=ref(request, kind)
        )

    async def to_user(
        self, session: AsyncSession, request: HandoffRequest, messages: list[Outgoing]
    ) -> bool:
        """Queue messages to her; False if she no longer exists (erased, purged)."""
        user = await store.user_of(session, request)
        if user is None:
            return False
        for message in messages:
            self.ctx.outbox.to_user(session, user, message, ref=ref(request, "u"))
        return True

    def keep(
        self,
        session: AsyncSession,
        request: HandoffRequest,
        kind: str,
        body: str,
        *,
        delivered: bool = True,
    ) -> None:
        """Seal one message into the transcript (user, member or note)."""
        store.add_message(
            session,
            request,
            kind,
            self.ctx.keyring.seal(body),
            at=self.ctx.clock(),
            delivered=delivered,
        )

    async def from_user(
        self,
        session: AsyncSession,
        request: HandoffRequest,
        text: str | None,
        attachment: str | None,
        *,
        emergency: bool,
        transcribed: bool = False,
        voice_ref: str | None = None,
    ) -> None:
        """Her message during a handoff: to the member, or held until one takes
        it. A voice note arrives ``transcribed``; with ``voice_ref`` (she chose
        to send her voice) the audio goes before its transcript."""
        now = self.ctx.clock()
        body = (
            text.strip() if text and text.strip() else texts.user_attachment_to_member(attachment)
        )
        if transcribed and text and text.strip():
            body = texts.voice_as_text(body)
        if request.status != ACTIVE:
            # Queued: kept sealed and handed to whoever takes the request.
            self.keep(session, request, "user", body, delivered=False)
            if emergency:
                self.keep(session, request, "user", "⚠️ 113", delivered=False)
            request.last_activity_at = now
            return
        if request.unreachable_since is not None:
            request.unreachable_since = None
            self.to_member(session, request, texts.reachable_again(request.alias))
        if emergency:
            self.to_member(session, request, texts.emergency_to_member(request.alias))
        if voice_ref is not None:
            caption = texts.voice_caption(request.alias)
            self.to_member(session, request, caption, kind="r", voice_ref=voice_ref)
        for part in chunks(body):
            self.to_member(session, request, texts.relayed_to_member(request.alias, part), kind="r")
        self.keep(session, request, "user", body)
        request.from_user_count += 1
        request.last_activity_at = now

    async def deliver_held(self, session: AsyncSession, request: HandoffRequest) -> int:
        """On claim: what she wrote while waiting goes to the member, in order."""
        rows = await store.held_messages(session, request.id)
        for row in rows:
            body = self.ctx.keyring.open(row.body_enc)
            if body == "⚠️ 113":
                self.to_member(session, request, texts.emergency_to_member(request.alias))
            else:
                for part in chunks(body):
                    self.to_member(
                        session,
                        request,
                        texts.held_to_member(request.alias, part, row.created_at),
                        kind="r",
                    )
                request.from_user_count += 1
            row.delivered = True
        return len(rows)

    async def transcript_to_member(self, session: AsyncSession, request: HandoffRequest) -> int:
        """After a release or a transfer: what was said before, for the member
        who holds the request now (messages already relayed; the ones she wrote
        while waiting follow through :meth:`deliver_held`)."""
        rows = [r for r in await store.transcript(session, request.id) if r.delivered]
        if not rows:
            return 0
        lines = []
        for row in rows:
            who = tag_of(request.alias) if row.kind == "user" else "Tổ / Team"
            lines.append(
                f"{texts.when(row.created_at)} {who}: {self.ctx.keyring.open(row.body_enc)}"
            )
        for part in chunks("\n".join(lines)):
            self.to_member(session, request, texts.transcript_to_member(request.alias, [part]))
        return len(rows)

    async def from_member(
        self,
        session: AsyncSession,
        request: HandoffRequest,
        text: str | None,
        attachment: str | None,
    ) -> list[Outgoing] | RecipientGone:
        """The member's message to her, as from "the team". Returns the answer to
        the member, or :data:`RECIPIENT_GONE` (nothing queued, nothing kept)."""
        language = request.language if request.language in texts.FROM_TEAM else "vi"
        if request.unreachable_since is not None:
            return [Outgoing(texts.unreachable(request.alias))]
        if text and text.strip():
            body = text.strip()
            out = [
                Outgoing(f"{texts.FROM_TEAM[language]}: {part}", protect=True)
                for part in chunks(body)
            ]
            answer: list[Outgoing] = []
        else:
            body = "[attachment]"
            out = [Outgoing(texts.MEMBER_ATTACHMENT_TO_USER[language], protect=True)]
            answer = [Outgoing(texts.member_attachment_notice_to_member())]
        if not await self.to_user(session, request, out):
            return RECIPIENT_GONE
        self.keep(session, request, "member", body)
        request.from_member_count += 1
        request.last_activity_at = self.ctx.clock()
        return answer
