"""Fixtures for the responses tests: the real packaged content, loaded once."""

from __future__ import annotations

import pytest
from flowchat import Chat

from responses import Runner, load_runner


@pytest.fixture(scope="session")
def runner() -> Runner:
    return load_runner()


@pytest.fixture
def chat(runner: Runner) -> Chat:
    return Chat(runner)
