"""The conversation engine: one turn of one person, whatever the channel.

``Engine.handle`` dedupes on the platform message id, keeps one person's
messages in order, loads her state, asks the NLU what she means, asks the
flow runner what to say, and hands handoff actions to ``handoff/``. It never
imports a platform library and never stores a message text.

A voice message is read through the :class:`~bot.interfaces.Transcriber`
seam: its transcript is then handled exactly like a typed text (the NLU,
the safety net, the relay), and she is shown what was understood.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import assert_never

from sqlalchemy.ext.asyncio import AsyncSession

from bot.crypto import KeyRing, address_context
from bot.interfaces import (
    Action,
    ActionCall,
    FlowRunner,
    Handoff,
    NLUBackend,
    ParseResult,
    Transcriber,
    TurnContext,
    TurnResult,
)
from bot.locks import KeyedLocks
from bot.logs import short
from bot.message_refs import MessageRefRecorder
from bot.messages import CHECKIN_CHANNELS, Incoming, Outgoing, utcnow
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.stats import Stats
from bot.store import checkins as checkin_store
from bot.store import users as user_store
from bot.store.db import Database
from bot.store.models import User

log = logging.getLogger(__name__)

#: Intents that work from any state (docs/design.md, promises 6-7).
GLOBAL_INTENTS = frozenset(
    {"emergency", "suicidal_distress", "stop", "help", "change_language", "delete_data"}
)
#: Answered at once even during a handoff, and still relayed to the counsellor.
ANSWER_AND_RELAY = frozenset({"emergency", "suicidal_distress"})
#: During a handoff a long message is meant for the counsellor even if it
#: sounds like "stop" or "menu"; only short ones are taken as commands
#: (counted in syllables, as Vietnamese is written). Ending the chat by mistake
#: costs most, so "stop" must be shortest.
HANDOFF_COMMAND_MAX_WORDS = 6
HANDOFF_STOP_MAX_WORDS = 4
#: During a handoff a counsellor reads every message; the 113 answer is added
#: when the safety net's rules fire or the classifier is this sure.
HANDOFF_EMERGENCY_CONFIDENCE = 0.95
#: Flow nodes that ask "which commune/ward?": replies there are read as places first.
AREA_PROMPTS = frozenset({"handoff_area", "handoff_area_confirm"})
#: How long platform message ids are kept so that erase can delete them.
ERASE_WINDOW = timedelta(hours=48)
#: Voice transcripts are read under the same cap as typed text, but shorter:
#: a voice note of a few minutes is a few hundred words.
MAX_TRANSCRIPT = 2000
#: The longest wait a check-in button may ask for (the offer says 1, 3 or 7).
CHECKIN_MAX_DAYS = 30


@dataclass(slots=True)
class TurnTrace:
    """What a turn did, for metrics and tests: never the text."""

    user_key: str = ""
    intent: str | None = None
    confidence: float = 0.0
    duplicate: bool = False
    seconds: float = 0.0
    actions: list[str] = field(default_factory=list)


#: Given her text at the area prompt and the NLU's intent, the intent to act on.
AreaPromptIntent = Callable[[str | None, str | None], str | None]


def _same_intent(text: str | None, intent: str | None) -> str | None:
    return intent


class Engine:
    """One turn of one person. Everything it writes besides her rows comes in
    from outside (counters, statistics, the message-id recorder), so the
    runtime owns their background loops and a test can read them."""

    def __init__(
        self,
        db: Database,
        keyring: KeyRing,
        nlu: NLUBackend,
        runner: FlowRunner,
        outbox: Outbox,
        *,
        metrics: Metrics,
        stats: Stats,
        message_refs: MessageRefRecorder,
        handoff: Handoff | None = None,
        transcriber: Transcriber | None = None,
        confidence_threshold: float = 0.5,
        area_prompt_intent: AreaPromptIntent | None = None,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.nlu = nlu
        self.runner = runner
        self.outbox = outbox
        self.handoff = handoff
        #: Speech to text for voice messages; None = "text only" as before.
        self.transcriber = transcriber
        self.stats = stats
        self.threshold = confidence_threshold
        self.locks = KeyedLocks()
        self.metrics = metrics
        self.message_refs = message_refs
        self.last_trace = TurnTrace()
        #: At "which commune/ward?" a place name is her answer, not an intent
        #: (``nlu.areas.intent_at_area_prompt`` in production).
        self.area_prompt_intent: AreaPromptIntent = area_prompt_intent or _same_intent

    async def handle(self, incoming: Incoming) -> list[Outgoing]:
        """Answer one update. Raises only if the database fails, so that the
        channel does not acknowledge an update that was not handled."""
        started = time.perf_counter()
        if self.handoff is not None:
            team_answer = await self.handoff.handle_team(incoming)
            if team_answer is not None:
                self.outbox.wake()
                return team_answer
        user_key = self.keyring.user_key(incoming.channel, incoming.address)
        trace = TurnTrace(user_key=user_key)
        async with self.locks.hold(user_key):
            await self._hear(incoming)
            parse = await self._understand(incoming)
            intent, confidence = self._intent(parse)
            trace.intent, trace.confidence = intent, confidence
            now = utcnow()
            async with self.db.transaction() as session:
                user, is_new = await user_store.load_user(
                    session, self.db, self.keyring, incoming.channel, incoming.address, now
                )
                if user_store.seen_before(user, incoming.message_id):
                    trace.duplicate = True
                    self.last_trace = trace
                    self.metrics.observe_turn(incoming.channel, None, 0.0, duplicate=True)
                    return []
                messages = await self._turn(
                    session, user, incoming, parse, intent, confidence, trace
                )
                if intent in ANSWER_AND_RELAY:
                    for message in messages:
                        message.urgent = True  # the 113 answer goes first
                if is_new:
                    self.stats.count("conversations", incoming.channel)
            self.outbox.wake()
        if Action.ERASE.value in trace.actions:
            await self.db.scrub()  # committed: now off the disk too
        trace.seconds = time.perf_counter() - started
        self.last_trace = trace
        self.metrics.observe_turn(incoming.channel, intent, trace.seconds, duplicate=False)
        self.stats.count("turns", incoming.channel)
        self.stats.count("intent", intent or ("button" if incoming.payload else "not_understood"))
        log.info(
            "turn user=%s intent=%s conf=%.2f actions=%s ms=%.1f",
            short(user_key),
            intent,
            confidence,
            ",".join(trace.actions) or "-",
            trace.seconds * 1000,
        )
        return messages

    async def _hear(self, incoming: Incoming) -> None:
        """A voice message becomes her text when the backend understood it;
        otherwise it stays an attachment and gets the "text only" answer. The
        audio is fetched into memory by the transcriber and dropped there."""
        if self.transcriber is None or incoming.voice is None or incoming.payload is not None:
            return
        if incoming.text and incoming.text.strip():
            return  # a caption was typed: she chose her words
        heard = await self.transcriber.transcribe_clip(incoming.voice)
        if heard and heard.strip():
            incoming.text = " ".join(heard.split())[:MAX_TRANSCRIPT]
            incoming.transcribed = True
            self.stats.count("voice", "transcribed")
        else:
            self.stats.count("voice", "not_understood")

    async def _understand(self, incoming: Incoming) -> ParseResult | None:
        if incoming.payload is not None or not incoming.text or not incoming.text.strip():
            return None
        return await self.nlu.parse(incoming.text)

    def _intent(self, parse: ParseResult | None) -> tuple[str | None, float]:
        if parse is None:
            return None, 0.0
        intent = parse.get("intent")
        if intent is None:
            return None, 0.0
        name, confidence = intent.get("name"), float(intent.get("confidence") or 0.0)
        # The full danger answer only when the safety net fired or the classifier
        # is sure (nlu/emergency.py); a weak guess is asked about (danger_check, _turn).
        if name == "emergency":
            return (name if _danger(parse) == "sure" else None), confidence
        if name and confidence >= self.threshold:
            return name, confidence
        return None, confidence

    async def _turn(
        self,
        session: AsyncSession,
        user: User,
        incoming: Incoming,
        parse: ParseResult | None,
        intent: str | None,
        confidence: float,
        trace: TurnTrace,
    ) -> list[Outgoing]:
        if _node_of(user) in AREA_PROMPTS:
            # "Phường An Cựu" is her area, not a cry for help (nlu.areas says when
            # danger beyond the place name still makes it an emergency).
            intent = self.area_prompt_intent(incoming.text, intent)
        # Her row's pending changes (dedup ref, last seen) are not needed by
        # these reads: they go out with the turn's one UPDATE at commit.
        with session.no_autoflush:
            in_handoff = self.handoff is not None and await self.handoff.is_active(session, user)
        if in_handoff and intent == "emergency" and not _sure_emergency(parse, confidence):
            intent = None  # relayed to the counsellor, who reads it
        if in_handoff and not self._is_command_in_handoff(incoming, intent):
            assert self.handoff is not None
            relayed = await self.handoff.relay_from_user(session, user, incoming, intent)
            return self._with_echo(incoming, relayed, user.language, first=True)

        with session.no_autoflush:
            placeholders = await self.handoff.placeholders(session, user) if self.handoff else {}
        ctx = TurnContext(
            language=user.language or "vi",
            state=dict(user.state or {}),
            intent=intent,
            confidence=confidence,
            entities=list(parse.get("entities") or []) if parse else [],
            payload=incoming.payload,
            text=incoming.text,
            # A voice that was understood is her text, not an attachment.
            attachment=None if incoming.transcribed else incoming.attachment,
            placeholders=placeholders,
            in_handoff=in_handoff,
            detected_language=(parse or {}).get("language"),
            channel=incoming.channel,
        )
        result: TurnResult = self.runner.step(ctx)
        if result.state.get("node") == "fallback" and _danger(parse) == "check":
            # Not understood, but it might be danger: one gentle question, 113 in it.
            result.messages = self.runner.render("danger_check", result.language, placeholders)
            result.state["node"] = "danger_check"
        user.state = result.state
        user.language = result.language
        messages = list(result.messages)
        if in_handoff and intent in ANSWER_AND_RELAY and self.handoff is not None:
            # Her words still reach the counsellor; the 113 (or 115) answer comes first.
            messages += await self.handoff.relay_from_user(session, user, incoming, intent)
        for call in result.actions:
            trace.actions.append(call.action.value)
            if call.action is Action.ERASE:
                return await self._erase(session, user)
            messages += await self._perform(session, user, call)
        # 113 stays the first thing she reads; otherwise what was heard comes first.
        return self._with_echo(incoming, messages, user.language, first=intent != "emergency")

    def _with_echo(
        self, incoming: Incoming, messages: list[Outgoing], language: str | None, *, first: bool
    ) -> list[Outgoing]:
        """Show her what was understood of her voice, so she can correct it.
        Next to an answer the echo carries no buttons (the answer's stand)."""
        if not incoming.transcribed or not incoming.text:
            return messages
        echo = self.runner.render("voice_heard", language or "vi", {"heard": incoming.text})
        if not messages:
            return echo
        for message in echo:
            message.buttons = []
        return [*echo, *messages] if first else [*messages, *echo]

    def _is_command_in_handoff(self, incoming: Incoming, intent: str | None) -> bool:
        if incoming.payload is not None:
            # The handoff's own buttons (share the summary? safe to talk? how
            # long?) are answered by the handoff, not the flows.
            return not incoming.payload.startswith("ho:")
        if intent == "emergency":
            return True
        if intent in GLOBAL_INTENTS and incoming.text:
            limit = HANDOFF_STOP_MAX_WORDS if intent == "stop" else HANDOFF_COMMAND_MAX_WORDS
            return len(incoming.text.split()) <= limit
        return False

    async def _perform(self, session: AsyncSession, user: User, call: ActionCall) -> list[Outgoing]:
        match call.action:
            case Action.SET_DISCREET:
                user.discreet = bool(call.args.get("on"))
                return []
            case Action.SET_LANGUAGE:
                return []  # the runner already answered in the new language
            case Action.CHECKIN:
                await self._schedule_checkin(session, user, int(call.args.get("days") or 0))
                return []  # the runner answered (checkin_set)
            case Action.CHECKIN_STOP:
                await checkin_store.cancel(session, [user.key])
                return []
            case Action.OFFER_CHECKIN:
                if user.channel not in CHECKIN_CHANNELS:
                    return []
                if await checkin_store.pending(session, user.key):
                    return []
                return self.runner.render("checkin_offer", user.language or "vi")
            case Action.END:
                # Stop means stop: nothing scheduled for her goes out any more.
                await checkin_store.cancel(session, [user.key])
                if self.handoff is not None:
                    return await self.handoff.on_action(session, user, call)
                return []
            case Action.CONSENT | Action.START_HANDOFF | Action.ERASE | Action.VOICE_CHOICE:
                if self.handoff is not None:
                    return await self.handoff.on_action(session, user, call)
                if call.action is Action.START_HANDOFF:
                    return self.runner.render("handoff_unavailable", user.language)
                return []
            case _:
                assert_never(call.action)

    async def _schedule_checkin(self, session: AsyncSession, user: User, days: int) -> None:
        """One check-in at a time: a new choice replaces the one waiting. The
        row holds the due time, her sealed address and the sealed neutral
        message; the outbox sends it silently when due."""
        if user.channel not in CHECKIN_CHANNELS or not 1 <= days <= CHECKIN_MAX_DAYS:
            return
        await checkin_store.cancel(session, [user.key])
        due = utcnow() + timedelta(days=days)
        for message in self.runner.render("checkin", user.language or "vi"):
            message.silent = True
            self.outbox.later_to_user(
                session, user, message, due=due, ref=checkin_store.CHECKIN_REF
            )
        log.info("checkin scheduled user=%s days=%d", short(user.key), days)

    async def _erase(self, session: AsyncSession, user: User) -> list[Outgoing]:
        """Delete every row about her and clear what the channel can clear."""
        language = user.language or "vi"
        address = self.keyring.open(user.address_enc, address_context(user.key))
        keys = list({user.key, self.keyring.user_key(user.channel, address)})
        recent = await user_store.recent_message_ids(session, user.key, utcnow() - ERASE_WINDOW)
        for key in keys:
            recent += self.message_refs.take(key)
        if self.handoff is not None:
            for key in keys:
                await self.handoff.forget(session, key)
        await user_store.forget(session, keys)
        log.info(
            "erase user=%s rows deleted, %d chat messages to delete", short(user.key), len(recent)
        )
        messages = self.runner.render("erased", language)
        if messages:
            messages[0].clear_history = True
            messages[0].delete_ids = recent
        return messages

    async def forget_person(self, channel: str, address: str) -> None:
        """She asked the platform to delete her data (Zalo OA ``user_withdraw``):
        erase as /xoa does, without an answer (she has left the account). Nothing
        is created for someone the bot never knew."""
        keys = self.keyring.candidate_user_keys(channel, address)
        async with self.locks.hold(keys[0]):
            async with self.db.transaction() as session:
                if self.handoff is not None:
                    for key in keys:
                        await self.handoff.forget(session, key)
                await user_store.forget(session, keys)
            for key in keys:
                self.message_refs.take(key)
            self.outbox.wake()
        await self.db.scrub()
        log.info("erase on the platform's request user=%s", short(keys[0]))

    async def leave(self, channel: str, address: str) -> None:
        """She left in a hurry (web quick exit): end any handoff so the team
        member is told the person left. Her rows follow the retention rules."""
        if self.handoff is None:
            return
        user_key = self.keyring.user_key(channel, address)
        async with self.locks.hold(user_key), self.db.transaction() as session:
            user, _ = await user_store.load_user(
                session, self.db, self.keyring, channel, address, utcnow()
            )
            if await self.handoff.is_active(session, user):
                await self.handoff.on_action(
                    session, user, ActionCall(Action.END, {"reason": "left"})
                )
        self.outbox.wake()

    async def remember_message_ids(
        self, incoming_channel: str, address: str, ids: list[str]
    ) -> None:
        """Channels that can delete messages (Telegram) record the ids of her
        chat's messages here, kept 48 hours for erase (written in batches)."""
        if ids:
            self.message_refs.add(self.keyring.user_key(incoming_channel, address), ids)


def _node_of(user: User) -> str:
    """The flow node she is at; "" for anything odd stored before."""
    node = user.state.get("node") if isinstance(user.state, dict) else None
    return node if isinstance(node, str) else ""


def _danger(parse: ParseResult | None) -> str:
    """The NLU's danger level for this text (set by every backend)."""
    return parse.get("emergency", "none") if parse else "none"


def _sure_emergency(parse: ParseResult | None, confidence: float) -> bool:
    safety_net = bool(parse.get("safety_net")) if parse else False
    return safety_net or confidence >= HANDOFF_EMERGENCY_CONFIDENCE
