"""The pool-scoring benchmark runs end to end on a small pool and reports what it measured."""

from __future__ import annotations

import re

from tests.support.modules import run_module


def test_the_pool_scoring_benchmark_scores_a_small_pool_and_reports_time_memory_and_rows(data_dir):
    done = run_module(
        "benchmarks.pool_scoring.run",
        "--texts",
        "7000",
        "--model",
        "linear",
        data_dir=data_dir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "### `textal score`, 7,000 texts, model linear" in done.stdout
    assert "- ranked CSV:" in done.stdout and "7,000 rows" in done.stdout  # past one pool copy: suffixed texts
    peak = re.search(r"peak RSS \(VmHWM\) (\d+) MB", done.stdout)
    assert peak is not None and int(peak.group(1)) > 0
