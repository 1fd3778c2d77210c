"""``helpline nlu ...`` commands: parse, train, eval, crossval, bench.

``bot/cli.py`` calls :func:`register`; ``python -m nlu.cli`` runs them alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any


def _print_report(rep: dict[str, Any]) -> None:
    print(f"accuracy  {rep['accuracy']:.4f}")
    print(f"macro-F1  {rep['macro_f1']:.4f}")
    print(f"{'intent':<18}{'prec':>7}{'rec':>7}{'f1':>7}{'n':>6}")
    for name, m in rep["per_intent"].items():
        print(
            f"{name:<18}{m['precision']:>7.3f}{m['recall']:>7.3f}{m['f1']:>7.3f}{m['support']:>6}"
        )
    if rep["confusions"]:
        print("top confusions (true → predicted):")
        for c in rep["confusions"]:
            print(f"  {c['true']} → {c['predicted']}: {c['count']}")


def cmd_parse(args: argparse.Namespace) -> int:
    from . import build_backend

    backend = build_backend(args.url)
    print(json.dumps(backend.parse_sync(args.text), ensure_ascii=False, indent=2))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .classifier import DATA_DIR, _cache_dirs, data_hash, train
    from .rasa_format import load_dir

    data = load_dir(args.data or DATA_DIR)
    t0 = time.perf_counter()
    model = train(data)
    secs = time.perf_counter() - t0
    key = data_hash(args.data or DATA_DIR)
    model.meta["data_hash"] = key
    where = None
    for d in _cache_dirs(args.cache_dir):
        try:
            model.save(d / f"intent-{key}.npz")
            where = d
            break
        except OSError:
            continue
    print(f"trained {len(data.examples)} examples, {len(data.intents)} intents in {secs:.2f}s")
    print(f"cache: {where / f'intent-{key}.npz' if where else 'not writable (memory only)'}")
    return 0


def _load_reporting(path: str | Path) -> Any:
    """``rasa_format.load`` printing its warnings (file:line) on stderr."""
    from .rasa_format import load

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load(path)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    return data


def cmd_eval(args: argparse.Namespace) -> int:
    from .engine import EmbeddedBackend
    from .evaluate import evaluate
    from .rasa_format import TrainingDataError

    try:
        data = _load_reporting(args.file)
    except (OSError, TrainingDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not data.examples:
        print(f"error: {args.file}: no NLU examples to evaluate", file=sys.stderr)
        return 2
    rep = evaluate(EmbeddedBackend(), data)
    if args.json:
        print(
            json.dumps(
                {k: rep[k] for k in ("accuracy", "macro_f1", "per_intent", "confusions")},
                ensure_ascii=False,
            )
        )
    else:
        print(f"{args.file}: {rep['examples']} examples")
        _print_report(rep)
    return 0


def cmd_falsealarm(args: argparse.Namespace) -> int:
    from .emergency import EMERGENCY_THRESHOLD
    from .engine import EmbeddedBackend
    from .evaluate import EVAL_DIR, false_alarm_report, load_messages
    from .rasa_format import TrainingDataError

    ood_paths = args.ood or [EVAL_DIR / f"out_of_domain{s}.yml" for s in ("", "_b", "_c", "_d")]
    held_paths = args.heldout or [EVAL_DIR / f"heldout{s}.yml" for s in ("", "_b", "_c")]
    try:
        ood: dict[str, list[str]] = {}
        for path in ood_paths:
            for name, msgs in load_messages(path).items():
                ood[f"{Path(path).stem}:{name}"] = msgs
        held = {str(p): _load_reporting(p) for p in held_paths}
    except (OSError, TrainingDataError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    empty = [p for p, d in held.items() if not d.examples]
    if empty:
        print(f"error: {empty[0]}: no NLU examples to evaluate", file=sys.stderr)
        return 2
    threshold = EMERGENCY_THRESHOLD if args.threshold is None else args.threshold
    rep = false_alarm_report(EmbeddedBackend().parse_sync, ood, held, threshold)
    if args.json:
        print(json.dumps(rep, ensure_ascii=False))
        return 0
    o = rep["out_of_domain"]
    print(f"emergency threshold {threshold}")
    print(
        f"out-of-domain ({len(ood_paths)} files): {o['messages']} messages, "
        f"false alarms {o['false_alarms']} ({o['rate']:.2%}), gentle checks {o['checks']}"
    )
    for name, row in o["by_set"].items():
        print(f"  {name:<40}{row['false_alarms']:>4} / {row['messages']}")
    for text in o["alarms"] if args.show else []:
        print(f"  ! {text}")
    for path, row in rep["heldout"].items():
        recall = "n/a" if row["recall"] is None else f"{row['recall']:.2f}"
        print(
            f"{path}: emergency recall {recall} ({row['emergencies']}), "
            f"false alarms {row['false_alarms']} / {row['others']}"
        )
        for text in row["missed"] if args.show else []:
            print(f"  missed: {text}")
    return 0


def cmd_crossval(args: argparse.Namespace) -> int:
    from .classifier import DATA_DIR
    from .evaluate import crossval
    from .rasa_format import load_dir

    rep = crossval(load_dir(args.data or DATA_DIR), folds=args.folds)
    if args.json:
        print(json.dumps(rep, ensure_ascii=False))
        return 0
    print(f"{args.folds}-fold cross-validation, {rep['examples']} examples")
    _print_report(rep)
    th = rep["threshold"]
    print(
        "suggested CONFIDENCE_THRESHOLD "
        f"(accepted precision ≥ {th['target_precision']}): {th['threshold']}"
    )
    for row in th["table"]:
        print(
            f"  ≥{row['threshold']:.2f}: precision {row['precision']:.3f}, "
            f"coverage {row['coverage']:.3f}"
        )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run

    run(json_out=args.json)
    return 0


def register(subparsers: Any) -> None:
    """Add the ``nlu`` command and its subcommands to an argparse subparsers object."""
    nlu = subparsers.add_parser("nlu", help="intent classifier: parse, train, evaluate")
    sub = nlu.add_subparsers(dest="nlu_command", required=True)

    p = sub.add_parser("parse", help="parse one message, print the Rasa-shaped JSON")
    p.add_argument("text")
    p.add_argument("--url", default=None, help="remote Rasa server (default: embedded)")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("train", help="train on nlu/data and write the cache")
    p.add_argument("--data", default=None)
    p.add_argument("--cache-dir", default=None)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="train on nlu/data, evaluate on FILE (Rasa YAML)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "falsealarm",
        help="share of out-of-domain messages that would get the 113 answer; emergency recall",
    )
    p.add_argument(
        "--ood", nargs="*", default=None, help="out-of-domain corpora (default: tests/nlu/data)"
    )
    p.add_argument("--heldout", nargs="*", default=None, help="Rasa YAML held-out files")
    p.add_argument("--threshold", type=float, default=None)
    p.add_argument("--show", action="store_true", help="list the false alarms and misses")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_falsealarm)

    p = sub.add_parser("crossval", help="k-fold cross-validation on nlu/data")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--data", default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_crossval)

    p = sub.add_parser("bench", help="latency/throughput/training time, fastText side by side")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nlu.cli")
    register(parser.add_subparsers(dest="command", required=True))
    argv = list(sys.argv[1:] if argv is None else argv)
    if (
        not argv or argv[0] != "nlu"
    ):  # allow both "python -m nlu.cli parse ..." and "... nlu parse ..."
        argv.insert(0, "nlu")
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
