"""The flow runner: one turn of conversation, decided from the YAML flows.

The engine hands over a :class:`~bot.interfaces.TurnContext` (intent or button
payload, the runner's own state from the previous turn) and gets back the
messages to send, the new state and the actions it must perform. Safety comes
first in the order of decisions: the emergency answer wins from any state,
then the escape hatches (stop, menu, language, erase) — see :meth:`Runner.step`.

Nothing here sends, stores or logs: the runner is a pure function of its input,
so it is easy to test and safe to run in any process.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from bot.interfaces import Action, ActionCall, TurnContext, TurnResult
from bot.messages import Button, Outgoing
from nlu.areas import describe, is_unit_code, read_area
from responses.model import (
    CHECKIN_DAYS,
    DEFAULT_LANGUAGE,
    GLOBAL_INTENTS,
    LANGUAGES,
    NO_NOTIFICATION_CHANNELS,
    SYSTEM_NODES,
    Content,
    Node,
)

#: ``{name}`` in a text; names are declared under ``placeholders:``.
PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

#: Below this NLU confidence a detected language does not switch the reply language.
LANGUAGE_SWITCH_CONFIDENCE = 0.6
#: Intents too short to tell a language from ("ok", "yes", "no").
_NO_AUTO_SWITCH = frozenset({"affirm", "deny", "change_language"})

#: Nodes of the "talk to a person" set-up; leaving them forgets a half-done set-up.
HANDOFF_SETUP = frozenset(
    {
        "handoff_consent",
        "consent_full",
        "discreet",
        "handoff_area",
        "handoff_area_confirm",
        "handoff_topic",
    }
)
#: Nodes whose text she may have agreed to (the short consent or its full version).
CONSENT_NODES = ("handoff_consent", "consent_full")

#: "Mình hiểu là: Phường X, Tỉnh Y — đúng không?" and "I did not recognise that place".
AREA_CONFIRM = "handoff_area_confirm"
AREA_UNKNOWN = "handoff_area_unknown"
#: Placeholder that shows her the unit understood (an official name, never her words).
AREA_PLACEHOLDER = "area_understood"

#: Longest value kept for a slot other than the area (the area keeps a unit code only).
MAX_AREA_CHARS = 120

_COMMANDS = {
    "cmd:start": "welcome",
    "cmd:menu": "menu",
    "cmd:help": "menu",
    "cmd:stop": "stop",
    "cmd:erase": "erase_confirm",
    "cmd:privacy": "privacy",
}


def consent_version(node: Node, language: str) -> str:
    """Short fingerprint of the consent wording she saw, recorded with her consent."""
    text = "\n\n".join(t.get(language) for t in node.texts)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _fold(text: str) -> str:
    """Lower-case, no diacritics: 'Tiếng Anh' and 'tieng anh' read the same."""
    text = text.lower().replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def _words(text: str | None) -> str:
    """Folded text with single spaces around words, for whole-phrase matching."""
    return " " + " ".join(re.sub(r"[^a-z0-9-]+", " ", _fold(text or "")).split()) + " "


def language_named(text: str | None, entities: list[dict[str, Any]]) -> str | None:
    """The language a change-language request names, if it names one."""
    for ent in entities:
        if ent.get("entity") == "language" and str(ent.get("value", "")).lower()[:2] in LANGUAGES:
            return str(ent["value"]).lower()[:2]
    if not text:
        return None
    folded = f" {_fold(text)} "
    wants_en = any(w in folded for w in ("english", "tieng anh", " eng ", " en ", "anh ngu"))
    wants_vi = any(w in folded for w in ("vietnam", "tieng viet", " viet ", " vi "))
    if wants_en and not wants_vi:
        return "en"
    if wants_vi and not wants_en:
        return "vi"
    return None


@dataclass
class _Turn:
    """Scratch pad for one turn: the language, state, actions and messages so far."""

    language: str
    state: dict[str, Any]
    placeholders: dict[str, str]
    actions: list[ActionCall] = field(default_factory=list)
    messages: list[Outgoing] = field(default_factory=list)

    @property
    def slots(self) -> dict[str, Any]:
        slots: dict[str, Any] = self.state.setdefault("slots", {})
        return slots


class Runner:
    """Implements :class:`bot.interfaces.FlowRunner` over validated :class:`Content`."""

    def __init__(self, content: Content):
        self.content = content
        self.nodes = content.nodes
        self.entry: dict[str, str] = {
            intent: node.id for node in self.nodes.values() for intent in node.intents
        }
        # Refinements: intent → nodes with the phrases that make a more precise answer.
        self.refinements: dict[str, list[tuple[str, str]]] = {}
        for node in self.nodes.values():
            if node.refines:
                for phrase in node.words:
                    self.refinements.setdefault(node.refines, []).append((_words(phrase), node.id))
        self.topics = frozenset(
            str(b.args["topic"])
            for node in self.nodes.values()
            for b in node.buttons
            if b.action in ("start_handoff", "handoff")
        )

    # ------------------------------------------------------------------ render
    def fill(self, text: str, language: str, values: dict[str, str] | None) -> str:
        """Replace ``{name}``: a configured value in its template, else the default sentence."""
        values = values or {}

        def sub(match: re.Match[str]) -> str:
            spec = self.content.placeholders.get(match.group(1))
            if spec is None:  # the check forbids this; never show braces to a user
                return ""
            value = (values.get(match.group(1)) or "").strip()
            if not value:
                return spec.default.get(language)
            if spec.template is None:
                return value
            return spec.template.get(language).replace("{value}", value)

        return PLACEHOLDER_RE.sub(sub, text)

    def buttons(self, node: Node, language: str) -> list[Button]:
        """The node's buttons, then the main menu's when the node asks for it."""
        specs = list(node.buttons)
        if "show_menu" in node.actions and node.id != "menu":
            specs += self.nodes["menu"].buttons
        out: list[Button] = []
        seen: set[str] = set()
        for spec in specs:
            payload = spec.payload()
            if payload not in seen:
                seen.add(payload)
                out.append(Button(spec.label.get(language), payload))
        return out

    def render(
        self, node_id: str, language: str, placeholders: dict[str, str] | None = None
    ) -> list[Outgoing]:
        """The messages of one node; buttons go on the last message."""
        node = self.nodes.get(node_id)
        if node is None:
            raise KeyError(f"no such node: {node_id!r}")
        language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        texts = [self.fill(t.get(language), language, placeholders) for t in node.texts]
        messages = [Outgoing(text=t, protect=node.is_protected) for t in texts]
        messages[-1].buttons = self.buttons(node, language)
        return messages

    # -------------------------------------------------------------------- step
    def step(self, ctx: TurnContext) -> TurnResult:
        """Decide one turn. Order (first match wins):

        1. emergency intent — from any state, even mid-handoff;
        2. commands and buttons (payloads), then the global intents
           stop / help / change_language / delete_data;
        3. an attachment — "I read text only";
        4. a text while a node collects a slot (the area) — captured;
        5. the current node's own ``on:`` transitions (yes/no questions);
        6. the intent's entry node;
        7. not understood — fallback with the menu.
        """
        language = ctx.language if ctx.language in LANGUAGES else DEFAULT_LANGUAGE
        state = _clean_state(ctx.state)
        turn = _Turn(language, state, dict(ctx.placeholders))
        self._auto_language(turn, ctx)

        current = self.nodes.get(str(state.get("node") or ""))
        if ctx.intent == "emergency":
            # Self-harm words get 113/115 first and then the careful words (distress_urgent).
            self._enter(turn, self.refined("emergency", ctx.text))
        elif ctx.payload:
            self._payload(turn, ctx.payload, ctx.channel)
        elif ctx.intent in GLOBAL_INTENTS:
            self._global(turn, ctx)
        elif ctx.attachment:
            # Keep the state: if she was asked for her area, she can still type it.
            turn.messages += self.render("text_only", turn.language, turn.placeholders)
        elif current is not None and current.collect and ctx.text and ctx.text.strip():
            self._capture(turn, current, ctx)
        elif current is not None and ctx.intent in current.on:
            self._enter(turn, current.on[ctx.intent])
        elif ctx.intent is not None and ctx.intent in self.entry:
            self._enter(turn, self.refined(ctx.intent, ctx.text))
        else:
            self._enter(turn, "fallback")
        if not _has_notifications(ctx.channel):
            _drop_discreet_buttons(turn.messages)
        return TurnResult(
            messages=turn.messages, state=turn.state, language=turn.language, actions=turn.actions
        )

    def refined(self, intent: str, text: str | None) -> str:
        """The intent's entry node, or a more precise one when her words name its topic.

        "thu tuc ly hon" is ``ask_rights`` to the classifier; the divorce node answers
        it better than the rights menu. The longest matching phrase wins.
        """
        folded = _words(text)
        best: tuple[int, str] | None = None
        for phrase, node_id in self.refinements.get(intent, []):
            if phrase in folded and (best is None or len(phrase) > best[0]):
                best = (len(phrase), node_id)
        return best[1] if best else self.entry.get(intent, "emergency")

    # ----------------------------------------------------------------- helpers
    def _enter(self, turn: _Turn, node_id: str) -> None:
        """Go to a node: forget a half-done set-up when leaving it, say the node, do its actions."""
        state = turn.state
        if node_id not in HANDOFF_SETUP:
            state.pop("consent", None)
            state.pop("after_discreet", None)
            state["slots"] = {}
        if node_id == "handoff_consent":  # a fresh start: nothing agreed or collected yet
            state.pop("consent", None)
            state["slots"] = {}
        if node_id == "handoff_area":  # asked again (Change): the earlier answer is gone
            turn.slots.pop("area", None)
        if node_id == "handoff_topic" and state.get("consent") and turn.slots.get("topic"):
            # Topic already known (concern flow): no need to ask it again.
            self._start_handoff(turn, str(turn.slots["topic"]))
            return
        node = self.nodes[node_id]
        state["node"] = node_id
        if node_id == "emergency" or node_id not in _NOT_READING:
            seen = [str(n) for n in state.get("seen") or [] if n != node_id][-(MAX_SEEN - 1) :]
            state["seen"] = [*seen, node_id]
        turn.messages += self.render(node_id, turn.language, turn.placeholders)
        if "end" in node.actions:
            turn.actions.append(ActionCall(Action.END))
        if "offer_checkin" in node.actions:
            # The engine shows the offer only where the channel allows it.
            turn.actions.append(ActionCall(Action.OFFER_CHECKIN))

    def _start_handoff(self, turn: _Turn, topic: str) -> None:
        area = turn.slots.get("area")
        if not is_unit_code(area):  # only a unit's code ever leaves the set-up
            area = None
        # Which parts of the bot she read (node ids, never her words): the
        # handoff offers them to her as a summary for the team.
        args: dict[str, Any] = {"area": area or None, "topic": topic}
        seen = list(turn.state.pop("seen", None) or [])
        if seen:
            args["seen"] = seen
        turn.actions.append(ActionCall(Action.START_HANDOFF, args))
        # The engine's handoff module answers (handoff_queued / _unavailable ...).
        turn.state.update(node=None, slots={})
        turn.state.pop("consent", None)

    def _set_language(self, turn: _Turn, language: str, *, explicit: bool) -> None:
        turn.state["lang_explicit"] = explicit
        turn.state["lang_streak"] = 0
        if language != turn.language:
            turn.language = language
            turn.actions.append(ActionCall(Action.SET_LANGUAGE, {"language": language}))

    def _auto_language(self, turn: _Turn, ctx: TurnContext) -> None:
        """Answer a clear English message in English (and a clear Vietnamese one in Vietnamese).

        After she chose a language herself, one stray message does not undo her
        choice: two confident messages in a row in the other language do.
        """
        detected = ctx.detected_language
        if ctx.payload or not ctx.text or detected not in LANGUAGES:
            return
        if detected == turn.language:
            turn.state["lang_streak"] = 0
            return
        if (
            ctx.intent is None
            or ctx.intent in _NO_AUTO_SWITCH
            or ctx.confidence < LANGUAGE_SWITCH_CONFIDENCE
        ):
            return
        streak = int(turn.state.get("lang_streak") or 0) + 1
        if turn.state.get("lang_explicit") and streak < 2:
            turn.state["lang_streak"] = streak
            return
        self._set_language(turn, str(detected), explicit=False)

    def _global(self, turn: _Turn, ctx: TurnContext) -> None:
        if ctx.intent == "change_language":
            target = language_named(ctx.text, ctx.entities)
            if target is None:
                target = "en" if turn.language == "vi" else "vi"
            self._set_language(turn, target, explicit=True)
            self._enter(turn, "language_changed")
        elif ctx.intent == "delete_data":
            self._enter(turn, "erase_confirm")
        elif ctx.intent == "help":
            self._enter(turn, "menu")
        elif ctx.intent == "suicidal_distress":
            self._enter(turn, self.entry["suicidal_distress"])
        else:
            self._enter(turn, "stop")

    def _capture(self, turn: _Turn, node: Node, ctx: TurnContext) -> None:
        """Keep the slot's value and move on. The area keeps only the code of the
        unit understood (nothing she typed is stored, docs/design.md, promise 14)."""
        if ctx.intent is not None and ctx.intent in node.on:
            self._enter(turn, node.on[ctx.intent])  # "đúng" / "no" at the confirmation
            return
        if node.collect == "area":
            self._capture_area(turn, ctx)
            return
        value = next(
            (
                str(e.get("value"))
                for e in ctx.entities
                if e.get("entity") == node.collect and e.get("value")
            ),
            (ctx.text or "").strip(),
        )
        turn.slots[str(node.collect)] = " ".join(value.split())[:MAX_AREA_CHARS]
        self._enter(turn, str(node.next))

    def _capture_area(self, turn: _Turn, ctx: TurnContext) -> None:
        """Read her reply as a place; show which unit was understood, or ask again."""
        unit = read_area(ctx.text or "")
        if unit is None or not unit.code:
            turn.slots.pop("area", None)
            turn.messages += self.render(AREA_UNKNOWN, turn.language, turn.placeholders)
            turn.state["node"] = "handoff_area"  # her next text is read as a place again
            return
        turn.slots["area"] = unit.code
        turn.placeholders[AREA_PLACEHOLDER] = describe(unit)
        self._enter(turn, AREA_CONFIRM)

    def _payload(self, turn: _Turn, payload: str, channel: str | None = None) -> None:
        state = turn.state
        if payload in _COMMANDS:
            self._enter(turn, _COMMANDS[payload])
            return
        if payload == "cmd:lang":
            self._set_language(turn, "en" if turn.language == "vi" else "vi", explicit=True)
            self._enter(turn, "language_changed")
            return
        kind, _, rest = payload.partition(":")
        name, _, arg = rest.partition(":")
        if kind == "n" and rest in self.nodes:
            self._enter(turn, rest)
        elif kind != "a":
            self._enter(turn, "expired")
        elif name == "consent" and not arg:
            seen = str(state.get("node") or "")
            consent = self.nodes[seen if seen in CONSENT_NODES else "handoff_consent"]
            turn.actions.append(
                ActionCall(
                    Action.CONSENT,
                    {
                        "node": consent.id,
                        "version": consent_version(consent, turn.language),
                        "language": turn.language,
                    },
                )
            )
            state["consent"] = True
            if state.get("discreet_asked") or not _has_notifications(channel):
                self._enter(turn, "handoff_area")
            else:
                state["after_discreet"] = "handoff_area"
                self._enter(turn, "discreet")
        elif name == "topic" and arg in self.topics:
            if state.get("consent"):
                self._start_handoff(turn, arg)
            else:  # an old button: she has not agreed in this conversation yet
                self._enter(turn, "handoff_consent")
        elif name == "handoff" and arg in self.topics:
            self._enter(turn, "handoff_consent")
            turn.slots["topic"] = arg
        elif name == "erase" and not arg:
            if state.get("node") == "erase_confirm":
                turn.actions.append(ActionCall(Action.ERASE))
                turn.state = {}  # the engine erases, then renders "erased"
            else:  # an old confirm button: ask again rather than erase by accident
                self._enter(turn, "erase_confirm")
        elif name == "lang" and arg in LANGUAGES:
            self._set_language(turn, arg, explicit=True)
            self._enter(turn, "language_changed")
        elif name == "checkin" and arg == "off":
            turn.actions.append(ActionCall(Action.CHECKIN_STOP))
            self._enter(turn, "checkin_stopped")
        elif name == "checkin" and arg.isdigit() and int(arg) in CHECKIN_DAYS:
            turn.actions.append(ActionCall(Action.CHECKIN, {"days": int(arg)}))
            self._enter(turn, "checkin_set")
        elif name == "voice" and arg in ("send", "text"):
            # Handoff answers (it knows whether her channel can pass a voice on).
            turn.actions.append(ActionCall(Action.VOICE_CHOICE, {"send": arg == "send"}))
        elif name == "discreet" and arg in ("on", "off"):
            turn.actions.append(ActionCall(Action.SET_DISCREET, {"on": arg == "on"}))
            state["discreet_asked"] = True
            after = state.get("after_discreet")
            if after and state.get("consent"):
                self._enter(turn, str(after))
            else:
                self._enter(turn, "discreet_set")
        else:
            self._enter(turn, "expired")


def _has_notifications(channel: str | None) -> bool:
    """Does "arrive silently, with a neutral first line" mean anything on this channel?

    An unknown channel (None) is treated as one with notifications: asking is
    harmless, not asking could leave a revealing line on a lock screen.
    """
    return channel not in NO_NOTIFICATION_CHANNELS


def _drop_discreet_buttons(messages: list[Outgoing]) -> None:
    """The web page and the terminal show no notifications: no "discreet" button there."""
    for message in messages:
        message.buttons = [b for b in message.buttons if b.payload != "n:discreet"]


#: Menus, questions and notices: not "parts of the bot she read".
_NOT_READING = frozenset(SYSTEM_NODES) | HANDOFF_SETUP | {"menu_more", "rights_menu", "safety_menu"}
#: How many visited node ids the state keeps for the handoff summary.
MAX_SEEN = 16


def _clean_state(state: dict[str, Any] | None) -> dict[str, Any]:
    """A private copy of the previous state, tolerant of anything odd stored before."""
    if not isinstance(state, dict):
        return {}
    out = {k: v for k, v in state.items() if k != "slots"}
    slots = state.get("slots")
    out["slots"] = dict(slots) if isinstance(slots, dict) else {}
    return out
