"""Texts/s of TransformerClassifier.predict_proba and Encoder.encode in fp32, bf16 and int8, against a pipeline.

Both run in this one process with the same torch thread count; each is warmed up first and the
timed rounds alternate between them so background load hits both alike. Not a test: it prints a
Markdown table (and JSON with --json) to paste into RESULTS.md.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.predict_throughput.run [--model-dir DIR]

Without --model-dir it first fine-tunes the default MiniLM for one epoch on 256 SMS rows (not
timed) so both sides score a real sequence-classification checkpoint. The bf16 rows run the same
weights under bf16 autocast, the int8 rows through `textal.models.int8` (dynamic quantisation)
(``textal.models.precision``); their label agreement with fp32 is measured on the timed texts and, for
the frozen encoder under a logistic head (embed-head, the fast tier), on BANKING77's test set with a
head fitted on its fp32 training embeddings (77 labels: a harder test of agreement than two). The raw
numbers, with the command, commit, date, machine and the CPU's bf16 flags, go to ``--json``.
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

from benchmarks.machine import cpu_name, run_record

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
    parser.add_argument(
        "--json", default=str(REPO / "benchmarks" / "predict_throughput" / "results.json"), help="the raw numbers"
    )
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

    from textal.models.precision import cpu_bf16_flags
    from textal.models.precision_runtime import resolve_precision

    formats = ("fp32", "bf16", "int8")
    ours = {f: TransformerClassifier.load(model_dir).set_params(precision=f) for f in formats}
    encoders = {f: Encoder(precision=f) for f in formats}
    pipe = pipeline("text-classification", model=str(model_dir))  # its default settings (batch_size 1)

    contenders = {
        **{f"textal predict_proba, {f}": (lambda xs, m=ours[f]: m.predict_proba(xs)) for f in formats},
        "pipeline (defaults)": lambda xs: pipe(xs),
        **{f"textal encode (the fast tier), {f}": (lambda xs, e=encoders[f]: e.encode(xs)) for f in formats},
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

    guesses = {f: ours[f].predict_proba(texts).argmax(axis=1) for f in formats}
    piped = [out["label"] for out in pipe(texts)]
    agreement = float(np.mean([ours["fp32"].labels_[j] == b for j, b in zip(guesses["fp32"], piped)]))
    sms_agreement = {f: float(np.mean(guesses[f] == guesses["fp32"])) for f in formats[1:]}
    banking = {}
    for split in ("train", "test"):
        with open(DATA / "banking77" / f"{split}.csv", newline="", encoding="utf-8") as fh:
            banking[split] = [(r["text"], r["category"]) for r in csv.DictReader(fh)]
    head = EmbedHeadClassifier(precision="fp32").fit_embeddings(
        encoders["fp32"].encode([t for t, _ in banking["train"]]), [lab for _, lab in banking["train"]]
    )
    test_texts = [t for t, _ in banking["test"]]
    gold = np.array([head.labels_.index(lab) for _, lab in banking["test"]])
    head_guess = {f: head.predict_proba_embeddings(encoders[f].encode(test_texts)).argmax(1) for f in formats}
    head_agreement = {f: float(np.mean(head_guess[f] == head_guess["fp32"])) for f in formats[1:]}
    head_accuracy = {f: float(np.mean(head_guess[f] == gold)) for f in formats}

    rate = {name: args.n / statistics.median(ts) for name, ts in times.items()}
    base = rate["pipeline (defaults)"]
    auto = resolve_precision("auto", torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    print(f"command: {run_record('benchmarks.predict_throughput.run')['command']}")
    print(
        f"machine: {cpu_name()} ({platform.machine()}), {os.cpu_count()} CPUs, "
        f"torch threads {torch.get_num_threads()}, "
        f"GPU: {torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'none'}; "
        f"CPU bf16 flags: {', '.join(cpu_bf16_flags()) or 'none'}; auto runs {auto}"
    )
    print(
        f"versions: python {platform.python_version()}, torch {torch.__version__}, "
        f"transformers {transformers.__version__}"
    )
    print(f"load average before/after: {load_before:.2f} / {os.getloadavg()[0]:.2f} (1 min)")
    print(f"texts: {args.n} SMS (sms_spam/train.csv first rows); rounds: {args.rounds}, median; warm-up excluded")
    print(
        f"label agreement with fp32 ({args.n} SMS, the classifier): "
        + ", ".join(f"{f} {a:.4f}" for f, a in sms_agreement.items())
        + f"; textal fp32 vs pipeline {agreement:.4f}"
    )
    print(
        f"embed-head on BANKING77 (head fitted on fp32 train embeddings, {len(test_texts)} test texts): agreement "
        "with fp32 "
        + ", ".join(f"{f} {a:.4f}" for f, a in head_agreement.items())
        + "; accuracy "
        + ", ".join(f"{f} {a:.4f}" for f, a in head_accuracy.items())
        + "\n"
    )
    print("| contender | texts/s (median) | rounds (s) | vs pipeline defaults |")
    print("|---|---:|---|---:|")
    for name, ts in times.items():
        print(f"| {name} | {rate[name]:.1f} | {', '.join(f'{t:.2f}' for t in ts)} | {rate[name] / base:.2f}x |")
    Path(args.json).write_text(
        json.dumps(
            {
                **run_record("benchmarks.predict_throughput.run"),
                "cpu": cpu_name(),
                "torch_threads": torch.get_num_threads(),
                "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
                "cpu_bf16_flags": list(cpu_bf16_flags()),
                "auto_runs": auto,
                "load_average_before_after": [load_before, os.getloadavg()[0]],
                "texts": args.n,
                "times_s": times,
                "texts_per_s": rate,
                "agreement_textal_pipeline": agreement,
                "sms_agreement_with_fp32": sms_agreement,
                "banking77_head_agreement_with_fp32": head_agreement,
                "banking77_head_accuracy": head_accuracy,
            },
            indent=2,
        )
    )
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
