"""One trained backend for the whole NLU test session (training takes ~2 s)."""

from __future__ import annotations

import pytest

from nlu.engine import EmbeddedBackend


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedBackend:
    return EmbeddedBackend(cache_dir=tmp_path_factory.mktemp("nlu-cache"))
