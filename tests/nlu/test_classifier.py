import asyncio
import os
import stat
import time
from pathlib import Path

import pytest

import nlu
from nlu.classifier import IntentModel, data_hash, load_or_train
from nlu.engine import EmbeddedBackend
from nlu.evaluate import evaluate
from nlu.rasa_format import load

HELDOUT = Path(__file__).parent / "data" / "heldout.yml"
#: Second set, written independently in other styles (see its header).
HELDOUT_B = Path(__file__).parent / "data" / "heldout_b.yml"
INTENTS = {
    "greet",
    "goodbye",
    "thanks",
    "emergency",
    "disclose_abuse",
    "ask_rights",
    "ask_safety",
    "ask_services",
    "request_human",
    "report_concern",
    "ask_privacy",
    "delete_data",
    "affirm",
    "deny",
    "stop",
    "help",
    "change_language",
    "out_of_scope",
}


@pytest.mark.parametrize(
    ("path", "per_intent", "macro_f1", "recall", "false_emergencies"),
    [(HELDOUT, 15, 0.92, 0.99, 1), (HELDOUT_B, 20, 0.90, 1.0, 2)],
    ids=["heldout", "heldout_b"],
)
def test_heldout_targets(
    backend: EmbeddedBackend,
    path: Path,
    per_intent: int,
    macro_f1: float,
    recall: float,
    false_emergencies: int,
):
    data = load(path)
    assert {e.intent for e in data.examples} == INTENTS
    assert all(sum(1 for e in data.examples if e.intent == i) >= per_intent for i in INTENTS)
    rep = evaluate(backend, data)
    assert rep["macro_f1"] >= macro_f1, rep["confusions"]
    assert rep["per_intent"]["emergency"]["recall"] >= recall
    false = [
        e.text
        for e in data.examples
        if e.intent != "emergency" and backend.parse_sync(e.text)["intent"]["name"] == "emergency"
    ]
    assert len(false) <= false_emergencies, false


@pytest.mark.parametrize(
    ("path", "share"), [(HELDOUT, 0.05), (HELDOUT_B, 0.25)], ids=["heldout", "heldout_b"]
)
def test_heldout_is_not_in_training_data(path: Path, share: float):
    from nlu.normalize import normalize
    from nlu.rasa_format import load_dir

    train = {normalize(e.text) for e in load_dir(nlu.classifier.DATA_DIR).examples}
    held = [normalize(e.text) for e in load(path).examples]
    overlap = [t for t in held if t in train]
    # Only trivial one-liners ("ko can", "bai bai") may coincide after normalisation;
    # B has many on purpose ("yes", "stop", "menu").
    assert all(len(t.split()) <= 3 for t in overlap), overlap
    assert len(overlap) <= len(held) * share, overlap


def test_result_has_rasa_shape(backend: EmbeddedBackend):
    r = backend.parse_sync("toi bi ck danh, e o xa Muong Nhe")
    # Rasa's fields, plus our documented additions (nlu/result.py).
    assert set(r) == {"text", "intent", "intent_ranking", "entities", "language", "emergency"}
    assert r["emergency"] == "none"  # a disclosure of the past, not danger now
    assert r["text"] == "toi bi ck danh, e o xa Muong Nhe"
    assert r["intent"]["name"] in INTENTS and 0 <= r["intent"]["confidence"] <= 1
    assert len(r["intent_ranking"]) == 5
    confs = [x["confidence"] for x in r["intent_ranking"]]
    assert confs == sorted(confs, reverse=True)
    assert r["intent_ranking"][0] == r["intent"]
    assert r["entities"][0]["entity"] == "area" and r["entities"][0]["value"] == "Xã Mường Nhé"
    assert r["language"] == "vi"


async def test_async_parse_and_build_backend():
    b = nlu.build_backend()
    r = await b.parse("speak English please")
    assert r["intent"]["name"] == "change_language"
    assert r["language"] == "en"
    assert 0 < nlu.CONFIDENCE_THRESHOLD < 1


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("xin chào", "greet"),
        ("cam on nhieu", "thanks"),
        ("tạm biệt", "goodbye"),
        ("uk", "affirm"),
        ("ko", "deny"),
        ("dừng lại", "stop"),
        ("menu", "help"),
        ("giá vàng hôm nay", "out_of_scope"),
        ("xoá hết dữ liệu của em", "delete_data"),
        ("cho em gặp người thật", "request_human"),
        ("có ai đọc được tin nhắn này không", "ask_privacy"),
        ("số đường dây nóng", "ask_services"),
    ],
)
def test_everyday_messages(text: str, intent: str, backend: EmbeddedBackend):
    r = backend.parse_sync(text)
    assert r["intent"]["name"] == intent
    assert r["intent"]["confidence"] >= nlu.CONFIDENCE_THRESHOLD


def test_gibberish_is_not_understood(backend: EmbeddedBackend):
    # Must not be guessed into erase or handoff.
    for text in ("qwzx plmk", "....", "😭😭😭😭", ""):
        r = backend.parse_sync(text)
        if r["intent"]["name"] in ("delete_data", "request_human"):
            assert r["intent"]["confidence"] < nlu.CONFIDENCE_THRESHOLD


@pytest.mark.parametrize(
    "text", ["a" * 10000, "😭" * 10000, "tôi " * 3000, "\x00\ud800" * 100, " " * 5000]
)
def test_huge_or_odd_input_never_raises(text: str, backend: EmbeddedBackend):
    t0 = time.perf_counter()
    r = backend.parse_sync(text)
    assert r["text"] == text
    assert time.perf_counter() - t0 < 2.0  # generous: a guard against pathological regexes


def test_cache_is_reused_and_keyed_by_data(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "  - intent: greet\n    examples: |\n      - hello\n      - xin chào\n"
        "  - intent: thanks\n    examples: |\n      - cảm ơn\n      - thanks\n",
        encoding="utf-8",
    )
    cache = tmp_path / "cache"
    m1 = load_or_train(data, cache)
    files = list(cache.glob("intent-*.npz"))
    assert [f.name for f in files] == [f"intent-{data_hash(data)}.npz"]
    m2 = IntentModel.load(files[0])
    assert m2.predict("hello") == m1.predict("hello")
    (data / "a.yml").write_text(
        (data / "a.yml").read_text(encoding="utf-8") + "      - thank you\n", encoding="utf-8"
    )
    load_or_train(data, cache)
    assert [f.name for f in cache.glob("intent-*.npz")] == [f"intent-{data_hash(data)}.npz"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_cache_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user"))
    model = load_or_train(cache_dir=ro)
    assert model.predict("xin chào")[0][0] == "greet"
    assert list((tmp_path / "user" / "helpline-nlu").glob("intent-*.npz"))


def test_unwritable_cache_keeps_model_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # A regular file where the cache dirs should be: nothing can be written,
    # as on a read-only install.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    model = load_or_train(cache_dir=blocker / "sub")
    assert model.predict("cảm ơn nhiều")[0][0] == "thanks"


def test_build_from_cache_is_fast(tmp_path: Path):
    EmbeddedBackend(cache_dir=tmp_path)
    t0 = time.perf_counter()
    EmbeddedBackend(cache_dir=tmp_path)
    assert time.perf_counter() - t0 < 1.0


def test_parse_is_awaitable_many_times(backend: EmbeddedBackend):
    async def many() -> list[dict]:
        return await asyncio.gather(*(backend.parse("chao ban") for _ in range(20)))

    assert all(r["intent"]["name"] == "greet" for r in asyncio.run(many()))
