"""Offline check of the shifted scenario's head: does weighting classes cost the base model's old intents?

BANKING77's first 50 intents (by name) are the base model's; the project's head learns from 5,000 stratified base rows
(as the worker's ``base_rows``) and 60 random labels of all 77 intents, over frozen MiniLM embeddings, with each class
weighting. Measured on the test split: macro-F1 over the old intents, and the share of test texts of the new intents
that got a label which is answered right. Five draws.

    python -m benchmarks.first_hour.shifted_offline [--out benchmarks/first_hour/shifted_offline.json]
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_name, run_record

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("DATA", HERE.parents[2] / "shared" / "data"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "shifted_offline.json")
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    from textal.data.corpus import load_corpus
    from textal.models.encoder import Encoder
    from textal.runtime.settings import cache_dir

    train, test = load_corpus(DATA / "banking77" / "train.csv"), load_corpus(DATA / "banking77" / "test.csv")
    encoder = Encoder(cache_dir=cache_dir())
    X, X_test = encoder.encode(list(train.texts)), encoder.encode(list(test.texts))
    y, y_test = np.array(train.labels), np.array(test.labels)
    classes = sorted(set(y))
    old, new = classes[:50], set(classes[50:])
    rows: dict[str, list[tuple[float, float]]] = {}
    for draw in range(args.draws):
        rng = np.random.default_rng(draw)
        base = rng.choice(np.flatnonzero(np.isin(y, old)), 5000, replace=False)
        labelled = rng.choice(np.setdiff1d(np.arange(len(y)), base), 60, replace=False)
        fit_x, fit_y = np.vstack([X[base], X[labelled]]), np.concatenate([y[base], y[labelled]])
        names, counts = np.unique(fit_y, return_counts=True)
        balanced = {c: len(fit_y) / (len(names) * n) for c, n in zip(names, counts)}
        weightings = {
            "balanced (the product's)": "balanced",
            "none": None,
            "balanced, capped at 3": {c: min(w, 3.0) for c, w in balanced.items()},
            "balanced, capped at 10": {c: min(w, 10.0) for c, w in balanced.items()},
            "square root of balanced": {c: float(np.sqrt(w)) for c, w in balanced.items()},
        }
        old_rows = np.isin(y_test, old)
        new_rows = np.isin(y_test, [c for c in names if c in new])
        for name, weights in weightings.items():
            guess = LogisticRegression(C=10, max_iter=3000, class_weight=weights).fit(fit_x, fit_y).predict(X_test)
            rows.setdefault(name, []).append(
                (
                    float(f1_score(y_test[old_rows], guess[old_rows], labels=old, average="macro")),
                    float(np.mean(guess[new_rows] == y_test[new_rows])),
                )
            )
        alone = LogisticRegression(C=10, max_iter=3000).fit(X[base], y[base]).predict(X_test)
        rows.setdefault("the base rows alone", []).append(
            (float(f1_score(y_test[old_rows], alone[old_rows], labels=old, average="macro")), 0.0)
        )
    summary = {
        name: {
            "old_intents_macro_f1": float(np.mean([r[0] for r in v])),
            "new_intents_right": float(np.mean([r[1] for r in v])),
        }
        for name, v in rows.items()
    }
    args.out.write_text(
        json.dumps(
            {**run_record("benchmarks.first_hour.shifted_offline"), "cpu": cpu_name(), "draws": rows, "mean": summary},
            indent=1,
        )
    )
    for name, figures in summary.items():
        print(f"| {name} | {figures['old_intents_macro_f1']:.3f} | {figures['new_intents_right']:.3f} |")


if __name__ == "__main__":
    main()
