import pytest

from nlu.areas import entities, find_areas, match_area


@pytest.mark.parametrize(
    "text",
    ["Xã Mường Nhé", "xa muong nhe", "muong nhe", "MƯỜNG NHÉ", "xã Mương Nhe", "xa muongg nhe"],
)
def test_current_commune_accented_unaccented_fuzzy(text: str):
    m = match_area(text)
    assert m is not None
    assert m.name == "Xã Mường Nhé" and m.kind == "commune" and m.province == "Điện Biên"


def test_current_ward_with_province_context():
    m = match_area("phuong ba dinh, ha noi")
    assert m is not None and m.name == "Phường Ba Đình" and m.kind == "ward"
    assert m.province == "Thành phố Hà Nội"


def test_province_and_former_province():
    assert match_area("Đà Nẵng").name == "Thành phố Đà Nẵng"  # type: ignore[union-attr]
    m = match_area("em ở tỉnh Bình Dương cũ")  # merged into Ho Chi Minh City in 2025
    assert m is not None and m.name == "Thành phố Hồ Chí Minh" and m.kind == "province"


def test_team_candidates():
    teams = ["Phường Ba Đình", "Xã Mường Nhé", "Khu Đông (thí điểm)"]
    m = match_area("em o ba dinh", teams)
    assert (
        m is not None
        and m.name == "Phường Ba Đình"
        and m.kind == "ward"
        and m.province == "Thành phố Hà Nội"
    )
    m = match_area("muong nhee", teams)
    assert m is not None and m.name == "Xã Mường Nhé" and m.score < 100
    m = match_area("khu dong", teams)
    assert m is not None and m.name == "Khu Đông (thí điểm)" and m.kind == "custom"
    assert match_area("Hải Phòng", teams) is None


def test_nothing_to_match():
    assert match_area("không biết") is None
    assert match_area("") is None


def test_entities_need_a_marker_or_a_province():
    assert find_areas("hòa bình là điều em mong") == []  # a ward name, but here the word "peace"
    assert find_areas("tôi thống nhất với bạn") == []
    ents = entities("em sống ở xã Mường Nhé, tỉnh Điện Biên")
    assert [e["value"] for e in ents] == ["Xã Mường Nhé", "Điện Biên"]
    text = "em sống ở xã Mường Nhé, tỉnh Điện Biên"
    assert text[ents[0]["start"] : ents[0]["end"]] == "Mường Nhé"
    assert ents[0]["extractor"] and 0 < ents[0]["confidence_entity"] <= 1
    assert [e["value"] for e in entities("toi o Da Nang")] == ["Thành phố Đà Nẵng"]


# ------------------------------------------------------------------ area prompt
from nlu import areas as areas_mod  # noqa: E402
from nlu import old_areas  # noqa: E402
from nlu.areas import (  # noqa: E402
    answers_area,
    describe,
    intent_at_area_prompt,
    read_area,
    unit_by_code,
)
from nlu.normalize import fold  # noqa: E402


def _every_unit_spelling() -> list[tuple[str, str, str]]:
    """(what she types, the unit's code, its official name) for every ward,
    commune and province of vietnam-provinces: with and without accents, with
    and without the "Xã/Phường" prefix."""
    from vietnam_provinces import Province, Ward

    out = []
    for w in Ward.iter_all():
        bare = w.name.split(" ", 1)[1] if w.name.startswith(("Xã ", "Phường ")) else w.name
        for typed in {w.name, bare, fold(w.name), fold(bare)}:
            out.append((typed, f"ward:{int(w.code):05d}", w.name))
    for p in Province.iter_all():
        for typed in {p.name, fold(p.name)}:
            out.append((typed, f"province:{int(p.code):02d}", p.name))
    return out


def test_every_official_name_is_an_area_at_the_prompt_never_an_emergency() -> None:
    """Issue #15: 47 official names (Phường An Cựu, Xã Khả Cửu...) used to get the
    113 answer at "which commune/ward?". The engine asks ``intent_at_area_prompt``
    with the NLU's intent; "emergency" is the worst case, from the safety net or
    the classifier at any confidence."""
    cases = _every_unit_spelling()
    assert len(cases) > 3321 * 2
    former = set(areas_mod._ALIASES)  # former provinces and nicknames ("Sài Gòn")
    derailed, unrecognised = [], []
    per_key: dict[str, set[str]] = {}
    for _, code, name in cases:
        per_key.setdefault(areas_mod._key(name), set()).add(code)
    for typed, code, name in cases:
        if intent_at_area_prompt(typed, "emergency") is not None:
            derailed.append(typed)
            continue
        unit = answers_area(typed)
        assert unit is not None
        same_name = areas_mod._key(unit.name).endswith(
            areas_mod._strip_prefix(areas_mod._key(name))
        )
        # "Yên Bái" without "Phường" is also the former province (now Lào Cai), "Sài Gòn"
        # the city: either reading is right, and she is shown which one was understood.
        former_province = unit.kind == "province" and areas_mod._key(typed) in former
        if not (same_name or former_province):
            unrecognised.append((typed, unit.name))
        elif typed == name and len(per_key[areas_mod._key(name)]) == 1 and unit.code != code:
            # A name found once in the country is that very unit.
            unrecognised.append((typed, unit.code))
    assert derailed == []
    assert unrecognised == []


