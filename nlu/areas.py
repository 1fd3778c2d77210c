"""Area names: Viet Nam's current provinces, wards and communes, found in text.

Handoff routes a request to the team that covers the user's commune, so we
need ``xa muong nhe``, ``Xã Mường Nhé`` and ``xã Mương Nhe`` to meet.  The
national list comes from the ``vietnam-provinces`` package (the 2025 two-tier
units: 34 provinces, ~3,300 wards/communes), never a hand list; a few former
province names and nicknames are mapped to the province that absorbed them.

Many ward names are ordinary words (Hòa Bình, Thống Nhất, Tân Tiến), so inside a
free message a name only counts after a marker (xã, phường, tỉnh, ở, tại...) or
when it is an exact multi-syllable province name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from .normalize import fold


@dataclass(frozen=True, slots=True)
class AreaMatch:
    name: str  # canonical, with accents ("Xã Mường Nhé")
    kind: str  # province / ward / commune / custom
    score: float  # 0-100
    province: str | None = None
    start: int | None = None  # span in the text, when it came from one
    end: int | None = None


@dataclass(frozen=True, slots=True)
class _Unit:
    name: str
    kind: str
    province: str | None


_PREFIXES = (
    "thanh pho ",
    "tinh ",
    "phuong ",
    "xa ",
    "dac khu ",
    "tp ",
    "tp. ",
    "thi tran ",
    "thi xa ",
    "quan ",
    "huyen ",
)

#: Former provinces (merged in 2025) and nicknames → current province code.
_ALIASES = {
    "ha giang": 8,
    "yen bai": 15,
    "bac kan": 19,
    "bac can": 19,
    "vinh phuc": 25,
    "hoa binh": 25,
    "bac giang": 24,
    "thai binh": 33,
    "hai duong": 31,
    "ha nam": 37,
    "nam dinh": 37,
    "quang binh": 44,
    "quang nam": 48,
    "kon tum": 51,
    "binh dinh": 52,
    "ninh thuan": 56,
    "dak nong": 68,
    "binh thuan": 68,
    "phu yen": 66,
    "binh duong": 79,
    "ba ria vung tau": 79,
    "vung tau": 79,
    "binh phuoc": 75,
    "long an": 80,
    "soc trang": 92,
    "hau giang": 92,
    "ben tre": 86,
    "tra vinh": 86,
    "tien giang": 82,
    "bac lieu": 96,
    "kien giang": 91,
    "sai gon": 79,
    "tphcm": 79,
    "hcm": 79,
    "ho chi minh": 79,
    "hanoi": 1,
    "saigon": 79,
    "danang": 48,
    "hue": 46,
}


def _key(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", fold(unicodedata.normalize("NFC", text)).lower()))


def _strip_prefix(key: str) -> str:
    for p in _PREFIXES:
        if key.startswith(p) and len(key) > len(p):
            return key[len(p) :]
    return key


class _Index:
    """Folded name → units, built once from vietnam-provinces."""

    def __init__(self) -> None:
        from vietnam_provinces import Province, Ward

        self.by_key: dict[str, list[_Unit]] = {}
        provinces = {int(p.code): p for p in Province.iter_all()}
        for p in provinces.values():
            self._add(_strip_prefix(_key(p.name)), _Unit(p.name, "province", p.name))
        for alias, code in _ALIASES.items():
            merged = provinces.get(code)
            if merged is not None:
                self._add(alias, _Unit(merged.name, "province", merged.name))
        for w in Ward.iter_all():
            kind = "ward" if w.division_type.value == "phường" else "commune"
            prov = provinces[int(w.province_code)].name
            self._add(_strip_prefix(_key(w.name)), _Unit(w.name, kind, prov))
        self.province_keys = {
            k for k, units in self.by_key.items() if any(u.kind == "province" for u in units)
        }
        # Without a marker only current names count: "hòa bình" is also the word "peace".
        self.bare_province_keys = {_strip_prefix(_key(p.name)) for p in provinces.values()} | {
            "sai gon",
            "tphcm",
            "ho chi minh",
        }
        self.keys_by_len: dict[int, list[str]] = {}
        for k in self.by_key:
            self.keys_by_len.setdefault(len(k.split()), []).append(k)

    def _add(self, key: str, unit: _Unit) -> None:
        units = self.by_key.setdefault(key, [])
        if unit not in units:
            units.append(unit)


@lru_cache(maxsize=1)
def _index() -> _Index:
    return _Index()


def warm_up() -> None:
    """Build the national index (~60 ms) ahead of the first message."""
    _index()


# Markers before a place name; the value says which kind of unit they point to.
_MARKERS = {
    "xa": "commune",
    "phuong": "ward",
    "tinh": "province",
    "thanh pho": "province",
    "tp": "province",
    "dac khu": "commune",
    "thi tran": "commune",
    "thi xa": "ward",
    "huyen": "any",
    "quan": "any",
    "o": "loose",
    "tai": "loose",
    "song o": "loose",
    "que": "loose",
    "den tu": "loose",
    "in": "loose",
    "at": "loose",
    "from": "loose",
    "near": "loose",
    "province": "province",
    "commune": "commune",
    "ward": "ward",
    "city": "province",
}
_MARKER_RE = re.compile(
    r"\b(" + "|".join(sorted((re.escape(m) for m in _MARKERS), key=len, reverse=True)) + r")\b"
)


def _fold_aligned(text: str) -> str:
    """Fold accents and case one character at a time, so offsets stay valid."""
    out = []
    for ch in text:
        f = fold(ch).lower()
        out.append(f if len(f) == 1 else " ")
    return "".join(out)


def _pick(units: list[_Unit], context_provinces: set[str], want: str) -> tuple[_Unit, str | None]:
    if want in ("province", "ward", "commune"):
        preferred = [u for u in units if u.kind == want] or units
    else:
        preferred = units
    if context_provinces:
        local = [u for u in preferred if u.province in context_provinces and u.kind != "province"]
        if local:
            preferred = local
    unit = preferred[0]
    provinces = {u.province for u in preferred}
    return unit, unit.province if len(provinces) == 1 else None


def find_areas(text: str, fuzzy: bool = True) -> list[AreaMatch]:
    """Every place name that clearly occurs in a message, with its span."""
    idx = _index()
    text = unicodedata.normalize("NFC", text[:2000])
    folded = _fold_aligned(text)
    toks = [(m.group(0), m.start(), m.end()) for m in re.finditer(r"[a-z0-9]+", folded)]
    if not toks:
        return []
    words = [t[0] for t in toks]
    found: list[tuple[int, int, _Unit, float, str]] = []  # tok_start, tok_end, unit, score, want

    # Provinces mentioned anywhere (exact, ≥2 syllables) give context for ambiguous wards.
    for i in range(len(words)):
        for n in (4, 3, 2):
            key = " ".join(words[i : i + n])
            if len(words[i : i + n]) == n and key in idx.bare_province_keys:
                units = [u for u in idx.by_key[key] if u.kind == "province"]
                found.append((i, i + n, units[0], 100.0, "province"))
                break
    context = {f[2].province for f in found if f[2].province}

    pos_to_tok = {t[1]: k for k, t in enumerate(toks)}
    for m in _MARKER_RE.finditer(folded):
        if m.start() not in pos_to_tok:
            continue
        want = _MARKERS[m.group(1)]
        first = pos_to_tok[m.start()] + len(m.group(1).split())
        best: tuple[int, int, _Unit, float, str] | None = None
        for n in (4, 3, 2, 1):
            span = words[first : first + n]
            if len(span) < n:
                continue
            key = " ".join(span)
            if key in idx.by_key and (want != "loose" or n >= 2 or key in idx.province_keys):
                unit, _ = _pick(idx.by_key[key], context, want)
                best = (first, first + n, unit, 100.0, want)
                break
        if best is None and fuzzy and want not in ("loose",):
            for n in (3, 2):
                span = words[first : first + n]
                if len(span) < n or sum(len(w) for w in span) < 5:
                    continue
                hit = process.extractOne(
                    " ".join(span), idx.keys_by_len.get(n, []), scorer=fuzz.ratio, score_cutoff=86
                )
                if hit:
                    unit, _ = _pick(idx.by_key[hit[0]], context, want)
                    best = (first, first + n, unit, float(hit[1]), want)
                    break
        if best is not None:
            found.append(best)

    results: list[AreaMatch] = []
    taken: set[int] = set()
    for i, j, unit, score, want in sorted(found, key=lambda f: (-(f[1] - f[0]), f[0])):
        if taken & set(range(i, j)):
            continue
        taken.update(range(i, j))
        units = idx.by_key[" ".join(words[i:j])] if score == 100.0 else [unit]
        _, prov = _pick(units, context, want)
        if unit.kind == "province":
            prov = unit.name
        results.append(AreaMatch(unit.name, unit.kind, score, prov, toks[i][1], toks[j - 1][2]))
    return sorted(results, key=lambda a: a.start or 0)


def entities(text: str) -> list[dict]:
    """``area`` entities in Rasa's shape for a parse result."""
    out = []
    for a in find_areas(text):
        ent = {
            "entity": "area",
            "value": a.name,
            "start": a.start,
            "end": a.end,
            "confidence_entity": round(a.score / 100.0, 3),
            "extractor": "HelplineAreaExtractor",
        }
        if a.province and a.kind != "province":
            ent["province"] = a.province
        out.append(ent)
    return out


