"""Reader and writer for Rasa's NLU training data (YAML, version "3.1").

We keep Rasa's format so the same files can train a real Rasa server (the
remote backend) and our embedded classifier.  The reader walks PyYAML's node
tree rather than plain dicts so that every error names the file and line.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode


class TrainingDataError(ValueError):
    """A training file is malformed; the message names the file and the line."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


class TrainingDataWarning(UserWarning):
    """Something Rasa would accept with a warning (the message names file and line)."""


def _warn(path: str, line: int, message: str) -> None:
    warnings.warn(TrainingDataWarning(f"{path}:{line}: {message}"), stacklevel=3)


@dataclass(slots=True)
class Example:
    text: str
    intent: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None


@dataclass(slots=True)
class TrainingData:
    examples: list[Example] = field(default_factory=list)
    #: entity text (lower-case) → canonical value
    synonyms: dict[str, str] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    lookups: dict[str, list[str]] = field(default_factory=dict)

    def merge(self, other: TrainingData) -> None:
        self.examples.extend(other.examples)
        self.synonyms.update(other.synonyms)
        for name, pats in other.regexes.items():
            self.regexes.setdefault(name, []).extend(pats)
        for name, items in other.lookups.items():
            self.lookups.setdefault(name, []).extend(items)

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})


# [text](entity) / [text](entity:value) / [text]{"entity": ..., "value": ...}
_ENTITY_RE = re.compile(
    r"\[(?P<text>[^\]]+?)\]"
    r"(?:\((?P<entity>[^:)]+?)(?::(?P<value>[^)]+))?\)|(?P<dict>\{[^}]+?\}))"
)
_IGNORED_KEYS = {
    "version",
    "stories",
    "rules",
    "responses",
    "intents",
    "entities",
    "slots",
    "forms",
    "actions",
    "session_config",
    "e2e_actions",
    "test_stories",
    "config",
    "domain",
}


def parse_annotated(
    text: str, where: tuple[str, int] = ("<string>", 0)
) -> tuple[str, list[dict[str, Any]]]:
    """Turn ``I live in [Ba Đình](area)`` into plain text plus entity spans."""
    entities: list[dict[str, Any]] = []
    out: list[str] = []
    pos = 0
    for m in _ENTITY_RE.finditer(text):
        out.append(text[pos : m.start()])
        start = sum(len(p) for p in out)
        surface = m.group("text")
        ent: dict[str, Any] = {"start": start, "end": start + len(surface), "value": surface}
        if m.group("dict"):
            try:
                spec = json.loads(m.group("dict"))
            except json.JSONDecodeError as exc:
                raise TrainingDataError(
                    where[0], where[1], f"bad entity annotation {m.group('dict')!r}: {exc.msg}"
                ) from None
            if not isinstance(spec, dict) or "entity" not in spec:
                raise TrainingDataError(
                    where[0],
                    where[1],
                    f"entity annotation needs an 'entity' key: {m.group('dict')!r}",
                )
            ent["entity"] = str(spec["entity"])
            for key in ("value", "role", "group"):
                if key in spec:
                    ent[key] = str(spec[key])
        else:
            ent["entity"] = m.group("entity").strip()
            if m.group("value"):
                ent["value"] = m.group("value").strip()
        entities.append(ent)
        out.append(surface)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), entities


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _scalar(node: Node, path: str, what: str) -> str:
    if not isinstance(node, ScalarNode):
        raise TrainingDataError(path, _line(node), f"{what} must be a string")
    return str(node.value)


def _example_lines(node: Node, path: str) -> list[tuple[str, int, dict[str, Any] | None]]:
    """The ``examples:`` value: a ``|`` block of ``- text`` lines, or a list of ``text:`` maps."""
    result: list[tuple[str, int, dict[str, Any] | None]] = []
    if isinstance(node, ScalarNode):
        # A block scalar's content starts on the line after its "|" indicator.
        first = node.start_mark.line + (2 if node.style in ("|", ">") else 1)
        for i, raw in enumerate(str(node.value).splitlines()):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not line.startswith("- "):
                # Rasa skips such a line with a warning; so do we.
                _warn(path, first + i, f"example without '- ' skipped: {line[:60]!r}")
                continue
            result.append((line[2:].strip(), first + i, None))
        return result
    if isinstance(node, SequenceNode):
        for item in node.value:
            if isinstance(item, MappingNode):
                fields = {_scalar(k, path, "key"): v for k, v in item.value}
                if "text" not in fields:
                    raise TrainingDataError(path, _line(item), "example entry needs 'text'")
                text = _scalar(fields["text"], path, "text").strip()
                meta = (
                    yaml.safe_load(yaml.serialize(fields["metadata"]))
                    if "metadata" in fields
                    else None
                )
                result.append((text, _line(item), meta))
            else:
                result.append((_scalar(item, path, "example").strip(), _line(item), None))
        return result
    raise TrainingDataError(path, _line(node), "'examples' must be a '|' block or a list")


