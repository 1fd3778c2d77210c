"""``helpline content check``: passes on the real content, and fails naming the
file and the node on each mistake."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from responses import ContentError, load_runner
from responses.cli import main, register
from responses.loader import DEFAULT_FLOWS_DIR
from responses.validate import check, penalties, phone_numbers

ORPHAN = """
  orphan_note:
    text: {vi: "Xin chào bạn", en: "Hello there"}
    buttons:
      - label: {vi: "Menu", en: "Menu"}
        goto: menu
"""
LONG_ID = "a_node_whose_id_is_so_long_that_its_callback_data_cannot_fit_telegram"
LONG_PAYLOAD = f"""
  {LONG_ID}:
    text: {{vi: "Chào bạn", en: "Hi"}}
    buttons:
      - label: {{vi: "Menu", en: "Menu"}}
        goto: menu
  points_to_long:
    intents: [greet]
    text: {{vi: "Chào bạn", en: "Hi"}}
    buttons:
      - label: {{vi: "Tiếp", en: "Next"}}
        goto: {LONG_ID}
"""
NO_ENGLISH = """
  only_vi:
    text: {vi: "Chào bạn"}
    buttons:
      - label: {vi: "Menu", en: "Menu"}
        goto: menu
"""
TOO_LONG = """
  wall_of_text:
    text: {vi: "%s", en: "Hi"}
    buttons:
      - label: {vi: "Menu", en: "Menu"}
        goto: menu
""" % ("Dài quá. " * 250)


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(DEFAULT_FLOWS_DIR, target)
    return target


def edit(flows: Path, name: str, old: str | None, new: str) -> None:
    """Replace ``old`` once (it must be there), or append ``new`` when ``old`` is None."""
    path = flows / name
    text = path.read_text(encoding="utf-8")
    if old is None:
        text += new
    else:
        assert old in text, f"fixture out of date: {old!r} not in {name}"
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")


def run_check(flows: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["content", "check", "--dir", str(flows)])
    out = capsys.readouterr()
    return code, out.err + out.out


def test_real_content_passes_without_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    assert check() == []
    assert main(["content", "check"]) == 0
    assert "passed" in capsys.readouterr().out


def test_a_copy_of_the_real_content_passes(flows: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_check(flows, capsys)[0] == 0


PENALTY_NO_LAW = """
  fines_hearsay:
    refines: greet
    words: ["fines"]
    source: "a newspaper said so"
    reviewed: 2026-11-30
    text: {vi: "Đánh vợ bị phạt 5–10 triệu đồng.", en: "Beating a wife is fined 5–10 million VND."}
    buttons:
      - label: {vi: "Menu", en: "Menu"}
        goto: menu
"""
PENALTY_NO_SOURCE = """
  prison_unsourced:
    refines: greet
    words: ["prison"]
    text: {vi: "Có thể bị tù đến 3 năm.", en: "It can mean up to 3 years in prison."}
    buttons:
      - label: {vi: "Menu", en: "Menu"}
        goto: menu
"""
FIFTEEN_LINES = "\\n".join(["Dòng ngắn."] * 15)
TALL = """
  tall_message:
    refines: greet
    words: ["tall"]
    text: {vi: "LINES", en: "Hi"}
    buttons:
      - label: {vi: "Menu", en: "Menu"}
        goto: menu
