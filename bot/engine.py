"""The conversation engine: one turn of one person, whatever the channel.

``Engine.handle`` dedupes on the platform message id, keeps one person's
messages in order, loads her state, asks the NLU what she means, asks the
flow runner what to say, and hands handoff actions to ``handoff/``. It never
imports a platform library and never stores a message text.
"""

from __future__ import annotations

import logging
import time
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
    TurnContext,
    TurnResult,
)
from bot.locks import KeyedLocks
from bot.logs import short
from bot.message_refs import MessageRefRecorder
from bot.messages import Incoming, Outgoing, utcnow
from bot.metrics import Metrics
from bot.outbox import Outbox
from bot.stats import Stats
from bot.store import users as user_store
from bot.store.db import Database
from bot.store.models import User

log = logging.getLogger(__name__)

#: Intents that work from any state (DESIGN.md §3.6-7).
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
#: How long platform message ids are kept so that erase can delete them.
ERASE_WINDOW = timedelta(hours=48)


@dataclass(slots=True)
class TurnTrace:
    """What a turn did, for metrics and tests: never the text."""

    user_key: str = ""
    intent: str | None = None
    confidence: float = 0.0
    duplicate: bool = False
    seconds: float = 0.0
    actions: list[str] = field(default_factory=list)


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
        confidence_threshold: float = 0.5,
    ) -> None:
        self.db = db
        self.keyring = keyring
        self.nlu = nlu
        self.runner = runner
        self.outbox = outbox
        self.handoff = handoff
        self.stats = stats
        self.threshold = confidence_threshold
        self.locks = KeyedLocks()
        self.metrics = metrics
        self.message_refs = message_refs
        self.last_trace = TurnTrace()

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
        # The safety net's emergency is trusted at any confidence (DESIGN.md §3.6).
        if name == "emergency" or (name and confidence >= self.threshold):
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
        # Her row's pending changes (dedup ref, last seen) are not needed by
        # these reads: they go out with the turn's one UPDATE at commit.
        with session.no_autoflush:
            in_handoff = self.handoff is not None and await self.handoff.is_active(session, user)
        if in_handoff and intent == "emergency" and not _sure_emergency(parse, confidence):
            intent = None  # relayed to the counsellor, who reads it
        if in_handoff and not self._is_command_in_handoff(incoming, intent):
            assert self.handoff is not None
            return await self.handoff.relay_from_user(session, user, incoming, intent)

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
            attachment=incoming.attachment,
            placeholders=placeholders,
            in_handoff=in_handoff,
            detected_language=(parse or {}).get("language"),
            channel=incoming.channel,
        )
        result: TurnResult = self.runner.step(ctx)
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
        return messages

    def _is_command_in_handoff(self, incoming: Incoming, intent: str | None) -> bool:
        if incoming.payload is not None:
            return True
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
            case Action.CONSENT | Action.START_HANDOFF | Action.END | Action.ERASE:
                if self.handoff is not None:
                    return await self.handoff.on_action(session, user, call)
                if call.action is Action.START_HANDOFF:
                    return self.runner.render("handoff_unavailable", user.language)
                return []
            case _:
                assert_never(call.action)

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


def _sure_emergency(parse: ParseResult | None, confidence: float) -> bool:
    safety_net = bool(parse.get("safety_net")) if parse else False
    return safety_net or confidence >= HANDOFF_EMERGENCY_CONFIDENCE
