"""Learning-curve figures: area under the curve, quality at fixed budgets, labels to reach a target.

Definitions (the ones the peers' table uses): AUC is the mean macro-F1 over all rounds, seed round
included, averaged over repeats. "Labels to reach x %" is the first label count at which the curve
averaged over repeats reaches x % of the full-data macro-F1. Savings compare those label counts
with random sampling's; where random never reached the target, the saving is a lower bound against
the budget.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

RANDOM_NAMES = ("random", "random.v1")
STOP_FLAGS = {
    "stabilising_predictions": "stop_stabilising",
    "overall_uncertainty": "stop_uncertainty",
    "max_uncertainty": "stop_max_uncertainty",
    "metric_plateau": "stop_plateau",
}


def mean_curves(rounds: Sequence[Any]) -> dict[str, dict[str, np.ndarray]]:
    """Per strategy: label counts and the mean/std/min/max of macro-F1 over repeats at each count."""
    by_strategy: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in rounds:
        by_strategy[r.strategy][r.labels].append(r.macro_f1)
    out = {}
    for name, points in by_strategy.items():
        labels = np.array(sorted(points))
        values = [np.array(points[n]) for n in labels]
        out[name] = {
            "labels": labels,
            "mean": np.array([v.mean() for v in values]),
            "std": np.array([v.std() for v in values]),
            "min": np.array([v.min() for v in values]),
            "max": np.array([v.max() for v in values]),
        }
    return out


def labels_to_reach(labels: np.ndarray, curve: np.ndarray, target: float) -> int | None:
    """First label count where ``curve`` reaches ``target``; None if it never does."""
    hit = np.flatnonzero(curve >= target)
    return int(labels[hit[0]]) if len(hit) else None


def summarise_curves(
    result: Any, budgets: Sequence[int] | None = None, targets: Sequence[float] = (0.90, 0.95, 0.98)
) -> dict[str, Any]:
    """The per-strategy summary of a simulation (see the module docstring for the definitions)."""
    settings = result.settings
    full_f1 = result.full_data["macro_f1"]
    curves = mean_curves(result.rounds)
    if budgets is None:
        budgets = sorted({settings.seed_size, *(int(settings.budget * q) for q in (0.25, 0.5, 0.75, 1.0))})
    per_repeat: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    timing: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in result.rounds:
        per_repeat[r.strategy][r.repeat].append(r.macro_f1)
        timing[r.strategy].append((r.select_seconds, r.train_seconds))

    random_name = next((n for n in curves if n in RANDOM_NAMES), None)
    summary: dict[str, Any] = {"full_data_macro_f1": full_f1, "targets": list(targets), "strategies": {}}
    for name, curve in curves.items():
        aucs = [float(np.mean(v)) for v in per_repeat[name].values()]
        reach = {f"{t:.2f}": labels_to_reach(curve["labels"], curve["mean"], t * full_f1) for t in targets}
        times = np.array(timing[name])
        summary["strategies"][name] = {
            "auc": float(np.mean(aucs)),
            "auc_std": float(np.std(aucs)),
            "f1_at": {str(b): _value_at(curve, b) for b in budgets},
            "labels_to": reach,
            "mean_select_seconds": float(times[:, 0].mean()),
            "mean_train_seconds": float(times[:, 1].mean()),
            "stopping": stopping_summary([r for r in result.rounds if r.strategy == name]),
        }
    if random_name is not None:
        base = summary["strategies"][random_name]["labels_to"]
        for entry in summary["strategies"].values():
            entry["saving_vs_random"] = {
                t: _saving(entry["labels_to"][t], base[t], settings.budget) for t in entry["labels_to"]
            }
    return summary


def stopping_summary(rounds: Sequence[Any]) -> dict[str, Any]:
    """Per stopping rule: where it first fired (labels, macro-F1) and what going on to the budget gained.

    Averaged over the repeats in which the rule fired; ``fired_in`` counts them.
    """
    runs: dict[int, list[Any]] = defaultdict(list)
    for r in rounds:
        runs[r.repeat].append(r)
    out: dict[str, Any] = {}
    for rule, flag in STOP_FLAGS.items():
        hits = []
        for run in runs.values():
            run = sorted(run, key=lambda r: r.round)
            first = next((r for r in run if getattr(r, flag)), None)
            if first is not None:
                hits.append((first.labels, first.macro_f1, run[-1].macro_f1))
        if not hits:
            out[rule] = {"fired_in": 0, "repeats": len(runs)}
            continue
        labels, at_stop, final = (np.array(v, dtype=float) for v in zip(*hits))
        out[rule] = {
            "fired_in": len(hits),
            "repeats": len(runs),
            "labels": float(labels.mean()),
            "macro_f1_at_stop": float(at_stop.mean()),
            "macro_f1_at_budget": float(final.mean()),
            "gain_if_continued": float((final - at_stop).mean()),
        }
    return out


def _value_at(curve: dict[str, np.ndarray], budget: int) -> float | None:
    """Mean macro-F1 at the last round with at most ``budget`` labels."""
    idx = np.flatnonzero(curve["labels"] <= budget)
    return float(curve["mean"][idx[-1]]) if len(idx) else None


def _saving(labels: int | None, random_labels: int | None, budget: int) -> dict[str, Any] | None:
    """Labels saved against random, in %; ``at_least`` when random never reached the target."""
    if labels is None:
        return None
    if random_labels is None:
        return {"percent": round(100.0 * (1 - labels / budget), 1), "at_least": True}
    return {"percent": round(100.0 * (1 - labels / random_labels), 1), "at_least": False}
