"""Label-efficiency benchmark: textal's strategies on SMS spam and BANKING77, two protocols each.

* ``protocol``: the peers' protocol (small-text 1.4.1, modAL 0.4.2 were measured with it):
  frozen all-MiniLM-L6-v2 embeddings, LogisticRegression(C=10) refit per batch, test macro-F1,
  5 repeats, random seed set, no random mix. SMS: seed 25, batch 25, budget 1,000. BANKING77:
  seed 100, batch 100, budget 3,000.
* ``practice``: the practitioner's protocol: batches of 50 (SMS) / 200 (BANKING77), 10 % random
  picks in every batch, a 10 % evaluation slice held out of the pool for the stopping rules.

Usage: ``python -m benchmarks.label_efficiency.run [--only sms_protocol,...] [--repeats N] [--out DIR]``
(``make bench FULL=1`` runs all). Each run calls ``textal simulate`` and leaves its folder in ``--out`` (default:
here), with ``run.json`` (the run record: command, commit, date, machine, versions); then ``report.py`` writes
RESULTS.md there from the JSON files. ``make bench``'s quick run passes ``--out build/bench-quick/label_efficiency``,
so the committed results here stay as the full runs left them.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.machine import run_record

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data")).resolve()
TEXTAL = str(Path(sys.executable).with_name("textal"))


def options(size: int, budget: int, mix: str, strategies: str) -> list[str]:
    """``textal simulate``'s options for a run: seed set and batches of ``size``, ``budget`` labels, ``mix`` (a
    fraction) both of random picks in a batch and of the pool held out as the evaluation slice."""
    return [
        "--seed-size",
        str(size),
        "--batch",
        str(size),
        "--budget",
        str(budget),
        "--random-fraction",
        mix,
        "--eval-fraction",
        mix,
        "--strategies",
        strategies,
    ]


ALL = "random,least_confidence,entropy,margin,vote_entropy,kl_consensus,kmeans,coreset,badge,hybrid"
RUNS = {
    "sms_protocol": ("sms_spam", options(25, 1000, "0", ALL)),
    "banking77_protocol": ("banking77", options(100, 3000, "0", ALL)),
    "sms_practice": ("sms_spam", options(50, 1000, "0.1", "random,margin,vote_entropy,hybrid")),
    "banking77_practice": ("banking77", options(200, 3000, "0.1", "random,margin,vote_entropy,hybrid")),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(RUNS), help="comma-separated run names")
    parser.add_argument("--repeats", default="5")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the runs' folders and RESULTS.md")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only.split(","):
        dataset, options = RUNS[name]
        command = [
            TEXTAL,
            "simulate",
            str(DATA / dataset / "train.csv"),
            "--test",
            str(DATA / dataset / "test.csv"),
            "--model",
            "embed-head",
            "--class-weight",
            "none",
            "--repeats",
            args.repeats,
            "--seed",
            "0",
            "--out",
            str(out / name),
            *options,
        ]
        print("$", " ".join(shlex.quote(c) for c in command), flush=True)
        start = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - start
        (out / name / "wall_seconds.txt").write_text(f"{seconds:.0f}\n")
        record = {**run_record("benchmarks.label_efficiency.run"), "simulate": shlex.join(command[1:])}
        (out / name / "run.json").write_text(json.dumps({**record, "wall_seconds": round(seconds)}, indent=1) + "\n")
    subprocess.run(
        [sys.executable, "-m", "benchmarks.label_efficiency.report", "--out", str(out)], check=True, cwd=REPO
    )


if __name__ == "__main__":
    main()
