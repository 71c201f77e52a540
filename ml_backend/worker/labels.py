"""A label snapshot -> training and held-out labels: agreement resolved, evaluation slice kept apart."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ml_backend.labelstudio.annotations import LabelSnapshot
from ml_backend.state.pool_mirror import PoolTask
from ml_backend.worker.project import Project
from textal.quality.agreement import AgreementReport, resolve


@dataclass(frozen=True)
class LabelSplit:
    """Resolved labels of readable tasks: ``train`` (outside the slice) and ``held`` (the evaluation slice)."""

    report: AgreementReport | None
    train: dict[int, Any]
    held: dict[int, Any]
    tasks: list[PoolTask]

    def texts(self) -> dict[int, str]:
        """The readable tasks' texts (every task ``train`` and ``held`` name is readable)."""
        return {t.id: t.text for t in self.tasks if t.text is not None}


def split_labels(project: Project, snapshot: LabelSnapshot) -> LabelSplit:
    """Resolve each task's votes into one label and keep the evaluation slice out of training."""
    schema = project.schema
    report = (
        resolve(
            snapshot.votes,
            project.settings.agreement_threshold,
            multi_label=schema.multi_label,
            label_set=list(schema.labels),
        )
        if snapshot.votes
        else None
    )
    labels = report.training_labels() if report is not None else {}
    tasks = project.mirror.tasks()
    readable = {t.id: t for t in tasks if t.text is not None}
    train = {tid: lab for tid, lab in labels.items() if tid in readable and not readable[tid].eval}
    held = {tid: lab for tid, lab in labels.items() if tid in readable and readable[tid].eval}
    return LabelSplit(report, train, held, tasks)


def not_trainable(train: dict[int, Any], multi_label: bool, base_labels: Sequence[Any] = ()) -> str | None:
    """Why these labels (beside the base model's rows, ``base_labels``) cannot make a model yet, or None."""
    if not train:
        return "no training labels yet"
    if not multi_label and len(set(train.values()) | set(base_labels)) < 2:
        return f"all {len(train)} training labels are {next(iter(train.values()))!r}; a second class is needed"
    return None


def label_counts(labels: Iterable[Any]) -> dict[str, int]:
    """How often each label occurs (each label of a multi-label set counts once)."""
    counts: Counter[str] = Counter()
    for label in labels:
        for lab in label if isinstance(label, (tuple, list)) else [label]:
            counts[str(lab)] += 1
    return dict(sorted(counts.items()))
