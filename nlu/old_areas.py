"""Pre-2025 addresses → today's units, through ``vietnam-address-converter``.

People will write the names they grew up with for years: ``phường Phúc Xá,
quận Ba Đình``, ``xã Phú Hưng, Bến Tre``. In 2025 districts were abolished,
63 provinces became 34 and ~10,000 communes became ~3,300. Hand lists of that
mapping go stale, so a maintained converter does it.

Why this converter (both PyPI candidates were tried on 1,000 old addresses,
5 spellings each, with the answer both packages' own tables agree on):

======================  ===========================  ==========================
                        vietnam-address-converter    vietnamadminunits
======================  ===========================  ==========================
ward right, unaccented  1.000 with commas,           1.000 with commas,
                        0.994 without                0.980 without
ward + province only    0.943                        0.000 (needs the district)
names without prefix    0.994                        0.939
network                 never                        geocodes split wards online
                                                     (ArcGIS) when a street is in
                                                     the text: her address would
                                                     leave the server
installed size          20 MB, no dependencies       123 MB (numpy, shapely, geopy)
licence                 Apache-2.0                   MIT
start-up, per call      4 s (memoised here), 10 ms   0.7 s, 0.6 ms
======================  ===========================  ==========================

Its one cost is building its text index (33 s as shipped, 4 s here: its name
normaliser is a pure function of a string and is memoised). The index is built
once per process, in a background thread started by :func:`warm_up`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .normalize import fold

log = logging.getLogger(__name__)

#: Words that open a district's or a province's name. A comma is put before them
#: so the converter can split ``xa phu hung huyen mo cay ben tre`` as it splits a
#: written address. Ward markers are left alone: "xá" in "Phúc Xá" folds to "xa".
_SPLIT_BEFORE = {("quan",), ("huyen",), ("thi", "xa"), ("tinh",), ("thanh", "pho"), ("tp",)}
#: Words after which a marker is part of a name ("huyện Quan Hoá", "thị xã").
_MARKER_WORDS = {"quan", "huyen", "xa", "phuong", "tinh", "thi", "thanh", "pho", "tp", "tran"}
#: Names the converter does not know for Ho Chi Minh City.
_NICKNAMES = {"sai gon", "saigon", "tphcm", "hcm"}
_WORD_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Converted:
    """Today's unit for an old address: official names as the converter spells them."""

    ward: str | None  # "Phường Hồng Hà"
    province: str  # "Thành phố Hà Nội"
    old_province: str | None  # "Tỉnh Bến Tre"


_lock = threading.Lock()
_started = False


def _memoise(module: Any) -> None:
    """Cache the converter's name normalisers (pure str → str functions).

    The converter calls them ~900,000 times while indexing; cached, its
    index builds in a few seconds instead of half a minute. If a new version
    renames them, nothing breaks: it is only slower."""
    from vietnam_address_converter import conversion, converter, normalize, text

    if getattr(normalize, "_helpline_memoised", False):
        return
    originals = {
        name: getattr(normalize, name, None)
        for name in ("normalize_vietnamese_name", "normalize_address_text")
    }
    cached: dict[str, Callable[..., Any]] = {
        name: lru_cache(maxsize=None)(fn) for name, fn in originals.items() if callable(fn)
    }
    variants = getattr(normalize, "get_normalized_name_variants", None)
    if callable(variants):
        frozen = lru_cache(maxsize=None)(lambda value: tuple(variants(value)))

        def as_list(value: Any) -> list[str]:
            try:
                return list(frozen(value))
            except TypeError:  # an unhashable value: compute it directly
                return list(variants(value))

        cached["get_normalized_name_variants"] = as_list
    for mod in (normalize, text, conversion, converter):
        for name, fn in cached.items():
            if hasattr(mod, name):
                setattr(mod, name, fn)
    normalize._helpline_memoised = True


_built: list[Any] = []
_build_lock = threading.Lock()


def _converter() -> Any:
    """The one converter of this process; a caller during the build waits for it."""
    if _built:
        return _built[0]
    with _build_lock:
        if not _built:
            import vietnam_address_converter as vac

            _memoise(vac)
            _built.append(vac.create_converter())
    return _built[0]


def warm_up(background: bool = True) -> None:
    """Build the converter's index now (in a thread), not on her first old name."""
    global _started
    with _lock:
        if _started:
            return
        _started = True
    if background:
        threading.Thread(target=_safe_build, name="old-areas-index", daemon=True).start()
    else:
        _safe_build()


