"""The summaries the reports write beside their raw results hold what their RESULTS.md tables show."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.label_noise import report as label_noise_report
from benchmarks.peers import report as peers_report
from benchmarks.two_tier import report as two_tier_report


def write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value))


def table_row(text: str, *cells: str) -> str:
    """The one RESULTS.md table row that starts with ``cells``."""
    start = "| " + " | ".join(cells) + " |"
    rows = [line for line in text.splitlines() if line.startswith(start)]
    assert len(rows) == 1, (start, rows)
    return rows[0]


def curve_run(tool: str, strategy: str, curves: list[list[float]], labels=(10, 20, 30)) -> dict:
    return {
        "tool": tool,
        "strategy": strategy,
        "repeats": [
            {"rounds": [{"labels": n, "f1": f, "seen": 2, "select_s": 0.01} for n, f in zip(labels, c, strict=True)]}
            for c in curves
        ],
    }


def peers_results(results: Path) -> None:
    write(results / "run.json", {"command": "python -m benchmarks.peers.run", "jobs": 1, "wall_seconds": 7})
    runs = {
        ("textal", "hybrid.v2"): [[0.5, 0.8, 0.9], [0.5, 0.7, 0.9]],
        ("textal", "random"): [[0.5, 0.6, 0.7], [0.5, 0.6, 0.8]],
        ("small-text", "BreakingTies"): [[0.5, 0.7, 0.85], [0.5, 0.7, 0.8]],
    }
    for (tool, strategy), curves in runs.items():
        write(results / f"toy-peers-{tool}-{strategy}.json", curve_run(tool, strategy, curves))


def test_the_peers_summary_holds_each_row_the_tables_show_and_l98_only_with_a_full_data_f1(tmp_path):
    results = tmp_path / "results"
    peers_results(results)
    peers_report.main(["--out", str(tmp_path), "--work", str(tmp_path / "none"), "--no-figures"])
    summary = json.loads((results / "summary.json").read_text())
    text = (tmp_path / "RESULTS.md").read_text()
    (section,) = summary["sections"]
    assert (section["dataset"], section["protocol"], section["best_peer"]) == (
        "toy",
        "peers",
        "small-text BreakingTies",
    )
    head = section["headline"]
    row = table_row(text, "toy", "peers")
    assert f"| {head['textal_auc']:.4f} |" in row and f"| {head['best_peer_auc']:.4f} |" in row
    assert f"| {head['diff']:+.4f} ± {head['diff_se']:.4f} |" in row and "| - / - |" in row
    assert row.endswith(f"| {head['worst_round_minus_random']:+.3f} |")
    assert head["l98_textal"] is None and section["full_data_f1"] is None
    for record in section["rows"]:
        line = table_row(text, record["tool"], record["strategy"])
        assert f"| {record['auc']:.4f} ± {record['auc_se']:.4f} |" in line
        assert all(f"| {value:.3f} |" in line for value in record["f1_at"].values())
    assert summary["run"]["command"] == "python -m benchmarks.peers.run"
    assert summary["run"]["cpu"] == "machine not recorded"

    write(results / "full_data.json", {"toy": 0.9})  # 98 % of it: 0.882, reached by the mean curve at 30 labels
    peers_report.main(["--out", str(tmp_path), "--work", str(tmp_path / "none"), "--no-figures"])
    head = json.loads((results / "summary.json").read_text())["sections"][0]["headline"]
    assert (head["l98_textal"], head["l98_best_peer"]) == (30, None)
    assert "| 30 / not reached |" in table_row((tmp_path / "RESULTS.md").read_text(), "toy", "peers")


def test_the_two_tier_summary_holds_each_row_the_tables_show_with_its_run_record(tmp_path):
    peers = tmp_path / "peers"
    peers_results(peers / "results")
    results = tmp_path / "out" / "results"
    plan = {"repeats": 2, "full_every": 20, "seed_batch_budget": [10, 10, 30]}
    record = {
        "command": "python -m benchmarks.two_tier.run --datasets toy",
        "commit": "abc1234",
        "date": "2026-01-01T00:00:00+00:00",
        "cpu": "Toy CPU",
        "datasets": ["toy"],
        "wall_seconds": 9,
    }
    write(results / "run-contrastive.json", {"full_tier": "contrastive", "plans": {"toy": plan}, "runs": [record]})
    run = curve_run("textal two-tier", "hybrid.v2", [[0.5, 0.85, 0.95], [0.5, 0.8, 0.9]])
    run["fine_tunes"] = [{"repeat": k, "labels": 20, "seconds": 10.0 + k} for k in range(2)]
    write(results / "toy-contrastive.json", run)
    write(results / "full_data.json", {"toy": {"f1": 0.9, "pool": 100}})
    out = tmp_path / "out"
    two_tier_report.main(["--out", str(out), "--work", str(tmp_path / "none"), "--peers", str(peers), "--no-figures"])
    summary = json.loads((results / "summary.json").read_text())
    text = (out / "RESULTS.md").read_text()
    (section,) = summary["sections"]
    assert (section["dataset"], section["full_data_f1"], section["pool"]) == ("toy", 0.9, 100)
    assert [r["row"] for r in section["rows"]] == ["contrastive", "frozen", "best_peer", "random"]
    for row in section["rows"]:
        line = table_row(text, row["model"], row["strategy"], str(row["repeats"]))
        assert all(f"| {cell['mean']:.3f} ± {cell['se']:.3f} |" in line for cell in row["f1_at"].values())
    tier = section["rows"][0]
    assert (tier["labels_to_full"], tier["share_of_pool"], tier["commit"]) == (30, 0.3, "abc1234")
    assert "| 30 (30.0 % of the pool) |" in table_row(text, tier["model"])
    (times,) = section["full_tier_times"]
    assert (times["full_tier"], times["mean_seconds"], times["cpu"]) == ("contrastive", 10.5, "Toy CPU")
    assert summary["runs"][0]["commit"] == "abc1234"


def noise_run(settings: dict, shift: float, panel: bool = False) -> dict:
    rounds = []
    for strategy, base in (("random", 0.7), ("hybrid.v2", 0.8)):
        for repeat in range(2):
            for labels in (10, 20):
                rounds.append(
                    {
                        "strategy": strategy,
                        "repeat": repeat,
                        "labels": labels,
                        "macro_f1": base + shift + 0.01 * repeat + labels / 1000,
                        "flag_precision": 0.5 + 0.1 * repeat,
                        "flag_recall": 0.7,
                        "wrong_labels": 2,
                        "tied_labels": 3 if panel else None,
                        "annotator_quality": [0.6, 0.8] if panel else None,
                    }
                )
    return {
        "settings": {"strategies": ["random", "hybrid.v2"], "seed_size": 10, "batch": 10, "budget": 20, **settings},
        "rounds": rounds,
        "command": "textal simulate ...",
        "environment": {"machine": "x86_64", "cpus": 2, "python": "3.11"},
    }


def test_the_label_noise_summary_holds_each_row_the_tables_show_and_the_goals(tmp_path):
    results = tmp_path / "results"
    noise = {"label_noise": 0.1, "review_budget": 0.0}
    runs = {
        "toy-clean": noise_run({"label_noise": 0.0, "review_budget": 0.0}, 0.1),
        "toy-uniform10": noise_run(noise, 0.0),
        "toy-uniform10-review": noise_run({**noise, "review_budget": 0.05}, 0.05),
        "toy-uniform10-holdout": noise_run(noise, 0.02),
        "toy-panel": noise_run({"label_noise": 0.05, "review_budget": 0.0}, 0.0, panel=True),
        "toy-panel-weighted": noise_run({"label_noise": 0.05, "review_budget": 0.0}, 0.01, panel=True),
    }
    for name, run in runs.items():
        write(results / name / "results.json", run)
    write(
        results / "run.json", {"commands": {name: "textal simulate ..." for name in runs}, "jobs": 1, "wall_seconds": 3}
    )
    label_noise_report.main(["--out", str(tmp_path)])
    summary = json.loads((results / "summary.json").read_text())
    text = (tmp_path / "RESULTS.md").read_text()
    assert len(summary["noise"]) == 2 and len(summary["panels"]) == 4 and len(summary["goals"]) == 2
    for row in summary["noise"]:
        line = table_row(text, "uniform 10 %", row["strategy"])
        for name in ("auc_clean", "auc_noisy", "lost", "auc_reasked", "auc_held_out", "flag_precision", "flag_recall"):
            assert f"| {row[name]:.4f} ± {row[name + '_se']:.4f} |" in line, name
        assert f"| {100 * row['won_back']:.0f} % |" in line and row["review_budget"] == 0.05
    weighted = next(p for p in summary["panels"] if p["votes"] == "weighted" and p["strategy"] == "hybrid.v2")
    assert f"| {weighted['auc']:.4f} ± {weighted['auc_se']:.4f} |" in table_row(text, "hybrid.v2", "weighed by quality")
    assert abs(weighted["minus_majority"] - 0.01) < 1e-9
    goal = next(g for g in summary["goals"] if g["strategy"] == "hybrid.v2")
    assert f"flags' precision {goal['flag_precision']:.2f}, recall {goal['flag_recall']:.2f}" in text
    assert summary["run"]["machine"].startswith("x86_64, 2 CPUs, CPU model not recorded")
