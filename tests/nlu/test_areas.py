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
