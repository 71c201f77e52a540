"""The contrastive full tier tuned in fp32 and in bf16 side by side: time, and what the fast tier's head makes of each.

For each set, the same seeded sample of labelled training texts tunes MiniLM twice (same seed, same steps), once with
fp32 forward passes and once under bf16 autocast (weights and optimiser fp32 in both). Each tuned encoder embeds the
labelled texts and the test set the way the worker does (``Encoder``, the default inference precision), a balanced
logistic head is fitted on the labelled texts, and both heads answer the test set: macro-F1 of each, and how many
test texts they label alike. The raw figures, with the run record, go to ``--json``.

    python -m benchmarks.full_tier_precision.run --json benchmarks/full_tier_precision/results.json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import REPO, run_record

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))
PRECISIONS = ("fp32", "bf16")


def read(dataset: str, split: str) -> tuple[list[str], list[str]]:
    with open(DATA / dataset / f"{split}.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    key = "label" if "label" in rows[0] else next(k for k in rows[0] if k != "text")  # BANKING77: "category"
    return [r["text"] for r in rows], [r[key] for r in rows]


def one_set(dataset: str, labels_n: int, seed: int) -> dict[str, Any]:
    """Both precisions on one set: seconds, steps, test macro-F1, and the share of test texts labelled alike."""
    from sklearn.metrics import f1_score

    from textal.models.encoder import Encoder
    from textal.training.full_tier import tune_encoder, tuning_summary
    from textal.training.head_refit import fit_head

    texts, labels = read(dataset, "train")
    test_texts, test_labels = read(dataset, "test")
    pick = np.random.default_rng(seed).choice(len(texts), size=min(labels_n, len(texts)), replace=False)
    train_texts, train_labels = [texts[i] for i in pick], [labels[i] for i in pick]
    classes = sorted(set(labels) | set(test_labels))
    out: dict[str, Any] = {"dataset": dataset, "labels": len(pick), "test": len(test_texts), "runs": {}}
    predictions: dict[str, np.ndarray] = {}
    for precision in PRECISIONS:
        started = time.perf_counter()
        model = tune_encoder(train_texts, train_labels, classes, False, seed=seed, precision=precision)
        tune_s = time.perf_counter() - started
        with tempfile.TemporaryDirectory(prefix="textal-precision-") as folder:
            model.save(folder)
            encoder = Encoder(model=folder)
            X_train, X_test = encoder.encode(train_texts), encoder.encode(test_texts)
        head = fit_head(X_train, train_labels, classes, False, encoder=folder, seed=seed)
        predicted = np.asarray(head.labels_)[head.predict_proba_embeddings(X_test).argmax(axis=1)]
        predictions[precision] = predicted
        out["runs"][precision] = {
            "tune_s": round(tune_s, 1),
            **tuning_summary(model),
            "macro_f1": round(float(f1_score(test_labels, predicted, average="macro")), 4),
        }
        print(f"# {dataset} {precision}: {out['runs'][precision]}", flush=True)
    out["agreement"] = round(float(np.mean(predictions["fp32"] == predictions["bf16"])), 4)
    out["speedup"] = round(out["runs"]["fp32"]["tune_s"] / out["runs"]["bf16"]["tune_s"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="sms_spam,banking77")
    parser.add_argument("--labels", type=int, default=500, help="labelled training texts the tier tunes on")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the raw figures here")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    sets = [one_set(name, args.labels, args.seed) for name in args.datasets.split(",")]
    record = {**run_record("benchmarks.full_tier_precision.run"), "sets": sets}
    print("| set | labels | fp32 tune s | bf16 tune s | speed-up | fp32 macro-F1 | bf16 macro-F1 | test labels alike |")
    print("|---|---|---|---|---|---|---|---|")
    for s in sets:
        f, b = s["runs"]["fp32"], s["runs"]["bf16"]
        print(
            f"| {s['dataset']} | {s['labels']} | {f['tune_s']} | {b['tune_s']} | {s['speedup']}x | {f['macro_f1']} |"
            f" {b['macro_f1']} | {s['agreement']:.1%} |"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
