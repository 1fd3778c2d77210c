from pathlib import Path

import pytest

from nlu.rasa_format import (
    Example,
    TrainingData,
    TrainingDataError,
    TrainingDataWarning,
    dumps,
    load,
    load_dir,
    loads,
)

FULL = """version: "3.1"
# a comment
nlu:
  - intent: ask_services
    examples: |
      - em ở [Ba Đình](area) cần giúp
      - tôi ở [HN](area:Hà Nội)
      - sống ở [Cần Thơ]{"entity": "area", "value": "Thành phố Cần Thơ"}
      # a comment inside the block
      - no entity here
  - intent: greet
    examples:
      - text: |
          xin chào
        metadata:
          source: test
      - hello
  - synonym: Hà Nội
    examples: |
      - hn
      - ha noi
  - regex: phone
    examples: |
      - \\d{10}
  - lookup: city
    examples: |
      - Huế
      - Đà Nẵng
stories:
  - story: ignored
    steps:
      - intent: greet
rules:
  - rule: ignored
    steps: []
responses:
  utter_greet:
    - text: hi
"""


def test_loader_reads_every_rasa_feature():
    data = loads(FULL, "full.yml")
    texts = {e.text: e for e in data.examples}
    assert set(texts) == {
        "em ở Ba Đình cần giúp",
        "tôi ở HN",
        "sống ở Cần Thơ",
        "no entity here",
        "xin chào",
        "hello",
    }
    ba = texts["em ở Ba Đình cần giúp"].entities[0]
    assert (ba["entity"], ba["value"], ba["start"], ba["end"]) == ("area", "Ba Đình", 5, 12)
    assert texts["tôi ở HN"].entities[0]["value"] == "Hà Nội"
    ct = texts["sống ở Cần Thơ"].entities[0]
    assert (
        ct["value"] == "Thành phố Cần Thơ"
        and "sống ở Cần Thơ"[ct["start"] : ct["end"]] == "Cần Thơ"
    )
    assert texts["xin chào"].metadata == {"source": "test"}
    assert data.synonyms == {"hn": "Hà Nội", "ha noi": "Hà Nội"}
    assert data.regexes == {"phone": ["\\d{10}"]}
    assert data.lookups == {"city": ["Huế", "Đà Nẵng"]}
    assert [e.intent for e in data.examples].count("greet") == 2


def test_writer_round_trips():
    data = loads(FULL, "full.yml")
    again = loads(dumps(data), "dumped.yml")
    assert [(e.text, e.intent, e.entities) for e in again.examples] == [
        (e.text, e.intent, e.entities) for e in data.examples
    ]
    assert (
        again.synonyms == data.synonyms
        and again.regexes == data.regexes
        and again.lookups == data.lookups
    )


@pytest.mark.parametrize(
    ("content", "line"),
    [
        ('version: "3.1"\nnlu:\n  - intent: greet\n    examples: [unclosed\n', 5),
        (
            'version: "3.1"\nnlu:\n'
            "  - intent: greet\n  - intent: bye\n    examples: |\n      - bye\n",
            3,
        ),
        (
            'version: "3.1"\nnlu:\n'
            '  - intent: greet\n    examples: |\n      - [x]{"entity": oops}\n',
            5,
        ),
        ('version: "3.1"\nnluu:\n  - intent: greet\n', 2),
    ],
)
def test_malformed_file_error_names_file_and_line(tmp_path: Path, content: str, line: int):
    f = tmp_path / "bad.yml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(TrainingDataError) as err:
        load(f)
    assert err.value.path == str(f)
    assert err.value.line == line
    assert f"bad.yml:{line}:" in str(err.value)


def test_shipped_training_data_is_rich_enough():
    data = load_dir(Path(__file__).resolve().parents[2] / "nlu" / "data")
    counts: dict[str, int] = {}
    for e in data.examples:
        counts[e.intent] = counts.get(e.intent, 0) + 1
    assert len(counts) == 22  # 18 + the topics of nlu/data/topics.yml
    assert min(counts.values()) >= 60
    for hard in ("emergency", "disclose_abuse", "report_concern"):
        assert counts[hard] >= 120


def test_line_without_dash_is_skipped_with_a_warning_as_rasa_does():
    content = (
        'version: "3.1"\nnlu:\n  - intent: greet\n    examples: |\n'
        "      - hi\n      hello without dash\n      - hey\n"
    )
    with pytest.warns(TrainingDataWarning, match=r"bad\.yml:6: example without '- ' skipped"):
        data = loads(content, "bad.yml")
    assert [e.text for e in data.examples] == ["hi", "hey"]


def test_empty_intent_and_duplicate_examples_key_are_warned_about():
    content = (
        'version: "3.1"\nnlu:\n'
        "  - intent: greet\n    examples: |\n      # nothing yet\n"
        "  - intent: thanks\n    examples: |\n      - cảm ơn\n    examples: |\n      - thanks\n"
    )
    with pytest.warns(TrainingDataWarning) as record:
        data = loads(content, "w.yml")
    messages = [str(w.message) for w in record]
    assert "w.yml:3: intent 'greet' has no examples" in messages
    assert "w.yml:9: duplicate key 'examples': only the last one is used" in messages
    assert [e.text for e in data.examples] == ["thanks"]


def test_data_without_nlu_items_round_trips():
    for data in (TrainingData(), TrainingData(synonyms={"hn": "Hà Nội"})):
        again = loads(dumps(data), "dumped.yml")
        assert again.examples == [] and again.synonyms == data.synonyms
    # "nlu:" with nothing under it (what older versions wrote) reads as no items.
    assert loads('version: "3.1"\nnlu:\n', "old.yml").examples == []
    one = TrainingData(examples=[Example("xin chào", "greet")])
    assert [e.text for e in loads(dumps(one)).examples] == ["xin chào"]
