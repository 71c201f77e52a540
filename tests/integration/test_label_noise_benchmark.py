"""The label-noise benchmark runs end to end on a tiny slice and writes its table."""

from __future__ import annotations

import json

from tests.support.modules import run_module


def test_the_label_noise_benchmark_runs_noisy_reviewed_and_clean_simulations_on_the_same_seeds(data_dir, tmp_path):
    done = run_module(
        "benchmarks.label_noise.run",
        "--datasets",
        "sms_spam",
        "--sizes",
        "20,20,60",
        "--repeats",
        "2",
        "--limit",
        "300",
        "--out",
        str(tmp_path),
        data_dir=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    runs = {p.parent.name: json.loads(p.read_text()) for p in (tmp_path / "results").glob("*/results.json")}
    assert set(runs) == {
        f"sms_spam-{n}"
        for n in (
            "clean",
            "uniform10",
            "uniform10-review",
            "uniform10-holdout",
            "uniform20",
            "uniform20-review",
            "panel",
            "panel-weighted",
        )
    }
    seeds = {
        name: [r["macro_f1"] for r in run["rounds"] if r["round"] == 0 and r["strategy"] == "random"]
        for name, run in runs.items()
    }
    assert seeds["sms_spam-uniform10"] == seeds["sms_spam-uniform10-review"]  # the same seed sets, the same mistakes
    assert all(r["wrong_labels"] is None for r in runs["sms_spam-clean"]["rounds"])
    assert any(r["wrong_labels"] for r in runs["sms_spam-uniform20"]["rounds"])
    assert max(r["reasked"] for r in runs["sms_spam-uniform20-review"]["rounds"]) > 0
    report = (tmp_path / "RESULTS.md").read_text()
    assert "Goals at 10 % uniform noise" in report and "| uniform 20 % | hybrid.v2 |" in report
    assert "| hybrid.v2 | weighed by quality |" in report
