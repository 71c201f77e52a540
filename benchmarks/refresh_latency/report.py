"""Every run in results.jsonl as one table row of RESULTS.md (its generated part): when, where, on what commit, and
the label-to-new-scores latencies computed from the raw ones.

    python -m benchmarks.refresh_latency.report          # rewrite RESULTS.md's generated part
    python -m benchmarks.refresh_latency.report --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.generated_section import report_main

HERE = Path(__file__).resolve().parent
MODULE = "benchmarks.refresh_latency.report"
TARGET_S = 3.0


def row(run: dict[str, Any]) -> str:
    """One run's row: its figures computed from its raw latencies."""
    lat = np.asarray(run["latencies_s"], dtype=float)
    p50, p95, p99 = np.percentile(lat, [50, 95, 99])
    burst = run.get("burst_s")
    after_last = f"{burst[1] - burst[0]:.1f}" if burst else "-"
    held = " (held back)" if run.get("burst_outcome") == "held back" else ""
    worker = (run.get("worker_median_s") or {}).get("total")
    where = f"| {run['date'][:10]} | {run['commit']} | {run.get('cpu', '?')} | {run['tasks']:,}"
    under = f"{int((lat < TARGET_S).sum())}/{len(lat)}"
    figures = f"| {len(lat)} | {p50:.2f} | {p95:.2f} | {p99:.2f} | {lat.max():.2f} | {under}"
    worker_s = "-" if worker is None else f"{worker:.2f}"
    return f"{where} | {run.get('database', 'sqlite')} {figures} | {worker_s} | {after_last}{held} |"


def pooled(runs: list[dict[str, Any]]) -> str:
    """The rounds of the runs of one commit, size and database pooled, where there are several such runs."""
    groups: dict[tuple[str, int, str], list[float]] = {}
    for run in runs:
        key = (run["commit"], run["tasks"], run.get("database", "sqlite"))
        groups.setdefault(key, []).extend(run["latencies_s"])
    counts = {
        key: sum(1 for r in runs if (r["commit"], r["tasks"], r.get("database", "sqlite")) == key) for key in groups
    }
    lines = []
    for (commit, tasks, database), values in groups.items():
        if counts[(commit, tasks, database)] < 2:
            continue
        lat = np.asarray(values, dtype=float)
        p50, p95, p99 = np.percentile(lat, [50, 95, 99])
        lines.append(
            f"| {commit} | {tasks:,} | {database} | {counts[(commit, tasks, database)]} | {len(lat)} | {p50:.2f}"
            f" | {p95:.2f} | {p99:.2f} | {lat.max():.2f} |"
        )
    if not lines:
        return ""
    head = (
        "| commit | tasks | Label Studio's database | runs | rounds | p50 s | p95 s | p99 s | max s |\n|" + "---|" * 9
    )
    return "\n\n### The rounds of several runs together\n\n" + head + "\n" + "\n".join(lines)


def table(runs: list[dict[str, Any]]) -> str:
    """Every run, in the order recorded."""
    head = (
        "| date | commit | CPU | tasks | Label Studio's database | rounds | p50 s | p95 s | p99 s | max s | under 3 s "
        "| worker per retrain (median) s | burst: after the last label s |\n|" + "---|" * 13
    )
    return "### Every run in results.jsonl\n\n" + head + "\n" + "\n".join(row(r) for r in runs) + pooled(runs)


def main() -> int:
    return report_main(__doc__.splitlines()[0], HERE, MODULE, table)


if __name__ == "__main__":
    sys.exit(main())