def loads(content: str, path: str = "<string>") -> TrainingData:
    """Parse one Rasa YAML document; stories/rules/responses are ignored."""
    data = TrainingData()
    try:
        root = yaml.compose(content, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise TrainingDataError(path, line, f"invalid YAML: {exc.problem or exc}") from None
    if root is None:
        return data
    if not isinstance(root, MappingNode):
        raise TrainingDataError(path, _line(root), "top level must be a mapping (version:, nlu:)")
    for key_node, value_node in root.value:
        key = _scalar(key_node, path, "top-level key")
        if key == "nlu":
            if isinstance(value_node, ScalarNode) and value_node.tag.endswith(":null"):
                continue  # "nlu:" with nothing under it: no items
            if not isinstance(value_node, SequenceNode):
                raise TrainingDataError(path, _line(value_node), "'nlu' must be a list")
            for block in value_node.value:
                _read_block(block, path, data)
        elif key not in _IGNORED_KEYS:
            raise TrainingDataError(path, _line(key_node), f"unknown top-level key {key!r}")
    return data


def _read_block(block: Node, path: str, data: TrainingData) -> None:
    if not isinstance(block, MappingNode):
        raise TrainingDataError(path, _line(block), "each 'nlu' item must be a mapping")
    fields: dict[str, Node] = {}
    for k, v in block.value:
        key = _scalar(k, path, "key")
        if key in fields:
            # YAML keeps the last one; the first block of examples would be lost unseen.
            _warn(path, _line(k), f"duplicate key {key!r}: only the last one is used")
        fields[key] = v
    kinds = [k for k in ("intent", "synonym", "regex", "lookup") if k in fields]
    if len(kinds) != 1:
        raise TrainingDataError(
            path, _line(block), "item needs exactly one of intent/synonym/regex/lookup"
        )
    kind = kinds[0]
    name = _scalar(fields[kind], path, kind).strip()
    if not name:
        raise TrainingDataError(path, _line(fields[kind]), f"empty {kind} name")
    if "examples" not in fields:
        raise TrainingDataError(path, _line(block), f"{kind} {name!r} has no 'examples'")
    lines = _example_lines(fields["examples"], path)
    if not lines:
        _warn(path, _line(block), f"{kind} {name!r} has no examples")
    if kind == "intent":
        for text, line, meta in lines:
            plain, entities = parse_annotated(text, (path, line))
            if not plain.strip():
                raise TrainingDataError(path, line, "empty example")
            data.examples.append(Example(plain, name, entities, meta))
    elif kind == "synonym":
        for text, _, _ in lines:
            data.synonyms[text.lower()] = name
    elif kind == "regex":
        for text, line, _ in lines:
            try:
                re.compile(text)
            except re.error as exc:
                raise TrainingDataError(path, line, f"bad regex: {exc}") from None
            data.regexes.setdefault(name, []).append(text)
    else:
        data.lookups.setdefault(name, []).extend(t for t, _, _ in lines)


def load(path: str | Path) -> TrainingData:
    p = Path(path)
    return loads(p.read_text(encoding="utf-8"), str(p))


def data_files(path: str | Path) -> list[Path]:
    """A file, or every ``*.yml``/``*.yaml`` under a folder, sorted for stable hashing."""
    p = Path(path)
    if p.is_file():
        return [p]
    return sorted(f for f in p.rglob("*") if f.suffix in (".yml", ".yaml") and f.is_file())


def load_dir(path: str | Path) -> TrainingData:
    data = TrainingData()
    for f in data_files(path):
        data.merge(load(f))
    # Entity synonyms from annotations ([ck](who:chồng)) count like synonym blocks.
    for ex in data.examples:
        for ent in ex.entities:
            surface = ex.text[ent["start"] : ent["end"]]
            if ent.get("value") and ent["value"] != surface:
                data.synonyms.setdefault(surface.lower(), ent["value"])
    return data


# --- writer ------------------------------------------------------------------


def annotate(example: Example) -> str:
    """Put entity annotations back into an example's text."""
    text = example.text
    for ent in sorted(example.entities, key=lambda e: e["start"], reverse=True):
        surface = text[ent["start"] : ent["end"]]
        extra: dict[str, Any] = {k: ent[k] for k in ("role", "group") if k in ent}
        if extra:
            spec: dict[str, Any] = {"entity": ent["entity"], **extra}
            if ent.get("value") != surface:
                spec["value"] = ent["value"]
            mark = f"[{surface}]{json.dumps(spec, ensure_ascii=False)}"
        elif ent.get("value") and ent["value"] != surface:
            mark = f"[{surface}]({ent['entity']}:{ent['value']})"
        else:
            mark = f"[{surface}]({ent['entity']})"
        text = text[: ent["start"]] + mark + text[ent["end"] :]
    return text


def _block(lines: Iterable[str]) -> str:
    return "".join(f"      - {line}\n" for line in lines)


def dumps(data: TrainingData) -> str:
    """Serialise to Rasa YAML 3.1 (``examples: |`` blocks), readable by Rasa and
    by :func:`loads`."""
    out = ['version: "3.1"\n']
    if data.examples or data.synonyms or data.regexes or data.lookups:
        out.append("nlu:\n")
    by_intent: dict[str, list[Example]] = {}
    for ex in data.examples:
        by_intent.setdefault(ex.intent, []).append(ex)
    for intent, exs in by_intent.items():
        out.append(f"  - intent: {intent}\n    examples: |\n")
        out.append(_block(annotate(e).replace("\n", " ") for e in exs))
    by_value: dict[str, list[str]] = {}
    for surface, value in data.synonyms.items():
        by_value.setdefault(value, []).append(surface)
    for value, surfaces in by_value.items():
        out.append(f"  - synonym: {json.dumps(value, ensure_ascii=False)}\n    examples: |\n")
        out.append(_block(surfaces))
    for name, pats in data.regexes.items():
        out.append(f"  - regex: {name}\n    examples: |\n")
        out.append(_block(pats))
    for name, items in data.lookups.items():
        out.append(f"  - lookup: {name}\n    examples: |\n")
        out.append(_block(items))
    return "".join(out)


def dump(data: TrainingData, path: str | Path) -> None:
    Path(path).write_text(dumps(data), encoding="utf-8")
