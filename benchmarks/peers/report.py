"""Write RESULTS.md of the side-by-side from ``results/*.json`` (``run.py`` calls it; rerun it alone to redraw)."""

from __future__ import annotations

import argparse
import json
import platform
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.machine import cpu_name, provenance
from benchmarks.peers.protocol import classifier

HERE = Path(__file__).resolve().parent

TEXTAL = ("textal", "hybrid.v2")
NAMES = {"textal": "textal", "small-text": "small-text", "modal": "modAL"}
ORDER = ("sms_spam", "sst2", "banking77", "clinc150")


def full_data_f1(work: Path, dataset: str) -> float:
    """Test macro-F1 of the shared classifier on every training label (kept in ``work``)."""
    from sklearn.metrics import f1_score

    kept = work / f"{dataset}-full.json"
    if kept.is_file():
        return json.loads(kept.read_text())["f1"]
    data = np.load(work / f"{dataset}.npz")
    f1 = float(
        f1_score(data["y_test"], classifier().fit(data["X"], data["y"]).predict(data["X_test"]), average="macro")
    )
    kept.write_text(json.dumps({"f1": f1}))
    return f1


def curves(run: dict, key: str = "f1") -> tuple[np.ndarray, np.ndarray]:
    """(labels per round, figure per repeat and round) of one strategy's run."""
    labels = np.array([r["labels"] for r in run["repeats"][0]["rounds"]])
    return labels, np.array([[r.get(key, np.nan) for r in rep["rounds"]] for rep in run["repeats"]])


def mean_se(values: np.ndarray) -> tuple[float, float]:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def labels_to(labels: np.ndarray, mean_curve: np.ndarray, target: float) -> int | None:
    hit = np.flatnonzero(mean_curve >= target)
    return int(labels[hit[0]]) if len(hit) else None


def every_class(run: dict, n_classes: int) -> tuple[float | None, int]:
    """Mean labels until every class of the pool has an example, over the repeats where that happened; how many."""
    reached = []
    for rep in run["repeats"]:
        first = next((r["labels"] for r in rep["rounds"] if r["seen"] >= n_classes), None)
        if first is not None:
            reached.append(first)
    return (float(np.mean(reached)) if reached else None), len(reached)


def fmt_labels(value) -> str:
    return "not reached" if value is None else f"{value:,.0f}"


