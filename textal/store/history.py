"""The history of a live project: one record per published model version, and what it says about stopping.

A record (a JSON object, one per line of a ``history.jsonl``) holds at least ``version``,
``promoted``, ``train_size`` and ``metrics`` (held-out figures on the evaluation slice, or None);
optionally ``stop_set`` (``{"ids": [...], "pred": [...]}``: predicted labels of a fixed set of pool
items, for the stabilising-predictions rule) and ``uncertainty`` (the pool-uncertainty verdicts
computed when the version was made). ``verdicts`` reads the promoted versions' records, oldest
first, and gives every stopping rule's verdict; ``plot_history`` draws the learning curve of the
points ``curve_points`` gives.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from textal.quality.stopping import StopVerdict, metric_plateau, stabilising_predictions

METRIC = "macro_f1"
CURVE_METRICS = (METRIC, "accuracy")


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    """Append ``record`` as one JSON line (flushed and synced: a crash never leaves half a line behind it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, default=_plain, sort_keys=True) + "\n"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """Every whole record of a history file, oldest first (a torn last line is skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines:
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _metric(record: dict[str, Any], metric: str = METRIC) -> float | None:
    metrics = record.get("metrics") or {}
    value = metrics.get(metric)
    return float(value) if isinstance(value, (int, float)) else None


STOP_MIN_TRAIN = 100  # training labels before any stopping rule may say stop
STOP_MIN_EVAL = 50  # labelled evaluation-slice tasks before any stopping rule may say stop


def verdicts(
    records: Sequence[dict[str, Any]], min_eval: int = STOP_MIN_EVAL, window: int = 3, min_train: int = STOP_MIN_TRAIN
) -> list[StopVerdict]:
    """Every stopping rule's verdict over the promoted versions (pool uncertainty: as of the latest one).

    No rule says stop before the latest promoted version was trained on ``min_train`` labels and judged
    on ``min_eval`` labelled slice tasks: on fewer, a plateau or a quiet pool is noise.
    """
    promoted = [r for r in records if r.get("promoted", True) and not r.get("base")]
    out: list[StopVerdict] = []
    history = [_metric(r) for r in promoted if int((r.get("metrics") or {}).get("n", 0)) >= min_eval]
    plateau = metric_plateau([v for v in history if v is not None])
    measured = [r for r in promoted if _metric(r) is not None]
    if measured and not history:  # figures exist, on too small a slice to count
        plateau = replace(
            plateau,
            reason=f"{plateau.reason} judged on at least {min_eval} labelled slice tasks "
            f"(the latest version was judged on {int(measured[-1]['metrics'].get('n', 0))})",
        )
    out.append(plateau)
    sets = [r["stop_set"] for r in promoted if isinstance(r.get("stop_set"), dict) and r["stop_set"].get("ids")]
    if sets:
        recent = sets[-(window + 1) :]
        common = set(recent[0]["ids"]).intersection(*(s["ids"] for s in recent[1:]))
        aligned = []
        for s in recent:
            pred = dict(zip(s["ids"], s["pred"]))
            aligned.append([pred[i] for i in sorted(common)])
        if common:
            out.append(stabilising_predictions(aligned, window=window))
    latest = promoted[-1] if promoted else {}
    for name in ("overall_uncertainty", "max_uncertainty"):
        verdict = (latest.get("uncertainty") or {}).get(name)
        if isinstance(verdict, dict):
            out.append(StopVerdict(**verdict))
    trained = int(latest.get("train_size", 0) or 0)
    judged = int((latest.get("metrics") or {}).get("n", 0) or 0)
    if trained >= min_train and judged >= min_eval:
        return out
    wait = (
        f"not before {min_train} training labels and {min_eval} labelled evaluation-slice tasks "
        f"(now {trained} and {judged})"
    )
    return [replace(v, stop=False, reason=f"{v.reason}; {wait}") if v.stop else v for v in out]


def curve_points(records: Sequence[dict[str, Any]]) -> dict[str, list[tuple[int, float, bool]]]:
    """What the learning curve plots: per metric, (training labels, score, promoted) of every version that has the
    score; the base model (trained outside the project: 0 project labels) as last measured on the slice."""
    base = [r for r in records if r.get("base")]
    versions = [r for r in records if not r.get("base")] + base[-1:]
    versions.sort(key=lambda r: int(r.get("train_size", 0)) if r.get("base") else int(r.get("train_size", 0)) + 0.5)
    out: dict[str, list[tuple[int, float, bool]]] = {}
    for metric in CURVE_METRICS:
        points = [(int(r.get("train_size", 0)), _metric(r, metric), bool(r.get("promoted", True))) for r in versions]
        out[metric] = [(x, y, ok) for x, y, ok in points if y is not None]
    return out


def plot_history(records: Sequence[dict[str, Any]], path: str | Path, title: str | None = None) -> Path:
    """A live project's learning curve: held-out macro-F1 and accuracy against training labels, a point a version."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for (metric, points), marker in zip(curve_points(records).items(), ("o", "s")):
        if not points:
            continue
        xs, ys, _ = zip(*points)
        ax.plot(xs, ys, marker=marker, label=metric.replace("_", "-"), linewidth=1.6)
        held = [(x, y) for x, y, ok in points if not ok]
        if held:
            ax.scatter(
                *zip(*held),
                s=90,
                facecolors="none",
                edgecolors="red",
                zorder=3,
                label=f"not promoted ({metric.replace('_', '-')})",
            )
    ax.set_xlabel("training labels")
    ax.set_ylabel("evaluation-slice score")
    ax.set_ylim(0.0, 1.02)
    ax.set_title(title or "Learning curve (one point per model version)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