def _windows(words: list[str], n: int) -> Iterable[tuple[int, str]]:
    for i in range(len(words) - n + 1):
        yield i, " ".join(words[i : i + n])


def match_area(text: str, candidates: Iterable[str] | None = None) -> AreaMatch | None:
    """Best area for a user's answer, e.g. to "which commune are you in?".

    ``candidates`` are the team area names from the teams config: the answer is
    matched against them (accent-insensitive, fuzzy) and the candidate's own
    spelling is returned.  ``None`` means the national list.  Lenient: a bare
    answer like ``ba dinh`` needs no marker.
    """
    if not text or not text.strip():
        return None
    text = text[:500]
    if candidates is not None:
        return _match_candidates(text, list(candidates))
    found = find_areas(text)
    non_province = [a for a in found if a.kind != "province"]
    if non_province:
        return non_province[0]
    idx = _index()
    words = _key(text).split()
    context = {a.name for a in found}
    for n in (4, 3, 2, 1):
        for _, key in _windows(words, n):
            if key in idx.by_key and key not in idx.province_keys:
                unit, prov = _pick(idx.by_key[key], context, "any")
                return AreaMatch(unit.name, unit.kind, 100.0, prov)
    if found:
        return found[0]
    stripped = _strip_prefix(" ".join(words))
    n = len(stripped.split())
    if 1 <= n <= 4 and len(stripped) >= 4:
        hit = process.extractOne(
            stripped, idx.keys_by_len.get(n, []), scorer=fuzz.ratio, score_cutoff=85
        )
        if hit:
            unit, prov = _pick(idx.by_key[hit[0]], context, "any")
            return AreaMatch(unit.name, unit.kind, float(hit[1]), prov)
    return None