def _safe_build() -> None:
    try:
        _converter()
    except Exception:  # the bot still reads today's names without it
        log.exception("old place-name converter unavailable")


def _fold_char(ch: str) -> str:
    folded = fold(ch).lower()
    return folded if len(folded) == 1 else " "


def _opens_segment(words: list[re.Match[str]], i: int) -> bool:
    """Whether word ``i`` is a marker opening a name ("xá" of "Phúc Xá" is not)."""
    word = words[i].group(0)
    if word not in _MARKER_WORDS:
        return False
    if word in ("xa", "tran", "pho"):
        return i == 0 or words[i - 1].group(0) in ("thi", "thanh")
    return True


def _with_commas(text: str) -> str:
    """``phuong phuc xa quan ba dinh ha noi`` → ``phuong phuc xa, quan ba dinh ha noi``."""
    folded = "".join(_fold_char(ch) for ch in text)  # same length: offsets stay valid
    words = list(_WORD_RE.finditer(folded))
    cuts: list[int] = []
    for i in range(1, len(words)):
        two = (words[i].group(0), words[i + 1].group(0)) if i + 1 < len(words) else ()
        if (words[i].group(0),) not in _SPLIT_BEFORE and two not in _SPLIT_BEFORE:
            continue
        if _opens_segment(words, i - 1):
            continue  # "huyện Quan Hoá": the marker before it opens this name
        if not text[: words[i].start()].rstrip().endswith(","):
            cuts.append(words[i].start())
    for at in reversed(cuts):
        text = text[:at].rstrip() + ", " + text[at:]
    return text


def convert(text: str, province_hint: str | None = None) -> Converted | None:
    """Today's ward and province for an old-style address, or None.

    ``province_hint`` is a province (current or former) found at the end of
    the text: a comma goes before it too. Never raises: a failure means "not
    understood", and she is asked again."""
    text = " ".join(text.split())[:300]
    if not text:
        return None
    shaped = _with_commas(text)
    if province_hint in _NICKNAMES:
        shaped = re.sub(rf"\b{province_hint}\b", "Hồ Chí Minh", fold(shaped).lower())
        province_hint = "ho chi minh"
    if province_hint:
        folded = fold(shaped).lower()
        at = folded.rfind(province_hint)
        if at > 0 and not shaped[:at].rstrip().endswith(","):
            shaped = shaped[:at].rstrip() + ", " + shaped[at:]
    try:
        result = _converter().auto_convert_address(shaped)
    except Exception:
        log.exception("old place-name conversion failed")
        return None
    new = result.get("converted_new") or {}
    ward = (new.get("ward") or {}).get("name_with_type")
    province = (new.get("province") or {}).get("name_with_type")
    if not province:
        return None
    parsed = result.get("parsed") or {}
    old_province = parsed.get("province_name") if result.get("input_type") == "old" else None
    return Converted(ward, province, old_province)


@lru_cache(maxsize=1)
def old_name_keys() -> frozenset[str]:
    """Every pre-2025 province, district and ward name, folded, without its prefix."""
    try:
        from vietnam_address_converter.data import DEFAULT_DATA
    except Exception:
        return frozenset()
    keys: set[str] = set()
    for table in ("oldProvinces", "oldDistricts", "oldWards"):
        records = DEFAULT_DATA.get(table) or {}
        values = records.values() if isinstance(records, dict) else records
        for record in values:
            name = record.get("name") if isinstance(record, dict) else None
            if name:
                keys.add(_bare(name))
    keys.discard("")
    return frozenset(keys)


def _bare(name: str) -> str:
    """The converter's ``name`` fields carry no "xã/phường" ("Xa Dung" is a name)."""
    return " ".join(_WORD_RE.findall(fold(name).lower()))


@lru_cache(maxsize=1)
def old_names() -> dict[str, str]:
    """Pre-2025 ward and district names, folded → as written (without prefix)."""
    try:
        from vietnam_address_converter.data import DEFAULT_DATA
    except Exception:
        return {}
    out: dict[str, str] = {}
    for table in ("oldDistricts", "oldWards"):
        for record in (DEFAULT_DATA.get(table) or {}).values():
            name = record.get("name") if isinstance(record, dict) else None
            if name and not name.strip().isdigit():
                out.setdefault(_bare(name), str(name))
    return out
