"""Write RESULTS.md of the two-tier loop from ``results/`` beside the side-by-side's recorded curves.

The frozen-encoder curve (textal's default strategy) and the best peer's come from ``benchmarks/peers/results``,
taken on the same repeats, so on the same seed sets; up to the first fine-tune the two-tier curve is the frozen one.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np

from benchmarks.peers.report import NAMES, curves, full_data_f1, labels_to
from textal.strategies import DEFAULT_STRATEGY

HERE = Path(__file__).resolve().parent


def peer_runs(peers: Path, dataset: str) -> dict:
    """The side-by-side's recorded runs of ``dataset`` under the peers' protocol, by (tool, strategy)."""
    runs = {}
    for path in sorted((peers / "results").glob(f"{dataset}-peers-*.json")):
        run = json.loads(path.read_text())
        runs[(run["tool"], run["strategy"])] = run
    return runs


def upto(run: dict, repeats: int, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, F1 per repeat and round) of the first ``repeats`` repeats, rounds up to ``budget`` labels."""
    labels, f1 = curves({"repeats": run["repeats"][:repeats]})
    keep = labels <= budget
    return labels[keep], f1[:, keep]


def fmt(mean: np.ndarray, f1: np.ndarray, i: int) -> str:
    se = f1[:, i].std(ddof=1) / np.sqrt(len(f1)) if len(f1) > 1 else 0.0
    return f"{mean[i]:.3f} ± {se:.3f}"


def section(dataset: str, tiers: dict, peers: dict, full: float, pool: int, out: Path) -> list[str]:
    """``tiers``: full tier -> (its run, its plan) for this dataset. Each full tier's row has its own repeats (the
    side-by-side's first seed sets); the frozen-encoder rows have as many as the most of them, on the same seeds."""
    repeats = max(len(run["repeats"]) for run, _ in tiers.values())
    budget = min(plan["seed_batch_budget"][2] for _, plan in tiers.values())
    rows = []
    for tier, (run, _) in tiers.items():
        labels, f1 = upto(run, len(run["repeats"]), budget)
        rows.append((f"textal two-tier, {tier} full tier", DEFAULT_STRATEGY, labels, f1))
    others = {k: v for k, v in peers.items() if k[0] != "textal"}
    best = max(others, key=lambda k: curves(others[k])[1].mean()) if others else None
    for key, name in (
        (("textal", DEFAULT_STRATEGY), "textal, frozen encoder"),
        (best, None),
        (("textal", "random"), "random, frozen encoder"),
    ):
        if key in peers and len(peers[key]["repeats"]) >= repeats:
            rows.append(
                (name or f"{NAMES[key[0]]} (best peer), frozen encoder", key[1], *upto(peers[key], repeats, budget))
            )
    tunes = sorted({t["labels"] for run, _ in tiers.values() for t in run["fine_tunes"] if t["labels"] <= budget})
    marks = sorted({int(rows[0][2][0]), *tunes, int(rows[0][2][-1])})
    lines = [
        f"## {dataset}",
        "",
        f"![two-tier learning curves]({dataset}.png)",
        "",
        "| model | strategy | repeats | "
        + " | ".join(f"F1 @ {m:,}" for m in marks)
        + " | labels to the frozen full-data F1 |",
        "|---|---|---|" + "---|" * (len(marks) + 1),
    ]
    for name, strategy, lab, values in rows:
        m = values.mean(axis=0)
        cells = [fmt(m, values, list(lab).index(x)) if x in lab else "-" for x in marks]
        reach = labels_to(lab, m, full)
        reached = (
            "not by " + f"{int(lab[-1]):,}" if reach is None else f"{reach:,} ({100 * reach / pool:.1f} % of the pool)"
        )
        lines.append(f"| {name} | {strategy} | {len(values)} | " + " | ".join(cells) + f" | {reached} |")
    plan = next(iter(tiers.values()))[1]
    lines += [
        "",
        f"Frozen encoder's full-data macro-F1 (the shared classifier on all {pool:,} training labels): "
        f"{full:.4f}. Repeats: the side-by-side's first seed sets (as many as the row says); "
        f"seed {plan['seed_batch_budget'][0]}, batch {plan['seed_batch_budget'][1]}, budget {budget:,}; a full tier "
        f"every {plan['full_every']} labels (at {', '.join(f'{t:,}' for t in tunes)}). "
        "± = standard error over repeats.",
    ]
    for tier, (run, tier_plan) in tiers.items():
        seconds = [t["seconds"] for t in run["fine_tunes"] if t["repeat"] < repeats]
        stopped = [t for t in run["fine_tunes"] if t.get("stopped")]
        lines.append(
            f"- {tier} full tier: {tier_plan['repeats']} repeat(s) run, "
            f"{np.mean(seconds):.0f} s a full tier on average "
            f"(tuning and re-embedding of pool and test set; longest {max(seconds):.0f} s) on {tier_plan['cpu']}"
            + (f"; {len(stopped)} stopped early by the time budget" if stopped else "")
            + "."
        )
    lines.append("")
    plot(out / f"{dataset}.png", dataset, rows, full)
    return lines


