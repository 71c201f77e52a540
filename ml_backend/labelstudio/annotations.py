"""Label Studio annotations -> one vote per annotator per task, and a fingerprint of the whole label set.

A vote is the choice (single-label) or the set of choices (multi-label) an annotation makes in
the config's Choices control. Left out: cancelled (skipped) annotations, annotations without a
result for that control, single-label annotations with no or several known choices, and choices
the config no longer has. ``textal.quality.agreement`` then turns each task's votes into one label.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ml_backend.labelstudio.schema import TaskSchema

Vote = str | tuple[str, ...]


@dataclass(frozen=True)
class LabelSnapshot:
    """The project's annotations as the worker read them."""

    votes: dict[int, list[Vote]]  # task id -> one vote per usable annotation
    annotated: frozenset[int]  # tasks with any annotation that is not cancelled (Label Studio's "labelled")
    fingerprint: str  # changes when any annotation is added, edited, cancelled or deleted
    annotations: int  # annotations read (cancelled ones included)
    unusable: int = 0  # not cancelled, but no usable choice
    unknown_labels: dict[str, int] = field(default_factory=dict)  # choices the config no longer has
    voters: dict[int, list[str]] = field(default_factory=dict)  # task id -> who cast each of its votes, in order


def annotator_of(annotation: dict[str, Any]) -> str:
    """Who made an annotation: Label Studio's ``completed_by`` (a user id, or a user object), else "unknown"."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        who = who.get("email") or who.get("id")
    return "unknown" if who is None or who == "" else str(who)


def annotation_vote(annotation: dict[str, Any], schema: TaskSchema) -> tuple[Vote | None, list[str]]:
    """The vote of one annotation (None: unusable) and the unknown choices it used."""
    known = set(schema.labels)
    regions = [
        r
        for r in annotation.get("result") or []
        if isinstance(r, dict) and r.get("from_name") == schema.from_name and r.get("type") == "choices"
    ]
    if not regions:
        return None, []
    chosen: list[str] = []
    for region in regions:
        value = region.get("value") or {}
        chosen += [c for c in value.get("choices") or [] if isinstance(c, str)]
    unknown = [c for c in chosen if c not in known]
    chosen = [c for c in dict.fromkeys(chosen) if c in known]
    if schema.multi_label:
        return tuple(sorted(chosen)), unknown
    return (chosen[0] if len(chosen) == 1 else None), unknown


def read_snapshot(tasks: Iterable[dict[str, Any]], schema: TaskSchema) -> LabelSnapshot:
    """Votes and fingerprint from tasks carrying their ``annotations`` (as ``Studio.labelled_tasks`` returns them)."""
    votes: dict[int, list[Vote]] = {}
    voters: dict[int, list[str]] = {}
    annotated: set[int] = set()
    keys: list[tuple[int, int, str, bool]] = []
    unusable = 0
    count = 0
    unknown: dict[str, int] = {}
    for task in tasks:
        tid = int(task["id"])
        for ann in task.get("annotations") or []:
            count += 1
            cancelled = bool(ann.get("was_cancelled"))
            keys.append((tid, int(ann.get("id") or 0), str(ann.get("updated_at") or ""), cancelled))
            if cancelled:
                continue
            annotated.add(tid)
            vote, bad = annotation_vote(ann, schema)
            for label in bad:
                unknown[label] = unknown.get(label, 0) + 1
            if vote is None:
                unusable += 1
                continue
            votes.setdefault(tid, []).append(vote)
            voters.setdefault(tid, []).append(annotator_of(ann))
    digest = hashlib.sha256(json.dumps(sorted(keys) + [schema.to_dict()], sort_keys=True).encode()).hexdigest()[:16]
    return LabelSnapshot(votes, frozenset(annotated), digest, count, unusable, unknown, voters)
