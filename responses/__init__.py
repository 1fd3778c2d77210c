"""Scripted flows and every text the bot sends, as YAML in Vietnamese and English.

``load_runner()`` is the one entry point the engine needs: it loads the flow
files, refuses to start on invalid content (a dead button or a wrong phone
number must never reach a person in danger), and returns a
:class:`~responses.runner.Runner` implementing ``bot.interfaces.FlowRunner``.
"""

from __future__ import annotations

from pathlib import Path

from responses.loader import ContentError, Problem, load_content
from responses.runner import Runner
from responses.validate import validate

__all__ = ["ContentError", "Problem", "Runner", "load_runner"]


def load_runner(flows_dir: str | Path | None = None) -> Runner:
    """Load and validate the flows (packaged ones by default); raise ContentError if invalid."""
    content, problems = load_content(flows_dir)
    if not any(p.severity == "error" for p in problems):
        problems += validate(content)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ContentError(errors)
    return Runner(content)
