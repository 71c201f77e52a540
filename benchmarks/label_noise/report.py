"""Write RESULTS.md of the label-noise benchmark from ``results/`` (``run.py`` calls it; rerun it alone to redraw).

It also writes ``results/summary.json``: every figure the tables show, one record per table row (dataset, noise or
votes, strategy), with the run record(s) they were computed from, so the README can cite a computed figure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.machine import provenance

HERE = Path(__file__).resolve().parent

NOISE = ("uniform10", "uniform20", "confusable10")
# The review's goals at 10 % uniform noise: flags' precision and recall both at least GOAL_FLAGS, and at least
# GOAL_WON_BACK of the AUC lost won back by re-asking.
GOAL_FLAGS = 0.6
GOAL_WON_BACK = 0.5


def per_repeat(results: dict, strategy: str, key: str, last_only: bool = False) -> np.ndarray:
    """Per repeat: the mean of ``key`` over the rounds (the AUC for macro_f1), or its value at the last round."""
    rounds = [r for r in results["rounds"] if r["strategy"] == strategy]
    out = []
    for k in sorted({r["repeat"] for r in rounds}):
        values = [r[key] for r in rounds if r["repeat"] == k]
        values = [np.nan if v is None else v for v in values]
        out.append(values[-1] if last_only else np.nanmean(values))
    return np.array(out, dtype=float)


def budget_of(run: dict) -> int:
    return int(run["settings"]["budget"])


def mean_se(values: np.ndarray) -> tuple[float, float]:
    """Mean and standard error over repeats (0 for one repeat)."""
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return float(values.mean()), float(se)


def mse(values: np.ndarray) -> str:
    mean, se = mean_se(values)
    return f"{mean:.4f} ± {se:.4f}"


def put(row: dict, name: str, values: np.ndarray | None) -> None:
    """``row[name]`` and ``row[name + "_se"]``: the mean and standard error the table shows (None where it shows -)."""
    mean, se = mean_se(values) if values is not None else (None, None)
    row[name], row[f"{name}_se"] = mean, se


def section(dataset: str, runs: dict, goals: list, summary: dict | None = None) -> list[str]:
    """The tables of one dataset; each row's figures also appended to ``summary`` ("noise", "panels", "settings")."""
    summary = {"noise": [], "panels": [], "settings": []} if summary is None else summary
    clean = runs["clean"]
    strategies = list(clean["settings"]["strategies"])
    lines = [
        f"## {dataset}",
        "",
        "| noise | strategy | AUC, noise-free | AUC, noisy | lost to noise | AUC, 5 % re-asked | won back | "
        "AUC, flagged kept out | flags: precision | flags: recall | wrong labels at the end |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for noise in NOISE:
        if noise not in runs:
            continue
        for strategy in strategies:
            base = per_repeat(clean, strategy, "macro_f1")
            noisy = per_repeat(runs[noise], strategy, "macro_f1")
            lost = base - noisy
            row: dict = {"dataset": dataset, "noise": noise, "strategy": strategy}
            put(row, "auc_clean", base)
            put(row, "auc_noisy", noisy)
            put(row, "lost", lost)
            cells = [
                noise.replace("uniform", "uniform ").replace("confusable", "confusable ") + " %",
                strategy,
                mse(base),
                mse(noisy),
                mse(lost),
            ]
            if f"{noise}-review" in runs:
                reviewed = per_repeat(runs[f"{noise}-review"], strategy, "macro_f1")
                share = (reviewed - noisy).mean() / lost.mean() if lost.mean() > 0 else float("nan")
                cells += [mse(reviewed), f"{100 * share:.0f} %" if np.isfinite(share) else "-"]
                put(row, "auc_reasked", reviewed)
                row["review_budget"] = runs[f"{noise}-review"]["settings"]["review_budget"]
            else:
                share = float("nan")
                cells += ["-", "-"]
                put(row, "auc_reasked", None)
            row["won_back"] = float(share) if np.isfinite(share) else None
            held = runs.get(f"{noise}-holdout")
            cells.append(mse(per_repeat(held, strategy, "macro_f1")) if held else "-")
            put(row, "auc_held_out", per_repeat(held, strategy, "macro_f1") if held else None)
            precision = per_repeat(runs[noise], strategy, "flag_precision", last_only=True)
            recall = per_repeat(runs[noise], strategy, "flag_recall", last_only=True)
            wrong = per_repeat(runs[noise], strategy, "wrong_labels", last_only=True)
            cells += [mse(precision), mse(recall), f"{wrong.mean():.0f}"]
            put(row, "flag_precision", precision)
            put(row, "flag_recall", recall)
            row["wrong_labels"] = float(wrong.mean())
            row["label_noise"] = runs[noise]["settings"]["label_noise"]
            summary["noise"].append(row)
            lines.append("| " + " | ".join(cells) + " |")
            if noise == "uniform10":
                goals.append((dataset, strategy, precision.mean(), recall.mean(), share))
    if "panel" in runs and "panel-weighted" in runs:
        lines += [
            "",
            "Two annotators per text, one careless (30 % of answers wrong, the other 5 %):",
            "",
            "| strategy | votes | AUC | right labels at the end | wrong | disagreements left out | "
            "estimated quality, careless / careful |",
            "|---|---|---|---|---|---|---|",
        ]
        for strategy in strategies:
            for name, how in (("panel", "majority"), ("panel-weighted", "weighed by quality")):
                run = runs[name]
                labels = per_repeat(run, strategy, "labels", last_only=True)
                wrong = per_repeat(run, strategy, "wrong_labels", last_only=True)
                tied = per_repeat(run, strategy, "tied_labels", last_only=True)
                quality = [
                    r["annotator_quality"]
                    for r in run["rounds"]
                    if r["strategy"] == strategy and r.get("annotator_quality") and r["labels"] == budget_of(run)
                ]
                q = np.mean(quality, axis=0) if quality else None
                auc = per_repeat(run, strategy, "macro_f1")
                panel: dict = {"dataset": dataset, "votes": name.removeprefix("panel-") if "-" in name else "majority"}
                panel["strategy"] = strategy
                put(panel, "auc", auc)
                if name == "panel-weighted":
                    panel["minus_majority"] = float(auc.mean() - per_repeat(runs["panel"], strategy, "macro_f1").mean())
                panel.update(
                    right_labels=float((labels - tied - wrong).mean()),
                    wrong_labels=float(wrong.mean()),
                    left_out=float(tied.mean()),
                    quality_careless=None if q is None else float(q[0]),
                    quality_careful=None if q is None else float(q[1]),
                )
                summary["panels"].append(panel)
                lines.append(
                    f"| {strategy} | {how} | {mse(per_repeat(run, strategy, 'macro_f1'))} | "
                    f"{(labels - tied - wrong).mean():.0f} | {wrong.mean():.0f} | {tied.mean():.0f} | "
                    + ("-" if q is None else f"{q[0]:.2f} / {q[1]:.2f}")
                    + " |"
                )
    budget = clean["settings"]["budget"]
    settings = clean["settings"]
    summary["settings"].append(
        {
            "dataset": dataset,
            "repeats": len(per_repeat(clean, strategies[0], "macro_f1")),
            **{key: settings[key] for key in ("seed_size", "batch", "budget")},
        }
    )
    lines += [
        "",
        f"{len(per_repeat(clean, strategies[0], 'macro_f1'))} repeats; seed {clean['settings']['seed_size']}, "
        f"batch {clean['settings']['batch']}, budget {budget:,}. Flags' precision and recall: at the last round "
        "of the run without re-asking, against the training labels that are wrong.",
        "",
    ]
    return lines


def run_records(meta: dict, results: Path, by_dataset: dict[str, dict]) -> dict:
    """What the raw files say of their runs: run.json (commands, wall time, and the run record where it has one),
    each simulation's own command and environment, and the line RESULTS.md prints."""
    record = {key: value for key, value in meta.items() if key != "commands"}
    record["provenance"] = provenance(meta, results / "run.json")
    simulations = [
        {"name": f"{dataset}-{setting}", "command": run.get("command"), "environment": run.get("environment")}
        for dataset, runs in by_dataset.items()
        for setting, run in runs.items()
    ]
    if not meta.get("cpu"):
        record["cpu"] = "not recorded"
        record["machine"] = simulated_on(simulations) or "machine not recorded"
    return {"run": record, "simulations": simulations}


def simulated_on(simulations: list[dict]) -> str | None:
    """What every simulation's own results.json says of its machine and versions, where they all agree (older runs
    recorded no CPU model in run.json, only this)."""
    found = {json.dumps(s["environment"], sort_keys=True) for s in simulations if s.get("environment")}
    if len(found) != 1 or len(simulations) != sum(1 for s in simulations if s.get("environment")):
        return None
    env = json.loads(found.pop())
    packages = ", ".join(f"{name} {version}" for name, version in env.get("packages", {}).items())
    return (
        f"{env.get('machine', '?')}, {env.get('cpus', '?')} CPUs, CPU model not recorded; Python "
        f"{env.get('python', '?')}, textal {env.get('textal', '?')}" + (f", {packages}" if packages else "")
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args(argv)
    results = args.out / "results"
    meta = json.loads((results / "run.json").read_text())
    by_dataset: dict[str, dict] = {}
    for name in meta["commands"]:
        dataset, setting = name.split("-", 1)
        path = results / name / "results.json"
        if path.is_file():
            by_dataset.setdefault(dataset, {})[setting] = json.loads(path.read_text())
    body: list[str] = []
    goals: list = []
    tables: dict = {"noise": [], "panels": [], "settings": []}
    for dataset, runs in by_dataset.items():
        if "clean" in runs:
            body += section(dataset, runs, goals, tables)
    records = run_records(meta, results, by_dataset)
    simulated = simulated_on(records["simulations"])
    goal_lines = [
        f"- {d}, {s}: flags' precision {p:.2f}, recall {r:.2f} "
        f"({'met' if p >= GOAL_FLAGS and r >= GOAL_FLAGS else 'missed'}: both at least {GOAL_FLAGS}); "
        f"{'-' if not np.isfinite(w) else f'{100 * w:.0f} %'} of the AUC lost won back by re-asking 5 % "
        f"({'met' if np.isfinite(w) and w >= GOAL_WON_BACK else 'missed'}: at least half)"
        for d, s, p, r, w in goals
    ]
    text = [
        "# Label noise: what it costs, what the review finds, what re-asking wins back",
        "",
        "Written by `benchmarks/label_noise/report.py` from `results/`. `textal simulate` (the fast tier: frozen "
        "MiniLM and a logistic head) with a simulated annotator whose answers are wrong at the given rate: uniform "
        "(any other class) or confusable (the class the full-data model confuses most with the true one). The "
        "same mistakes for every strategy of a repeat. Each round the review judges the training labels by "
        "out-of-fold heads (5 folds) and cleanlab's `find_label_issues`; with a review budget, up to 5 % of the "
        "labels are re-asked, the most suspicious flagged first, and come back right. AUC = mean test macro-F1 "
        "over the rounds; ± = standard error over repeats; same seed sets in every run (paired). Won back = "
        "(AUC re-asked − AUC noisy) / (AUC noise-free − AUC noisy). Flagged kept out: no re-asking, and the labels the "
        "last review flagged sit out the next fit (`--review-holdout`).",
        "",
        "Goals at 10 % uniform noise:",
        "",
        *goal_lines,
        "",
        *body,
        "Commands:",
        "",
        *[f"- `{c}`" for c in meta["commands"].values()],
        "",
        provenance(meta, results / "run.json") + "  ",
        f"Wall time: {meta['wall_seconds']} s, {meta['jobs']} runs at a time"
        + (
            f", Python {meta['python']}, "
            + ", ".join(f"{name} {version}" for name, version in meta["versions"].items())
            + "."
            if "versions" in meta
            else f"; each simulation recorded {simulated}."
            if simulated
            else "; the run recorded no machine or versions."
        ),
    ]
    (args.out / "RESULTS.md").write_text("\n".join(text) + "\n")
    summary = {
        "written_by": "benchmarks/label_noise/report.py",
        "definitions": {
            "auc": "mean test macro-F1 over the rounds, mean over repeats; *_se: standard error over repeats",
            "won_back": "(AUC re-asked - AUC noisy) / (AUC noise-free - AUC noisy), of the means over repeats",
            "flag_precision, flag_recall": "at the last round of the run without re-asking",
            "goals": "flags' precision and recall both at least goal_flags; won back at least goal_won_back",
        },
        **records,
        "settings": tables["settings"],
        "goals": [
            {
                "dataset": d,
                "strategy": s,
                "noise": "uniform10",
                "flag_precision": float(p),
                "flag_recall": float(r),
                "won_back": float(w) if np.isfinite(w) else None,
                "goal_flags": GOAL_FLAGS,
                "goal_won_back": GOAL_WON_BACK,
                "flags_goal_met": bool(p >= GOAL_FLAGS and r >= GOAL_FLAGS),
                "won_back_goal_met": bool(np.isfinite(w) and w >= GOAL_WON_BACK),
            }
            for d, s, p, r, w in goals
        ],
        "noise": tables["noise"],
        "panels": tables["panels"],
    }
    (results / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {args.out / 'RESULTS.md'} and {results / 'summary.json'}")


if __name__ == "__main__":
    main()
