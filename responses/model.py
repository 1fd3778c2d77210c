"""The shape of a flow file, as the programme's staff write it in YAML.

Pydantic models with ``extra="forbid"``: a misspelt key (``buttom:``) is an
error naming the file and node instead of a silently ignored line. The rules
that need the whole set of nodes (reachability, intents, phone numbers...) live
in :mod:`responses.validate`; this module only checks one node at a time.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Languages every text and label must have. Vietnamese is the default.
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"

#: Node ids become ``n:<id>`` callback data: plain ASCII; the check limits the
#: resulting payload to Telegram's 64 bytes.
NODE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Topic / argument slugs travel in callback data too.
SLUG_RE = re.compile(r"^[a-z][a-z0-9_]*$")

#: Every intent of the NLU taxonomy; each needs exactly one entry node.
TAXONOMY_INTENTS = (
    "greet",
    "goodbye",
    "thanks",
    "emergency",
    "disclose_abuse",
    "ask_rights",
    "ask_safety",
    "ask_services",
    "request_human",
    "report_concern",
    "ask_privacy",
    "delete_data",
    "affirm",
    "deny",
    "stop",
    "help",
    "change_language",
    "out_of_scope",
    # Topics added with the second edition of the content (nlu/data/topics.yml).
    "ask_evidence",
    "ask_call_113",
    "ask_shelter",
    "suicidal_distress",
)

#: Intents answered from any state, even mid-flow or while collecting a slot.
#: Suicidal distress is here for the same reason as an emergency: it must never
#: be swallowed by a half-done flow (the engine lists it too).
GLOBAL_INTENTS = ("stop", "help", "change_language", "delete_data", "suicidal_distress")

#: Channels where nothing pops up on a lock screen (the web page, the terminal):
#: the "discreet delivery" question means nothing there and is not asked.
NO_NOTIFICATION_CHANNELS = frozenset({"web", "terminal"})

#: Intents that may be used in a node's ``on:`` map (node-local transitions).
LOCAL_INTENTS = TAXONOMY_INTENTS

#: Button actions and the callback data they become (``a:<action>[:<arg>]``).
#: ``end`` and ``show_menu`` use the command payloads so they keep working
#: while a handoff is open (the engine forwards commands to the runner then).
BUTTON_ACTIONS = (
    "consent",  # a:consent            — she agrees to talk to the team
    "start_handoff",  # a:topic:<topic> — she picked a topic; the handoff starts
    "handoff",  # a:handoff:<topic>     — go to the consent node with a topic chosen
    "erase",  # a:erase                 — only from the erase confirmation
    "set_language",  # a:lang:<vi|en>
    "set_discreet",  # a:discreet:<on|off>
    "end",  # cmd:stop
    "show_menu",  # cmd:menu
    "checkin",  # a:checkin:<days>      — check on her in 1 to 30 days
    "checkin_stop",  # a:checkin:off     — cancel every check-in
    "voice_choice",  # a:voice:<send|text> — in a handoff: her voice or its transcript
)

#: Actions a node may perform as soon as it is entered. ``offer_checkin``
#: adds the check-in offer where her channel allows the bot to write later.
NODE_ACTIONS = ("end", "show_menu", "offer_checkin")

#: Check-ins: the number of days a button may ask for.
CHECKIN_DAYS = range(1, 31)

#: Nodes the runner or the engine relies on by id; the check fails without them.
SYSTEM_NODES = (
    "welcome",
    "menu",
    "fallback",
    "expired",
    "text_only",
    "emergency",
    "danger_check",
    "privacy",
    "stop",
    "erase_confirm",
    "erased",
    "handoff_consent",
    "handoff_area",
    "handoff_area_confirm",
    "handoff_area_unknown",
    "handoff_topic",
    "discreet",
    "discreet_set",
    "language_changed",
    "handoff_queued",
    "handoff_out_of_hours",
    "handoff_still_waiting",
    "handoff_connected",
    "handoff_closed",
    "handoff_unavailable",
    "voice_heard",
    "voice_ask",
    "voice_choice_text",
    "voice_choice_send",
    "voice_unavailable",
    "checkin",
    "checkin_offer",
    "checkin_set",
    "checkin_stopped",
    "handoff_limited",
    "handoff_held_full",
    "slow_down",
    "handoff_share_summary",
    "handoff_safe_now",
    "handoff_nobody_on_duty",
    "handoff_wait",
)

#: Nodes the engine renders itself with ``Runner.render`` (never reached by a button).
ENGINE_NODES = (
    "welcome",
    "menu",
    "erased",
    "expired",
    "text_only",
    "emergency",
    "danger_check",
    "handoff_queued",
    "handoff_out_of_hours",
    "handoff_still_waiting",
    "handoff_connected",
    "handoff_closed",
    "handoff_unavailable",
    "voice_heard",
    "voice_ask",
    "voice_choice_text",
    "voice_choice_send",
    "voice_unavailable",
    "checkin",
    "checkin_offer",
    "handoff_limited",
    "handoff_held_full",
    "slow_down",
    "handoff_share_summary",
    "handoff_safe_now",
    "handoff_nobody_on_duty",
    "handoff_wait",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Strict):
    """One piece of text in every language."""

    vi: str
    en: str

    @field_validator("vi", "en")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is empty")
        return value

    def get(self, language: str) -> str:
        return self.en if language == "en" else self.vi


class ButtonSpec(_Strict):
    """A button: a label in both languages and either ``goto`` a node or an ``action``."""

    label: Text
    goto: str | None = None
    action: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_target(self) -> ButtonSpec:
        if (self.goto is None) == (self.action is None):
            raise ValueError("a button needs exactly one of 'goto' or 'action'")
        if self.action is not None:
            if self.action not in BUTTON_ACTIONS:
                raise ValueError(
                    f"unknown action {self.action!r} (known: {', '.join(BUTTON_ACTIONS)})"
                )
            _check_args(self.action, self.args)
        elif self.args:
            raise ValueError("'args' only go with an 'action'")
        return self

    def payload(self) -> str:
        """The callback data this button sends back (``n:``/``a:``/``cmd:``)."""
        if self.goto is not None:
            return f"n:{self.goto}"
        action = self.action
        if action == "consent":
            return "a:consent"
        if action == "start_handoff":
            return f"a:topic:{self.args['topic']}"
        if action == "handoff":
            return f"a:handoff:{self.args['topic']}"
        if action == "erase":
            return "a:erase"
        if action == "set_language":
            return f"a:lang:{self.args['language']}"
        if action == "set_discreet":
            return "a:discreet:on" if self.args["on"] else "a:discreet:off"
        if action == "end":
            return "cmd:stop"
        if action == "checkin":
            return f"a:checkin:{self.args['days']}"
        if action == "checkin_stop":
            return "a:checkin:off"
        if action == "voice_choice":
            return "a:voice:send" if self.args["send"] else "a:voice:text"
        return "cmd:menu"


def _check_args(action: str, args: dict[str, Any]) -> None:
    """Each action takes exactly the arguments the runner understands."""
    expected: dict[str, tuple[str, ...]] = {
        "start_handoff": ("topic",),
        "handoff": ("topic",),
        "set_language": ("language",),
        "set_discreet": ("on",),
        "checkin": ("days",),
        "voice_choice": ("send",),
    }
    wanted = expected.get(action, ())
    if set(args) != set(wanted):
        want = ", ".join(wanted) or "no args"
        raise ValueError(f"action {action!r} takes {want}, got {sorted(args) or 'none'}")
    if action in ("start_handoff", "handoff") and not SLUG_RE.match(str(args["topic"])):
        raise ValueError("topic must be a lower-case slug like 'safety'")
    if action == "set_language" and args["language"] not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")
    if action == "set_discreet" and not isinstance(args["on"], bool):
        raise ValueError("'on' must be true or false")
    if action == "checkin" and (
        isinstance(args["days"], bool)
        or not isinstance(args["days"], int)
        or args["days"] not in CHECKIN_DAYS
    ):
        raise ValueError("'days' must be a whole number from 1 to 30")
    if action == "voice_choice" and not isinstance(args["send"], bool):
        raise ValueError("'send' must be true or false")


class Node(_Strict):
    """One step of a conversation: what the bot says and what can happen next."""

    id: str
    file: str = ""
    text: Text | None = None
    messages: list[Text] = Field(default_factory=list)
    buttons: list[ButtonSpec] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list)
    on: dict[str, str] = Field(default_factory=dict)
    collect: str | None = None
    next: str | None = None
    actions: list[str] = Field(default_factory=list)
    refines: str | None = None
    words: list[str] = Field(default_factory=list)
    protect: bool | None = None
    factual: bool = False
    source: str | None = None
    reviewed: date | None = None
    note: str | None = None

    @field_validator("id")
    @classmethod
    def _id_format(cls, value: str) -> str:
        if not NODE_ID_RE.match(value):
            raise ValueError("node ids are lower-case letters, digits and _")
        return value

    @field_validator("actions")
    @classmethod
    def _known_actions(cls, value: list[str]) -> list[str]:
        for name in value:
            if name not in NODE_ACTIONS:
                raise ValueError(f"unknown node action {name!r} (known: {', '.join(NODE_ACTIONS)})")
        return value

    @field_validator("on")
    @classmethod
    def _known_local_intents(cls, value: dict[str, str]) -> dict[str, str]:
        for intent in value:
            if intent not in LOCAL_INTENTS:
                raise ValueError(f"'on' uses unknown intent {intent!r}")
        return value

    @model_validator(mode="after")
    def _shape(self) -> Node:
        if (self.text is None) == (not self.messages):
            raise ValueError("a node needs either 'text' or 'messages' (not both)")
        if self.collect is not None and self.next is None:
            raise ValueError("a node that collects a slot needs 'next'")
        if self.collect is not None and not SLUG_RE.match(self.collect):
            raise ValueError("slot names are lower-case slugs like 'area'")
        if (self.refines is None) != (not self.words):
            raise ValueError("'refines' (an intent) and 'words' go together")
        if any(not w.strip() for w in self.words):
            raise ValueError("'words' must not contain empty phrases")
        return self

    @property
    def texts(self) -> list[Text]:
        """The node's messages in order (``text`` is the one-message shorthand)."""
        return [self.text] if self.text is not None else list(self.messages)

    @property
    def is_protected(self) -> bool:
        """Advice (anything with a source) asks the platform to block forwarding."""
        return self.protect if self.protect is not None else self.source is not None


class Placeholder(_Strict):
    """A ``{name}`` filled at run time: ``template`` wraps a given value,
    ``default`` is the whole sentence used when no value is configured."""

    default: Text
    template: Text | None = None


class Phone(_Strict):
    """A vetted number: what it is, where that was checked and when."""

    what: str
    source: str
    reviewed: date
    file: str = ""

    @field_validator("what", "source")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class Content(_Strict):
    """All nodes, placeholders, vetted phone numbers and labels of every flow file."""

    nodes: dict[str, Node]
    placeholders: dict[str, Placeholder]
    #: Digits only ("19009696680" style keys, "113") → the vetted entry.
    phones: dict[str, Phone] = Field(default_factory=dict)
    #: ``labels[kind][code]``: how the console names a topic, an intent, a channel.
    labels: dict[str, dict[str, Text]] = Field(default_factory=dict)
