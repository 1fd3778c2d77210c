"""Fixtures for the responses tests: the real packaged content, loaded once."""

from __future__ import annotations

import pytest

from responses import Runner, load_runner
from tests.responses.flowchat import Chat


@pytest.fixture(scope="session")
def runner() -> Runner:
    return load_runner()


@pytest.fixture
def chat(runner: Runner) -> Chat:
    return Chat(runner)
