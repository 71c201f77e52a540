"""Texts/s of TransformerClassifier.predict_proba (float32 and int8) against a plain transformers pipeline.

Both run in this one process with the same torch thread count; each is warmed up first and the
timed rounds alternate between them so background load hits both alike. Not a test: it prints a
Markdown table (and JSON with --json) to paste into RESULTS.md.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.predict_throughput.run [--model-dir DIR]

Without --model-dir it first fine-tunes the default MiniLM for one epoch on 256 SMS rows (not
timed) so both sides score a real sequence-classification checkpoint. The int8 rows run the same
weights through `textal.models.int8` (dynamic quantisation); their agreement with float32 is
measured on the timed texts and, for the frozen encoder under a logistic head (embed-head, the fast
tier), on BANKING77's test set with a head fitted on its training set (77 labels: a harder test
of agreement than two).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import cpu_name

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[2]

DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))


def sms_texts(n: int) -> tuple[list[str], list[str]]:
    with open(DATA / "sms_spam" / "train.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows[:n]], [r["label"] for r in rows[:n]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", help="a saved TransformerClassifier directory (default: fine-tune one)")
    parser.add_argument("--n", type=int, default=2000, help="texts to score per round")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per contender (median reported)")
    parser.add_argument("--json", help="also write the raw numbers here")
    args = parser.parse_args()

    import numpy as np
    import torch
    import transformers
    from transformers import pipeline

    from textal.models.embed_head import EmbedHeadClassifier
    from textal.models.encoder import Encoder
    from textal.models.transformer import TransformerClassifier

    texts, labels = sms_texts(args.n)
    tmp = None
    if args.model_dir:
        model_dir = Path(args.model_dir)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="textal-bench-")
        model_dir = Path(tmp.name) / "model"
        print("fine-tuning a model to score (not timed) ...", file=sys.stderr)
        TransformerClassifier(epochs=1, min_steps=0, validation_fraction=0.0).fit(texts[-256:], labels[-256:]).save(
            model_dir
        )

    ours = TransformerClassifier.load(model_dir)
    ours_int8 = TransformerClassifier.load(model_dir).set_params(int8=True)
    encoder, encoder_int8 = Encoder(), Encoder(int8=True)
    pipe = pipeline("text-classification", model=str(model_dir))  # its default settings (batch_size 1)
    pipe_batched = pipeline("text-classification", model=str(model_dir), batch_size=ours.eval_batch_size)

    contenders = {
        "textal predict_proba": lambda xs: ours.predict_proba(xs),
        "textal predict_proba, int8": lambda xs: ours_int8.predict_proba(xs),
        "pipeline (defaults)": lambda xs: pipe(xs),
        f"pipeline (batch_size={ours.eval_batch_size}, for reference)": lambda xs: pipe_batched(xs),
        "textal encode (frozen MiniLM, the fast tier)": lambda xs: encoder.encode(xs),
        "textal encode, int8": lambda xs: encoder_int8.encode(xs),
    }
    for run in contenders.values():  # warm-up: first-call allocations, lazy init
        run(texts[:64])

    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            run(texts)
            times[name].append(time.perf_counter() - start)

    predicted = [ours.labels_[j] for j in ours.predict_proba(texts).argmax(axis=1)]
    piped = [out["label"] for out in pipe(texts)]
    agreement = float(np.mean([a == b for a, b in zip(predicted, piped)]))
    int8_agreement = float(np.mean(ours_int8.predict_proba(texts).argmax(1) == ours.predict_proba(texts).argmax(1)))
    banking = {}
    for split in ("train", "test"):
        with open(DATA / "banking77" / f"{split}.csv", newline="", encoding="utf-8") as fh:
            banking[split] = [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    head = EmbedHeadClassifier().fit_embeddings(
        encoder.encode([t for t, _ in banking["train"]]), [lab for _, lab in banking["train"]]
    )
    test_texts = [t for t, _ in banking["test"]]
    fp32_guess = head.predict_proba_embeddings(encoder.encode(test_texts)).argmax(1)
    int8_guess = head.predict_proba_embeddings(encoder_int8.encode(test_texts)).argmax(1)
    gold = np.array([head.labels_.index(lab) for _, lab in banking["test"]])
    head_agreement = float(np.mean(fp32_guess == int8_guess))
    head_accuracy = (float(np.mean(fp32_guess == gold)), float(np.mean(int8_guess == gold)))

    rate = {name: args.n / statistics.median(ts) for name, ts in times.items()}
    base = rate["pipeline (defaults)"]
    print(f"command: {' '.join([Path(sys.executable).name, '-m', 'benchmarks.predict_throughput.run', *sys.argv[1:]])}")
    print(
        f"machine: {cpu_name()} ({platform.machine()}), {os.cpu_count()} CPUs, "
        f"torch threads {torch.get_num_threads()}, "
        f"GPU: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}"
    )
    print(
        f"versions: python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}"
    )
    print(f"load average before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f} (1 min)")
    print(f"texts: {args.n} SMS (sms_spam/train.csv first rows); rounds: {args.rounds}, median; warm-up excluded")
    print(
        f"label agreement textal vs pipeline: {agreement:.4f}; textal int8 vs float32: {int8_agreement:.4f} "
        f"({args.n} SMS)"
    )
    print(
        f"embed-head on BANKING77 (head fitted on train, {len(test_texts)} test texts): int8 vs float32 label "
        f"agreement {head_agreement:.4f}; accuracy float32 {head_accuracy[0]:.4f}, int8 {head_accuracy[1]:.4f}\n"
    )
    print("| contender | texts/s (median) | rounds (s) | vs pipeline defaults |")
    print("|---|---:|---|---:|")
    for name, ts in times.items():
        print(f"| {name} | {rate[name]:.1f} | {', '.join(f'{t:.2f}' for t in ts)} | {rate[name] / base:.2f}x |")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "times_s": times,
                    "texts_per_s": rate,
                    "agreement": agreement,
                    "int8_agreement": int8_agreement,
                    "head_int8_agreement": head_agreement,
                    "head_accuracy": head_accuracy,
                },
                indent=2,
            )
        )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
