"""Names for internal codes (topics, intents, channels), from the content's ``labels:``.

The console and ``/team/stats`` show "Violence at home" / "Bạo lực trong gia
đình", not ``violence_home``. The names live with the other texts (in
``flows/_meta.yml``) so that the programme's staff edit them in one place.
"""

from __future__ import annotations

from functools import lru_cache

from responses.loader import load_content
from responses.model import Text


@lru_cache(maxsize=1)
def _labels() -> dict[str, dict[str, Text]]:
    content, _problems = load_content()
    return dict(content.labels)


def label(kind: str, code: str | None, language: str) -> str:
    """The name of ``code`` in the member's language; the code itself if none is written."""
    if not code:
        return ""
    text = _labels().get(kind, {}).get(code)
    return text.get(language) if text is not None else code
