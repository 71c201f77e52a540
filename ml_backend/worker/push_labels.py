"""The ``model_version`` each push carries in Label Studio, and when the predictions of a replaced one may go.

An editor that Label Studio has opened holds the id of the prediction it pre-filled (one of the project's
``model_version`` at that moment) and sends it back on Submit as ``parent_prediction``; if that prediction is gone,
Label Studio refuses the annotation. So a push never deletes: it only adds predictions under a label of its own, and
a label that stopped being the project's is deleted whole (one request) once ``keep_replaced_s`` has passed (an editor
left open longer than that is the one case still refused). Label Studio 1.23 has no bulk update and no view of its
task locks, and a request per prediction would make every push cost a request per task
(benchmarks/push_design/RESULTS.md).

A version's first push is labelled with the version's name (``v0007``); a later push of the same version (its band
placed again) gets ``v0007.1``, ``v0007.2``, ... so no task ever holds two predictions of the
project's label.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from ml_backend.errors import HopelessError
from ml_backend.labelstudio.client import StudioError

log = logging.getLogger("ml_backend.worker")
_REPUSH = re.compile(r"^(?P<version>.+)\.(?P<n>\d+)$")


def now() -> float:
    """Wall-clock seconds (the tests move it)."""
    return time.time()


def version_of(label: str | None) -> str | None:
    """The model version a push label carries (``v0007.2`` -> ``v0007``)."""
    if label is None:
        return None
    match = _REPUSH.match(label)
    return match["version"] if match else label


def next_label(work: dict[str, Any], version: str) -> str:
    """A label for a new push of ``version``, never used before in this project."""
    uses = int((work.get("label_uses") or {}).get(version, 0))
    return version if uses == 0 else f"{version}.{uses}"


def labels_after_push(work: dict[str, Any], version: str, label: str) -> dict[str, Any]:
    """The work-state fields after ``label`` (of ``version``) became the project's: the label it replaced waits to be
    retired."""
    uses = dict(work.get("label_uses") or {})
    uses[version] = int(uses.get(version, 0)) + 1
    replaced = list(work.get("replaced_labels") or [])
    previous = work.get("pushed_version")
    if previous and previous != label:
        replaced.append([previous, now()])
    return {"pushed_version": label, "label_uses": uses, "replaced_labels": replaced}


def due(work: dict[str, Any], keep_s: float) -> list[str]:
    """The replaced labels whose predictions may go now (never the project's own)."""
    cutoff = now() - keep_s
    current = work.get("pushed_version")
    return [label for label, since in work.get("replaced_labels") or [] if since <= cutoff and label != current]


def retire(project: Any) -> int:
    """Delete the predictions of every replaced label that is due; returns how many went. A deletion Label Studio
    refuses is logged and tried again next time (it never holds up a push)."""
    labels = due(project.work, project.settings.keep_replaced_s)
    if not labels:
        return 0
    gone, done = 0, set()
    for label in labels:
        try:
            gone += project.studio.delete_model_version(project.id, label)
        except StudioError as exc:
            if isinstance(exc, HopelessError):
                raise
            log.warning("project %s: could not delete the predictions of %s yet (%s)", project.id, label, exc)
            continue
        done.add(label)
    if not done:
        return 0
    project.save(replaced_labels=[pair for pair in project.work.get("replaced_labels") or [] if pair[0] not in done])
    labels = [label for label in labels if label in done]
    log.info(
        "project %s: %d predictions of %d replaced labels deleted (%s)",
        project.id,
        gone,
        len(labels),
        ", ".join(labels[:3]) + (" ..." if len(labels) > 3 else ""),
    )
    return gone
