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
from typing import Any

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
    #: Stable id of a national unit: ``ward:00097`` / ``province:01`` (GSO codes).
    code: str | None = None
    #: The pre-2025 address she wrote was converted to this unit.
    converted: bool = False


@dataclass(frozen=True, slots=True)
class _Unit:
    name: str
    kind: str
    province: str | None
    code: str | None = None


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


def _pcode(province: Any) -> str:
    return f"province:{int(province.code):02d}"


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
        #: (folded ward name with its prefix, folded province) → unit, for converted names.
        self.by_full_name: dict[tuple[str, str], _Unit] = {}
        provinces = {int(p.code): p for p in Province.iter_all()}
        for p in provinces.values():
            self._add(_strip_prefix(_key(p.name)), _Unit(p.name, "province", p.name, _pcode(p)))
        for alias, code in _ALIASES.items():
            merged = provinces.get(code)
            if merged is not None:
                self._add(alias, _Unit(merged.name, "province", merged.name, _pcode(merged)))
        self.by_code: dict[str, _Unit] = {}
        for units in self.by_key.values():
            for u in units:
                self.by_code[str(u.code)] = u
        for w in Ward.iter_all():
            kind = "ward" if w.division_type.value == "phường" else "commune"
            prov = provinces[int(w.province_code)].name
            unit = _Unit(w.name, kind, prov, f"ward:{int(w.code):05d}")
            self._add(_strip_prefix(_key(w.name)), unit)
            self.by_code[str(unit.code)] = unit
            self.by_full_name[(_key(w.name), _strip_prefix(_key(prov)))] = unit
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
    """Build the national index (~60 ms) ahead of the first message, and start
    building the pre-2025 converter's index in the background (a few seconds)."""
    from . import old_areas

    _index()
    old_areas.warm_up()


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
        results.append(
            AreaMatch(unit.name, unit.kind, score, prov, toks[i][1], toks[j - 1][2], unit.code)
        )
    return sorted(results, key=lambda a: a.start or 0)


def entities(text: str) -> list[dict[str, Any]]:
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
                return AreaMatch(unit.name, unit.kind, 100.0, prov, code=unit.code)
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
            return AreaMatch(unit.name, unit.kind, float(hit[1]), prov, code=unit.code)
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


# ---------------------------------------------------------------- area prompt
#
# At "which commune/ward?" her reply is read as a place first: a real unit's
# name is the answer whatever words it holds (Phường An Cựu, Xã Khả Cửu, Phường
# Hưng Đạo...). Only danger in what is left once the place names are taken out
# overrides it ("xã Khả Cửu, cứu tôi" is still an emergency).

#: Names of today's cities that are no sign of an old-style address.
_NICKNAMES = {"sai gon", "saigon", "tphcm", "hcm", "ho chi minh", "hanoi", "danang", "hue"}
#: District markers: districts were abolished in 2025, so these are old addresses.
_DISTRICT_WORDS = {"quan", "huyen"}
_MARKER_WORDS = {
    "xa",
    "phuong",
    "tinh",
    "thanh",
    "pho",
    "tp",
    "thi",
    "tran",
    "quan",
    "huyen",
    "dac",
    "khu",
    "p",
    "x",
    "q",
    "h",
    "tt",
}


def unit_by_code(code: str | None) -> AreaMatch | None:
    """The unit behind a stored code (``ward:00097``, ``province:01``, ``old:phu hung``)."""
    if code and code.startswith("old:"):
        return _old_name(code[4:].split())
    unit = _index().by_code.get(code or "")
    if unit is None:
        return None
    return AreaMatch(unit.name, unit.kind, 100.0, unit.province, code=unit.code)


def describe(unit: AreaMatch) -> str:
    """Official name with its province: "Phường Hồng Hà, Thành phố Hà Nội"."""
    if unit.kind == "old" or not unit.province:
        return unit.name
    province = unit.province
    if not province.startswith(("Thành phố", "Tỉnh")):
        province = f"Tỉnh {province}"
    return province if unit.kind == "province" else f"{unit.name}, {province}"


def _former_provinces() -> set[str]:
    idx = _index()
    return {a for a in _ALIASES if a not in idx.bare_province_keys and a not in _NICKNAMES}


