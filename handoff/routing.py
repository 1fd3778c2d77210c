"""Which team covers the area she gave: fuzzy, accents optional.

People type ``phu hung``, ``P.Hưng`` or ``xa phu hung ben tre``; the team file
says ``Phú Hưng``. The NLU layer's ``nlu.areas.match_area`` knows Vietnamese
place names best and is used when present; until then (and if it raises) a
small accent-folding + rapidfuzz matcher does the job. When nothing matches,
the fallback team gets the request: no one is left without a team.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from handoff.teams import Team, TeamsConfig

log = logging.getLogger(__name__)

#: Minimum similarity (0-100) for the local matcher.
MIN_SCORE = 85
#: Administrative prefixes that people add or leave out.
_PREFIXES = re.compile(
    r"\b(xa|phuong|thi tran|quan|huyen|thi xa|thanh pho|tp|tinh|p|x|q|h|tt)\b\.?", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Route:
    team: Team
    #: The unit's official name (routing by code); for a plain name, the team's
    #: own spelling of the matched area, or the name given if unmatched.
    area: str
    matched: bool


def fold(text: str) -> str:
    """Lower case, no accents, đ → d, administrative prefixes dropped, single spaces."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    plain = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn").lower()
    plain = re.sub(r"[^\w\s]", " ", plain)
    plain = _PREFIXES.sub(" ", plain)
    return " ".join(plain.split())


def _local_match(text: str, candidates: list[str]) -> str | None:
    needle = fold(text)
    if not needle:
        return None
    folded = {c: fold(c) for c in candidates}
    # A whole candidate inside what she typed ("xa phu hung, ben tre"): longest wins.
    inside = [c for c, f in folded.items() if f and re.search(rf"\b{re.escape(f)}\b", needle)]
    if inside:
        return max(inside, key=lambda c: len(folded[c]))
    best = process.extractOne(
        needle, folded, scorer=fuzz.ratio, score_cutoff=MIN_SCORE, processor=None
    )
    if best is not None:
        return str(best[2])
    return None


def _nlu_match(text: str, candidates: list[str]) -> str | bool | None:
    """The NLU's matcher; ``False`` when it failed (the local matcher decides)."""
    from nlu.areas import match_area

    try:
        found = match_area(text, candidates)
    except Exception:  # a bug there must not stop her request; fall back
        log.exception("nlu.areas.match_area failed; using the local matcher")
        return False
    if found is None:
        return None
    return found.name if found.name in candidates else None


def _route_unit(code: str, config: TeamsConfig) -> Route:
    """Route by the unit understood at the area prompt: the team whose area names
    it beats a team covering its whole province; the first in the file wins a tie."""
    from nlu.areas import covers, describe, unit_by_code

    unit = unit_by_code(code)
    if unit is None:  # a code from an older list: nobody's area, but never lost
        return Route(config.fallback, "", False)
    best: tuple[int, Team] | None = None
    for team in config.teams:
        for area in team.areas:
            if area == "*":
                continue
            score = covers(area, unit)
            if score and (best is None or score > best[0]):
                best = (score, team)
    if best is not None:
        return Route(best[1], describe(unit), True)
    catch_all = next((t for t in config.teams if t.covers_everywhere), None)
    return Route(catch_all or config.fallback, describe(unit), False)


def route(area_text: str | None, config: TeamsConfig) -> Route:
    """The team for her area; the fallback team if none covers it or she skipped it.

    The flows pass the code of the unit she confirmed (``ward:00097``); the
    request then carries that unit's official name, never her words. A plain
    name (older callers, the command line) is still matched as text."""
    if area_text and area_text.startswith(("ward:", "province:", "old:")):
        try:
            return _route_unit(area_text, config)
        except Exception:  # a bug there must not stop her request
            log.exception("routing by unit failed; using the fallback team")
            return Route(config.fallback, "", False)
    fallback = config.fallback
    typed = " ".join((area_text or "").split())[:80]
    if not typed:
        return Route(fallback, "", False)
    owners: dict[str, Team] = {}
    for team in config.teams:
        for area in team.areas:
            if area != "*":
                owners.setdefault(area, team)
    candidates = list(owners)
    name: str | None = None
    if candidates:
        via_nlu = _nlu_match(typed, candidates)
        if via_nlu is False:
            name = _local_match(typed, candidates)
        elif isinstance(via_nlu, str):
            name = via_nlu
    if name is not None:
        return Route(owners[name], name, True)
    catch_all = next((t for t in config.teams if t.covers_everywhere), None)
    return Route(catch_all or fallback, typed, False)
