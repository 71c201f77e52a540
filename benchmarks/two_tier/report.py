"""Write RESULTS.md of the two-tier loop from ``results/`` beside the side-by-side's recorded curves.

The frozen-encoder curve (textal's default strategy) and the best peer's come from ``benchmarks/peers/results``,
taken on the same repeats, so on the same seed sets; up to the first fine-tune the two-tier curve is the frozen one.

It also writes ``results/summary.json``: every figure the tables show (per dataset and row: mean F1 and its SE at
each mark, labels to the frozen full-data F1; per full tier its times), with the run records they come from. The
frozen encoder's full-data macro-F1 and the pool's size come from the run's work folder (its embeddings), else
from ``results/full_data.json``, where the report keeps them so that results/ alone regenerates the report.
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


ROW_KEYS = {"frozen": ("textal", DEFAULT_STRATEGY), "random": ("textal", "random")}


def mean_se_at(f1: np.ndarray, i: int) -> dict[str, float]:
    """The mean over repeats at round ``i`` and its standard error, as ``fmt`` prints them."""
    se = f1[:, i].std(ddof=1) / np.sqrt(len(f1)) if len(f1) > 1 else 0.0
    return {"mean": float(f1[:, i].mean()), "se": float(se)}


def section(
    dataset: str,
    tiers: dict,
    peers: dict,
    full: float,
    pool: int,
    out: Path,
    summary: dict | None = None,
    figures: bool = True,
) -> list[str]:
    """``tiers``: full tier -> (its run, its plan) for this dataset. Each full tier's row has its own repeats (the
    side-by-side's first seed sets); the frozen-encoder rows have as many as the most of them, on the same seeds.
    What the table shows is also set in ``summary`` (the dataset's record of summary.json)."""
    summary = {} if summary is None else summary
    repeats = max(len(run["repeats"]) for run, _ in tiers.values())
    budget = min(plan["seed_batch_budget"][2] for _, plan in tiers.values())
    rows = []
    kinds = []  # what each row is, in summary.json: a full tier's name, "frozen", "best_peer" or "random"
    for tier, (run, _) in tiers.items():
        labels, f1 = upto(run, len(run["repeats"]), budget)
        rows.append((f"textal two-tier, {tier} full tier", DEFAULT_STRATEGY, labels, f1))
        kinds.append(tier)
    others = {k: v for k, v in peers.items() if k[0] != "textal"}
    best = max(others, key=lambda k: curves(others[k])[1].mean()) if others else None
    for key, name, kind in (
        (ROW_KEYS["frozen"], "textal, frozen encoder", "frozen"),
        (best, None, "best_peer"),
        (ROW_KEYS["random"], "random, frozen encoder", "random"),
    ):
        if key in peers and len(peers[key]["repeats"]) >= repeats:
            rows.append(
                (name or f"{NAMES[key[0]]} (best peer), frozen encoder", key[1], *upto(peers[key], repeats, budget))
            )
            kinds.append(kind)
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
    records = []
    for (name, strategy, lab, values), kind in zip(rows, kinds, strict=True):
        m = values.mean(axis=0)
        cells = [fmt(m, values, list(lab).index(x)) if x in lab else "-" for x in marks]
        reach = labels_to(lab, m, full)
        reached = (
            "not by " + f"{int(lab[-1]):,}" if reach is None else f"{reach:,} ({100 * reach / pool:.1f} % of the pool)"
        )
        lines.append(f"| {name} | {strategy} | {len(values)} | " + " | ".join(cells) + f" | {reached} |")
        record = {
            "row": kind,
            "model": name,
            "strategy": strategy,
            "repeats": len(values),
            "f1_at": {str(x): mean_se_at(values, list(lab).index(x)) for x in marks if x in lab},
            "labels_to_full": reach,
            "share_of_pool": None if reach is None else reach / pool,
            "last_labels": int(lab[-1]),
        }
        if kind in tiers:
            record.update({k: v for k, v in tiers[kind][1].items() if k in ("commit", "date", "cpu", "command")})
        else:
            record["source"] = "benchmarks/peers/results (the side-by-side's recorded runs)"
        records.append(record)
    plan = next(iter(tiers.values()))[1]
    lines += [
        "",
        f"Frozen encoder's full-data macro-F1 (the shared classifier on all {pool:,} training labels): "
        f"{full:.4f}. Repeats: the side-by-side's first seed sets (as many as the row says); "
        f"seed {plan['seed_batch_budget'][0]}, batch {plan['seed_batch_budget'][1]}, budget {budget:,}; a full tier "
        f"every {plan['full_every']} labels (at {', '.join(f'{t:,}' for t in tunes)}). "
        "± = standard error over repeats.",
    ]
    full_tiers = []
    for tier, (run, tier_plan) in tiers.items():
        seconds = [t["seconds"] for t in run["fine_tunes"] if t["repeat"] < repeats]
        stopped = [t for t in run["fine_tunes"] if t.get("stopped")]
        full_tiers.append(
            {
                "full_tier": tier,
                "repeats_run": tier_plan["repeats"],
                "mean_seconds": float(np.mean(seconds)),
                "longest_seconds": float(max(seconds)),
                "stopped_by_time_budget": len(stopped),
                "stopped": [t["stopped"] for t in stopped],
                **{k: v for k, v in tier_plan.items() if k in ("commit", "date", "cpu", "command")},
            }
        )
        lines.append(
            f"- {tier} full tier: {tier_plan['repeats']} repeat(s) run, "
            f"{np.mean(seconds):.0f} s a full tier on average "
            f"(tuning and re-embedding of pool and test set; longest {max(seconds):.0f} s) on {tier_plan['cpu']}"
            + (f"; {len(stopped)} stopped early by the time budget" if stopped else "")
            + "."
        )
    lines.append("")
    summary.update(
        dataset=dataset,
        full_data_f1=full,
        pool=pool,
        seed=plan["seed_batch_budget"][0],
        batch=plan["seed_batch_budget"][1],
        budget=budget,
        full_every=plan["full_every"],
        full_tiers_at=tunes,
        rows=records,
        full_tier_times=full_tiers,
    )
    if figures:
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


def frozen_full(work: Path, results: Path, dataset: str) -> tuple[float, int]:
    """The frozen encoder's full-data macro-F1 and the pool's size: from the run's work folder where it is there,
    else as ``results/full_data.json`` kept them."""
    if (work / f"{dataset}.npz").is_file():
        return full_data_f1(work, dataset), len(np.load(work / f"{dataset}.npz")["y"])
    kept = results / "full_data.json"
    entry = json.loads(kept.read_text()).get(dataset) if kept.is_file() else None
    if entry is None:
        raise SystemExit(f"{dataset}: no full-data F1 in {work} nor in {kept}")
    return float(entry["f1"]), int(entry["pool"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--work", type=Path, default=HERE.parents[1] / "runs" / "two_tier")
    parser.add_argument("--peers", type=Path, default=HERE.parent / "peers")
    parser.add_argument("--no-figures", action="store_true", help="write RESULTS.md and the summary, keep the PNGs")
    args = parser.parse_args(argv)
    results = args.out / "results"
    runs = {path.stem.removeprefix("run-"): json.loads(path.read_text()) for path in sorted(results.glob("run-*.json"))}
    datasets = list(dict.fromkeys(d for meta in runs.values() for d in meta["plans"]))
    body: list[str] = []
    sections: list[dict] = []
    kept: dict[str, dict] = {}
    for dataset in datasets:
        tiers = {}
        for tier, meta in runs.items():
            path = results / f"{dataset}-{tier}.json"
            if dataset in meta["plans"] and path.is_file():
                record = next((r for r in meta["runs"][::-1] if dataset in r["datasets"]), {})
                made = {k: record.get(k, "not recorded") for k in ("cpu", "commit", "date", "command")}
                tiers[tier] = (json.loads(path.read_text()), {**meta["plans"][dataset], **made})
        if not tiers:
            print(f"{dataset}: no results, left out")
            continue
        full, pool = frozen_full(args.work, results, dataset)
        kept[dataset] = {"f1": full, "pool": pool}
        sections.append({})
        body += section(
            dataset,
            tiers,
            peer_runs(args.peers, dataset),
            full,
            pool,
            args.out,
            summary=sections[-1],
            figures=not args.no_figures,
        )
    # kept beside the raw runs (the work folder, with the embeddings they come from, is not committed)
    (results / "full_data.json").write_text(
        json.dumps(
            {
                "source": "the frozen encoder's embeddings in the runs' work folder (runs/two_tier/<dataset>.npz): "
                "macro-F1 of the shared classifier on every training label, and the pool's size",
                **kept,
            },
            indent=1,
        )
        + "\n"
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
    summary = {
        "written_by": "benchmarks/two_tier/report.py",
        "definitions": {
            "f1_at": "test macro-F1 of the served model at that many labels: mean over repeats and its SE",
            "labels_to_full": "labels at which the mean curve first reaches the frozen encoder's full-data macro-F1 "
            "(null: not by last_labels); share_of_pool: that over the pool's size",
            "row": "a full tier's name (the two-tier loop), or frozen, best_peer, random: the side-by-side's runs",
        },
        "runs": [{"full_tier": tier, **r} for tier, meta in runs.items() for r in meta["runs"]],
        "sections": sections,
    }
    (results / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {args.out / 'RESULTS.md'} and {results / 'summary.json'}")


if __name__ == "__main__":
    main()
