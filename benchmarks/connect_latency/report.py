"""Every run in results.jsonl as one table row of RESULTS.md (its generated part): when, where, on what commit, and
how long after the connection Label Studio was ordered and every task predicted.

    python -m benchmarks.connect_latency.report          # rewrite RESULTS.md's generated part
    python -m benchmarks.connect_latency.report --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from benchmarks.generated_section import report_main

HERE = Path(__file__).resolve().parent
MODULE = "benchmarks.connect_latency.report"


def embedding_s(run: dict[str, Any]) -> str:
    """The seconds the worker's set-up logged embedding the pool (its 'embed pool' phase), where it logged them."""
    for line in run.get("worker_lines") or []:
        if found := re.search(r"embed pool ([0-9.]+) s", line):
            return found.group(1)
    return "-"


def table(runs: list[dict[str, Any]]) -> str:
    """Every run, in the order recorded."""
    head = (
        "| date | commit | CPU | tasks | connect to the head ordered, s | connect to every task predicted, s "
        "| connect to slice marked, s | the set-up's 'embed pool', s |\n|" + "---|" * 8
    )
    rows = [
        f"| {r['date'][:10]} | {r['commit']} | {r.get('cpu', '?')} | {r['tasks']:,}"
        f" | {r['connect_to_head_ordered_s']:.1f} | {r['connect_to_every_task_predicted_s']:.1f}"
        f" | {r['connect_to_slice_marked_s']:.1f} | {embedding_s(r)} |"
        for r in runs
    ]
    return "### Every run in results.jsonl\n\n" + head + "\n" + "\n".join(rows)


def main() -> int:
    return report_main(__doc__.splitlines()[0], HERE, MODULE, table)


if __name__ == "__main__":
    sys.exit(main())
