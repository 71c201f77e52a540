"""Time each registered strategy selecting a batch from a large pool (not a test: figures go to RESULTS.md).

    .venv/bin/python -m benchmarks.selection_speed.run --json benchmarks/selection_speed/results.jsonl

(defaults: 500 from 100,000 x 384, 77 classes, 3 repeats). ``--json PATH`` appends the run's raw figures (one JSON
line: the run record and every ``select`` time) to PATH.

The pool is synthetic but shaped like the real thing: unit-length 384-d embeddings in 77 clusters,
softmax probabilities of a linear head over them, a 5-member committee, 1,000 labelled items and a
1,000-item held-out slice excluded from selection, and texts with near-duplicates. Duplicate groups
are computed once per pool (the pool keeps them), so that cost is timed once and shown on its own.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from benchmarks.machine import write_raw
from textal.strategies import Pool, get_strategy, list_strategies
from textal.strategies.checks import pool_groups


def make_pool(size: int, dim: int, classes: int, members: int, labelled: int, seed: int) -> Pool:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, dim)).astype(np.float32)
    which = rng.integers(0, classes, size)
    X = centres[which] + 1.5 * rng.standard_normal((size, dim)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    W = (centres / np.linalg.norm(centres, axis=1, keepdims=True)).T * 12

    def softmax(z: np.ndarray) -> np.ndarray:
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    logits = X @ W
    committee = np.stack(
        [softmax(logits + rng.standard_normal(logits.shape).astype(np.float32)) for _ in range(members)]
    )
    excluded = np.zeros(size, dtype=bool)
    excluded[rng.choice(size, 2 * labelled, replace=False)] = True  # labelled + held-out
    vocab = np.array([f"w{chr(97 + i % 26)}{chr(97 + i // 26 % 26)}{chr(97 + i // 676)}" for i in range(2000)])
    words = vocab[rng.integers(0, len(vocab), (size, 8))]
    texts = [" ".join(row) for row in words]
    for i in range(1, size, 10):  # every tenth text a near-duplicate of the one before it
        texts[i] = texts[i - 1].upper() + "!"
    return Pool(
        proba=softmax(logits).astype(np.float32),
        embeddings=X,
        committee=committee.astype(np.float32),
        texts=texts,
        excluded=excluded,
        labelled_embeddings=X[np.flatnonzero(excluded)[:labelled]],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=77)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--labelled", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--strategies", default="", help="comma-separated names (default: all)")
    parser.add_argument("--json", type=Path, default=None, help="append the run's raw figures (one JSON line) here")
    args = parser.parse_args()

    import scipy
    import sklearn

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"scikit-learn {sklearn.__version__}; {platform.machine()}, {platform.processor() or 'cpu'}"
    )
    raw: dict = {key: getattr(args, key) for key in ("pool", "dim", "classes", "members", "labelled", "batch")}
    raw["repeats"] = args.repeats
    t = time.perf_counter()
    pool = make_pool(args.pool, args.dim, args.classes, args.members, args.labelled, seed=0)
    raw["build_s"] = time.perf_counter() - t
    print(
        f"pool {args.pool:,} x {args.dim}, {args.classes} classes, {args.members} members: "
        f"built in {raw['build_s']:.1f} s"
    )
    t = time.perf_counter()
    groups = pool_groups(pool, args.pool)
    raw["groups_s"], raw["distinct_texts"] = time.perf_counter() - t, len(np.unique(groups))
    print(
        f"near-duplicate groups (once per pool, kept on it): {raw['groups_s']:.2f} s, "
        f"{raw['distinct_texts']:,} distinct texts"
    )
    raw["select_s"] = {}  # strategy -> every repeat's seconds

    names = [n for n in args.strategies.split(",") if n] or [name for name, _ in list_strategies()]
    print("\n| strategy | median s | min s | max s | batch |\n|---|---|---|---|---|")
    for name in names:
        times = []
        for r in range(args.repeats):
            strategy = get_strategy(name)
            start = time.perf_counter()
            sel = strategy.select(pool, args.batch, np.random.default_rng(r))
            times.append(time.perf_counter() - start)
        assert len(sel.indices) == args.batch
        raw["select_s"][name] = times
        print(
            f"| {name} | {statistics.median(times):.2f} | {min(times):.2f} | {max(times):.2f} | {len(sel.indices)} |",
            flush=True,
        )
    # cold start: no model yet, so no probabilities; every uncertainty strategy goes coverage-first
    cold = Pool(embeddings=pool.embeddings, texts=pool.texts, excluded=pool.excluded, groups=pool.groups)
    times = []
    for r in range(args.repeats):
        start = time.perf_counter()
        sel = get_strategy("margin.v1").select(cold, args.batch, np.random.default_rng(r))
        times.append(time.perf_counter() - start)
    raw["select_s"]["cold start (margin.v1, no probabilities)"] = times
    print(
        f"| cold start (margin.v1, no probabilities) | {statistics.median(times):.2f} | {min(times):.2f} | "
        f"{max(times):.2f} | {len(sel.indices)} |"
    )

    if args.json is not None:
        print(f"raw figures: {write_raw(args.json, raw, 'benchmarks.selection_speed.run', ['scipy'])}")


if __name__ == "__main__":
    main()
