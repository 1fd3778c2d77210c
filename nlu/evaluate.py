"""Evaluation: held-out reports, k-fold cross-validation and threshold choice.

Scores the whole parse (classifier + safety net), because that is what the
user meets.  Used by ``nlu eval`` / ``nlu crossval`` and the held-out test.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nlu.result import ParseResult

from .classifier import fit
from .emergency import EMERGENCY_THRESHOLD, emergency_level
from .engine import EmbeddedBackend
from .rasa_format import TrainingData, TrainingDataError


def report(gold: Sequence[str], pred: Sequence[str], top_confusions: int = 10) -> dict[str, Any]:
    """accuracy, macro-F1, per-intent P/R/F1/support and the commonest confusions."""
    labels = sorted(set(gold))
    per: dict[str, dict[str, float]] = {}
    for lab in labels:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p == lab)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != lab and p == lab)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == lab and p != lab)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        per[lab] = {
            "precision": round(prec, 4),
            "recall": round(rec, 4),
            "f1": round(f1, 4),
            "support": tp + fn,
        }
    acc = sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold) if gold else 0.0
    macro = sum(v["f1"] for v in per.values()) / len(per) if per else 0.0
    conf = Counter((g, str(p)) for g, p in zip(gold, pred, strict=True) if g != p)
    return {
        "accuracy": round(acc, 4),
        "macro_f1": round(macro, 4),
        "per_intent": per,
        "confusions": [
            {"true": g, "predicted": p, "count": n}
            for (g, p), n in conf.most_common(top_confusions)
        ],
    }


def predict_all(
    parse: Callable[[str], ParseResult], texts: Sequence[str]
) -> list[tuple[str, float]]:
    out = []
    for t in texts:
        r = parse(t)
        out.append((str(r["intent"]["name"]), float(r["intent"]["confidence"])))
    return out


def evaluate(backend: EmbeddedBackend, data: TrainingData) -> dict[str, Any]:
    texts = [e.text for e in data.examples]
    gold = [e.intent for e in data.examples]
    preds = predict_all(backend.parse_sync, texts)
    rep = report(gold, [p for p, _ in preds])
    rep["examples"] = len(texts)
    return rep


def choose_threshold(
    gold: Sequence[str], preds: Sequence[tuple[str, float]], target_precision: float = 0.95
) -> dict[str, Any]:
    """Lowest confidence threshold whose accepted predictions are ≥ target precision."""
    table = []
    chosen = None
    for step in range(1, 19):
        th = round(step * 0.05, 2)
        acc = [(g, p) for g, (p, c) in zip(gold, preds, strict=True) if c >= th]
        prec = sum(1 for g, p in acc if g == p) / len(acc) if acc else 1.0
        cov = len(acc) / len(gold) if gold else 0.0
        table.append({"threshold": th, "precision": round(prec, 4), "coverage": round(cov, 4)})
        if chosen is None and prec >= target_precision:
            chosen = th
    return {"threshold": chosen, "target_precision": target_precision, "table": table}


def crossval(data: TrainingData, folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Stratified k-fold: out-of-fold report plus a threshold suggestion."""
    from sklearn.model_selection import StratifiedKFold

    texts = [e.text for e in data.examples]
    gold = [e.intent for e in data.examples]
    preds: list[tuple[str, float]] = [("", 0.0)] * len(texts)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in skf.split(texts, gold):
        model = fit([texts[i] for i in train_idx], [gold[i] for i in train_idx])
        backend = EmbeddedBackend(model=model)
        for i, (p, c) in zip(
            test_idx, predict_all(backend.parse_sync, [texts[i] for i in test_idx]), strict=True
        ):
            preds[i] = (p, c)
    rep = report(gold, [p for p, _ in preds])
    rep["folds"] = folds
    rep["examples"] = len(texts)
    rep["threshold"] = choose_threshold(gold, preds)
    return rep


# --- false alarms: what the engine would do ------------------------------------

#: Where the repository keeps the held-out sets and the out-of-domain corpus.
EVAL_DIR = Path(__file__).resolve().parent.parent / "tests" / "nlu" / "data"


def load_messages(path: str | Path) -> dict[str, list[str]]:
    """An out-of-domain corpus: ``sets: {name: [message, ...]}`` → the same dict.

    Raises :class:`TrainingDataError` (file:line) when the shape is wrong or empty.
    """
    import yaml

    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TrainingDataError(str(p), mark.line + 1 if mark else 0, "invalid YAML") from None
    sets = doc.get("sets") if isinstance(doc, dict) else None
    if not isinstance(sets, dict):
        raise TrainingDataError(str(p), 1, "expected 'sets:' mapping names to lists of messages")
    out: dict[str, list[str]] = {}
    for name, msgs in sets.items():
        if not isinstance(msgs, list) or not all(isinstance(m, str) for m in msgs):
            raise TrainingDataError(str(p), 1, f"set {name!r} must be a list of strings")
        out[str(name)] = msgs
    if not any(out.values()):
        raise TrainingDataError(str(p), 1, "no messages")
    return out


def false_alarm_report(
    parse: Callable[[str], ParseResult],
    out_of_domain: dict[str, list[str]],
    heldout: dict[str, TrainingData],
    threshold: float = EMERGENCY_THRESHOLD,
) -> dict[str, Any]:
    """False-alarm rate and emergency recall through :func:`nlu.emergency_level`.

    A false alarm is an out-of-domain message that would get the full danger
    answer (level ``"sure"``); recall is the share of held-out emergencies
    that would.  ``"check"`` (the gentle question) counts as neither.
    """
    by_set: dict[str, dict[str, Any]] = {}
    alarms: list[str] = []
    total = checks = 0
    for name, msgs in out_of_domain.items():
        levels = [emergency_level(parse(m), threshold) for m in msgs]
        fired = [m for m, lv in zip(msgs, levels, strict=True) if lv == "sure"]
        alarms += fired
        total += len(msgs)
        checks += levels.count("check")
        by_set[name] = {"messages": len(msgs), "false_alarms": len(fired)}
    held: dict[str, dict[str, Any]] = {}
    for name, data in heldout.items():
        pairs = [(e.intent, emergency_level(parse(e.text), threshold)) for e in data.examples]
        emerg = [lv for intent, lv in pairs if intent == "emergency"]
        others = [lv for intent, lv in pairs if intent != "emergency"]
        held[name] = {
            "emergencies": len(emerg),
            "recall": round(emerg.count("sure") / len(emerg), 4) if emerg else None,
            "missed": [
                e.text
                for e, (_, lv) in zip(data.examples, pairs, strict=True)
                if e.intent == "emergency" and lv != "sure"
            ],
            "false_alarms": others.count("sure"),
            "others": len(others),
        }
    return {
        "threshold": threshold,
        "out_of_domain": {
            "messages": total,
            "false_alarms": len(alarms),
            "rate": round(len(alarms) / total, 4) if total else 0.0,
            "checks": checks,
            "by_set": by_set,
            "alarms": alarms,
        },
        "heldout": held,
    }
