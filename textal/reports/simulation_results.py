"""Write a simulation's results to a folder: JSON, CSV and PNG figures."""

from __future__ import annotations

import csv
import json
import platform
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from textal import __version__
from textal.loop.curves import RANDOM_NAMES
from textal.loop.simulate import RoundRecord
from textal.reports.plots import plot_labels_to_target, plot_learning_curves

MAIN_CURVES = 5  # with more strategies than this, a second figure shows the best ones and random

ROUND_FIELDS = [f.name for f in fields(RoundRecord)]  # rounds.csv's columns: every figure of a round


def environment() -> dict[str, Any]:
    """Machine and library versions, recorded next to every result."""
    import importlib.metadata as md
    import os

    versions: dict[str, str | None] = {}
    for name in ("numpy", "scikit-learn", "torch", "transformers"):
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return {
        "textal": __version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "packages": versions,
    }


def write_report(result: Any, summary: dict[str, Any], out_dir: str | Path, command: str | None = None) -> list[Path]:
    """Save results.json (everything), rounds.csv, summary.csv and the two figures; return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = {**result.to_dict(), "summary": summary, "environment": environment(), "command": command}
    paths = [out / "results.json", out / "rounds.csv", out / "summary.csv"]
    paths[0].write_text(json.dumps(results, indent=1, default=_plain))
    with open(paths[1], "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=ROUND_FIELDS)
        writer.writeheader()
        for record in result.rounds:
            writer.writerow(asdict(record))
    with open(paths[2], "w", newline="") as fh:
        table = csv.writer(fh)
        targets = [f"{t:.2f}" for t in summary["targets"]]
        budgets = list(next(iter(summary["strategies"].values()))["f1_at"])
        table.writerow(
            [
                "strategy",
                "auc",
                "auc_std",
                *[f"f1_at_{b}" for b in budgets],
                *[f"labels_to_{t}" for t in targets],
                *[f"saving_vs_random_{t}" for t in targets],
                "mean_select_seconds",
                "mean_train_seconds",
            ]
        )
        for name, entry in sorted(summary["strategies"].items(), key=lambda kv: -kv[1]["auc"]):
            savings = entry.get("saving_vs_random", {})
            table.writerow(
                [
                    name,
                    f"{entry['auc']:.4f}",
                    f"{entry['auc_std']:.4f}",
                    *[_fmt(entry["f1_at"][b]) for b in budgets],
                    *[entry["labels_to"][t] if entry["labels_to"][t] is not None else "" for t in targets],
                    *[_saving_text(savings.get(t)) for t in targets],
                    f"{entry['mean_select_seconds']:.4f}",
                    f"{entry['mean_train_seconds']:.4f}",
                ]
            )
    paths.append(plot_learning_curves(result, out / "learning_curves.png"))
    if len(summary["strategies"]) > MAIN_CURVES:
        ranked = sorted(summary["strategies"], key=lambda name: -summary["strategies"][name]["auc"])
        main = [n for n in ranked if n not in RANDOM_NAMES][: MAIN_CURVES - 1] + [
            n for n in ranked if n in RANDOM_NAMES
        ]
        paths.append(
            plot_learning_curves(
                result,
                out / "learning_curves_main.png",
                strategies=main,
                title=f"Learning curves: the {len(main) - 1} best strategies and random",
            )
        )
    paths.append(plot_labels_to_target(summary, result.settings.budget, out / "labels_to_target.png"))
    return paths


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _saving_text(saving: dict[str, Any] | None) -> str:
    if saving is None:
        return ""
    return f"{'>=' if saving['at_least'] else ''}{saving['percent']}"


def _plain(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
