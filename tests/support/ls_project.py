"""A Label Studio project as the e2e and reliability tests watch it: through the SDK and through the worker's data
folder, with the waits, the order Label Studio's label stream may serve, and a /predict watcher."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ml_backend.labelstudio.schema import parse_label_config
from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import Jobs
from ml_backend.scoring.loaded import model_version_name
from ml_backend.worker.push_labels import version_of
from tests.support.waits import wait_until
from textal.store.history import read_records
from textal.store.model_store import ModelStore

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
INFORMATIVE = "textal: most informative first"
EVAL_VIEW = "textal: evaluation slice"
WORKER_ARGS = ("--eval-min", "10", "--min-eval", "10", "--reconcile-every", "2", "--batch", "10", "--full-every", "0")


def choice(label: str, config: str = CONFIG) -> list[dict[str, Any]]:
    """An annotation's ``result`` choosing ``label`` (built by the backend's own schema, as its predictions are)."""
    return [parse_label_config(config).choices_result([label])]


def wait_for(check: Callable[[], Any], timeout: float, what: str, logs: Callable[[], str] = lambda: "") -> Any:
    """Poll ``check`` until it returns something truthy; fail with the worker's log tail after ``timeout``."""
    return wait_until(check, timeout, 0.25, what=what, details=lambda: f"--- worker log ---\n{logs()[-6000:]}")


class Project:
    """One Label Studio project as the test sees it: through the SDK, and through the worker's data folder."""

    def __init__(self, ls, project_id: int, data_dir: Path, queue_url: str | None) -> None:
        self.ls = ls
        self.id = project_id
        self.data_dir = data_dir
        self.jobs = Jobs(make_huey(data_dir, queue_url))
        self.store = ModelStore(data_dir / "projects" / str(project_id) / "store")

    def raw(self, path: str, method: str = "GET") -> Any:
        response = self.ls._client_wrapper.httpx_client.request(path, method=method)
        assert response.status_code == 200, response.text
        return response.json()

    def model_version(self) -> str | None:
        return self.ls.projects.get(id=self.id).model_version or None

    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.raw(f"api/projects/{self.id}/model-versions/").items()}

    def tasks(self) -> list[Any]:
        return list(self.ls.tasks.list(project=self.id, fields="all", page_size=1000))

    def view(self, title: str) -> list[int]:
        views = {(v.data or {}).get("title"): v.id for v in self.ls.views.list(project=self.id)}
        return [t.id for t in self.ls.tasks.list(project=self.id, view=views[title], include="id", page_size=1000)]

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.data_dir / "projects" / str(self.id) / "worker" / "history.jsonl")

    def idle(self) -> bool:
        """No job of this project waiting, scheduled or running."""
        gate = self.jobs.gate
        queued = self.jobs.huey.pending() + self.jobs.huey.scheduled()
        return not queued and gate.lease("project", self.id) is None and gate.pending("retrain", self.id) is None

    def settled(self, check: Callable[[], bool] = lambda: True) -> bool:
        """Idle, Label Studio ordering by the version the store serves, ``check`` true; twice, half a second apart."""
        for attempt in range(2):
            latest = self.store.latest()
            if not (
                self.idle() and latest and version_of(self.model_version()) == model_version_name(latest) and check()
            ):
                return False
            if attempt == 0:
                time.sleep(0.5)
        return True


def unlabelled(tasks: list[Any]) -> list[Any]:
    return [t for t in tasks if not any(not field_of(a, "was_cancelled") for a in (t.annotations or []))]


def field_of(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def current_prediction(task: Any, mv: str) -> list[Any]:
    return [p for p in (task.predictions or []) if field_of(p, "model_version") == mv]


def expected_next(tasks: list[Any], mv: str) -> set[int]:
    """The tasks Label Studio 1.23's uncertainty sampling may serve next: among unlabelled tasks with a prediction of
    ``mv``, the least-solved cluster first, then the lowest score (next_task.py, _try_uncertainty_sampling)."""
    solved = [t for t in tasks if t not in unlabelled(tasks)]
    solved_clusters = Counter(
        max((field_of(p, "cluster") for p in t.predictions or [] if field_of(p, "cluster") is not None), default=None)
        for t in solved
    )
    keys = {}
    for task in unlabelled(tasks):
        current = current_prediction(task, mv)
        if current:
            keys[task.id] = (solved_clusters.get(field_of(current[0], "cluster"), 0), field_of(current[0], "score"))
    best = min(keys.values())
    return {tid for tid, key in keys.items() if key == best}


class BackendWatch:
    """Asks the backend for predictions every 0.2 s in a thread, recording (HTTP status, model_version)."""

    def __init__(self, url: str, project_id: int, texts: list[str]) -> None:
        self.url, self.project_id, self.texts = url, project_id, texts
        self.answers: list[tuple[int, str | None]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        tasks = [{"id": i, "data": {"text": t}} for i, t in enumerate(self.texts)]
        while not self._stop.wait(0.2):
            try:
                r = httpx.post(
                    f"{self.url}/predict", json={"tasks": tasks, "project": str(self.project_id)}, timeout=30
                )
            except httpx.HTTPError:
                continue  # the backend is being restarted on purpose
            self.answers.append((r.status_code, r.json().get("model_version") if r.status_code == 200 else r.text))

    def __enter__(self) -> BackendWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(35)


def work_state(data_dir: Path, project_id: int) -> dict[str, Any]:
    path = data_dir / "projects" / str(project_id) / "worker" / "state.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def next_task(ls, project_id: int) -> int:
    return ls._client_wrapper.httpx_client.request(f"api/projects/{project_id}/next", method="GET").json()["id"]


def connected_project(
    label_studio: Any, backend_url: str, data_dir: Path, title: str, rows: list[dict[str, str]]
) -> tuple[Project, list[int], dict[int, str]]:
    """A new spam project connected to the backend at ``backend_url`` (data folder ``data_dir``), ``rows`` imported:
    the project as the tests watch it, the task ids in row order, and each task's gold label."""
    ls = label_studio.client()
    project = ls.projects.create(title=title, label_config=CONFIG)
    ls.ml.create(url=backend_url, project=project.id, title="textal")
    ids = ls.projects.import_tasks(
        id=project.id, request=[{"text": r["text"]} for r in rows], return_task_ids=True
    ).task_ids
    return Project(ls, project.id, data_dir, None), ids, dict(zip(ids, (r["label"] for r in rows)))
