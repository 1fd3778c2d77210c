"""Benchmark: parse latency, throughput and training time; fastText side by side.

Run with ``python -m nlu.bench`` (or ``nlu bench``).  Figures are printed,
never asserted by tests (a loaded CI machine would make such tests flaky).
fastText is an optional extra (``pip install -e .[bench]``); without it the
report says so.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .classifier import DATA_DIR, fit
from .engine import EmbeddedBackend
from .normalize import _normalize_cached, normalize
from .rasa_format import load, load_dir

HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "nlu" / "data" / "heldout.yml"


def _latency(fn: Any, texts: list[str], rounds: int = 5) -> dict[str, float]:
    for t in texts[:50]:
        fn(t)  # warm caches and lazy imports
    samples = []
    for _ in range(rounds):
        for t in texts:
            # Every call pays for normalisation, as a new message would.
            _normalize_cached.cache_clear()
            t0 = time.perf_counter()
            fn(t)
            samples.append(time.perf_counter() - t0)
    samples.sort()
    total = sum(samples)
    return {
        "p50_ms": round(samples[len(samples) // 2] * 1000, 4),
        "p99_ms": round(samples[int(len(samples) * 0.99)] * 1000, 4),
        "mean_ms": round(statistics.fmean(samples) * 1000, 4),
        "throughput_per_s": round(len(samples) / total, 1),
        "calls": len(samples),
    }


def _accuracy(predict: Any, texts: list[str], gold: list[str]) -> float:
    return round(sum(1 for t, g in zip(texts, gold, strict=True) if predict(t) == g) / len(gold), 4)


def _bench_fasttext(
    train_texts: list[str], train_labels: list[str], test_texts: list[str], test_gold: list[str]
) -> dict[str, Any]:
    try:
        import fasttext
    except ImportError as exc:
        return {
            "available": False,
            "reason": f"fastText not installed ({exc}); pip install -e '.[bench]'",
        }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "train.txt"
        path.write_text(
            "".join(
                f"__label__{lab} {normalize(t)}\n"
                for t, lab in zip(train_texts, train_labels, strict=True)
            ),
            encoding="utf-8",
        )
        t0 = time.perf_counter()
        model = fasttext.train_supervised(
            str(path),
            epoch=50,
            lr=0.5,
            wordNgrams=2,
            minn=2,
            maxn=5,
            dim=50,
            loss="softmax",
            verbose=0,
            thread=2,
        )
        train_s = time.perf_counter() - t0

    # fastText 0.9.2's predict() uses np.array(copy=False), which numpy 2 rejects;
    # predict through the C++ binding directly, as predict() itself does.
    def predict_one(text: str) -> str:
        try:
            labels, _ = model.predict(normalize(text))
            return str(labels[0]).removeprefix("__label__")
        except ValueError:
            pred = model.f.predict(normalize(text) + "\n", 1, 0.0, "strict")
            return str(pred[0][1]).removeprefix("__label__") if pred else ""

    return {
        "available": True,
        "version": getattr(fasttext, "__version__", "0.9.x"),
        "train_seconds": round(train_s, 3),
        "latency": _latency(predict_one, test_texts),
        "heldout_accuracy": _accuracy(predict_one, test_texts, test_gold),
    }


def run(json_out: bool = False) -> dict[str, Any]:
    data = load_dir(DATA_DIR)
    texts = [e.text for e in data.examples]
    labels = [e.intent for e in data.examples]
    heldout = load(HELDOUT) if HELDOUT.is_file() else data
    test_texts = [e.text for e in heldout.examples]
    test_gold = [e.intent for e in heldout.examples]

    fit(texts[:200], labels[:200])  # import sklearn/scipy outside the timed run
    t0 = time.perf_counter()
    model = fit(texts, labels)
    train_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        backend = EmbeddedBackend(
            data_dir=DATA_DIR, cache_dir=tmp
        )  # cold: trains and writes the cache
        cold_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        EmbeddedBackend(data_dir=DATA_DIR, cache_dir=tmp)
        warm_s = time.perf_counter() - t0

    def classify(t: str) -> str:
        return str(backend.classify(t)["intent"]["name"])

    def parse(t: str) -> str:
        return str(backend.parse_sync(t)["intent"]["name"])

    def sklearn_predict(t: str) -> str:
        return model.predict(t)[0][0]

    result: dict[str, Any] = {
        "examples": len(texts),
        "heldout_examples": len(test_texts),
        "embedded": {
            "train_seconds": round(train_s, 3),
            "build_backend_cold_seconds": round(cold_s, 3),
            "build_backend_from_cache_seconds": round(warm_s, 3),
            "parse_latency": _latency(parse, test_texts),
            "classifier_only_latency": _latency(classify, test_texts),
            "model_predict_latency": _latency(sklearn_predict, test_texts),
            "heldout_accuracy": _accuracy(parse, test_texts, test_gold),
            "huge_input_ms": round(
                _latency(parse, ["cứu " * 2500, "😭" * 10000], rounds=3)["mean_ms"], 3
            ),
        },
        "fasttext": _bench_fasttext(texts, labels, test_texts, test_gold),
    }
    if json_out:
        print(json.dumps(result, ensure_ascii=False))
    else:
        e = result["embedded"]
        print(
            f"training data: {result['examples']} examples; held-out: {result['heldout_examples']}"
        )
        print(
            f"embedded  train {e['train_seconds']}s, "
            f"build cold {e['build_backend_cold_seconds']}s, "
            f"from cache {e['build_backend_from_cache_seconds']}s"
        )
        for k in ("parse_latency", "classifier_only_latency"):
            lat = e[k]
            print(
                f"  {k:<24} p50 {lat['p50_ms']} ms  p99 {lat['p99_ms']} ms  "
                f"{lat['throughput_per_s']}/s"
            )
        print(
            f"  held-out accuracy {e['heldout_accuracy']}; 10k-char input {e['huge_input_ms']} ms"
        )
        ft = result["fasttext"]
        if ft["available"]:
            lat = ft["latency"]
            print(
                f"fastText  train {ft['train_seconds']}s  p50 {lat['p50_ms']} ms  "
                f"p99 {lat['p99_ms']} ms  {lat['throughput_per_s']}/s  "
                f"held-out accuracy {ft['heldout_accuracy']}"
            )
        else:
            print(f"fastText  unavailable: {ft['reason']}")
    return result


if __name__ == "__main__":
    run(json_out="--json" in sys.argv[1:])