def _opens_name(words: list[str], i: int) -> bool:
    """Whether word ``i`` is a marker opening a name ("xá" of "Phúc Xá" is not one)."""
    if i < 0 or words[i] not in _MARKER_WORDS:
        return False
    if words[i] in ("xa", "tran", "pho", "khu"):
        return i == 0 or words[i - 1] in ("thi", "thanh", "dac")
    return True


def _looks_old(words: list[str]) -> bool:
    """A district ("quận Ba Đình", not "xã Quan Sơn") or a former province named."""
    for i, w in enumerate(words):
        if w in _DISTRICT_WORDS and not _opens_name(words, i - 1):
            return True
        if w == "thi" and i + 1 < len(words) and words[i + 1] == "xa":
            return True
    joined = f" {' '.join(words)} "
    return any(f" {name} " in joined for name in _former_provinces())


def _province_hint(words: list[str]) -> str | None:
    """The last province-like name (current, former or nickname) in her words."""
    idx = _index()
    best: tuple[int, str] | None = None
    for n in (4, 3, 2, 1):
        for i, key in _windows(words, n):
            if (
                key in idx.province_keys
                and (n > 1 or key in _NICKNAMES)
                and (best is None or i > best[0])
            ):
                best = (i, key)
    return best[1] if best else None


_WANT = {
    "xa": "commune",
    "phuong": "ward",
    "tinh": "province",
    "thanh pho": "province",
    "tp": "province",
    "thi tran": "commune",
    "dac khu": "commune",
}


def _whole_name(words: list[str]) -> AreaMatch | None:
    """Her whole reply is one of today's names ("Phường An Cựu", "kha cuu")."""
    idx = _index()
    joined = " ".join(words)
    bare = joined if joined in idx.by_key else _strip_prefix(joined)  # "Quân Chu" is a name
    units = idx.by_key.get(bare)
    if not units:
        return None
    marker = joined[: len(joined) - len(bare)].strip()
    exact = [u for u in units if _key(u.name) == joined]  # "Xã Cô Tô", not "Đặc khu Cô Tô"
    unit, _ = _pick(exact or units, set(), _WANT.get(marker, "any"))
    return AreaMatch(unit.name, unit.kind, 100.0, unit.province, code=unit.code)


def _from_converted(text: str, words: list[str]) -> AreaMatch | None:
    from . import old_areas

    found = old_areas.convert(text, _province_hint(words))
    if found is None:
        return None
    idx = _index()
    province_key = _strip_prefix(_key(found.province))
    if found.ward:
        unit = idx.by_full_name.get((_key(found.ward), province_key))
        if unit is not None:
            return AreaMatch(
                unit.name, unit.kind, 100.0, unit.province, code=unit.code, converted=True
            )
    provinces = [u for u in idx.by_key.get(province_key, []) if u.kind == "province"]
    if provinces:
        p = provinces[0]
        return AreaMatch(p.name, "province", 100.0, p.name, code=p.code, converted=True)
    return None


def read_area(text: str) -> AreaMatch | None:
    """Her answer at the area prompt → one unit with its code and province, or None."""
    found = _read_area(text)
    if found is None or not found.code or found.kind == "old":
        return found
    unit = _index().by_code.get(found.code)
    if unit is None:
        return found
    return AreaMatch(
        unit.name, unit.kind, found.score, unit.province, code=unit.code, converted=found.converted
    )


def _read_area(text: str) -> AreaMatch | None:
    """Today's names are read first. An old-style address (a district, a former
    province) or a name that today's list does not know goes through the
    pre-2025 converter (:mod:`nlu.old_areas`), so ``Phường Phúc Xá, quận Ba
    Đình, Hà Nội`` becomes Phường Hồng Hà, not a look-alike elsewhere."""
    text = " ".join((text or "").split())[:300]
    words = _key(text).split()
    if not words:
        return None
    whole = _whole_name(words)
    if whole is not None:
        return whole
    old = _looks_old(words)
    if old:
        converted = _from_converted(text, words)
        if converted is not None and converted.kind != "province":
            return converted
    current = match_area(text)
    named = {a.province for a in find_areas(text, fuzzy=False) if a.kind == "province"}
    if current is not None and current.kind != "province" and named:
        unit = _index().by_code.get(current.code or "")
        if unit is None or unit.province not in named:
            # "Xã Tân Lập, Phú Thọ": no Tân Lập in Phú Thọ today, so an old name.
            converted = _from_converted(text, words)
            if converted is not None:
                return converted
            province = next(a for a in find_areas(text, fuzzy=False) if a.kind == "province")
            return unit_by_code(province.code)
    if current is not None and current.code and current.kind != "province" and current.score >= 100:
        return current
    converted = _from_converted(text, words) if not old else None
    if converted is not None and converted.kind != "province":
        return converted
    old_name = _old_name(words)
    if old_name is not None and (current is None or current.score < 100):
        return old_name
    if current is not None and current.code:
        return current
    return converted


