"""What the console shows for a request's topic and area, in the member's language.

Topics and intents are internal codes; the names come from the content
(``responses.labels``). The area is shown as the official 2025 unit it matches
(the team's own spelling, or the national list), never as free text she typed:
she may have typed her name or her phone number there.
"""

from __future__ import annotations

from collections.abc import Iterable

from responses.labels import label

#: Below this score a national-list match is not trusted.
MIN_AREA_SCORE = 90.0
UNMATCHED = {"vi": "chưa rõ khu vực", "en": "area not recognised"}


def topic_label(topic: str | None, language: str) -> str:
    return label("topic", topic, language)


def shown_area(area: str | None, team_areas: Iterable[str], language: str) -> str:
    """The matched official unit ("Phường Bến Tre, Vĩnh Long"), or a neutral "unknown"."""
    if not area or not area.strip():  # she skipped the question or named no known place
        return UNMATCHED.get(language, UNMATCHED["vi"])
    if area in set(team_areas):
        return area  # routing matched it to the team's own spelling
    from nlu.areas import match_area

    found = match_area(area, None)
    if found is None or found.score < MIN_AREA_SCORE:
        return UNMATCHED.get(language, UNMATCHED["vi"])
    if found.province and found.province != found.name:
        return f"{found.name}, {found.province}"
    return found.name


def relabel(counts: dict[str, object], kind: str, language: str) -> dict[str, object]:
    """A stats table keyed by names instead of codes (order kept)."""
    return {label(kind, code, language) or code: n for code, n in counts.items()}
