"""Labels that are probably wrong, found after each retrain and marked in Label Studio for a second look.

The fast tier's head is refitted on k folds of the training labels over the embeddings the retrain has
just computed, so every label is judged by a model that never saw it, and cleanlab flags the ones those
predictions contradict (``textal.quality.label_review``). The most suspicious flagged tasks get ``textal_review``
(how likely the label is wrong) and ``textal_suggestion`` (the label the model prefers, and its
probability) in their data; the view "textal: labels to review" lists them, most suspicious first. A
mark whose label is no longer flagged (corrected, or outvoted by new labels) is cleared at the next retrain.
The review runs after the new version is pushed, and only when the labels have grown by a twentieth or a
marked label has changed: on thousands of labels it takes seconds (benchmarks/label_noise/REVIEW_COST.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ml_backend.labelstudio.annotations import LabelSnapshot, Vote
from ml_backend.labelstudio.tasks import REVIEW_KEY, SUGGESTION_KEY
from ml_backend.worker.project import Project
from ml_backend.worker.timing import Timer, now_iso
from textal.models.class_weights import class_weight_param
from textal.models.classifier import encode_labels
from textal.quality.annotator_quality import NO_LABEL, AnnotatorStats, annotator_stats
from textal.quality.label_review import head_out_of_fold_proba, review_labels

log = logging.getLogger("ml_backend.worker")

MIN_REVIEW_LABELS = 20  # fewer training labels than this: too few folds' worth to judge anything
REVIEW_GROWTH = 0.05  # a new review once the labels have grown by this share, or a marked label has changed


def review_training_labels(
    project: Project,
    X_train: np.ndarray,
    train_ids: Sequence[int],
    labels: Sequence[Any],
    timer: Timer,
    snapshot: LabelSnapshot | None = None,
    predict: Callable[[list[int]], np.ndarray] | None = None,
) -> dict[str, Any] | None:
    """Judge the training labels, mark the most suspicious in Label Studio and clear stale marks, and rate the
    annotators where tasks have several (``snapshot``'s votes; ``predict`` answers for tasks outside training);
    returns the figures."""
    p, settings = project, project.settings
    classes, multi = list(p.schema.labels), p.schema.multi_label
    if settings.review_marks <= 0 or len(train_ids) < MIN_REVIEW_LABELS:
        return None
    if not review_due(p.work, train_ids, labels):
        return None
    y = encode_labels(list(labels), classes, multi)
    if not multi and len(np.unique(y)) < 2:
        return None
    with timer.phase("review"):
        proba = head_out_of_fold_proba(
            np.asarray(X_train),
            y,
            len(classes),
            class_weight=class_weight_param(settings.class_weight),
            seed=settings.seed,
        )
        verdict = review_labels(proba, y)
    ids = np.asarray(train_ids)
    if snapshot is not None and predict is not None and not multi:
        with timer.phase("annotators"):
            rate_annotators(p, snapshot, dict(zip(map(int, ids), proba)), predict)
    ranked = [int(i) for i in verdict.order[: int(verdict.flagged.sum())]][: settings.review_marks]
    marks = {}
    for i in ranked:
        suggested = verdict.suggested[i]
        name = "|".join(classes[j] for j in np.flatnonzero(suggested)) if multi else classes[int(suggested)]
        marks[int(ids[i])] = (
            max(0.05, _step(1 - verdict.quality[i])),
            f"{name} ({100 * _step(verdict.suggested_proba[i]):.0f} %)",
            _as_text(labels[i]),
        )
    with timer.phase("review marks"):
        cleared = write_marks(p, marks)
    figures = {
        "at": now_iso(),
        "labels": len(train_ids),
        "flagged": int(verdict.flagged.sum()),
        "marked": len(marks),
        "cleared": cleared,
        "seconds": round(timer.phases.get("review", 0.0), 3),
    }
    p.save(review=figures, review_marks={str(t): list(v) for t, v in marks.items()})
    log.info(
        "project %s: %d of %d labels look wrong; %d marked for review, %d marks cleared",
        p.id,
        figures["flagged"],
        len(train_ids),
        len(marks),
        cleared,
    )
    return figures


def rate_annotators(
    project: Project,
    snapshot: LabelSnapshot,
    proba_by_id: dict[int, np.ndarray],
    predict: Callable[[list[int]], np.ndarray],
) -> list[AnnotatorStats]:
    """Each annotator's agreement with the consensus and quality (cleanlab) over the tasks several annotators
    labelled, saved for ``textal status``; out-of-fold probabilities where the task was trained on, else the
    new version's (it never saw the task)."""
    classes = list(project.schema.labels)
    index: dict[Vote, int] = {c: i for i, c in enumerate(classes)}  # single-label: every vote is a str
    shared = sorted(t for t, vs in snapshot.votes.items() if len(vs) >= 2)
    if not shared:
        return []
    outside = [t for t in shared if t not in proba_by_id]
    readable = {t.id for t in project.mirror.tasks() if t.text is not None}
    outside = [t for t in outside if t in readable]
    if outside:
        proba_by_id = {**proba_by_id, **dict(zip(outside, predict(outside)))}
    shared = [t for t in shared if t in proba_by_id]
    names = sorted({who for t in shared for who in snapshot.voters.get(t, [])})
    column = {who: j for j, who in enumerate(names)}
    votes = np.full((len(shared), len(names)), NO_LABEL, dtype=np.int64)
    for row, tid in enumerate(shared):
        for vote, who in zip(snapshot.votes[tid], snapshot.voters.get(tid, [])):
            votes[row, column[who]] = index[vote]
    stats = annotator_stats(votes, np.stack([proba_by_id[t] for t in shared]), names) if shared else []
    project.save(annotators=[s.as_dict() for s in stats])
    return stats


def held_for_review(work: dict[str, Any], train: dict[int, Any]) -> set[int]:
    """The marked tasks whose label is still the one the review doubted (``--review-holdout`` keeps them out of
    training); a changed label is the annotator's answer, and trains again."""
    marks = work.get("review_marks") or {}
    return {int(t) for t, v in marks.items() if int(t) in train and _as_text(train[int(t)]) == v[2]}


def review_due(work: dict[str, Any], train_ids: Sequence[int], labels: Sequence[Any]) -> bool:
    """Whether to review now: never reviewed, the labels grew by ``REVIEW_GROWTH`` since the last review, or a
    marked task's label changed or left training (so a fix clears its mark at the next retrain)."""
    last = work.get("review")
    if not isinstance(last, dict):
        return True
    if len(train_ids) >= (1 + REVIEW_GROWTH) * int(last.get("labels", 0)):
        return True
    now = {int(t): _as_text(label) for t, label in zip(train_ids, labels)}
    marked = work.get("review_marks") or {}
    return any(now.get(int(t)) != v[2] for t, v in marked.items())


def _as_text(label: Any) -> str:
    return label if isinstance(label, str) else "|".join(sorted(label))


def _step(value: float) -> float:
    """A probability to the nearest 0.05: few distinct values, so few requests (one a value), no false precision."""
    return round(round(float(value) * 20) / 20, 2)


def write_marks(project: Project, marks: dict[int, tuple[float, str, str]]) -> int:
    """Set the marks that changed in Label Studio (one request per distinct value) and clear the previous ones not
    renewed; returns how many were cleared."""
    before = {int(t): tuple(v) for t, v in (project.work.get("review_marks") or {}).items()}
    stale = sorted(set(before) - set(marks))
    by_value: dict[tuple[str, Any], list[int]] = defaultdict(list)
    for tid, (score, suggestion, _) in marks.items():
        old = before.get(tid, (None, None, None))
        if old[0] != score:
            by_value[(REVIEW_KEY, score)].append(tid)
        if old[1] != suggestion:
            by_value[(SUGGESTION_KEY, suggestion)].append(tid)
    if stale:
        by_value[(REVIEW_KEY, 0)] = stale
        by_value[(SUGGESTION_KEY, "")] = stale
    for (field, value), tids in by_value.items():
        project.studio.set_task_field(project.id, sorted(tids), field, value)
    return len(stale)