def plot(path: Path, title: str, runs: dict, keys: list, full: float) -> None:
    """Mean learning curves of ``keys`` with one standard error shaded, and the 98 % line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for key in keys:
        labels, f1 = curves(runs[key])
        mean, se = f1.mean(axis=0), f1.std(axis=0, ddof=1) / np.sqrt(len(f1)) if len(f1) > 1 else 0 * f1[0]
        ax.plot(labels, mean, label=f"{NAMES[key[0]]} {key[1]}")
        ax.fill_between(labels, mean - se, mean + se, alpha=0.25)
    ax.axhline(0.98 * full, color="grey", linestyle=":", label="98 % of full-data macro-F1")
    ax.set_xlabel("labels")
    ax.set_ylabel("test macro-F1")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def section(
    dataset: str, protocol: str, runs: dict, full: float, n_classes: int, meta: dict, out: Path
) -> tuple[list[str], dict]:
    lines = [f"## {dataset}, {protocol} protocol", ""]
    aucs = {key: curves(run)[1].mean(axis=1) for key, run in runs.items()}
    peers = [k for k in runs if k[0] != "textal"]
    best_peer = max(peers, key=lambda k: aucs[k].mean())
    labels, _ = curves(next(iter(runs.values())))
    marks = sorted({int(m) for m in labels[np.linspace(0, len(labels) - 1, 5).astype(int)]})
    has_rare = "f1_rare" in runs[TEXTAL]["repeats"][0]["rounds"][0]
    head = ["tool", "strategy", "AUC ± SE", "paired Δ vs best peer ± SE", *[f"F1 @ {m:,}" for m in marks], "L98"]
    if has_rare:
        head += ["rare-30 F1 @ " + f"{marks[len(marks) // 2]:,}", "labels until every class"]
    head.append("select s/round")
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    summary = {}
    for key in sorted(runs, key=lambda k: -aucs[k].mean()):
        run = runs[key]
        labels, f1 = curves(run)
        mean = f1.mean(axis=0)
        auc, se = mean_se(aucs[key])
        diff, dse = mean_se(aucs[key] - aucs[best_peer])
        l98 = labels_to(labels, mean, 0.98 * full)
        cells = [
            NAMES[key[0]],
            key[1],
            f"{auc:.4f} ± {se:.4f}",
            "(best peer)" if key == best_peer else f"{diff:+.4f} ± {dse:.4f}",
            *[f"{mean[list(labels).index(m)]:.3f}" for m in marks],
            fmt_labels(l98),
        ]
        if has_rare:
            _, rare = curves(run, "f1_rare")
            seen, times = every_class(run, n_classes)
            cells += [
                f"{rare.mean(axis=0)[list(labels).index(marks[len(marks) // 2])]:.3f}",
                fmt_labels(seen) + ("" if times == len(run["repeats"]) else f" ({times} of {len(run['repeats'])})"),
            ]
        select = np.mean([r["select_s"] for rep in run["repeats"] for r in rep["rounds"][1:]] or [0.0])
        cells.append(f"{select:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
        summary[key] = {"auc": auc, "se": se, "diff": diff, "diff_se": dse, "l98": l98, "mean": mean, "labels": labels}
    twins = [k for k in peers if k != best_peer and np.abs(aucs[k] - aucs[best_peer]).max() < 1e-3]
    figure = f"curves_{dataset}_{protocol}.png"
    plot(out / figure, f"{dataset}, {protocol} protocol", runs, [TEXTAL, best_peer, ("textal", "random")], full)
    lines[1:1] = ["", f"![learning curves]({figure})"]
    lines += [
        "",
        f"Full-data macro-F1 (the same classifier on every training label): {full:.4f}. "
        f"{len(runs[TEXTAL]['repeats'])} repeats.",
    ]
    skipped = [(tool, name) for d, p, tool, name in meta.get("skipped", []) if (d, p) == (dataset, protocol)]
    if skipped:
        lines.append(
            "Not run on this pool, for their cost (`run.py --caps none` runs them): "
            + ", ".join(f"{NAMES[tool]} {name}" for tool, name in skipped)
            + " (see `run.py`)."
        )
    lines.append("")
    if twins:
        lines.insert(
            -1,
            "Within 0.001 AUC of the best peer on every repeat (the same rule on the same classifier; "
            "they part only on ties and rounding): " + ", ".join(f"{NAMES[t]} {s}" for t, s in twins) + ".",
        )
    return lines, {"best_peer": best_peer, "rows": summary, "twins": twins}


def headline(table: dict) -> list[str]:
    lines = [
        "| dataset | protocol | textal hybrid.v2 AUC | best peer | its AUC | paired Δ ± SE | > 2 SE | "
        "L98 textal / best peer | textal minus random, worst round |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (dataset, protocol), info in table.items():
        rows, peer = info["rows"], info["best_peer"]
        ours = rows[TEXTAL]
        gap = (ours["mean"] - rows[("textal", "random")]["mean"])[1:].min()  # after the shared seed round
        lines.append(
            f"| {dataset} | {protocol} | {ours['auc']:.4f} | "
            f"{' ≈ '.join(f'{NAMES[t]} {s}' for t, s in [peer, *info['twins']])} | {rows[peer]['auc']:.4f} | "
            f"{ours['diff']:+.4f} ± {ours['diff_se']:.4f} | {'yes' if ours['diff'] > 2 * ours['diff_se'] else 'no'} | "
            f"{fmt_labels(ours['l98'])} / {fmt_labels(rows[peer]['l98'])} | {gap:+.3f} |"
        )
    return lines


def targets(table: dict) -> list[str]:
    """The default strategy's targets, checked per protocol from the table (nothing here is typed in by hand)."""
    lines = []
    for protocol in sorted({p for _, p in table}, key=lambda p: p != "peers"):
        rows = {d: info for (d, p), info in table.items() if p == protocol}
        ours = {d: info["rows"][TEXTAL] for d, info in rows.items()}
        peer = {d: info["rows"][info["best_peer"]] for d, info in rows.items()}
        behind = [d for d in rows if ours[d]["diff"] < 0]
        clear = [d for d in rows if ours[d]["diff"] > 2 * ours[d]["diff_se"]]
        later = [
            d
            for d in rows
            if peer[d]["l98"] is not None and (ours[d]["l98"] is None or ours[d]["l98"] > peer[d]["l98"])
        ]
        below = [
            d
            for d, info in rows.items()
            if (ours[d]["mean"] - info["rows"][("textal", "random")]["mean"])[1:].min() < 0
        ]
        lines += [
            f"- {protocol} protocol, {len(rows)} datasets: AUC at least the best peer's on "
            f"{len(rows) - len(behind)} ({'all' if not behind else 'behind on ' + ', '.join(behind)}); clearly above "
            f"(paired Δ > 2 SE) on {len(clear)} ({', '.join(clear) or 'none'}); labels to 98 % no more than the best "
            f"peer's on {len(rows) - len(later)} ({'all' if not later else 'more on ' + ', '.join(later)}); below "
            f"random at some round on {', '.join(below) or 'none'}.",
        ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--work", type=Path, default=HERE.parents[1] / "runs" / "peers")
    args = parser.parse_args()
    results = args.out / "results"
    meta = json.loads((results / "run.json").read_text())
    grouped: dict[tuple[str, str], dict] = defaultdict(dict)
    for path in sorted(results.glob("*.json")):
        if path.name in ("run.json", "full_data.json"):
            continue
        run = json.loads(path.read_text())
        dataset, protocol = path.name.split("-")[:2]
        grouped[(dataset, protocol)][(run["tool"], run["strategy"])] = run
    body, table, full = [], {}, {}
    for key in sorted(grouped, key=lambda k: (k[1] != "peers", ORDER.index(k[0]) if k[0] in ORDER else 9, k[0])):
        dataset, protocol = key
        runs = grouped[key]
        if TEXTAL not in runs or ("textal", "random") not in runs or all(k[0] == "textal" for k in runs):
            print(f"{dataset}, {protocol}: incomplete, left out")
            continue
        data = np.load(args.work / f"{dataset}.npz")
        full[dataset] = full_data_f1(args.work, dataset)
        lines, table[key] = section(
            dataset, protocol, grouped[key], full[dataset], len(np.unique(data["y"])), meta, args.out
        )
        body += lines
    # kept beside the raw runs, so L95/L98 can be read from results/ alone (label_efficiency's report does)
    (results / "full_data.json").write_text(json.dumps(full, indent=1) + "\n")
    import sklearn

    peer_versions = meta.get("peer_versions")
    text = [
        "# Peers side by side: results",
        "",
        "Written by `benchmarks/peers/report.py` from `results/`. textal's default strategy (hybrid.v2), "
        "small-text's and modAL's strategies from their own PyPI packages (`requirements.txt`, their own "
        "virtualenv), on the same frozen MiniLM embeddings, the same LogisticRegression(C=10) refit every "
        "round, and the same seed sets per repeat. AUC = mean test macro-F1 over all rounds, seed round "
        "included; ± = standard error over repeats; the paired Δ is the mean over repeats of (AUC minus the "
        "best peer's AUC on the same seed set). L98 = labels at which the mean curve first reaches 98 % of "
        "the full-data macro-F1. Peers' protocol: seed = batch = 25, budget 1,000 (SMS spam, SST-2); 100, "
        "100, 3,000 (BANKING77, CLINC150); no random share, no evaluation slice. Practitioner's: seed = "
        "batch = 200, 10 % random picks in every batch (for every tool), a 10 % evaluation slice kept out "
        "of the pool.",
        "",
        "## Headline",
        "",
        *headline(table),
        "",
        "Targets for textal's default strategy:",
        "",
        *targets(table),
        "",
        *body,
        *[
            f"Earlier run, resumed by the next: `{e['command']}` "
            f"({'stopped before the end' if e['wall_seconds'] is None else str(e['wall_seconds']) + ' s'})  "
            for e in meta.get("earlier", [])
        ],
        f"Command: `{meta['command']}`  ",
        provenance(meta, results / "run.json") + "  ",
        f"Wall time: {str(meta['wall_seconds']) + ' s' if 'wall_seconds' in meta else 'unfinished'}, "
        f"{meta['jobs']} strategies at a time"
        + (
            f", Python {meta['python']}, scikit-learn {meta['versions']['scikit-learn']}; peers' virtualenv: "
            + ", ".join(f"{name} {version}" for name, version in peer_versions.items())
            + "."
            if peer_versions
            else f", on {cpu_name()} ({platform.machine()}), Python {platform.python_version()}, "
            f"scikit-learn {sklearn.__version__}; peers pinned in `requirements.txt` (their installed versions "
            "were not recorded by this run)."
        ),
    ]
    (args.out / "RESULTS.md").write_text("\n".join(text) + "\n")
    print(f"wrote {args.out / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
