"""Figures of a simulation: learning curves with their spread, and labels needed per target."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from textal.loop.curves import mean_curves


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(
    result: Any, path: str | Path, title: str | None = None, strategies: list[str] | None = None
) -> Path:
    """Mean test macro-F1 against labels per strategy (all, or ``strategies``), shaded from the worst
    to the best repeat."""
    plt = _pyplot()
    curves = mean_curves(result.rounds)
    if strategies is not None:
        curves = {name: c for name, c in curves.items() if name in strategies}
    full = result.full_data["macro_f1"]
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for name, curve in sorted(curves.items()):
        (line,) = ax.plot(curve["labels"], curve["mean"], label=name, linewidth=1.8)
        ax.fill_between(curve["labels"], curve["min"], curve["max"], color=line.get_color(), alpha=0.15)
    ax.axhline(full, color="black", linestyle="--", linewidth=1, label=f"all {result.info['pool_size']} labels")
    ax.axhline(0.98 * full, color="grey", linestyle=":", linewidth=1, label="98 % of all labels")
    lows = [c["min"].min() for c in curves.values()]
    ax.set_ylim(max(0.0, min(lows) - 0.02), min(1.0, full + 0.03))
    ax.set_xlabel("labelled texts")
    ax.set_ylabel("test macro-F1")
    repeats = result.settings.repeats
    ax.set_title(title or f"Learning curves (mean of {repeats} repeat{'s' if repeats > 1 else ''}, band: min-max)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_labels_to_target(summary: dict[str, Any], budget: int, path: str | Path, title: str | None = None) -> Path:
    """Grouped bars: labels each strategy needs to reach each fraction of the full-data macro-F1."""
    plt = _pyplot()
    names = sorted(summary["strategies"])
    targets = [f"{t:.2f}" for t in summary["targets"]]
    width = 0.8 / max(1, len(names))
    x = np.arange(len(targets))
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for i, name in enumerate(names):
        reach = summary["strategies"][name]["labels_to"]
        values = [reach[t] if reach[t] is not None else budget for t in targets]
        bars = ax.bar(x + i * width, values, width, label=name)
        for bar, t in zip(bars, targets):
            if reach[t] is None:  # not reached within the budget: hatched, drawn at the budget
                bar.set_hatch("//")
                bar.set_alpha(0.5)
    ax.set_xticks(x + width * (len(names) - 1) / 2)
    ax.set_xticklabels([f"{float(t) * 100:.0f} % of full-data F1" for t in targets])
    ax.set_ylabel("labels needed (hatched: not reached within budget)")
    ax.set_title(title or "Labels to reach each target")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
