"""The peers' side-by-side runs end to end on a tiny slice: textal, small-text and modAL on the same seed sets."""

from __future__ import annotations

import json

from tests.support.modules import run_module


def test_the_peers_benchmark_runs_every_tool_on_the_same_seed_sets_and_writes_one_table(
    data_dir, tiny_bert_dir, tmp_path
):
    out, work = tmp_path / "out", tmp_path / "work"
    done = run_module(
        "benchmarks.peers.run",
        "--datasets",
        "sms_spam",
        "--protocols",
        "peers,practice",
        "--caps",
        "none",
        "--limit",
        "300",
        "--sizes",
        "20,20,60",
        "--repeats",
        "2",
        "--encoder",
        str(tiny_bert_dir),
        "--out",
        str(out),
        "--work",
        str(work),
        data_dir=data_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = {p.name: json.loads(p.read_text()) for p in (out / "results").glob("sms_spam-peers-*.json")}
    assert len(results) == 8  # textal's default and random, four small-text and two modAL strategies
    for run in results.values():
        assert [r["rounds"][0]["labels"] for r in run["repeats"]] == [20, 20]
        assert [r["rounds"][-1]["labels"] for r in run["repeats"]] == [60, 60]
    # one rule (smallest margin), one classifier, one seed set: the two packages ask for the same rows
    same = [
        [r["f1"] for r in rep["rounds"]]
        for name in ("small-text-BreakingTies", "modal-margin_sampling")
        for rep in results[f"sms_spam-peers-{name}.json"]["repeats"]
    ]
    assert same[:2] == same[2:]
    first_rounds = {tuple(r["rounds"][0]["f1"] for r in run["repeats"]) for run in results.values()}
    assert len(first_rounds) == 1  # every tool starts from the same seed set, per repeat
    record = json.loads((out / "results" / "run.json").read_text())
    assert {"command", "commit", "date", "cpu", "versions"} <= set(record)
    assert record["peer_versions"]["small-text"] == "1.4.1" and record["peer_versions"]["modAL-python"] == "0.4.2.1"
    assert set(json.loads((out / "results" / "full_data.json").read_text())) == {"sms_spam"}
    report = (out / "RESULTS.md").read_text()
    assert "## Headline" in report and "| sms_spam | peers | " in report and "| sms_spam | practice | " in report
    assert "modAL | uncertainty_batch_sampling" in report and "small-text | GreedyCoreset" in report
