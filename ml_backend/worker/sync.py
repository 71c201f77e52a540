"""Label Studio -> the project's mirror: new and deleted tasks, and annotations read only where tasks changed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from ml_backend.labelstudio.annotations import LabelSnapshot, read_snapshot
from ml_backend.labelstudio.client import after_id
from ml_backend.worker.project import Project

log = logging.getLogger("ml_backend.worker")

READ_SLACK_S = 5.0  # re-read tasks updated this long before the last read (commits that landed late)
CURSOR_TRIES = 3  # incremental reads before falling back to reading every labelled task


class LabelSync:
    """Brings one project's mirror up to Label Studio for one job."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def sync_pool(self) -> list[int]:
        """Bring the mirror up to Label Studio's task list; returns the ids of tasks new to it."""
        p = self.project
        info = p.info()
        max_chars = p.settings.max_text_chars
        fresh = list(p.studio.iter_tasks(p.id, items=[after_id(p.mirror.max_id())]))
        new = p.mirror.add(fresh, p.schema, max_chars)
        if len(p.mirror) != info.task_number:  # tasks were deleted (or the mirror lost some): full listing
            everything = list(p.studio.iter_tasks(p.id))
            known = {t.id for t in p.mirror.tasks()}
            new += p.mirror.add([t for t in everything if t["id"] not in known], p.schema, max_chars)
            gone = p.mirror.keep_only(t["id"] for t in everything)
            if gone:
                log.info("project %s: %d tasks deleted in Label Studio", p.id, len(gone))
        if new:
            log.info("project %s: %d new tasks", p.id, len(new))
        return sorted(set(new))

    def read_labels(self, full: bool = False) -> LabelSnapshot:
        """Every annotation of the project, as a snapshot; read from Label Studio only where tasks changed.

        Tasks updated since the last read (less a few seconds, for late commits) are read and merged
        into the mirror, and the mirror's counts are compared with the project's, read just before. When
        they differ (labels arriving meanwhile, or an update missed) the step is repeated a few times;
        then, or with ``full``, every labelled task is read again.
        """
        p = self.project
        cursor = p.work.get("annotations_read_until")
        for _ in range(0 if full or not cursor else CURSOR_TRIES):
            info = p.studio.project(p.id)  # a fresh look; the job's own `info` stays as it began
            since = stamp(parse_stamp(cursor) - timedelta(seconds=READ_SLACK_S))
            tasks = p.studio.tasks_updated_since(p.id, since)
            self._store_annotations(tasks)
            cursor = self._advance_cursor(tasks, cursor)
            annotated = p.mirror.annotated()
            snapshot = read_snapshot(annotated, p.schema)
            kept = [a for t in annotated for a in t["annotations"]]
            mine = [
                len(snapshot.annotated),
                sum(not a.get("was_cancelled") for a in kept),
                sum(bool(a.get("was_cancelled")) for a in kept),
            ]
            if mine == [info.tasks_with_annotations, info.total_annotations, info.skipped_annotations]:
                return self._labelled(snapshot)
        if cursor and not full:
            log.info("project %s: mirrored annotations disagree with Label Studio's counts; reading them all", p.id)
        tasks = p.studio.labelled_tasks(p.id)
        self._store_annotations(tasks, replace_all=True)
        self._advance_cursor(tasks, cursor)
        return self._labelled(read_snapshot(p.mirror.annotated(), p.schema))

    def _store_annotations(self, tasks: list[dict[str, Any]], replace_all: bool = False) -> None:
        """Mirror these tasks' annotations (syncing the pool first if a task is new to it)."""
        mirror = self.project.mirror
        known = {t.id for t in mirror.tasks()}
        if any(t["id"] not in known for t in tasks):  # imported after this job synced the pool
            self.project.info(refresh=True)
            self.sync_pool()
            known = {t.id for t in mirror.tasks()}
        mirror.set_annotations({t["id"]: t["annotations"] for t in tasks if t["id"] in known}, replace_all=replace_all)

    def _advance_cursor(self, tasks: list[dict[str, Any]], cursor: str | None) -> str | None:
        stamps = [parse_stamp(t["updated_at"]) for t in tasks if t.get("updated_at")]
        stamps += [parse_stamp(cursor)] if cursor else []
        if not stamps:
            return cursor
        cursor = stamp(max(stamps))
        self.project.save(annotations_read_until=cursor)
        return cursor

    def _labelled(self, snapshot: LabelSnapshot) -> LabelSnapshot:
        self.project.mirror.set_labelled(snapshot.annotated)
        if snapshot.unknown_labels:
            log.warning(
                "project %s: annotations use choices the config no longer has: %s",
                self.project.id,
                dict(snapshot.unknown_labels),
            )
        return snapshot


def parse_stamp(value: Any) -> datetime:
    """A Label Studio timestamp (datetime or ISO text) as an aware UTC datetime."""
    if isinstance(value, datetime):
        when = value
    else:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def stamp(value: datetime) -> str:
    """The form Label Studio's Datetime filters accept."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
