"""Write RESULTS.md of the side-by-side from ``results/*.json`` (``run.py`` calls it; rerun it alone to redraw).

It also writes ``results/summary.json``: every figure the tables show (per dataset and protocol: the headline row,
and per tool and strategy its AUC, paired difference to the best peer, F1 at the marks, L98), with the run record
they were computed from, so the README can cite a computed figure. The full-data macro-F1 (for L98) comes from the
run's work folder, else from ``results/full_data.json``; where neither has it, L98 is not computed.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from benchmarks.machine import provenance
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
        return float(json.loads(kept.read_text())["f1"])
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


def known_full_f1(work: Path, results: Path, dataset: str) -> float | None:
    """The full-data macro-F1 of ``dataset``: from the run's work folder (computed there from its embeddings where
    not kept yet), else from ``results/full_data.json``, else None (the raw files do not hold it)."""
    if (work / f"{dataset}-full.json").is_file() or (work / f"{dataset}.npz").is_file():
        return full_data_f1(work, dataset)
    kept = results / "full_data.json"
    value = json.loads(kept.read_text()).get(dataset) if kept.is_file() else None
    return None if value is None else float(value)


def class_count(work: Path, dataset: str, runs: dict) -> int:
    """The classes of the pool: from the work folder's labels, else the most classes any round of any run had seen
    (every class, wherever a run labelled one of each)."""
    if (work / f"{dataset}.npz").is_file():
        return len(np.unique(np.load(work / f"{dataset}.npz")["y"]))
    return max(r["seen"] for run in runs.values() for rep in run["repeats"] for r in rep["rounds"])


def fmt_labels(value) -> str:
    return "not reached" if value is None else f"{value:,.0f}"


def fmt_l98(value, full: float | None) -> str:
    return "-" if full is None else fmt_labels(value)


def plot(path: Path, title: str, runs: dict, keys: list, full: float | None) -> None:
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
    if full is not None:
        ax.axhline(0.98 * full, color="grey", linestyle=":", label="98 % of full-data macro-F1")
    ax.set_xlabel("labels")
    ax.set_ylabel("test macro-F1")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def section(
    dataset: str,
    protocol: str,
    runs: dict,
    full: float | None,
    n_classes: int,
    meta: dict,
    out: Path,
    figures: bool = True,
) -> tuple[list[str], dict]:
    """One dataset and protocol: its table's lines, and what ``headline``, ``targets`` and the summary read (the
    best peer, its twins, and per (tool, strategy) the figures its row shows, under "rows" and "record")."""
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
        l98 = None if full is None else labels_to(labels, mean, 0.98 * full)
        f1_at = {m: float(mean[list(labels).index(m)]) for m in marks}
        cells = [
            NAMES[key[0]],
            key[1],
            f"{auc:.4f} ± {se:.4f}",
            "(best peer)" if key == best_peer else f"{diff:+.4f} ± {dse:.4f}",
            *[f"{value:.3f}" for value in f1_at.values()],
            fmt_l98(l98, full),
        ]
        record = {
            "tool": NAMES[key[0]],
            "strategy": key[1],
            "best_peer": key == best_peer,
            "repeats": len(run["repeats"]),
            "auc": auc,
            "auc_se": se,
            "diff": None if key == best_peer else diff,
            "diff_se": None if key == best_peer else dse,
            "f1_at": {str(m): value for m, value in f1_at.items()},
            "l98": l98,
        }
        if has_rare:
            _, rare = curves(run, "f1_rare")
            seen, times = every_class(run, n_classes)
            middle = marks[len(marks) // 2]
            rare_at = float(rare.mean(axis=0)[list(labels).index(middle)])
            cells += [
                f"{rare_at:.3f}",
                fmt_labels(seen) + ("" if times == len(run["repeats"]) else f" ({times} of {len(run['repeats'])})"),
            ]
            record.update(
                rare_f1_at={str(middle): rare_at}, labels_until_every_class=seen, every_class_in_repeats=times
            )
        select = np.mean([r["select_s"] for rep in run["repeats"] for r in rep["rounds"][1:]] or [0.0])
        cells.append(f"{select:.2f}")
        record["select_s"] = float(select)
        lines.append("| " + " | ".join(cells) + " |")
        summary[key] = {
            "auc": auc,
            "se": se,
            "diff": diff,
            "diff_se": dse,
            "l98": l98,
            "mean": mean,
            "labels": labels,
            "record": record,
        }
    twins = [k for k in peers if k != best_peer and np.abs(aucs[k] - aucs[best_peer]).max() < 1e-3]
    figure = f"curves_{dataset}_{protocol}.png"
    if figures:
        plot(out / figure, f"{dataset}, {protocol} protocol", runs, [TEXTAL, best_peer, ("textal", "random")], full)
    lines[1:1] = ["", f"![learning curves]({figure})"]
    lines += [
        "",
        (
            f"Full-data macro-F1 (the same classifier on every training label): {full:.4f}. "
            if full is not None
            else "Full-data macro-F1: in none of the raw files (the run's work folder is not kept), so L98 is not "
            "computed (-). "
        )
        + f"{len(runs[TEXTAL]['repeats'])} repeats.",
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
    return lines, {"best_peer": best_peer, "rows": summary, "twins": twins, "full": full, "n_classes": n_classes}


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
            f"{fmt_l98(ours['l98'], info['full'])} / {fmt_l98(rows[peer]['l98'], info['full'])} | {gap:+.3f} |"
        )
    return lines


def summary_sections(table: dict) -> list[dict]:
    """Per dataset and protocol, the headline row's figures and every row's, as RESULTS.md shows them."""
    sections = []
    for (dataset, protocol), info in table.items():
        rows, peer = info["rows"], info["best_peer"]
        ours, random = rows[TEXTAL], rows[("textal", "random")]
        sections.append(
            {
                "dataset": dataset,
                "protocol": protocol,
                "repeats": ours["record"]["repeats"],
                "classes": info["n_classes"],
                "full_data_f1": info["full"],
                "best_peer": f"{NAMES[peer[0]]} {peer[1]}",
                "within_0.001_of_best_peer": [f"{NAMES[t]} {s}" for t, s in info["twins"]],
                "headline": {
                    "textal_auc": ours["auc"],
                    "best_peer_auc": rows[peer]["auc"],
                    "diff": ours["diff"],
                    "diff_se": ours["diff_se"],
                    "above_2_se": bool(ours["diff"] > 2 * ours["diff_se"]),
                    "l98_textal": ours["l98"],
                    "l98_best_peer": rows[peer]["l98"],
                    "random_auc": random["auc"],
                    "worst_round_minus_random": float((ours["mean"] - random["mean"])[1:].min()),
                    "every_class_textal": ours["record"].get("labels_until_every_class"),
                    "every_class_best_peer": rows[peer]["record"].get("labels_until_every_class"),
                },
                "rows": [rows[key]["record"] for key in rows],
            }
        )
    return sections


def targets(table: dict) -> list[str]:
    """The default strategy's targets, checked per protocol from the table (nothing here is typed in by hand)."""
    lines = []
    for protocol in sorted({p for _, p in table}, key=lambda p: p != "peers"):
        rows = {d: info for (d, p), info in table.items() if p == protocol}
        ours = {d: info["rows"][TEXTAL] for d, info in rows.items()}
        peer = {d: info["rows"][info["best_peer"]] for d, info in rows.items()}
        behind = [d for d in rows if ours[d]["diff"] < 0]
        clear = [d for d in rows if ours[d]["diff"] > 2 * ours[d]["diff_se"]]
        computed = [d for d, info in rows.items() if info["full"] is not None]
        later = [
            d
            for d in computed
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
            f"(paired Δ > 2 SE) on {len(clear)} ({', '.join(clear) or 'none'}); "
            + (
                f"labels to 98 % no more than the best peer's on {len(computed) - len(later)} "
                f"({'all' if not later else 'more on ' + ', '.join(later)})"
                + ("" if len(computed) == len(rows) else f" of the {len(computed)} whose full-data F1 is known")
                if computed
                else "labels to 98 % not computed (no full-data F1)"
            )
            + f"; below random at some round on {', '.join(below) or 'none'}.",
        ]
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--work", type=Path, default=HERE.parents[1] / "runs" / "peers")
    parser.add_argument("--no-figures", action="store_true", help="write RESULTS.md and the summary, keep the PNGs")
    args = parser.parse_args(argv)
    results = args.out / "results"
    meta = json.loads((results / "run.json").read_text())
    grouped: dict[tuple[str, str], dict] = defaultdict(dict)
    for path in sorted(results.glob("*.json")):
        if path.name in ("run.json", "full_data.json", "summary.json"):
            continue
        run = json.loads(path.read_text())
        dataset, protocol = path.name.split("-")[:2]
        grouped[(dataset, protocol)][(run["tool"], run["strategy"])] = run
    body: list[str] = []
    table: dict = {}
    full: dict[str, float | None] = {}
    for key in sorted(grouped, key=lambda k: (k[1] != "peers", ORDER.index(k[0]) if k[0] in ORDER else 9, k[0])):
        dataset, protocol = key
        runs = grouped[key]
        if TEXTAL not in runs or ("textal", "random") not in runs or all(k[0] == "textal" for k in runs):
            print(f"{dataset}, {protocol}: incomplete, left out")
            continue
        full[dataset] = known_full_f1(args.work, results, dataset)
        lines, table[key] = section(
            dataset,
            protocol,
            runs,
            full[dataset],
            class_count(args.work, dataset, runs),
            meta,
            args.out,
            figures=not args.no_figures,
        )
        body += lines
    known = {dataset: f1 for dataset, f1 in full.items() if f1 is not None}
    if known:  # kept beside the raw runs, so L95/L98 can be read from results/ alone (label_efficiency's report does)
        (results / "full_data.json").write_text(json.dumps(known, indent=1) + "\n")
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
            else "; the run recorded no machine, Python or library versions; peers pinned in `requirements.txt` "
            "(their installed versions were not recorded by this run)."
        ),
    ]
    (args.out / "RESULTS.md").write_text("\n".join(text) + "\n")
    record = {key: value for key, value in meta.items() if key != "skipped"}
    record["provenance"] = provenance(meta, results / "run.json")
    record.setdefault("cpu", "machine not recorded")
    summary = {
        "written_by": "benchmarks/peers/report.py",
        "definitions": {
            "auc": "mean test macro-F1 over all rounds, seed round included, mean over repeats; auc_se: its SE",
            "diff": "paired: mean over repeats of (AUC minus the best peer's AUC on the same seed set); "
            "diff_se: its SE",
            "l98": "labels at which the mean curve first reaches 98 % of the full-data macro-F1 (null: not reached, "
            "or not computed where full_data_f1 is null)",
            "worst_round_minus_random": "the lowest, over rounds after the seed round, of textal's mean F1 minus "
            "random's",
            "labels_until_every_class": "mean labels until every class of the pool has an example, over the "
            "every_class_in_repeats repeats where that happened",
        },
        "run": record,
        "skipped": meta.get("skipped", []),
        "sections": summary_sections(table),
        "targets": targets(table),
    }
    (results / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"wrote {args.out / 'RESULTS.md'} and {results / 'summary.json'}")


if __name__ == "__main__":
    main()