def plot(path: Path, title: str, rows: list, full: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for name, strategy, labels, f1 in rows:
        ax.plot(labels, f1.mean(axis=0), label=f"{name} ({strategy})", marker="." if "two-tier" in name else None)
    ax.axhline(full, color="grey", linestyle=":", label="frozen encoder, every label")
    ax.set_xlabel("labels")
    ax.set_ylabel("test macro-F1")
    ax.set_title(f"{title}: the served model against labels")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--work", type=Path, default=HERE.parents[1] / "runs" / "two_tier")
    parser.add_argument("--peers", type=Path, default=HERE.parent / "peers")
    args = parser.parse_args()
    results = args.out / "results"
    runs = {path.stem.removeprefix("run-"): json.loads(path.read_text()) for path in sorted(results.glob("run-*.json"))}
    datasets = list(dict.fromkeys(d for meta in runs.values() for d in meta["plans"]))
    body = []
    for dataset in datasets:
        tiers = {}
        for tier, meta in runs.items():
            path = results / f"{dataset}-{tier}.json"
            if dataset in meta["plans"] and path.is_file():
                cpu = next((r["cpu"] for r in meta["runs"][::-1] if dataset in r["datasets"]), "not recorded")
                tiers[tier] = (json.loads(path.read_text()), {**meta["plans"][dataset], "cpu": cpu})
        if not tiers:
            print(f"{dataset}: no results, left out")
            continue
        pool = len(np.load(args.work / f"{dataset}.npz")["y"])
        body += section(
            dataset, tiers, peer_runs(args.peers, dataset), full_data_f1(args.work, dataset), pool, args.out
        )
    import torch

    text = [
        "# The two-tier loop: the model users get, against labels",
        "",
        "Written by `benchmarks/two_tier/report.py`. The worker's loop simulated under the peers' protocol "
        f"(`benchmarks/peers`): textal's default strategy ({DEFAULT_STRATEGY}) picks every batch with the model the "
        "worker would be serving, LogisticRegression(C=10) over the frozen MiniLM until the first full tier, then over "
        "the latest tuned MiniLM (tuned on every label by `textal.training.full_tier`, the worker's code: contrastive, "
        "texts sharing a label embedded together, or plain, end to end with a classification head; then its "
        "mean-pooled embeddings). The other rows are the side-by-side's recorded runs on the same seed sets.",
        "",
        *body,
        "## Runs",
        "",
        "| full tier | command | datasets | commit | date | CPU | wall time |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {tier} | `{r['command']}` | {', '.join(r['datasets'])} | {r['commit']} | {r['date']} | {r['cpu']} | "
            f"{str(r['wall_seconds']) + ' s' if 'wall_seconds' in r else 'unfinished'} |"
            for tier, meta in runs.items()
            for r in meta["runs"]
        ),
        "",
        f"Report written with Python {platform.python_version()}, torch {torch.__version__}; "
        "the runs' raw results are `results/<dataset>-<full tier>.json` and `results/run-<full tier>.json`.",
    ]
    (args.out / "RESULTS.md").write_text("\n".join(text) + "\n")
    print(f"wrote {args.out / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
