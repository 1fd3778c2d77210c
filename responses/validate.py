"""Checks over the whole set of flows, run by ``helpline content check`` and at start-up.

A wrong phone number, a dead button or a missing translation reaches a person
in danger; these checks make such mistakes fail before release, each naming
the file and node to fix. Errors block; warnings point at style limits (at
most five buttons for Zalo, messages over 600 characters) that a reviewer
should look at.

Facts age and numbers change, so the check also refuses: a phone number that
is not in the vetted ``phones:`` list (each with a source and a review date),
a fine or prison range in a node whose source does not cite a law text, a
``reviewed`` date older than a year, and a message longer than one phone
screen (:data:`SCREEN_CHARS` characters or :data:`SCREEN_LINES` lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from responses.loader import Problem, load_content, phone_key
from responses.model import (
    SYSTEM_NODES,
    TAXONOMY_INTENTS,
    Content,
    Node,
)

#: Zalo's text limit is the smallest of our channels (Telegram: 4096).
MAX_TEXT_CHARS = 2000
#: Our own style limit: one idea per message, readable on a small phone (a warning).
STYLE_TEXT_CHARS = 600
#: One phone screen (an error): a 360-pixel-wide phone shows about 14 lines of
#: chat text of ~50 characters, less the keyboard and the buttons. Measured on
#: the text as sent, with placeholders filled by their default sentences.
SCREEN_CHARS = 700
SCREEN_LINES = 14
#: Facts are re-checked at least once a year.
MAX_REVIEW_AGE = timedelta(days=366)
#: Telegram's callback data limit, in bytes of UTF-8.
MAX_PAYLOAD_BYTES = 64
MAX_LABEL_CHARS = 30
#: Zalo shows at most five buttons under a message.
STYLE_MAX_BUTTONS = 5

#: Numbers that must never be given out again (the former child helpline, now 111).
OBSOLETE_NUMBERS = {"18001567": "former child helpline 1800 1567, replaced by 111"}
EMERGENCY_NUMBERS = {"111", "112", "113", "114", "115"}

#: A run of digits, possibly grouped with single spaces, dots or hyphens.
_NUMBER_RE = re.compile(r"(?<![\w/.,#])(\+?\d(?:[ .\-]?\d)*)(?![\w/])")
_MONEY_AFTER_RE = re.compile(r"^\s*(?:đ|đồng|dong|vnd|vnđ|%|triệu|million)", re.IGNORECASE)
_LAW_BEFORE_RE = re.compile(
    r"(?:điều|khoản|art\.?|article|articles|nghị định|decree|luật|law|số)\s*$", re.IGNORECASE
)
#: Law references make a node factual even without a phone number.
_LAW_RE = re.compile(
    r"\d+/\d{4}/|\bĐiều\s+\d|\b[Aa]rt(?:icle)?s?\.?\s+\d|Nghị định|Decree|Bộ luật|Penal Code"
)
#: A fine or prison range: "5–10 triệu", "6 tháng–3 năm", "đến 3 năm", "up to 15 years".
_PENALTY_RE = re.compile(
    r"\d+(?:[.,]\d+)?\s*(?:tháng|months?)?\s*(?:–|—|-|đến|tới|to)\s*\d+(?:[.,]\d+)?\s*"
    r"(?:triệu|million|tỷ|billion|năm|years?)\b"
    r"|(?:đến|tới|up to)\s+\d+\s*(?:năm|years?)\b",
    re.IGNORECASE,
)
#: A source that names the legal text a penalty comes from.
_LAW_SOURCE_RE = re.compile(
    r"\b(?:Decree|Penal Code|Code|Law|Resolution|Circular)\b|Nghị định|Bộ luật|Luật|Thông tư",
    re.IGNORECASE,
)
_ANY_BRACES_RE = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]*$")
#: Words that should not be the first line of a message that arrives later
#: (team replies, notices): a notification shows that line on the lock screen.
_ALARM_RE = re.compile(r"bạo lực|bạo hành|violence|abuse|\bđánh\b|\bbeat", re.IGNORECASE)


def phone_numbers(text: str) -> Iterator[tuple[str, str | None]]:
    """Yield ``(number as written, problem or None)`` for each phone-like number."""
    for match in _NUMBER_RE.finditer(text):
        written = match.group(1)
        digits = re.sub(r"\D", "", written)
        if written.startswith("+84"):
            digits = "0" + digits[2:]
        if _MONEY_AFTER_RE.match(text[match.end() :]):
            continue
        if len(digits) == 3:
            if not digits.startswith("11"):
                continue
            if _LAW_BEFORE_RE.search(text[: match.start()]):
                continue
            if digits in EMERGENCY_NUMBERS:
                yield written, None
            else:
                yield written, "not a Vietnamese emergency number (111–115)"
            continue
        if digits in OBSOLETE_NUMBERS:
            yield written, f"obsolete number: {OBSOLETE_NUMBERS[digits]}"
            continue
        if digits[:4] in ("1800", "1900"):
            if len(digits) not in (8, 10):
                yield written, "1800/1900 numbers have 8 or 10 digits (1800 1233, 1900 969 680)"
            else:
                yield written, None
            continue
        if digits.startswith("1") and len(digits) >= 6 and "." not in written:
            # Not a date (15.12.2025) or an amount (10.000.000): a number to call.
            yield written, "numbers starting with 1 are 111–115, 1800 xxxx or 1900 xxx xxx"
            continue
        if digits.startswith("0") and len(digits) >= 6:
            if len(digits) == 11 and digits.startswith("02"):
                yield written, None  # landline: 0 + 2x area code + 8 digits
            elif len(digits) == 10 and digits[1] in "35789":
                yield written, None  # mobile
            else:
                yield (
                    written,
                    (
                        "malformed: landlines are 0 + 2x area code + 8 digits (024 3333 5599), "
                        "mobiles 10 digits (09x xxx xxxx)"
                    ),
                )


def _all_texts(node: Node) -> Iterator[tuple[str, str]]:
    for i, text in enumerate(node.texts, 1):
        for lang in ("vi", "en"):
            yield f"message {i} ({lang})", text.get(lang)


def is_factual(node: Node) -> bool:
    """Facts are what a reviewer must re-check: numbers to call and the law."""
    if node.factual:
        return True
    for _, text in _all_texts(node):
        if _LAW_RE.search(text) or _PENALTY_RE.search(text):
            return True
        if any(True for _ in phone_numbers(text)):
            return True
    return False


def penalties(text: str) -> list[str]:
    """Fine and prison ranges written in a text ("5–10 triệu", "up to 3 years")."""
    return [m.group(0) for m in _PENALTY_RE.finditer(text)]


def screen_size(text: str) -> tuple[int, int]:
    """(characters, lines) of a message as a phone shows it."""
    return len(text), len(text.splitlines()) or 1


def _with_defaults(content: Content, text: str, language: str) -> str:
    """The text with each known placeholder replaced by its default sentence."""

    def sub(match: re.Match[str]) -> str:
        spec = content.placeholders.get(match.group(1))
        return spec.default.get(language) if spec is not None else match.group(0)

    return _ANY_BRACES_RE.sub(sub, text)


def _targets(content: Content, node: Node) -> Iterator[str]:
    """Every node this node can lead to (buttons, yes/no, slot, actions)."""
    for button in node.buttons:
        if button.goto is not None:
            yield button.goto
        elif button.action == "consent":
            yield from ("discreet", "handoff_area")
        elif button.action == "handoff":
            yield "handoff_consent"
        elif button.action == "set_language":
            yield "language_changed"
        elif button.action == "set_discreet":
            yield from ("discreet_set", "handoff_area")
        elif button.action == "end":
            yield "stop"
        elif button.action == "show_menu":
            yield "menu"
        elif button.action == "erase":
            yield "erased"
    yield from node.on.values()
    if node.next:
        yield node.next
    if "show_menu" in node.actions:
        yield "menu"


def validate(content: Content, today: date | None = None) -> list[Problem]:
    """Every cross-node rule; see the module docstring for why each matters."""
    problems: list[Problem] = []
    nodes = content.nodes
    today = today or date.today()
    first_file = "flows"  # problems about the whole set, not one file

    def err(node: Node | None, message: str, severity: str = "error") -> None:
        problems.append(
            Problem(node.file if node else first_file, node.id if node else None, message, severity)
        )

    for missing in [n for n in SYSTEM_NODES if n not in nodes]:
        err(None, f"required node {missing!r} is missing (the runner or engine uses it)")

    # Intents: each taxonomy intent enters exactly one node; no unknown intents.
    entries: dict[str, list[Node]] = {}
    for node in nodes.values():
        for intent in node.intents:
            if intent not in TAXONOMY_INTENTS:
                err(node, f"intent {intent!r} is not in the NLU taxonomy")
            entries.setdefault(intent, []).append(node)
    for intent in TAXONOMY_INTENTS:
        owners = entries.get(intent, [])
        if not owners:
            err(None, f"intent {intent!r} has no entry node (add it to a node's 'intents:')")
        elif len(owners) > 1:
            names = ", ".join(f"{n.id} ({n.file})" for n in owners)
            err(owners[1], f"intent {intent!r} enters several nodes: {names}")

    # The vetted phone list: well-formed numbers, each re-checked within a year.
    for key, phone in content.phones.items():
        where = f"phones: {key} ({phone.what})"
        problems.extend(
            Problem(phone.file, None, f"{where}: {issue}")
            for _, issue in phone_numbers(key)
            if issue
        )
        if today - phone.reviewed > MAX_REVIEW_AGE:
            problems.append(
                Problem(phone.file, None, f"{where}: reviewed {phone.reviewed}, over a year ago")
            )

    # The console names topics and intents: each one needs a label in both languages.
    topic_labels = content.labels.get("topic", {})
    intent_labels = content.labels.get("intent", {})
    for node in nodes.values():
        for button in node.buttons:
            topic = button.args.get("topic") if button.action else None
            if topic is not None and str(topic) not in topic_labels:
                err(node, f"topic {topic!r} has no name under 'labels: topic:' (_meta.yml)")
    for intent in TAXONOMY_INTENTS:
        if intent not in intent_labels:
            err(None, f"intent {intent!r} has no name under 'labels: intent:' (_meta.yml)")

    # Refinements: a more precise node for an intent when her words name the topic.
    for node in nodes.values():
        if node.refines is not None and node.refines not in TAXONOMY_INTENTS:
            err(node, f"refines {node.refines!r}, which is not in the NLU taxonomy")

    # Placeholders.
    for name, spec in content.placeholders.items():
        if not _PLACEHOLDER_NAME_RE.match(name):
            err(None, f"placeholder name {name!r} must be lower-case letters, digits and _")
        if spec.template is not None:
            for lang in ("vi", "en"):
                if "{value}" not in spec.template.get(lang):
                    err(None, f"placeholder {name}: template ({lang}) lacks {{value}}")
        for lang in ("vi", "en"):
            for written, issue in phone_numbers(spec.default.get(lang)):
                if issue or phone_key(written) not in content.phones:
                    err(None, f"placeholder {name} ({lang}): number {written!r} is not vetted")

    for node in nodes.values():
        # Links.
        for target in _targets(content, node):
            if target not in nodes:
                err(node, f"leads to {target!r}, which does not exist")
        if not node.buttons and "show_menu" not in node.actions:
            err(node, "no buttons: every message needs a next step (add buttons or show_menu)")
        if node.collect and not node.buttons:
            err(node, "a node that asks for text needs a button to skip it")

        # Texts.
        for where, text in _all_texts(node):
            if len(text) > MAX_TEXT_CHARS:
                err(node, f"{where} has {len(text)} characters (Zalo's limit is {MAX_TEXT_CHARS})")
            elif len(text) > STYLE_TEXT_CHARS:
                err(
                    node,
                    f"{where} has {len(text)} characters; keep messages under {STYLE_TEXT_CHARS}",
                    "warning",
                )
            for found in _ANY_BRACES_RE.findall(text):
                if found not in content.placeholders:
                    known = ", ".join(sorted(content.placeholders)) or "none"
                    err(node, f"{where}: unknown placeholder {{{found}}} (known: {known})")
            for written, issue in phone_numbers(text):
                if issue:
                    err(node, f"{where}: phone number {written!r}: {issue}")
                elif phone_key(written) not in content.phones:
                    err(
                        node,
                        f"{where}: phone number {written!r} is not in the vetted list "
                        "(add it under 'phones:' with its source and review date)",
                    )
            shown = _with_defaults(content, text, "en" if where.endswith("(en)") else "vi")
            chars, lines = screen_size(shown)
            if chars > SCREEN_CHARS or lines > SCREEN_LINES:
                err(
                    node,
                    f"{where} is longer than one phone screen ({chars} characters, "
                    f"{lines} lines; at most {SCREEN_CHARS} and {SCREEN_LINES})",
                )
            if penalties(text) and not (node.source and _LAW_SOURCE_RE.search(node.source)):
                err(
                    node,
                    f"{where}: fine or prison range {penalties(text)[0]!r} needs a source "
                    "that names the law text (Decree 282/2025, Penal Code Art. …)",
                )
        if node.id.startswith("handoff_"):
            for where, text in _all_texts(node):
                if _ALARM_RE.search(text.split("\n", 1)[0]):
                    err(
                        node,
                        f"{where}: first line shows in notifications; keep it neutral",
                        "warning",
                    )

        # Facts need a source and a review date.
        if is_factual(node) and (not node.source or node.reviewed is None):
            err(node, "factual text (numbers or law) needs 'source' and 'reviewed' (a date)")
        elif node.source and node.reviewed is None:
            err(node, "'source' given without 'reviewed' (the date it was checked)")
        if node.reviewed is not None and today - node.reviewed > MAX_REVIEW_AGE:
            err(node, f"reviewed {node.reviewed}, over a year ago: re-check its facts")

        # Buttons.
        if len(node.buttons) > STYLE_MAX_BUTTONS:
            err(node, f"{len(node.buttons)} buttons; Zalo shows {STYLE_MAX_BUTTONS}", "warning")
        for button in node.buttons:
            payload = button.payload()
            if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
                err(node, f"button payload {payload!r} is longer than {MAX_PAYLOAD_BYTES} bytes")
            for lang in ("vi", "en"):
                label = button.label.get(lang)
                if len(label) > MAX_LABEL_CHARS:
                    err(
                        node,
                        f"button label {label!r} ({lang}) is longer than "
                        f"{MAX_LABEL_CHARS} characters",
                    )

    # Reachability: from intents, commands and the nodes the engine renders.
    roots = [n for n in SYSTEM_NODES if n in nodes] + [
        n.id for n in nodes.values() if n.intents or n.refines
    ]
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        current = todo.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        todo.extend(_targets(content, nodes[current]))
    for node in nodes.values():
        if node.id not in seen:
            err(node, "unreachable: no intent, button or command leads here")
    return problems


def check(flows_dir: str | Path | None = None) -> list[Problem]:
    """Load and validate; parse problems first, then the cross-node rules."""
    content, problems = load_content(flows_dir)
    if any(p.severity == "error" for p in problems):
        # Cross-node rules on a partial load would mostly repeat the same errors.
        return problems
    return problems + validate(content)