def _resolve(name: str) -> tuple[str, str | None]:
    """Kind and province of a team's area name, when it is a national unit."""
    idx = _index()
    key = _key(name)
    bare = _strip_prefix(key)
    units = idx.by_key.get(bare, [])
    full = [u for u in units if _key(u.name) == key]
    units = full or units
    if len(units) == 1 or (units and len({u.province for u in units}) == 1):
        return units[0].kind, units[0].province
    return "custom", None


def _match_candidates(text: str, candidates: list[str]) -> AreaMatch | None:
    if not candidates:
        return None
    words = _key(text).split()
    joined = " ".join(words)
    best: tuple[float, str] | None = None
    for cand in candidates:
        ckey = _key(
            re.sub(r"\(.*?\)", " ", cand)
        )  # "Khu Đông (thí điểm)": the note is not the name
        bare = _strip_prefix(ckey)
        for k in {ckey, bare}:
            if not k:
                continue
            if re.search(rf"\b{re.escape(k)}\b", joined):
                score = 100.0
            else:
                n = len(k.split())
                scores = [fuzz.ratio(k, w) for _, w in _windows(words, n)] + [
                    fuzz.ratio(k, _strip_prefix(joined))
                ]
                score = max(scores) if scores else 0.0
            if (
                best is None
                or score > best[0]
                or (score == best[0] and len(k) > len(_key(best[1])))
            ):
                best = (score, cand)
    if best is None or best[0] < 80:
        return None
    kind, prov = _resolve(best[1])
    return AreaMatch(best[1], kind, best[0], prov)
