"""Write RESULTS.md of the label-noise benchmark from ``results/`` (``run.py`` calls it; rerun it alone to redraw)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.machine import provenance

HERE = Path(__file__).resolve().parent

NOISE = ("uniform10", "uniform20", "confusable10")


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


def mse(values: np.ndarray) -> str:
    se = values.std(ddof=1) / np.sqrt(len(values)) if len(values) > 1 else 0.0
    return f"{values.mean():.4f} ± {se:.4f}"


def section(dataset: str, runs: dict, goals: list) -> list[str]:
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
            else:
                share = float("nan")
                cells += ["-", "-"]
            held = runs.get(f"{noise}-holdout")
            cells.append(mse(per_repeat(held, strategy, "macro_f1")) if held else "-")
            precision = per_repeat(runs[noise], strategy, "flag_precision", last_only=True)
            recall = per_repeat(runs[noise], strategy, "flag_recall", last_only=True)
            wrong = per_repeat(runs[noise], strategy, "wrong_labels", last_only=True)
            cells += [mse(precision), mse(recall), f"{wrong.mean():.0f}"]
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
                lines.append(
                    f"| {strategy} | {how} | {mse(per_repeat(run, strategy, 'macro_f1'))} | "
                    f"{(labels - tied - wrong).mean():.0f} | {wrong.mean():.0f} | {tied.mean():.0f} | "
                    + ("-" if q is None else f"{q[0]:.2f} / {q[1]:.2f}")
                    + " |"
                )
    budget = clean["settings"]["budget"]
    lines += [
        "",
        f"{len(per_repeat(clean, strategies[0], 'macro_f1'))} repeats; seed {clean['settings']['seed_size']}, "
        f"batch {clean['settings']['batch']}, budget {budget:,}. Flags' precision and recall: at the last round "
        "of the run without re-asking, against the training labels that are wrong.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    results = args.out / "results"
    meta = json.loads((results / "run.json").read_text())
    by_dataset: dict[str, dict] = {}
    for name in meta["commands"]:
        dataset, setting = name.split("-", 1)
        path = results / name / "results.json"
        if path.is_file():
            by_dataset.setdefault(dataset, {})[setting] = json.loads(path.read_text())
    body, goals = [], []
    for dataset, runs in by_dataset.items():
        if "clean" in runs:
            body += section(dataset, runs, goals)
    goal_lines = [
        f"- {d}, {s}: flags' precision {p:.2f}, recall {r:.2f} "
        f"({'met' if p >= 0.6 and r >= 0.6 else 'missed'}: both at least 0.6); "
        f"{'-' if not np.isfinite(w) else f'{100 * w:.0f} %'} of the AUC lost won back by re-asking 5 % "
        f"({'met' if np.isfinite(w) and w >= 0.5 else 'missed'}: at least half)"
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
            else "; the run recorded no machine or versions."
        ),
    ]
    (args.out / "RESULTS.md").write_text("\n".join(text) + "\n")
    print(f"wrote {args.out / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
