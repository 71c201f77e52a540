"""The full tier's two candidates against the frozen encoder, on the same labels: plain fine-tuning (the worker's,
``textal.models.transformer.fine_tune``) and a contrastive fine-tune of the sentence encoder (sentence-transformers'
MultipleNegativesRankingLoss over pairs of texts that share a label, the idea behind SetFit). Each encoder then
embeds the pool's test set and the same logistic head (the peers' LogisticRegression(C=10)) is fitted on the labels.

Usage: ``python -m benchmarks.two_tier.contrastive [--datasets banking77,clinc150] [--sizes 100,250,500,1000]``;
writes CONTRASTIVE.md here. A smoke test: ``--sizes 20 --limit 200 --encoder DIR --out DIR``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_name
from benchmarks.peers.protocol import classifier

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data")).resolve()

MAX_PAIRS = 2000  # pairs per contrastive fine-tune, whatever the number of labels (CPU time)


def head_f1(X: np.ndarray, y: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y_test, classifier().fit(X, y).predict(X_test), average="macro"))


def pairs_of(texts: list[str], y: np.ndarray, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """(anchor, positive) pairs of different texts sharing a label, spread evenly over the anchors."""
    by_class = {c: np.flatnonzero(y == c) for c in np.unique(y)}
    anchors = [i for i in range(len(y)) if len(by_class[y[i]]) > 1]
    per_anchor = max(1, MAX_PAIRS // max(1, len(anchors)))
    a, p = [], []
    for i in anchors:
        others = by_class[y[i]][by_class[y[i]] != i]
        for j in rng.choice(others, size=min(per_anchor, len(others)), replace=False):
            a.append(texts[i])
            p.append(texts[int(j)])
    order = rng.permutation(len(a))[:MAX_PAIRS]
    return [a[k] for k in order], [p[k] for k in order]


def contrastive(encoder_dir: str, texts: list[str], y: np.ndarray, seed: int, work: Path) -> object:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
        losses,
    )
    from sentence_transformers.training_args import BatchSamplers

    model = SentenceTransformer(encoder_dir, device="cpu")
    anchors, positives = pairs_of(texts, y, np.random.default_rng(seed))
    args = SentenceTransformerTrainingArguments(
        output_dir=str(work),
        num_train_epochs=1,
        per_device_train_batch_size=32,
        learning_rate=2e-5,
        warmup_steps=0.1,
        batch_sampler=BatchSamplers.NO_DUPLICATES,
        save_strategy="no",
        report_to=[],
        logging_steps=10_000,
        seed=seed,
        use_cpu=True,
        disable_tqdm=True,
    )
    SentenceTransformerTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_dict({"anchor": anchors, "positive": positives}),
        loss=losses.MultipleNegativesRankingLoss(model),
    ).train()
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="banking77,clinc150")
    parser.add_argument("--sizes", default="100,250,500,1000")
    parser.add_argument("--encoder", default="default")
    parser.add_argument("--limit", type=int, default=None, help="the first rows of train and test only (smoke test)")
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    from textal.data.corpus import load_corpus
    from textal.models.classifier import encode_labels
    from textal.models.encoder import Encoder
    from textal.models.hf import resolve_model_source
    from textal.models.transformer import fine_tune

    encoder_dir = str(resolve_model_source(args.encoder))
    lines = [
        "# The full tier: plain against contrastive fine-tuning",
        "",
        "Written by `benchmarks/two_tier/contrastive.py`. On one random draw of labels per size (the same draw for "
        "every encoder), the test macro-F1 of LogisticRegression(C=10) over: the frozen MiniLM; MiniLM fine-tuned "
        "end to end with a classification head, 2 epochs, at least 100 steps (the worker's full tier); MiniLM "
        f"fine-tuned contrastively (one epoch over at most {MAX_PAIRS:,} pairs of texts sharing a label, "
        "MultipleNegativesRankingLoss, learning rate 2e-5). One repeat: CPU time.",
        "",
        "| dataset | labels | frozen | plain fine-tune | contrastive | plain s | contrastive s |",
        "|---|---|---|---|---|---|---|",
    ]
    for dataset in args.datasets.split(","):
        train, test = load_corpus(DATA / dataset / "train.csv"), load_corpus(DATA / dataset / "test.csv")
        texts, test_texts = list(train.texts), list(test.texts)
        classes = sorted(set(train.label_set) | set(test.label_set))
        y, y_test = encode_labels(train.labels, classes), encode_labels(test.labels, classes)
        if args.limit:
            texts, y, test_texts, y_test = (
                texts[: args.limit],
                y[: args.limit],
                test_texts[: args.limit],
                y_test[: args.limit],
            )
        frozen = Encoder(args.encoder)
        X_frozen = frozen.encode(texts)
        X_test_frozen = frozen.encode(test_texts)
        for n in (int(v) for v in args.sizes.split(",")):
            idx = np.random.default_rng(n).choice(len(y), size=n, replace=False)
            row = [dataset, f"{n:,}", f"{head_f1(X_frozen[idx], y[idx], X_test_frozen, y_test):.3f}"]
            start = time.perf_counter()
            model = fine_tune(
                [texts[i] for i in idx], [classes[c] for c in y[idx]], classes, False, encoder=args.encoder, seed=0
            )
            with tempfile.TemporaryDirectory() as folder:
                model.save(folder)
                plain = Encoder(model=folder)
                row.append(
                    f"{head_f1(plain.encode([texts[i] for i in idx]), y[idx], plain.encode(test_texts), y_test):.3f}"
                )
            plain_s = time.perf_counter() - start
            start = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                st = contrastive(encoder_dir, [texts[i] for i in idx], y[idx], 0, Path(folder))
                embed = lambda batch, st=st: st.encode(batch, batch_size=64, normalize_embeddings=True)  # noqa: E731
                row.append(f"{head_f1(embed([texts[i] for i in idx]), y[idx], embed(test_texts), y_test):.3f}")
            row += [f"{plain_s:.0f}", f"{time.perf_counter() - start:.0f}"]
            lines.append("| " + " | ".join(row) + " |")
            print(lines[-1], flush=True)
    command = "python -m benchmarks.two_tier.contrastive " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines += [
        "",
        "Seconds: fine-tune and embedding the labelled texts and the test set, on "
        f"{cpu_name()} ({platform.machine()}), Python {platform.python_version()}, beside other benchmarks.",
        "",
        f"Command: `{command.strip()}`",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "CONTRASTIVE.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
