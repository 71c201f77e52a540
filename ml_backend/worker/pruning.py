"""Old versions' predictions out of Label Studio: one version per run, oldest pushed first, never the ones in use.

Deleting costs Label Studio ~3.5 ms per prediction under its write lock, so ``ml_backend.queue.jobs``
runs this in quiet moments and it asks again while more stale versions remain.
"""

from __future__ import annotations

import logging
from typing import Any

from ml_backend.labelstudio.predictions import TEXTAL_VERSION_RE
from ml_backend.worker.project import Project

log = logging.getLogger("ml_backend.worker")


def prune(project: Project) -> dict[str, Any]:
    """Delete the predictions of textal's oldest version beyond the last ``keep_prediction_versions`` pushed."""
    p = project
    pushed = p.work.get("pushed_versions", [])
    keep = set(pushed[-max(p.settings.keep_prediction_versions, 1):])
    keep.add(p.info().model_version or "")
    present = p.studio.model_versions(p.id)
    stale = [v for v in present if v not in keep and TEXTAL_VERSION_RE.match(v)]
    stale.sort(key=lambda v: (pushed.index(v) if v in pushed else -1, v))  # oldest pushed first
    deleted = {}
    if stale:
        deleted[stale[0]] = p.studio.delete_model_version(p.id, stale[0])
        log.info("project %s: deleted the %d predictions of %s (%d stale versions left)", p.id,
                 deleted[stale[0]], stale[0], len(stale) - 1)
    p.save(pushed_versions=[v for v in pushed if v in keep or v in stale[1:]])
    if len(stale) > 1:
        p.ctx.jobs.enqueue_prune(p.id, len(stale) - 1, pushed=False)
    return {"status": "pruned", "deleted": deleted}
