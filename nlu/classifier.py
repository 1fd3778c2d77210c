"""Embedded intent classifier: TF-IDF char + word n-grams, logistic regression.

scikit-learn trains it; single-message prediction does not go through
sklearn (its per-call validation costs ~0.5 ms).  Instead the fitted
vocabularies, idf weights and coefficients are pulled out into plain dicts and
numpy arrays, and a message is scored with a gather + dot product — about ten
times faster and numerically identical.  Those arrays are also what we cache
on disk (``.npz`` + JSON, never pickle), keyed by the hash of the training data.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .normalize import normalize_both
from .rasa_format import TrainingData, data_files, load_dir

log = logging.getLogger(__name__)

#: Bump when features or model change, so stale caches are not loaded.
MODEL_VERSION = "nlu-tfidf-lr-4"
DATA_DIR = Path(__file__).parent / "data"
DEFAULT_CACHE_DIR = Path(__file__).parent / ".cache"

#: (analyzer, ngram range, source) — source 0 is the accent-folded text, 1 the accented one.
FEATURES: list[tuple[str, tuple[int, int], int]] = [
    ("char_wb", (2, 5), 0),
    ("word", (1, 2), 0),
]
# Measured (5-fold CV on nlu/data): adding accented word features did not help
# (macro-F1 0.868 → 0.859), so the default reads only the folded form.
C = 20.0


@dataclass
class _Vectorizer:
    """The pure-Python twin of a fitted TfidfVectorizer (sublinear tf, l2 norm)."""

    kind: str  # "char_wb" or "word"
    ngram: tuple[int, int]
    vocab: dict[str, int]
    idf: np.ndarray
    offset: int  # column offset in the stacked feature space
    source: int = 0  # 0: folded text, 1: accented text

    def grams(self, text: str) -> list[str]:
        lo, hi = self.ngram
        out: list[str] = []
        words = text.split()
        if self.kind == "word":
            for n in range(lo, hi + 1):
                out.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
            return out
        for w in words:  # same as sklearn's char_wb analyzer
            w = f" {w} "
            wl = len(w)
            for n in range(lo, hi + 1):
                if wl < n:
                    if n == lo:
                        out.append(w)
                    break
                out.extend(w[i : i + n] for i in range(wl - n + 1))
        return out

    def features(self, text: str) -> dict[int, float]:
        counts: dict[int, float] = {}
        vocab = self.vocab
        for g in self.grams(text):
            j = vocab.get(g)
            if j is not None:
                counts[j] = counts.get(j, 0.0) + 1.0
        if not counts:
            return {}
        weights = {j: (1.0 + float(np.log(c))) * float(self.idf[j]) for j, c in counts.items()}
        norm = float(np.sqrt(sum(v * v for v in weights.values())))
        return {self.offset + j: v / norm for j, v in weights.items()}


class IntentModel:
    """Fitted model in plain arrays: ``predict`` returns (intent, prob) sorted by prob."""

    def __init__(
        self,
        classes: list[str],
        coef: np.ndarray,
        intercept: np.ndarray,
        vectorizers: list[_Vectorizer],
        meta: dict[str, Any],
    ):
        self.classes = classes
        # Column-major so gathering a few feature columns is contiguous.
        self.coef_t = np.ascontiguousarray(coef.T)
        self.intercept = intercept
        self.vectorizers = vectorizers
        self.meta = meta

    def scores(self, forms: tuple[str, str]) -> np.ndarray:
        """Class probabilities for ``normalize_both(text)``."""
        feats: dict[int, float] = {}
        for v in self.vectorizers:
            feats.update(v.features(forms[v.source]))
        if feats:
            idx = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
            val = np.fromiter(feats.values(), dtype=np.float64, count=len(feats))
            logits = val @ self.coef_t[idx] + self.intercept
        else:
            logits = self.intercept.copy()
        logits = logits - logits.max()
        probs = np.exp(logits)
        result: np.ndarray = probs / probs.sum()
        return result

    def predict(self, text: str) -> list[tuple[str, float]]:
        """Ranking of every intent for a raw message, best first."""
        forms = normalize_both(text)
        probs = self.scores(forms)
        if self.classes[int(np.argmax(probs))] == "emergency" and " dang " in f" {forms[0]} ":
            # "đang" (-ing) is in most emergency examples, so "em đang ở nhà mẹ" looked
            # like one.  Score the message without it: if that is no longer an
            # emergency, "đang" was the only reason.  (The safety net runs after.)
            probs = self._without_dang(forms, probs)
        order = np.argsort(-probs)
        return [(self.classes[i], float(probs[i])) for i in order]

    def _without_dang(self, forms: tuple[str, str], probs: np.ndarray) -> np.ndarray:
        plain, rich = forms[0].split(), forms[1].split()
        keep = [i for i, t in enumerate(plain) if t != "dang"]
        if not keep:
            return probs
        alt = self.scores(
            (
                " ".join(plain[i] for i in keep),
                " ".join(rich[i] for i in keep) if len(rich) == len(plain) else forms[1],
            )
        )
        return probs if self.classes[int(np.argmax(alt))] == "emergency" else alt

    # --- persistence (no pickle: the cache may sit in a shared user dir) ---

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"coef": self.coef_t.T, "intercept": self.intercept}
        vecs = []
        for k, v in enumerate(self.vectorizers):
            terms = sorted(v.vocab, key=v.vocab.__getitem__)
            arrays[f"idf{k}"] = v.idf
            vecs.append(
                {
                    "kind": v.kind,
                    "ngram": list(v.ngram),
                    "offset": v.offset,
                    "source": v.source,
                    "terms": terms,
                }
            )
        header = {"classes": self.classes, "vectorizers": vecs, "meta": self.meta}
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write to a temp file and rename, so a concurrent reader never sees half a file.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as fh:
            arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
            np.savez(fh, **arrays)  # type: ignore[arg-type]
            tmp = fh.name
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(bytes(z["header"]).decode())
            vecs = [
                _Vectorizer(
                    v["kind"],
                    (v["ngram"][0], v["ngram"][1]),
                    {t: i for i, t in enumerate(v["terms"])},
                    z[f"idf{k}"],
                    v["offset"],
                    v["source"],
                )
                for k, v in enumerate(header["vectorizers"])
            ]
            return cls(header["classes"], z["coef"], z["intercept"], vecs, header["meta"])


# --- training ----------------------------------------------------------------


def _sk_vectorizers() -> list[Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return [
        TfidfVectorizer(
            analyzer=kind,
            ngram_range=ngram,
            sublinear_tf=True,
            lowercase=False,
            dtype=np.float64,
            **({"token_pattern": r"\S+"} if kind == "word" else {}),
        )
        for kind, ngram, _ in FEATURES
    ]


def fit(
    texts: Sequence[str], labels: Sequence[str], meta: dict[str, Any] | None = None
) -> IntentModel:
    """Train on raw texts (normalised here, exactly as at parse time)."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression

    forms = [normalize_both(t) for t in texts]
    sk = _sk_vectorizers()
    mats = [
        v.fit_transform([f[src] for f in forms])
        for v, (_, _, src) in zip(sk, FEATURES, strict=True)
    ]
    x = hstack(mats).tocsr()
    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    clf.fit(x, list(labels))
    vecs: list[_Vectorizer] = []
    offset = 0
    for v, m, (kind, ngram, src) in zip(sk, mats, FEATURES, strict=True):
        vocab = {str(k): int(i) for k, i in v.vocabulary_.items()}
        vecs.append(
            _Vectorizer(kind, ngram, vocab, np.asarray(v.idf_, dtype=np.float64), offset, src)
        )
        offset += m.shape[1]
    coef = np.asarray(clf.coef_, dtype=np.float64)
    intercept = np.asarray(clf.intercept_, dtype=np.float64)
    return IntentModel([str(c) for c in clf.classes_], coef, intercept, vecs, meta or {})


