"""Class weights in the fast tier's head: ``textal simulate --class-weight balanced`` against ``none``.

The same seed sets per repeat for both (same ``--seed``), so the difference is paired. The peers'
protocol (no random share, no evaluation slice) on SMS spam (13 % spam) and CLINC150 (long-tailed
intents), with textal's default strategy. Usage: ``python -m benchmarks.class_weight.run [--repeats 5]
[--out DIR]``; writes the runs' folders, ``run.json`` (the run record: command, commit, date, machine, versions, each
simulation's seconds) and RESULTS.md in ``--out`` (default: here), the table from the runs' ``results.json``;
``--report-only`` rewrites RESULTS.md from them alone. ``make bench``'s quick run passes
``--out build/bench-quick/class_weight``, so the committed results here stay as the full runs left them.
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

import numpy as np

from benchmarks.machine import provenance, run_record

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data")).resolve()
TEXTAL = str(Path(sys.executable).with_name("textal"))
RUNS = {"sms_spam": ("25", "25", "1000"), "clinc150": ("100", "100", "3000")}
WEIGHTS = ("none", "balanced")


def simulate(
    dataset: str, weight: str, repeats: str, strategy: str, cache: str | None, where: Path = HERE
) -> tuple[str, float]:
    seed, batch, budget = RUNS[dataset]
    out = where.resolve() / f"{dataset}_{weight}"
    command = [
        TEXTAL,
        "simulate",
        f"../shared/data/{dataset}/train.csv",
        "--test",
        f"../shared/data/{dataset}/test.csv",
        "--model",
        "embed-head",
        "--class-weight",
        weight,
        "--strategies",
        strategy,
        "--repeats",
        repeats,
        "--seed",
        "0",
        "--seed-size",
        seed,
        "--batch",
        batch,
        "--budget",
        budget,
        "--random-fraction",
        "0",
        "--eval-fraction",
        "0",
        "--out",
        str(out.relative_to(REPO) if out.is_relative_to(REPO) else out),  # recorded relative in the checkout
    ]
    if cache:
        command += ["--cache-dir", cache]
    start = time.perf_counter()
    if DATA != (REPO.parent / "shared" / "data").resolve():  # DATA= elsewhere: the recorded command says where
        command = [c.replace("../shared/data", str(DATA)) for c in command]
    subprocess.run(command, check=True, cwd=REPO)
    return " ".join(
        shlex.quote(c) for c in command[1:] if c != cache and c != "--cache-dir"
    ), time.perf_counter() - start


def per_repeat_auc(results: dict, strategy: str) -> np.ndarray:
    rounds = [r for r in results["rounds"] if r["strategy"] == strategy]
    repeats = sorted({r["repeat"] for r in rounds})
    return np.array([np.mean([r["macro_f1"] for r in rounds if r["repeat"] == k]) for k in repeats])


def report(where: Path = HERE) -> list[str]:
    """RESULTS.md's lines, every figure read from the runs' ``results.json`` and ``run.json`` in ``where``."""
    record_path = where / "run.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else None
    seconds = {name: run["seconds"] for name, run in (record or {}).get("runs", {}).items()}
    lines = [
        "# Class weights in the fast tier's head",
        "",
        "Written by `benchmarks/class_weight/run.py` from each run's `results.json`. AUC = mean test macro-F1 over "
        "the rounds of one repeat; ± = standard error over repeats; Δ = balanced minus none on the same seed set "
        "(paired). L98 = labels at which the mean curve first reaches 98 % of the full-data macro-F1 "
        "(the unweighted head on every label).",
        "",
        "| dataset | class weight | AUC ± SE | L98 | F1 at the first round after the seed | paired Δ AUC ± SE |",
        "|---|---|---|---|---|---|",
    ]
    commands = []
    for dataset in RUNS:
        aucs = {}
        for weight in WEIGHTS:
            name = f"{dataset}_{weight}"
            if not (where / name / "results.json").is_file():
                continue
            results = json.loads((where / name / "results.json").read_text())
            took = f" ({seconds[name]:.0f} s)" if name in seconds else ""
            commands.append(f"- `{results['command'].split(' --cache-dir')[0]}`{took}")
            aucs[weight] = per_repeat_auc(results, results["settings"]["strategies"][0])
            entry = next(iter(results["summary"]["strategies"].values()))
            l98 = entry["labels_to"].get("0.98")
            second = np.mean([r["macro_f1"] for r in results["rounds"] if r["round"] == 1])
            se = aucs[weight].std(ddof=1) / np.sqrt(len(aucs[weight]))
            diff = aucs["balanced"] - aucs["none"] if weight == "balanced" and "none" in aucs else None
            lines.append(
                f"| {dataset} | {weight} | {aucs[weight].mean():.4f} ± {se:.4f} | "
                f"{'not reached' if l98 is None else f'{l98:,}'} | {second:.3f} | "
                + ("-" if diff is None else f"{diff.mean():+.4f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.4f}")
                + " |"
            )
    environment = json.loads((where / "sms_spam_none" / "results.json").read_text()).get("environment", {})
    machine = f"{environment.get('machine', '?')}, {environment.get('cpus', '?')} CPUs" if environment else "?"
    lines += [
        "",
        provenance(record, where / "sms_spam_none" / "results.json")
        + ("" if record else f" Simulate's own record: {machine}."),
        "",
        "Commands (from the repository root; `--cache-dir` omitted):",
        "",
        *commands,
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", default="5")
    parser.add_argument("--strategy", default="hybrid.v2")
    parser.add_argument("--cache-dir", default=None, help="embedding cache (left out of the recorded command)")
    parser.add_argument("--report-only", action="store_true", help="rewrite RESULTS.md from the results in --out")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for the runs' folders, run.json and RESULTS.md")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        record = run_record("benchmarks.class_weight.run")
        record["runs"] = {}
        for dataset in RUNS:
            for weight in WEIGHTS:
                command, seconds = simulate(dataset, weight, args.repeats, args.strategy, args.cache_dir, args.out)
                record["runs"][f"{dataset}_{weight}"] = {"simulate": f"textal {command}", "seconds": round(seconds)}
        (args.out / "run.json").write_text(json.dumps(record, indent=1) + "\n")
    lines = report(args.out)
    (args.out / "RESULTS.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