def _old_name(words: list[str]) -> AreaMatch | None:
    """A pre-2025 ward or district name the converter could not place (it exists in
    several provinces): kept as that name, so a team listing it still gets her."""
    from . import old_areas

    names = old_areas.old_names()
    stripped = words[1:] if words and words[0] in ("xa", "phuong", "quan", "huyen") else words
    key = " ".join(stripped)
    if key not in names or not 2 <= len(stripped) <= 4:  # "đúng" is no commune
        return None
    return AreaMatch(names[key], "old", 100.0, None, code=f"old:{key}")


def _old_name_keys() -> frozenset[str]:
    from . import old_areas

    return old_areas.old_name_keys()


def _strip_places(text: str, unit: AreaMatch) -> str:
    """Her words with every place name and marker word taken out."""
    idx = _index()
    words = _key(text).split()
    names = [set(idx.by_key), _old_name_keys()]
    own = _strip_prefix(_key(unit.name))
    keep = [True] * len(words)
    for n in (4, 3, 2, 1):
        for i, key in _windows(words, n):
            if not all(keep[i : i + n]):
                continue
            after_marker = i > 0 and words[i - 1] in _MARKER_WORDS
            if key == own or ((n > 1 or after_marker) and any(key in s for s in names)):
                keep[i : i + n] = [False] * n
    for i, w in enumerate(words):
        if w in _MARKER_WORDS and keep[i]:
            keep[i] = False
    return " ".join(w for w, k in zip(words, keep, strict=True) if k)


def answers_area(text: str) -> AreaMatch | None:
    """The unit her reply names, unless what is left besides place names is danger.

    The engine uses it at the area prompt: a reply that names a real unit is
    the area, whatever its words mean elsewhere; only an unambiguous danger
    message (the safety net firing on the rest) is an emergency."""
    from .safety import is_emergency

    unit = read_area(text)
    if unit is None:
        return None
    if is_emergency(_strip_places(text[:300], unit)):
        return None
    return unit


def intent_at_area_prompt(text: str | None, intent: str | None) -> str | None:
    """The intent to act on when she answers "which commune/ward?"."""
    if intent is None or not text or not text.strip():
        return intent
    return None if answers_area(text) is not None else intent


def is_unit_code(value: str | None) -> bool:
    return bool(value) and str(value).startswith(("ward:", "province:", "old:"))


def covers(team_area: str, unit: AreaMatch) -> int:
    """How specifically a team's area entry (teams.yml) covers a unit: 0 not at all,
    1 by its province (today's or a former one merged into it), 2 by its name.

    Entries keep their meaning: a commune or ward name matches that name
    (accents and "xã/phường" optional), a province covers every unit in it."""
    idx = _index()
    entry = _strip_prefix(_key(re.sub(r"\(.*?\)", " ", team_area)))
    if not entry:
        return 0
    if unit.kind == "old":
        return 2 if unit.code == f"old:{entry}" else 0
    if unit.kind != "province" and entry == _strip_prefix(_key(unit.name)):
        return 2
    provinces = {u.name for u in idx.by_key.get(entry, []) if u.kind == "province"}
    return 1 if unit.province in provinces else 0


def known_place(team_area: str) -> bool:
    """Whether a teams.yml entry is a name the area prompt can understand: today's
    unit or province, a former province, or a pre-2025 commune/district name."""
    from . import old_areas

    entry = _key(re.sub(r"\(.*?\)", " ", team_area))
    bare = _strip_prefix(entry)
    return bool(bare) and (
        entry in _index().by_key or bare in _index().by_key or bare in old_areas.old_names()
    )
