"""Reading the flow files: YAML → :class:`~responses.model.Content`.

Every problem is reported with the file and the node it was found in, because
the people fixing it edit YAML, not Python. Loading never stops at the first
problem: the staff get the whole list in one run of ``helpline content check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from responses.model import Content, Node, Phone, Placeholder, Text

#: The flow files shipped with the package.
DEFAULT_FLOWS_DIR = Path(__file__).resolve().parent / "flows"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (``error``) or worth a look (``warning``) in the content."""

    file: str
    node: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}: node {self.node}" if self.node else self.file
        return f"{self.severity.upper()} {where}: {self.message}"


class ContentError(ValueError):
    """The flow files are not usable; ``problems`` lists every error found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid helpline content ({len(problems)} problem(s)):\n{lines}")


class _FlowYamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans only: ``on:``, ``yes`` and ``no`` stay strings.

    PyYAML follows YAML 1.1, where the key ``on`` (used for yes/no transitions)
    and a Vietnamese-unfriendly ``no`` would silently become booleans.
    """


_FlowYamlLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}
_FlowYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _format_validation(err: ValidationError) -> list[str]:
    out = []
    for item in err.errors():
        loc = ".".join(str(p) for p in item["loc"])
        msg = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing" and item["loc"] and item["loc"][-1] in ("vi", "en"):
            msg = f"missing the {item['loc'][-1]!r} text"
        out.append(f"{loc}: {msg}" if loc else msg)
    return out


def load_content(flows_dir: str | Path | None = None) -> tuple[Content, list[Problem]]:
    """Parse every ``*.yml`` in ``flows_dir``; return what parsed and the problems met."""
    directory = Path(flows_dir) if flows_dir is not None else DEFAULT_FLOWS_DIR
    problems: list[Problem] = []
    nodes: dict[str, Node] = {}
    placeholders: dict[str, Placeholder] = {}
    phones: dict[str, Phone] = {}
    labels: dict[str, dict[str, Text]] = {}
    files = sorted([*directory.glob("*.yml"), *directory.glob("*.yaml")])
    if not directory.is_dir():
        problems.append(Problem(str(directory), None, "flows directory not found"))
    elif not files:
        problems.append(Problem(str(directory), None, "no flow files (*.yml) found"))
    for path in files:
        name = path.name
        try:
            data: Any = yaml.load(
                path.read_text(encoding="utf-8"), Loader=_FlowYamlLoader
            )  # a SafeLoader
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            problems.append(Problem(name, None, f"not valid YAML: {exc}"))
            continue
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(Problem(name, None, "a flow file is a mapping with 'nodes:'"))
            continue
        unknown = set(data) - {"nodes", "placeholders", "phones", "labels"}
        if unknown:
            problems.append(Problem(name, None, f"unknown top-level keys: {sorted(unknown)}"))
        for key, raw in (data.get("placeholders") or {}).items():
            try:
                placeholders[str(key)] = Placeholder.model_validate(raw)
            except ValidationError as exc:
                for msg in _format_validation(exc):
                    problems.append(Problem(name, None, f"placeholder {key}: {msg}"))
        _load_phones(name, data.get("phones"), phones, problems)
        _load_labels(name, data.get("labels"), labels, problems)
        raw_nodes = data.get("nodes") or {}
        if not isinstance(raw_nodes, dict):
            problems.append(Problem(name, None, "'nodes:' must map node ids to nodes"))
            continue
        for node_id, raw in raw_nodes.items():
            node_id = str(node_id)
            if node_id in nodes:
                problems.append(
                    Problem(name, node_id, f"duplicate node id (also in {nodes[node_id].file})")
                )
                continue
            if not isinstance(raw, dict):
                problems.append(Problem(name, node_id, "a node is a mapping (text, buttons...)"))
                continue
            try:
                nodes[node_id] = Node.model_validate({**raw, "id": node_id, "file": name})
            except ValidationError as exc:
                for msg in _format_validation(exc):
                    problems.append(Problem(name, node_id, msg))
    content = Content(nodes=nodes, placeholders=placeholders, phones=phones, labels=labels)
    return content, problems


def phone_key(written: str) -> str:
    """Digits only, +84 written as 0: the key of the vetted ``phones:`` list."""
    digits = re.sub(r"\D", "", written)
    if written.strip().startswith("+84"):
        digits = "0" + digits[2:]
    return digits


def _load_phones(name: str, raw: Any, phones: dict[str, Phone], problems: list[Problem]) -> None:
    """``phones:`` maps a number as written to what it is, its source and review date."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        problems.append(Problem(name, None, "'phones:' maps numbers to {what, source, reviewed}"))
        return
    for written, entry in raw.items():
        key = phone_key(str(written))
        if not key:
            problems.append(Problem(name, None, f"phones: {written!r} is not a number"))
            continue
        if key in phones:
            problems.append(Problem(name, None, f"phones: {written!r} is listed twice"))
            continue
        try:
            phones[key] = Phone.model_validate({**(entry or {}), "file": name})
        except ValidationError as exc:
            for msg in _format_validation(exc):
                problems.append(Problem(name, None, f"phones: {written}: {msg}"))


def _load_labels(
    name: str, raw: Any, labels: dict[str, dict[str, Text]], problems: list[Problem]
) -> None:
    """``labels:`` maps a kind (topic, intent, channel) to codes and their names."""
    if raw is None:
        return
    if not isinstance(raw, dict):
        problems.append(Problem(name, None, "'labels:' maps kinds to {code: {vi, en}}"))
        return
    for kind, codes in raw.items():
        if not isinstance(codes, dict):
            problems.append(Problem(name, None, f"labels: {kind}: map codes to {{vi, en}}"))
            continue
        for code, text in codes.items():
            try:
                labels.setdefault(str(kind), {})[str(code)] = Text.model_validate(text)
            except ValidationError as exc:
                for msg in _format_validation(exc):
                    problems.append(Problem(name, None, f"labels: {kind}.{code}: {msg}"))
