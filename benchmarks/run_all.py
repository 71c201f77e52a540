"""Rerun every benchmark with its recorded command (`make bench`, or `python -m benchmarks.run_all` from the repository
root). Results land beside each script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "selection_speed",
    "predict_throughput",
    "predict_latency",
    "label_efficiency",
    "peers",
    "class_weight",
    "refresh_latency",
    "first_hour",
    "pool_scoring",
]


def main() -> None:
    for name in ORDER:
        script = HERE / name / "run.py"
        if not script.is_file():
            continue
        print(f"== {name}", flush=True)
        subprocess.run([sys.executable, "-m", f"benchmarks.{name}.run"], check=True, cwd=HERE.parent)


if __name__ == "__main__":
    main()
