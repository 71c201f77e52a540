"""Small fakes for the worker's unit tests: a Label Studio that keeps its tasks in memory, a hashing embedder.

``FakeStudio`` answers the calls the worker makes on a Label Studio (``ml_backend.labelstudio.api.StudioAPI``:
mypy checks it against that protocol, below the class), with Label Studio's own rules where the worker depends
on them (task ids only grow, ``updated_at`` moves when annotations change, predictions are counted per
``model_version``). The real server is exercised by tests/e2e.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ml_backend.config import WorkerSettings
from ml_backend.labelstudio.api import StudioAPI
from ml_backend.labelstudio.client import (
    UNCERTAINTY_SAMPLING,
    ProjectInfo,
    Studio,
    StudioError,
    StudioUnavailable,
)
from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import Jobs
from ml_backend.state.projects import ProjectRef
from ml_backend.worker.context import WorkerContext
from ml_backend.worker.runner import ProjectJobs

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
PROJECT_ID = 7
STUDIO_URL = "http://127.0.0.1:9"  # the hostname the harness's project was set up with (nothing answers there)
SPAM_WORDS = ("win", "prize", "cash", "free", "claim", "urgent", "reward", "txt", "offer", "mobile")
HAM_WORDS = ("lunch", "home", "tonight", "dinner", "tomorrow", "thanks", "sorry", "sleep", "meet", "later")


def sms_like(i: int) -> tuple[str, str]:
    """A short text and its label: spam texts use spam words, ham texts ham words (separable, not trivially)."""
    rng = np.random.default_rng(i)
    label = "spam" if i % 3 == 0 else "ham"
    words = SPAM_WORDS if label == "spam" else HAM_WORDS
    noise = HAM_WORDS if label == "spam" else SPAM_WORDS
    chosen = list(rng.choice(words, size=3)) + list(rng.choice(noise, size=1)) + [f"n{i}"]
    return " ".join(chosen), label


def choice(label: str) -> list[dict[str, Any]]:
    return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


class FakeStudio:
    """One Label Studio project in memory: the calls of ``StudioAPI``, and (first) what tests do to the project in
    Label Studio's place (tasks added and deleted, annotations made, a failure to answer with). Besides those,
    ``model_versions`` (a real ``Studio`` call too) lets tests count what was pushed."""

    def __init__(self) -> None:
        self.tasks: dict[int, dict[str, Any]] = {}
        self.predictions: list[dict[str, Any]] = []
        self.model_version: str | None = None
        self.sampling: str | None = "Sequential sampling"
        self.view_ids: dict[str, int] = {}
        self.calls: list[str] = []
        self.project_reads = 0  # calls of ``project``: every job, and every reconciliation, starts with one
        self.failure: Exception | None = None  # while set, reading the project fails with it (``fail_as``)
        self._clock = datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._next_annotation = 1
        self._next_prediction = 0  # prediction ids, as Label Studio gives them: an editor sends one back on Submit

    # -- what tests do to the project -------------------------------------------------------

    def tick(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    def add_tasks(self, texts: list[str]) -> list[int]:
        start = max(self.tasks, default=0) + 1
        for i, text in enumerate(texts):
            self.tasks[start + i] = {"data": {"text": text}, "annotations": [], "updated_at": self.tick()}
        return list(range(start, start + len(texts)))

    def annotate(self, task_id: int, label: str, cancelled: bool = False) -> None:
        when = self.tick()
        self.tasks[task_id]["annotations"].append(
            {
                "id": self._next_annotation,
                "result": [] if cancelled else choice(label),
                "was_cancelled": cancelled,
                "updated_at": when.isoformat(),
            }
        )
        self._next_annotation += 1
        self.tasks[task_id]["updated_at"] = when

    def delete_task(self, task_id: int) -> None:
        del self.tasks[task_id]
        self.predictions = [p for p in self.predictions if p["task"] != task_id]

    def current(self) -> dict[int, dict[str, Any]]:
        """Each task's prediction of the project's model_version (what the label stream orders by)."""
        return {p["task"]: p for p in self.predictions if p["model_version"] == self.model_version}

    def fail_as(self, status: int | str | None) -> None:
        """From now on reading the project fails as the real client reports Label Studio answering ``status``
        (an HTTP status; "refused": the connection refused; None: it answers again)."""
        if status is None:
            self.failure = None
        elif status == "refused":
            self.failure = StudioUnavailable(
                f"Label Studio at {STUDIO_URL} unreachable while reading project {PROJECT_ID} (ConnectError)"
            )
        else:  # the real client's own classification of the answer
            self.failure = Studio(STUDIO_URL, "t" * 40)._api_error(
                f"reading project {PROJECT_ID}", int(status), {"detail": "Not found."}, project=PROJECT_ID
            )

    # -- the Studio interface ------------------------------------------------------------------

    def project(self, project_id: int) -> ProjectInfo:
        self.project_reads += 1
        if self.failure is not None:
            raise self.failure
        anns = [a for t in self.tasks.values() for a in t["annotations"]]
        return ProjectInfo(
            id=project_id,
            task_number=len(self.tasks),
            tasks_with_annotations=sum(
                any(not a["was_cancelled"] for a in t["annotations"]) for t in self.tasks.values()
            ),
            total_annotations=sum(not a["was_cancelled"] for a in anns),
            skipped_annotations=sum(bool(a["was_cancelled"]) for a in anns),
            model_version=self.model_version,
            sampling=self.sampling,
        )

    def iter_tasks(
        self,
        project_id: int,
        *,
        items: Sequence[dict[str, Any]] = (),
        include: str | None = "id,data",
        annotations: bool = False,
        page_size: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        self.calls.append("iter_tasks")
        for tid in sorted(self.tasks):
            task = self.tasks[tid]
            checks = [self._holds(item, tid, task) for item in items]
            if not all(checks):
                continue
            out = {"id": tid, "data": dict(task["data"]), "updated_at": task["updated_at"]}
            if annotations:
                out["annotations"] = [dict(a) for a in task["annotations"]]
            yield out

    @staticmethod
    def _holds(item: dict[str, Any], tid: int, task: dict[str, Any]) -> bool:
        name, value = item["filter"], item["value"]
        if name == "filter:tasks:id":
            return tid > value
        if name == "filter:tasks:updated_at":
            return task["updated_at"] > datetime.fromisoformat(value.replace("Z", "+00:00"))
        if name == "filter:tasks:annotators" and item["operator"] == "empty":
            return not task["annotations"] if value else bool(task["annotations"])
        raise AssertionError(f"the fake does not know filter {name}")

    def labelled_tasks(self, project_id: int) -> list[dict[str, Any]]:
        from ml_backend.labelstudio.client import ANNOTATED

        self.calls.append("labelled_tasks")
        return list(self.iter_tasks(project_id, items=[ANNOTATED], annotations=True))

    def tasks_updated_since(self, project_id: int, stamp: str) -> list[dict[str, Any]]:
        from ml_backend.labelstudio.client import updated_since

        self.calls.append("tasks_updated_since")
        return list(self.iter_tasks(project_id, items=[updated_since(stamp)], annotations=True))

    def set_task_field(self, project_id: int, task_ids: Sequence[int], field: str, value: float | str) -> None:
        self.calls.append("set_task_field")
        for tid in task_ids:
            if tid in self.tasks:  # like the Data Manager action: ids no longer there are passed over
                self.tasks[tid]["data"][field] = value

    def import_predictions(self, project_id: int, predictions: Sequence[dict[str, Any]], chunk: int = 1000) -> int:
        self.calls.append("import_predictions")
        for p in predictions:
            assert p["task"] in self.tasks, f"prediction for unknown task {p['task']}"
        for p in predictions:
            self._next_prediction += 1
            self.predictions.append({**p, "id": self._next_prediction})
        return len(predictions)

    def model_versions(self, project_id: int) -> dict[str, int]:
        counts: dict[str, int] = {}
        for p in self.predictions:
            counts[p["model_version"]] = counts.get(p["model_version"], 0) + 1
        return counts

    def delete_model_version(self, project_id: int, version: str) -> int:
        self.calls.append(f"delete {version}")
        before = len(self.predictions)
        self.predictions = [p for p in self.predictions if p["model_version"] != version]
        return before - len(self.predictions)

    def set_model_version(self, project_id: int, version: str) -> None:
        if not any(p["model_version"] == version for p in self.predictions):  # as Label Studio 1.23 answers
            raise StudioError(
                "Label Studio answered 400: Model version doesn't exist either as live model or as static predictions."
            )
        self.model_version = version

    def set_sampling(self, project_id: int, sampling: str = UNCERTAINTY_SAMPLING) -> None:
        self.sampling = sampling

    def views(self, project_id: int) -> dict[str, int]:
        return dict(self.view_ids)

    def create_view(self, project_id: int, data: dict[str, Any]) -> int:
        self.view_ids[data["title"]] = len(self.view_ids) + 1
        return self.view_ids[data["title"]]


if TYPE_CHECKING:  # the fake answers every call the worker makes on a Label Studio: mypy fails on a drift
    _fake_is_a_studio_api: type[StudioAPI] = FakeStudio


class HashingEmbedder:
    """Bag-of-words vectors from hashed tokens: fast, deterministic, and separable for ``sms_like`` texts."""

    dim = 64

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.calls = 0

    def fingerprint(self, ref: str) -> str:
        return hashlib.sha256(ref.encode()).hexdigest()[:12]

    def embed(self, ref: str, texts, precision: str | None = None) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in text.split():
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


class Harness:
    """A worker context over a data folder with project 7 connected, a fake Label Studio and the job runner."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        defaults = {
            "encoder": "hashing",
            "eval_min": 4,
            "eval_fraction": 0.1,
            "batch": 5,
            "full_every": 0,
            "min_eval": 4,
            "reconcile_s": 30.0,
        }
        self.settings = WorkerSettings(data_dir=data_dir, **{**defaults, **settings}).check()
        self.jobs = Jobs(make_huey(data_dir))
        self.ctx = WorkerContext(self.settings, self.jobs)
        self.ctx.embedder = HashingEmbedder(data_dir / "embeddings")
        self.ctx.registry.setup(ProjectRef(PROJECT_ID, 1717000000), CONFIG, hostname=STUDIO_URL, access_token="t" * 40)
        self.studio = FakeStudio()
        self.runner = ProjectJobs(self.ctx, studio_for=lambda project_id: self.studio)
        self.jobs.runner = self.runner

    def project(self):
        return self.runner.project(PROJECT_ID)

    def reconciler(self):
        """The reconciler over this context, reading the fake Label Studio (it asks the context, not the runner)."""
        from ml_backend.worker.reconcile import Reconciler

        # the context's own method replaced on this one instance (the runner above takes a ``studio_for``, the
        # reconciler asks the context): mypy still checks the fake against the method's ``StudioAPI``
        self.ctx.studio = lambda hostname, token: self.studio  # type: ignore[method-assign]
        return Reconciler(self.ctx)

    def retrain(self, reason: str = "ANNOTATION_CREATED", full: bool = False) -> dict[str, Any]:
        return self.runner.retrain(PROJECT_ID, reason, full)

    def label(self, task_ids, truth: dict[int, str]) -> None:
        for tid in task_ids:
            self.studio.annotate(tid, truth[tid])