""".replace("LINES", FIFTEEN_LINES)

BROKEN = [
    # (file, old text or None to append, new text, words the report must contain)
    ("core.yml", None, ORPHAN, ["core.yml: node orphan_note", "unreachable"]),
    (
        "rights.yml",
        "goto: rights_custody",
        "goto: rights_kids",
        ["rights.yml: node rights_divorce", "'rights_kids'", "does not exist"],
    ),
    ("core.yml", None, NO_ENGLISH, ["core.yml: node only_vi", "missing the 'en' text"]),
    (
        "rights.yml",
        '    source: "Law 13/2022/QH15 Art. 9 (lawnet.vn)"\n',
        "",
        ["rights.yml: node rights_victim", "'source' and 'reviewed'"],
    ),
    (
        "rights.yml",
        "    reviewed: 2026-11-30\n    text:\n      vi: |-\n        Theo Điều 9",
        "    text:\n      vi: |-\n        Theo Điều 9",
        ["rights.yml: node rights_victim", "reviewed"],
    ),
    ("core.yml", None, TOO_LONG, ["core.yml: node wall_of_text", "Zalo's limit is 2000"]),
    ("core.yml", None, LONG_PAYLOAD, ["core.yml: node points_to_long", "longer than 64 bytes"]),
    (
        "services.yml",
        'label: {vi: "Ngôi nhà Bình Yên"',
        'label: {vi: "Ngôi nhà Bình Yên của Hội Liên hiệp Phụ nữ"',
        ["services.yml: node services", "longer than 30 characters"],
    ),
    (
        "services.yml",
        "Gọi 1900 969 680 (24/7).",
        "Gọi 1900 969 68 (24/7).",
        ["services.yml: node services_peace_house", "'1900 969 68'", "8 or 10 digits"],
    ),
    (
        "services.yml",
        "• 111: Tổng đài bảo vệ trẻ em",
        "• 1800 1567: Tổng đài bảo vệ trẻ em",
        ["services.yml: node services", "obsolete", "111"],
    ),
    (
        "emergency.yml",
        "gọi 115 (cấp cứu)",
        "gọi 116 (cấp cứu)",
        ["emergency.yml: node emergency", "'116'", "111–115"],
    ),
    (
        "services.yml",
        "• 024 3333 5599: CSAGA",
        "• 04.3775 9330: CSAGA",
        ["services.yml: node services", "'04.3775 9330'", "malformed"],
    ),
    (
        "services.yml",
        "nghỉ ngày lễ\n          {local_contacts}",
        "nghỉ ngày lễ\n          {local_contact}",
        ["services.yml: node services", "unknown placeholder {local_contact}"],
    ),
    (
        "core.yml",
        "    intents: [thanks]\n",
        "",
        ["intent 'thanks' has no entry node", "core.yml: node thanks"],
    ),
    ("erase.yml", "    buttons:", "    buttom:", ["erase.yml: node erase_confirm", "buttom"]),
    # The second-edition rules: vetted numbers, sourced penalties, yearly review, one screen.
    (
        "services.yml",
        "• 1800 1233: trợ giúp pháp lý",
        "• 1800 1234: trợ giúp pháp lý",
        ["services.yml: node services", "'1800 1234'", "not in the vetted list"],
    ),
    (
        "_meta.yml",
        '  "1800 1769":',
        '  "1800 1769 ":\n    what: "again"\n    source: "x"\n    reviewed: 2026-11-30\n  '
        '"18001769":',
        ["_meta.yml", "listed twice"],
    ),
    (
        "_meta.yml",
        '    reviewed: 2026-11-30\n  "114":',
        '    reviewed: 2025-06-01\n  "114":',
        ["_meta.yml", "phones: 113", "over a year ago"],
    ),
    (
        "_meta.yml",
        '    source: "Standard emergency number; free: Circular 02/2020/TT-BTTTT (lawnet.vn)"\n'
        '    reviewed: 2026-11-30\n  "115":',
        '    source: "Standard emergency number; free: Circular 02/2020/TT-BTTTT (lawnet.vn)"\n'
        '  "115":',
        ["_meta.yml", "phones: 114", "reviewed", "Field required"],
    ),
    ("core.yml", None, PENALTY_NO_LAW, ["core.yml: node fines_hearsay", "'5–10 triệu", "law text"]),
    ("core.yml", None, PENALTY_NO_SOURCE, ["core.yml: node prison_unsourced", "'source'"]),
    (
        "rights.yml",
        "    reviewed: 2026-11-30\n    text:\n      vi: |-\n        Theo Điều 9",
        "    reviewed: 2025-11-01\n    text:\n      vi: |-\n        Theo Điều 9",
        ["rights.yml: node rights_victim", "reviewed 2025-11-01, over a year ago"],
    ),
    ("core.yml", None, TALL, ["core.yml: node tall_message", "15 lines", "one phone screen"]),
    (
        "handoff.yml",
        "args: {topic: other}",
        "args: {topic: housing}",
        ["handoff.yml: node handoff_topic", "'housing' has no name"],
    ),
    (
        "_meta.yml",
        '    ask_shelter: {vi: "Nơi tạm lánh", en: "Shelters"}\n',
        "",
        ["intent 'ask_shelter' has no name"],
    ),
    (
        "rights.yml",
        "Bạn là người quyết định bước tiếp theo.",
        "Bạn là người quyết định bước tiếp theo. " + "Thêm một câu giải thích. " * 16,
        ["rights.yml: node rights_victim", "longer than one phone screen"],
    ),
    (
        "rights.yml",
        '    refines: ask_rights\n    words: ["cam tiep xuc"',
        '    refines: ask_lawyer\n    words: ["cam tiep xuc"',
        ["rights.yml: node rights_no_contact", "'ask_lawyer'", "not in the NLU taxonomy"],
    ),
    ("privacy.yml", "nodes:", "nodes: [", ["privacy.yml", "not valid YAML"]),
    (
        "handoff.yml",
        "args: {on: true}",
        "args: {on: maybe}",
        ["handoff.yml: node discreet", "true or false"],
    ),
    (
        "handoff.yml",
        "        goto: erase_confirm",
        "        goto: erase_confirm\n        action: end",
        ["handoff.yml: node handoff_closed", "exactly one of 'goto' or 'action'"],
    ),
]


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"), BROKEN, ids=[f"{b[0]}-{b[3][-1]}" for b in BROKEN]
)
def test_broken_content_fails_naming_file_and_node(
    flows: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    old: str | None,
    new: str,
    expected: list[str],
) -> None:
    edit(flows, name, old, new)
    code, report = run_check(flows, capsys)
    assert code == 1
    for words in expected:
        assert words in report, report
    with pytest.raises(ContentError):
        load_runner(flows)


def test_required_node_missing(flows: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (flows / "erase.yml").unlink()
    code, report = run_check(flows, capsys)
    assert code == 1
    assert "required node 'erased' is missing" in report
    assert "intent 'delete_data' has no entry node" in report


def test_missing_directory_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_check(tmp_path / "nowhere", capsys)
    assert code == 1 and "not found" in report


def test_long_messages_are_a_warning_not_an_error(
    flows: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(
        flows,
        "core.yml",
        "Mình chỉ đọc được tin nhắn chữ.",
        "Mình chỉ đọc được tin nhắn chữ. " + "Xin lỗi. " * 58,
    )
    code, report = run_check(flows, capsys)
    assert code == 0
    assert "WARNING core.yml: node text_only" in report and "under 600" in report


def test_review_age_is_measured_from_today(flows: Path) -> None:
    """A year after the review the real content fails until someone re-checks it."""
    from datetime import date

    from responses.loader import load_content
    from responses.validate import validate

    content, problems = load_content(flows)
    assert problems == []
    assert validate(content, today=date(2027, 6, 1)) == []
    late = validate(content, today=date(2028, 1, 1))
    assert late and all("over a year ago" in p.message for p in late)
    assert any(p.node == "rights_victim" for p in late)
    assert any(p.message.startswith("phones: 113") for p in late)


def test_a_message_of_one_screen_passes(flows: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fourteen = "\\n".join(["Dòng ngắn."] * 14)
    edit(flows, "core.yml", None, TALL.replace(FIFTEEN_LINES, fourteen))
    assert run_check(flows, capsys)[0] == 0


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("phạt 5–10 triệu đồng", ["5–10 triệu"]),
        ("tù 6 tháng–3 năm", ["6 tháng–3 năm"]),
        ("up to 3 years in prison", ["up to 3 years"]),
        ("2-7 years", ["2-7 years"]),
        ("20–30 million VND", ["20–30 million"]),
        ("con dưới 36 tháng tuổi, tối đa 3 ngày, 8–17 giờ", []),
        ("từ 1/7/2025, trong 12 giờ", []),
    ],
)
def test_penalty_ranges_are_recognised(text: str, found: list[str]) -> None:
    assert penalties(text) == found


def test_register_adds_content_check() -> None:
    parser = argparse.ArgumentParser(prog="helpline")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["content", "check", "--dir", str(DEFAULT_FLOWS_DIR)])
    assert args.func(args) == 0


@pytest.mark.parametrize(
    "text",
    [
        "Luật 13/2022/QH15, Điều 185 và 134",
        "từ 15/12/2025",
        "phạt 10.000.000 đồng",
        "5–10 triệu",
        "24/7, 30 ngày, 48 giờ",
        "mã #K7Q2",
        "năm 2023",
        "62,9% phụ nữ",
        "Điều 117",
    ],
)
def test_law_dates_and_money_are_not_phone_numbers(text: str) -> None:
    assert list(phone_numbers(text)) == []


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("gọi 113", True),
        ("0912 345 678", True),
        ("+84 24 3333 5599", True),
        ("1800 1233", True),
        ("1900 969 680", True),
        ("024 3333 5599", True),
        ("1800 1567", False),
        ("04.3775 9330", False),
        ("118", False),
        ("1800 12", False),
        ("1700 1234", False),
        ("024 333 55", False),
    ],
)
def test_phone_number_formats(text: str, ok: bool) -> None:
    found = list(phone_numbers(text))
    assert len(found) == 1, found
    assert (found[0][1] is None) == ok, found
