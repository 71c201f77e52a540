"""`textal simulate` end to end on a slice of SMS spam with the real MiniLM encoder (smoke size)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

TEXTAL = str(Path(sys.executable).with_name("textal"))


def slice_csv(src: Path, dest: Path, rows: int) -> Path:
    with open(src, newline="") as fh:
        data = list(csv.reader(fh))
    with open(dest, "w", newline="") as fh:
        csv.writer(fh).writerows(data[: rows + 1])
    return dest


@pytest.fixture(scope="module")
def sms_slice(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("sms")
    return (
        slice_csv(data_dir / "sms_spam" / "train.csv", root / "pool.csv", 600),
        slice_csv(data_dir / "sms_spam" / "test.csv", root / "test.csv", 300),
        root,
    )


def refused(sms_slice, *options: str) -> subprocess.CompletedProcess:
    """``textal simulate`` over the slice with ``options`` it should refuse (into a folder it is not to write)."""
    pool, test, root = sms_slice
    return subprocess.run(
        [TEXTAL, "simulate", str(pool), "--test", str(test), "--out", str(root / "x"), *options],
        capture_output=True,
        text=True,
        timeout=300,
    )


def simulate(pool, test, out, cache, strategies="random,entropy,vote_entropy,hybrid", budget=100, *options: str):
    """One repeat of ``textal simulate`` in batches of 20, up to ``budget`` labels."""
    return subprocess.run(
        [
            TEXTAL,
            "simulate",
            str(pool),
            "--test",
            str(test),
            "--strategies",
            strategies,
            "--seed-size",
            "20",
            "--batch",
            "20",
            "--budget",
            str(budget),
            "--repeats",
            "1",
            "--out",
            str(out),
            "--cache-dir",
            str(cache),
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_simulate_writes_results_csv_and_figures_and_repeats_itself_exactly(sms_slice):
    pool, test, root = sms_slice
    first = simulate(pool, test, root / "run1", root / "cache")
    assert first.returncode == 0, first.stderr
    out = root / "run1"
    for name in ("results.json", "rounds.csv", "summary.csv", "learning_curves.png", "labels_to_target.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results = json.loads((out / "results.json").read_text())
    assert set(results["summary"]["strategies"]) == {"random", "entropy", "vote_entropy", "hybrid"}
    labels = [r["labels"] for r in results["rounds"] if r["strategy"] == "entropy"]
    assert labels == [20, 40, 60, 80, 100]
    assert results["full_data"]["macro_f1"] > 0.8
    assert "textal simulate" in results["command"]
    assert "AUC" in first.stdout

    second = simulate(pool, test, root / "run2", root / "cache")
    assert second.returncode == 0, second.stderr
    again = json.loads((root / "run2" / "results.json").read_text())
    assert [r["macro_f1"] for r in again["rounds"]] == [r["macro_f1"] for r in results["rounds"]]


def test_simulate_rejects_a_budget_beyond_the_pool_with_exit_2(sms_slice):
    result = refused(sms_slice, "--budget", "5000")
    assert result.returncode == 2
    assert "exceeds the 600 texts" in result.stderr


def test_simulate_weighs_classes_as_asked_and_refuses_an_unknown_weighting_with_exit_2(sms_slice):
    pool, test, root = sms_slice
    done = simulate(pool, test, root / "none", root / "cache", "margin", 40, "--class-weight", "none")
    assert done.returncode == 0, done.stderr
    results = json.loads((root / "none" / "results.json").read_text())
    assert "class_weight=None" in json.dumps(results)
    bad = refused(sms_slice, "--class-weight", "heavy")
    assert bad.returncode == 2 and "class weight must be one of balanced, none, not 'heavy'" in bad.stderr


def test_simulate_refuses_full_every_without_the_two_tier_model_with_exit_2(sms_slice):
    bad = refused(sms_slice, "--full-every", "100")
    assert bad.returncode == 2
    assert (
        bad.stderr.strip().splitlines()[-1].endswith("--full-every applies to --model two-tier and must be at least 1")
    )


def test_simulate_refuses_a_full_tier_without_the_two_tier_model_with_one_line_and_exit_2(sms_slice):
    bad = refused(sms_slice, "--full-tier", "plain")
    assert bad.returncode == 2
    assert (
        bad.stderr.strip()
        .splitlines()[-1]
        .endswith("--full-tier applies to --model two-tier and must be contrastive or plain")
    )


def test_simulate_refuses_a_committee_the_model_cannot_have_with_one_line_and_exit_2(sms_slice):
    bad = refused(sms_slice, "--committee", "mc-dropout")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "textal: --committee mc-dropout needs --model transformer, not embed-head"
    ]
