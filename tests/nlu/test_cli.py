import argparse
import json
from pathlib import Path

import pytest

from nlu import cli

HELDOUT = Path(__file__).parent / "data" / "heldout.yml"


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_parse_prints_rasa_json(capsys: pytest.CaptureFixture[str]):
    assert _run(["nlu", "parse", "tôi bị chồng đánh"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["text"] == "tôi bị chồng đánh"  # ensure_ascii=False keeps it readable
    assert out["intent"]["name"] == "disclose_abuse"


def test_eval_json_keys(capsys: pytest.CaptureFixture[str]):
    assert _run(["nlu", "eval", str(HELDOUT), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert set(rep) == {"accuracy", "macro_f1", "per_intent", "confusions"}
    assert set(rep["per_intent"]["emergency"]) == {"precision", "recall", "f1", "support"}
    assert 0 <= rep["macro_f1"] <= 1


def test_eval_reports_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    bad = tmp_path / "bad.yml"
    bad.write_text("nlu:\n  - intent: x\n    examples: |\n      oops\n", encoding="utf-8")
    assert _run(["nlu", "eval", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yml:4" in err  # the skipped line, as Rasa warns
    assert "no NLU examples" in err


@pytest.mark.parametrize(
    "content",
    ["", 'version: "3.1"\n', 'version: "3.1"\nnlu:\n', "nlu:\n  - intent: x\n    examples: |\n"],
)
def test_eval_on_a_file_without_examples_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
):
    empty = tmp_path / "empty.yml"
    empty.write_text(content, encoding="utf-8")
    assert _run(["nlu", "eval", str(empty)]) == 2
    captured = capsys.readouterr()
    assert "error:" in captured.err and "no NLU examples" in captured.err
    assert "accuracy" not in captured.out


def test_train_writes_cache(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert _run(["nlu", "train", "--cache-dir", str(tmp_path)]) == 0
    assert "examples" in capsys.readouterr().out
    assert list(tmp_path.glob("intent-*.npz"))
