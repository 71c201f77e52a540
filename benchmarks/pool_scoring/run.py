"""`textal score` on a pool of a million texts: wall time and peak memory, against the pool's own size.

Builds the pool (SMS spam test then train, repeated with a " [k]" suffix on each copy's texts so every
text differs), trains a model on `sms_spam/train.csv` with `textal train`, then times `textal score
POOL --out ranked.csv` as a user runs it, in its own process, and reads that process's peak RSS.

    python -m benchmarks.pool_scoring.run --texts 1000000 --model linear --json benchmarks/pool_scoring/results.jsonl
    python -m benchmarks.pool_scoring.run --texts 10000 --model embed-head --json benchmarks/pool_scoring/results.jsonl

``--json PATH`` appends the run's raw figures (one JSON line: the run record, every memory sample) to PATH;
``report.py`` writes RESULTS.md from that file.

"The pool's size" is what holding it costs: the CSV on disk, and the probabilities and (for
embed-head) 384-d float32 embeddings a whole-pool scorer would keep.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from benchmarks.machine import cpu_name, write_raw
from tests.support.memory import status_mb

REPO = Path(__file__).resolve().parents[2]

BIN = Path(sys.executable).parent
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))


def write_pool(path: Path, n: int) -> None:
    """``n`` SMS texts: test then train, copies after the first suffixed " [k]"."""
    source = []
    for name in ("test.csv", "train.csv"):
        with open(DATA / "sms_spam" / name, newline="") as fh:
            source += [r["text"] for r in csv.DictReader(fh)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text"])
        written, copy = 0, 0
        while written < n:
            for text in source[: n - written]:
                writer.writerow([text + (f" [{copy}]" if copy else "")])
            written += min(len(source), n - written)
            copy += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1_000_000)
    parser.add_argument("--model", default="linear", help="linear or embed-head (frozen MiniLM + logistic head)")
    parser.add_argument("--strategy", default="entropy")
    parser.add_argument("--json", type=Path, default=None, help="append the run's raw figures (one JSON line) here")
    args = parser.parse_args()

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with tempfile.TemporaryDirectory(prefix="textal-pool-") as tmp:
        work = Path(tmp)
        pool = work / "pool.csv"
        write_pool(pool, args.texts)
        subprocess.run(
            [
                str(BIN / "textal"),
                "train",
                str(DATA / "sms_spam" / "train.csv"),
                "--model",
                args.model,
                "--store",
                str(work / "store"),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        with open(work / "score.err", "w") as err:
            proc = subprocess.Popen(
                [
                    str(BIN / "textal"),
                    "score",
                    str(pool),
                    "--store",
                    str(work / "store"),
                    "--strategy",
                    args.strategy,
                    "--top-k",
                    "5",
                    "--out",
                    str(work / "ranked.csv"),
                ],
                env={**env, "TMPDIR": str(work)},
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            peaks = {"VmHWM": 0.0, "RssAnon": 0.0, "RssFile": 0.0}
            samples: list[list[float]] = []  # [seconds since start, VmHWM, RssAnon, RssFile] every 0.2 s
            while proc.poll() is None:
                now = status_mb(proc.pid, tuple(peaks))
                for key, mb in now.items():
                    peaks[key] = max(peaks[key], mb)
                if now:
                    at = round(time.perf_counter() - started, 2)
                    samples.append([at, *(round(now.get(key, 0.0), 1) for key in peaks)])
                time.sleep(0.2)
        seconds = time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(f"textal score failed ({proc.returncode}): {(work / 'score.err').read_text().strip()[-2000:]}")
        pool_mb = pool.stat().st_size / 2**20
        ranked_mb = (work / "ranked.csv").stat().st_size / 2**20
        with open(work / "ranked.csv", newline="") as fh:
            ranked_rows = sum(1 for _ in fh) - 1
    import torch

    classes = 2
    held = args.texts * classes * 4 / 2**20 + (args.texts * 384 * 4 / 2**20 if args.model == "embed-head" else 0)
    print(f"### `textal score`, {args.texts:,} texts, model {args.model}, strategy {args.strategy}\n")
    print(
        f"- command: `.venv/bin/python -m benchmarks.pool_scoring.run --texts {args.texts} --model {args.model}"
        + (f" --strategy {args.strategy}" if args.strategy != "entropy" else "")
        + "`"
    )
    print(f"- machine: {cpu_name()}, {os.cpu_count()} cores visible, torch threads {torch.get_num_threads()}, no GPU")
    print(
        f"- versions: python {platform.python_version()}, torch {torch.__version__}, pyarrow {version('pyarrow')}, "
        f"textal {version('textal')}"
    )
    print(f"- load average (1 min) before / after: {load_before:.1f} / {os.getloadavg()[0]:.1f}")
    print(
        f"- pool: {pool_mb:.0f} MB of CSV; its probabilities{' and embeddings' if args.model == 'embed-head' else ''}"
        f" as float32: {held:.0f} MB more"
    )
    print(
        f"- wall time {seconds:.0f} s ({args.texts / seconds:,.0f} texts/s); `textal score`'s peak RSS (VmHWM) "
        f"{peaks['VmHWM']:.0f} MB; sampled every 0.2 s, at most {peaks['RssAnon']:.0f} MB of it private memory "
        f"(RssAnon) and at most {peaks['RssFile']:.0f} MB pages of mapped files (RssFile: code, weights, the scratch "
        f"Arrow file; clean pages the kernel can drop)"
    )
    print(f"- ranked CSV: {ranked_mb:.0f} MB, {ranked_rows:,} rows")
    if args.json is not None:
        raw = {
            "texts": args.texts,
            "model": args.model,
            "strategy": args.strategy,
            "torch_threads": torch.get_num_threads(),
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
            "pool_mb": pool_mb,
            "held_float32_mb": held,
            "wall_s": seconds,
            "texts_per_s": args.texts / seconds,
            "peak_mb": peaks,
            "samples": {"columns": ["s", *peaks], "rows": samples},
            "ranked_mb": ranked_mb,
            "ranked_rows": ranked_rows,
        }
        print(f"- raw figures: {write_raw(args.json, raw, 'benchmarks.pool_scoring.run', ['pyarrow'])}")


if __name__ == "__main__":
    main()