def data_hash(path: str | Path = DATA_DIR) -> str:
    """Hash of the training files' bytes plus the model version: the cache key."""
    h = hashlib.sha256(MODEL_VERSION.encode())
    h.update(f"{FEATURES}{C}".encode())
    for f in data_files(path):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def train(data: TrainingData | None = None, data_dir: str | Path = DATA_DIR) -> IntentModel:
    data = data if data is not None else load_dir(data_dir)
    t0 = time.perf_counter()
    model = fit([e.text for e in data.examples], [e.intent for e in data.examples])
    model.meta.update(
        {
            "examples": len(data.examples),
            "intents": len(data.intents),
            "train_seconds": round(time.perf_counter() - t0, 3),
        }
    )
    return model


def _cache_dirs(cache_dir: str | Path | None) -> list[Path]:
    """Where to try the cache: explicit/env dir, the package's .cache, the user's cache dir."""
    dirs: list[Path] = []
    explicit = cache_dir or os.environ.get("HELPLINE_NLU_CACHE_DIR")
    if explicit:
        dirs.append(Path(explicit))
    else:
        dirs.append(DEFAULT_CACHE_DIR)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    dirs.append(Path(xdg) / "helpline-nlu")
    return dirs


def load_or_train(
    data_dir: str | Path = DATA_DIR, cache_dir: str | Path | None = None
) -> IntentModel:
    """Load the cached model for this exact data, or train and try to cache it.

    A read-only install cannot write next to the package: then the user's cache
    dir is tried, and failing that the model lives in memory only.
    """
    key = data_hash(data_dir)
    name = f"intent-{key}.npz"
    dirs = _cache_dirs(cache_dir)
    for d in dirs:
        p = d / name
        if p.is_file():
            try:
                return IntentModel.load(p)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("nlu cache %s unreadable (%s); retraining", p, type(exc).__name__)
    model = train(data_dir=data_dir)
    model.meta["data_hash"] = key
    for d in dirs:
        try:
            model.save(d / name)
            for old in d.glob("intent-*.npz"):
                if old.name != name:
                    old.unlink(missing_ok=True)
            break
        except OSError:
            continue
    else:
        log.info("nlu cache not writable; model kept in memory")
    return model
