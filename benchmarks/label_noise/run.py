"""What label noise costs each strategy, how well the review finds the wrong labels, and what re-asking wins back.

``textal simulate`` with ``--label-noise`` (the simulated annotator answers wrong at that rate, the same
mistakes for every strategy of a repeat), with and without ``--review-budget 0.05`` (5 % of the labels
re-asked, the most suspicious flagged first), and noise-free, on the same seed sets (same ``--seed``).
Every run also records, round by round, the precision and recall of the review's flags against the
labels that are wrong. Usage: ``python -m benchmarks.label_noise.run [--datasets ...] [--repeats 3]
[--jobs 2]``; writes ``results/`` and RESULTS.md here. A smoke test: ``--datasets sms_spam --sizes 20,20,60
--repeats 1 --limit 300 --out DIR``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data")).resolve()
TEXTAL = str(Path(sys.executable).with_name("textal"))
SIZES = {"sms_spam": (50, 50, 1000), "banking77": (200, 200, 3000), "clinc150": (200, 200, 3000)}  # seed, batch, budget
STRATEGIES = "random,hybrid.v2"
REVIEW_BUDGET = 0.05
# (name, noise rate, kind, review budget, more flags). Confusable noise differs from uniform only with more than two
# classes; it runs on BANKING77, without re-asking, for its cost. Two annotators per text, one careless (30 %
# wrong, the other 5 %): their votes resolved by majority (a disagreement is no label) or weighed by quality.
PANEL = ["--annotators", "2", "--poor-annotator", "0.3"]
SETTINGS = [
    ("clean", 0.0, "uniform", 0.0, []),
    ("uniform10", 0.1, "uniform", 0.0, []),
    ("uniform10-review", 0.1, "uniform", REVIEW_BUDGET, []),
    ("uniform10-holdout", 0.1, "uniform", 0.0, ["--review-holdout"]),
    ("uniform20", 0.2, "uniform", 0.0, []),
    ("uniform20-review", 0.2, "uniform", REVIEW_BUDGET, []),
    ("panel", 0.05, "uniform", 0.0, PANEL),
    ("panel-weighted", 0.05, "uniform", 0.0, [*PANEL, "--weigh-annotators"]),
]
EXTRA = {"banking77": [("confusable10", 0.1, "confusable", 0.0, [])]}


def command_for(
    dataset: str, setting: tuple, repeats: int, sizes: tuple, out: Path, files: tuple[str, str]
) -> list[str]:
    name, rate, kind, budget, flags = setting
    seed, batch, total = sizes
    return [
        TEXTAL,
        "simulate",
        files[0],
        "--test",
        files[1],
        "--strategies",
        STRATEGIES,
        "--repeats",
        str(repeats),
        "--seed",
        "0",
        "--seed-size",
        str(seed),
        "--batch",
        str(batch),
        "--budget",
        str(total),
        "--label-noise",
        str(rate),
        "--noise-kind",
        kind,
        "--review-budget",
        str(budget),
        *flags,
        "--out",
        str(out),
    ]


def slice_files(dataset: str, limit: int, work: Path) -> tuple[str, str]:
    """The first ``limit`` rows of train and test (smoke tests)."""
    paths = []
    for split in ("train", "test"):
        with open(DATA / dataset / f"{split}.csv", newline="") as fh:
            rows = list(csv.reader(fh))[: limit + 1]
        path = work / f"{dataset}-{split}.csv"
        with open(path, "w", newline="") as fh:
            csv.writer(fh).writerows(rows)
        paths.append(str(path))
    return paths[0], paths[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(SIZES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sizes", default=None, help="seed,batch,budget for every dataset (smoke test)")
    parser.add_argument("--limit", type=int, default=None, help="the first rows of each file only (smoke test)")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --out, run the rest")
    args = parser.parse_args()
    results = args.out / "results"
    results.mkdir(parents=True, exist_ok=True)
    jobs, recorded = [], {}
    for dataset in args.datasets.split(","):
        sizes = tuple(int(v) for v in args.sizes.split(",")) if args.sizes else SIZES[dataset]
        if args.limit:
            files = slice_files(dataset, args.limit, results)
        else:
            files = (f"../shared/data/{dataset}/train.csv", f"../shared/data/{dataset}/test.csv")
            if DATA != (REPO.parent / "shared" / "data").resolve():
                files = tuple(f.replace("../shared/data", str(DATA)) for f in files)
        for setting in SETTINGS + EXTRA.get(dataset, []):
            out = results / f"{dataset}-{setting[0]}"
            shown_out = (
                out.relative_to(REPO) if out.is_relative_to(REPO) else out
            )  # recorded without this machine's path
            command = command_for(dataset, setting, args.repeats, sizes, shown_out, files)
            shown = [os.path.relpath(c, REPO) if c.startswith(str(REPO)) else c for c in command[1:]]
            recorded[f"{dataset}-{setting[0]}"] = "textal " + " ".join(shlex.quote(c) for c in shown)
            if not (args.resume and (out / "results.json").is_file()):
                jobs.append(command)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    start = time.perf_counter()

    def launch(command: list[str]) -> None:
        subprocess.run(command, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
        print("done:", command[command.index("--out") + 1], flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(launch, jobs))
    (results / "run.json").write_text(
        json.dumps(
            {
                "commands": recorded,
                "jobs": args.jobs,
                "repeats": args.repeats,
                "wall_seconds": round(time.perf_counter() - start),
            },
            indent=1,
        )
    )
    subprocess.run(
        [sys.executable, "-m", "benchmarks.label_noise.report", "--out", str(args.out.resolve())], check=True, cwd=REPO
    )


if __name__ == "__main__":
    main()
