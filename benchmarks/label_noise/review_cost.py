"""What the worker's label review costs after a retrain: out-of-fold heads (5 folds) and cleanlab, against labels.

The review the worker runs (``ml_backend.worker.review``: ``textal.quality.label_review.head_out_of_fold_proba`` and
``review_labels``) on the frozen MiniLM embeddings of BANKING77 and CLINC150 training texts, at growing
numbers of labels, single-threaded as the worker's head is. Usage: ``python -m benchmarks.label_noise.review_cost``;
writes REVIEW_COST.md here.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_name

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data")).resolve()

SIZES = (500, 2000, 5000, 10000)


def main() -> None:
    from textal.data.corpus import load_corpus
    from textal.models.class_weights import class_weight_param
    from textal.models.classifier import encode_labels
    from textal.models.encoder import Encoder
    from textal.quality.label_review import head_out_of_fold_proba, review_labels
    from textal.runtime.settings import cache_dir as default_cache_dir

    lines = [
        "# What the label review costs the worker",
        "",
        "Written by `benchmarks/label_noise/review_cost.py`: the review the worker runs after each retrain "
        "(5-fold logistic heads over the frozen MiniLM embeddings, balanced class weights, then cleanlab's "
        "`find_label_issues`), timed on the training labels of each dataset, 10 % of them flipped at random. "
        "Embeddings are already computed by the retrain, so they are not timed.",
        "",
        "| dataset | classes | labels | seconds | flagged | precision | recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in ("banking77", "clinc150"):
        corpus = load_corpus(DATA / dataset / "train.csv")
        classes = sorted(corpus.label_set)
        X = Encoder(cache_dir=default_cache_dir()).encode(corpus.texts)
        y_all = encode_labels(corpus.labels, classes)
        rng = np.random.default_rng(0)
        for n in SIZES:
            if n > len(y_all):
                continue
            idx = rng.choice(len(y_all), n, replace=False)
            y = y_all[idx].copy()
            wrong = rng.random(n) < 0.1
            y[wrong] = (y[wrong] + rng.integers(1, len(classes), wrong.sum())) % len(classes)
            start = time.perf_counter()
            proba = head_out_of_fold_proba(X[idx], y, len(classes), class_weight=class_weight_param("balanced"))
            verdict = review_labels(proba, y)
            seconds = time.perf_counter() - start
            hits = int((verdict.flagged & wrong).sum())
            lines.append(
                f"| {dataset} | {len(classes)} | {n:,} | {seconds:.1f} | {int(verdict.flagged.sum())} | "
                f"{hits / max(1, verdict.flagged.sum()):.2f} | {hits / max(1, wrong.sum()):.2f} |"
            )
            print(lines[-1], flush=True)
    lines += [
        "",
        "Command: `python -m benchmarks.label_noise.review_cost`  ",
        f"On {cpu_name()} ({platform.machine()}), Python {platform.python_version()}, other benchmarks running "
        "beside it (times are an upper bound).",
    ]
    (HERE / "REVIEW_COST.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
