"""The two-tier benchmark runs end to end on a tiny slice and sets its curve beside the side-by-side's."""

from __future__ import annotations

import json

from tests.support.modules import run_module


def test_the_two_tier_benchmark_tunes_on_schedule_and_reports_beside_the_frozen_curve(
    data_dir, tiny_bert_dir, tmp_path
):
    out, work, peers = tmp_path / "out", tmp_path / "work", tmp_path / "peers"
    done = run_module(
        "benchmarks.two_tier.run",
        "--datasets",
        "sms_spam",
        "--limit",
        "200",
        "--sizes",
        "10,10,40",
        "--full-every",
        "20",
        "--repeats",
        "2",
        "--encoder",
        str(tiny_bert_dir),
        "--out",
        str(out),
        "--work",
        str(work),
        "--peers",
        str(peers),
        data_dir=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run = json.loads((out / "results" / "sms_spam-contrastive.json").read_text())
    assert run["full_tier"] == "contrastive"  # the worker's default
    record = json.loads((out / "results" / "run-contrastive.json").read_text())["runs"][-1]
    assert record["command"].startswith("python -m benchmarks.two_tier.run --datasets sms_spam")
    assert {"commit", "date", "machine", "cpu", "wall_seconds"} <= set(record)
    assert [[r["labels"] for r in rep["rounds"]] for rep in run["repeats"]] == [[10, 20, 30, 40]] * 2
    assert [(t["repeat"], t["labels"]) for t in run["fine_tunes"]] == [(0, 20), (0, 40), (1, 20), (1, 40)]
    assert all(t["steps"] >= 1 for t in run["fine_tunes"])

    # The frozen-encoder run of the side-by-side on the same features and plan: the same seed sets.
    (peers / "results").mkdir(parents=True)
    frozen = peers / "results" / "sms_spam-peers-textal-hybrid.v2.json"
    run_module(
        "benchmarks.peers.loop",
        "textal",
        "hybrid.v2",
        str(work / "sms_spam.npz"),
        str(work / "sms_spam-peers-plan.npz"),
        str(frozen),
        data_dir=data_dir,
        check=True,
        capture_output=True,
    )
    before_first_fine_tune = [rep["rounds"][0]["f1"] for rep in json.loads(frozen.read_text())["repeats"]]
    assert before_first_fine_tune == [rep["rounds"][0]["f1"] for rep in run["repeats"]]

    run_module(
        "benchmarks.two_tier.report",
        "--out",
        str(out),
        "--work",
        str(work),
        "--peers",
        str(peers),
        data_dir=data_dir,
        check=True,
        capture_output=True,
    )
    report = (out / "RESULTS.md").read_text()
    assert "| textal two-tier, contrastive full tier | hybrid.v2 |" in report
    assert "| textal, frozen encoder | hybrid.v2 |" in report
    assert "a full tier every 20 labels (at 20, 40)" in report and (out / "sms_spam.png").is_file()
    assert "| contrastive | `python -m benchmarks.two_tier.run --datasets sms_spam" in report


def test_the_contrastive_comparison_fits_one_head_over_each_encoder_on_the_same_labels(
    data_dir, tiny_bert_dir, tmp_path
):
    done = run_module(
        "benchmarks.two_tier.contrastive",
        "--datasets",
        "sms_spam",
        "--sizes",
        "20,40",
        "--limit",
        "200",
        "--encoder",
        str(tiny_bert_dir),
        "--out",
        str(tmp_path),
        data_dir=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line for line in (tmp_path / "CONTRASTIVE.md").read_text().splitlines() if line.startswith("| sms_spam |")]
    assert [row.split(" | ")[1] for row in rows] == ["20", "40"]
    assert all(len(row.split(" | ")) == 7 for row in rows)  # frozen, plain, contrastive, and the two timings