def test_with_the_prefix_the_exact_unit_is_understood() -> None:
    for typed, code in [
        ("Phường An Cựu", "ward:19815"),
        ("xa kha cuu", "ward:08635"),
        ("Phường Văn Miếu - Quốc Tử Giám", None),
        ("Xã Quân Chu", None),
    ]:
        unit = read_area(typed)
        assert unit is not None and unit.code is not None
        if code:
            assert unit.code == code
        assert unit_by_code(unit.code) is not None
        assert areas_mod._key(unit.name) == areas_mod._key(typed)


@pytest.mark.parametrize(
    "text",
    [
        "Phường An Cựu",
        "Xã Khả Cửu",
        "Xã Ba Đình",
        "Phường Hưng Đạo",
        "Xã Cửu An",
        "phuong an cuu",
        "toi o xa cuu an",
        "Nguyen Thi Lan 0912345678 phuong An Cuu",
    ],
)
def test_names_from_the_issue_are_areas(text: str) -> None:
    assert intent_at_area_prompt(text, "emergency") is None
    assert answers_area(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "xã Khả Cửu, cứu tôi với",
        "phuong an cuu chong dang danh toi",
        "em o xa ba dinh, anh ta dang cam dao",
        "Phường Hưng Đạo. Cứu em, nó đang bóp cổ em",
        "cuu toi",
    ],
)
def test_danger_beyond_the_place_name_still_wins(text: str) -> None:
    assert intent_at_area_prompt(text, "emergency") == "emergency"


def test_other_intents_are_kept_when_no_place_is_named() -> None:
    assert intent_at_area_prompt("dừng lại", "stop") == "stop"
    assert intent_at_area_prompt("Phường Hưng Đạo", "stop") is None
    assert intent_at_area_prompt("", "stop") == "stop"


# ------------------------------------------------------------ pre-2025 names
@pytest.fixture(scope="module")
def converter_ready() -> None:
    old_areas.warm_up(background=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Issue #15: used to become Xã Quản Bạ (Tuyên Quang).
        ("Phường Phúc Xá, quận Ba Đình, Hà Nội", "Phường Hồng Hà, Thành phố Hà Nội"),
        ("phuong phuc xa quan ba dinh ha noi", "Phường Hồng Hà, Thành phố Hà Nội"),
        ("Phường Phúc Xá, Hà Nội", "Phường Hồng Hà, Thành phố Hà Nội"),
        # Bến Tre and Trà Vinh were merged into Vĩnh Long.
        ("xa phu hung, ben tre", "Phường Phú Khương, Tỉnh Vĩnh Long"),
        ("xã Phú Hưng Bến Tre", "Phường Phú Khương, Tỉnh Vĩnh Long"),
        ("phuong 7 tra vinh", "Phường Nguyệt Hóa, Tỉnh Vĩnh Long"),
        # Hải Dương into Hải Phòng, a thị xã that no longer exists.
        ("xa le ninh thi xa kinh mon hai duong", "Phường Bắc An Phụ, Thành phố Hải Phòng"),
        ("phuong ben nghe quan 1 sai gon", "Phường Sài Gòn, Thành phố Hồ Chí Minh"),
    ],
)
def test_old_names_become_todays_unit(converter_ready: None, text: str, expected: str) -> None:
    unit = read_area(text)
    assert unit is not None and unit.converted
    assert describe(unit) == expected
    assert intent_at_area_prompt(text, "emergency") is None


def test_a_name_that_exists_today_elsewhere_is_not_taken_for_the_named_province(
    converter_ready: None,
) -> None:
    # No Xã Tân Lập in Phú Thọ since 2025 (there are in Quảng Trị, Lâm Đồng...).
    unit = read_area("Xã Tân Lập, Phú Thọ")
    assert unit is not None and unit.province == "Phú Thọ"


def test_todays_names_are_not_converted(converter_ready: None) -> None:
    for text in ("phuong ba dinh, ha noi", "Xã Quan Sơn, Thanh Hóa", "Xã Mường Nhé"):
        unit = read_area(text)
        assert unit is not None and not unit.converted
    assert describe(read_area("xa quan son thanh hoa")) == "Xã Quan Sơn, Tỉnh Thanh Hóa"  # type: ignore[arg-type]


def test_an_old_name_in_several_provinces_is_kept_as_that_name(converter_ready: None) -> None:
    unit = read_area("xa phu hung")
    assert unit is not None and unit.kind == "old" and unit.code == "old:phu hung"
    assert describe(unit) == "Phú Hưng"
    assert unit_by_code("old:phu hung") == unit


def test_nothing_that_is_not_a_place_is_read_as_one(converter_ready: None) -> None:
    for text in (
        "Nguyen Thi Lan 0912345678",
        "không biết",
        "cứu tôi",
        "ok",
        "12345",
        "đúng",
        "sai",
        "yes",
        "không",
        "đổi",
    ):
        assert read_area(text) is None, text


def test_converter_index_builds_in_a_few_seconds_and_never_goes_online() -> None:
    """The converter's normaliser is memoised (its index took ~30 s as shipped)."""
    import socket

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the converter must not use the network")

    real = socket.socket.connect
    socket.socket.connect = no_network  # type: ignore[method-assign,assignment]
    try:
        old_areas.warm_up(background=False)
        assert old_areas.convert("Phường Phúc Xá, quận Ba Đình, Hà Nội") is not None
    finally:
        socket.socket.connect = real  # type: ignore[method-assign]
