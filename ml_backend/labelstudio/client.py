"""The worker's side of the Label Studio API, through label-studio-sdk: tasks, annotations, predictions, views.

Every call goes through ``_calling``, which turns transport failures, timeouts and 5xx/429 answers
into ``StudioUnavailable`` (a ``TransientError``: the job is retried with backoff, never lost),
and other 4xx into ``StudioError`` (a person has to act). What waiting cannot fix is a
``StudioHopeless`` (a ``HopelessError``: the worker gives the project up until it is reconnected): a
malformed URL, a URL that is no Label Studio (404 for its whoami), the project itself answering 404 (deleted), a
401/403 with no other token left to try.
Messages name the URL and the operation, never the API token.

Label Studio facts this relies on (../shared/LABEL_STUDIO.md): ``tasks.list(only_annotated=True)``
is ignored, so labelled tasks are selected with a Data Manager filter; it is the ``annotators``
filter, a join on the annotations themselves, because a task's ``total_annotations`` counter can be
left stale at 0 when a prediction import recounts it while an annotation is saved;
``projects.import_predictions`` is the bulk route for
predictions (one ``predictions.create`` costs ~0.2 s); the project's ``model_version`` decides which
predictions order the label stream; ``DELETE /api/projects/<id>/model-versions/`` removes a
version's predictions (the SDK has no method for it).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ml_backend.config import (
    LABEL_STUDIO_KEY_ENV,
    LABEL_STUDIO_URL_ENV,
    LabelStudioOverride,
)
from ml_backend.errors import RECONNECT, HopelessError, TransientError
from textal.errors import TextalError

log = logging.getLogger("ml_backend.labelstudio")

PAGE_SIZE = 1000
UNCERTAINTY_SAMPLING = "Uncertainty sampling"


class StudioError(TextalError):
    """Label Studio refused a call for a reason retrying will not fix (bad token, missing project)."""


class StudioUnavailable(TransientError):
    """Label Studio could not be reached or failed (5xx, 429, timeout): retry later."""


class StudioHopeless(StudioError, HopelessError):
    """What no retry can fix: a malformed URL, the project gone (404), every token refused (401/403)."""


class NotLabelStudio(StudioHopeless):
    """The URL answers, but not as a Label Studio does (a 404 for its whoami)."""


def url_problem(url: str | None) -> str | None:
    """Why ``url`` cannot be a Label Studio address (not http(s), no host, a bad port, spaces), or None."""
    if not url:
        return "it is empty"
    if not url.startswith(("http://", "https://")):
        return "it must start with http:// or https://"
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return f"it cannot be parsed ({exc})"
    netloc = urlsplit(url).netloc
    if any(c.isspace() for c in netloc):
        return "its host contains spaces"
    if not parsed.host:
        return "it names no host"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"its port {parsed.port} is out of range"
    return None


def _json_object(response: httpx.Response) -> bool:
    try:
        return isinstance(response.json(), dict)
    except ValueError:
        return False


@dataclass(frozen=True)
class ProjectInfo:
    """The project figures the worker compares between runs."""

    id: int
    task_number: int
    tasks_with_annotations: int
    total_annotations: int
    skipped_annotations: int
    model_version: str | None
    sampling: str | None

    def counts(self) -> list[int]:
        """What changes when tasks or annotations come and go (the reconciler's cheap check)."""
        return [self.task_number, self.tasks_with_annotations, self.total_annotations, self.skipped_annotations]


def filter_query(items: Sequence[dict[str, Any]], ordering: Sequence[str] = ("tasks:id",)) -> str:
    """A Data Manager query: all ``items`` must hold; tasks in ``ordering``."""
    return json.dumps({"filters": {"conjunction": "and", "items": list(items)}, "ordering": list(ordering)})


# Tasks holding an annotation (a skip included), or none: read through the annotations, never a counter.
ANNOTATED = {"filter": "filter:tasks:annotators", "operator": "empty", "type": "List", "value": False}
NOT_ANNOTATED = {**ANNOTATED, "value": True}


def after_id(task_id: int) -> dict[str, Any]:
    return {"filter": "filter:tasks:id", "operator": "greater", "type": "Number", "value": int(task_id)}


def updated_since(stamp: str) -> dict[str, Any]:
    """Tasks whose ``updated_at`` is later than ``stamp`` (Label Studio's ``%Y-%m-%dT%H:%M:%S.%fZ``).

    Creating, editing, skipping or deleting an annotation updates its task; importing a prediction does not.
    """
    return {"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime", "value": stamp}


class Studio:
    """One Label Studio server, as one API user."""

    def __init__(
        self, url: str, api_key: str, timeout: float = 60.0, retries: int = 2, fallback_key: str | None = None
    ) -> None:
        problem = url_problem(url)
        if problem is not None:
            raise StudioHopeless(
                f"the Label Studio URL {url!r} is malformed: {problem}",
                action=f"Reconnect the backend from Label Studio, or set {LABEL_STUDIO_URL_ENV} for the worker "
                "and restart it",
            )
        if not api_key:
            raise StudioError(f"no API token for Label Studio at {url}")
        self.url = url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.retries = retries  # the SDK's own quick retries of a failed call (connection refused, 5xx)
        self._client = None
        self._fallback_key = fallback_key if fallback_key != api_key else None  # tried when ``api_key`` is refused

    def __repr__(self) -> str:  # never the token
        return f"Studio({self.url!r})"

    @classmethod
    def for_project(
        cls, hostname: str | None, token: str | None, override: LabelStudioOverride | None = None
    ) -> Studio:
        """The server a project's /setup named, with the key to use: ``override`` (the worker's environment)
        wins where set; the token Label Studio sent at /setup stays as the fallback (``with_working_key``)."""
        override = override or LabelStudioOverride(None, None)
        url = override.url or hostname
        key = override.api_key or token
        if not url:
            raise StudioError(f"Label Studio sent no hostname at /setup; set {LABEL_STUDIO_URL_ENV} for the worker")
        if not key:
            raise StudioError(
                f"no API token for Label Studio at {url} (none sent at "
                f"/setup); set {LABEL_STUDIO_KEY_ENV} for the worker"
            )
        return cls(url, key, fallback_key=token)

    def check_key(self) -> None:
        """Raise StudioError if Label Studio refuses the key (StudioUnavailable if it cannot be reached), and
        StudioHopeless if the URL answers but is no Label Studio: a 404 for its whoami, or an answer that is not a
        JSON object (retrying will not turn it into one)."""
        what = "checking the API key"
        with self._calling(what):
            response = self.sdk._client_wrapper.httpx_client.request("api/current-user/whoami", method="GET")
        status = response.status_code
        if status == 404 or (status == 200 and not _json_object(response)):
            raise NotLabelStudio(
                f"{self.url} is not a Label Studio: it answered {status}"
                f"{'' if status == 404 else ' with something other than JSON'} to /api/current-user/whoami",
                action=f"Set {LABEL_STUDIO_URL_ENV} to Label Studio's address (as its --host says) for textal serve "
                "and textal worker, restart them and reconnect the backend in the project's settings",
            )
        if status >= 400:
            try:
                detail = response.json()
            except ValueError:
                detail = response.text
            raise self._api_error(what, status, detail)

    def with_working_key(self) -> Studio:
        """This server with a key it accepts: the preferred one, else the /setup token (saying so once)."""
        try:
            self.check_key()
            return self
        except StudioHopeless:
            raise  # not a Label Studio, or no other token to try
        except StudioError:
            if not self._fallback_key:
                raise
        fallback = Studio(self.url, self._fallback_key, self.timeout, self.retries)
        fallback.check_key()
        log.warning(
            "Label Studio at %s refuses %s; using the token it sent at /setup instead", self.url, LABEL_STUDIO_KEY_ENV
        )
        return fallback

    @property
    def sdk(self):
        if self._client is None:
            from label_studio_sdk import LabelStudio

            self._client = LabelStudio(
                base_url=self.url, api_key=self._api_key, timeout=self.timeout, max_retries=self.retries
            )
        return self._client

    @contextlib.contextmanager
    def _calling(self, what: str, project: int | None = None) -> Iterator[None]:
        """Turn the call's failures into our errors (``project``: the call reads that project itself)."""
        from label_studio_sdk.core.api_error import ApiError

        try:
            yield
        except ApiError as exc:
            raise self._api_error(what, exc.status_code, exc.body, project=project) from None
        except httpx.TimeoutException:
            raise StudioUnavailable(f"Label Studio at {self.url} timed out while {what}") from None
        except httpx.TransportError as exc:
            raise StudioUnavailable(
                f"Label Studio at {self.url} unreachable while {what} ({type(exc).__name__})"
            ) from None

    def _api_error(self, what: str, status: int | None, body: Any, project: int | None = None) -> Exception:
        """The error for an answer ``status``: retry (5xx, 408, 409, 429), give up (``StudioHopeless``) or explain.

        ``project``: the call read that project itself, so its 404 means the project is gone. A 401/403 is
        hopeless once no other token is left to try (``with_working_key`` tries the /setup token next).
        """
        detail = body if isinstance(body, str) else json.dumps(body, default=str) if body is not None else ""
        detail = detail[:200]
        if status is None or status >= 500 or status in (408, 409, 429):
            return StudioUnavailable(f"Label Studio at {self.url} answered {status} while {what}: {detail}")
        if status in (401, 403):
            if self._fallback_key is None:
                return StudioHopeless(
                    f"Label Studio at {self.url} refused the API token ({status}) while {what}",
                    action=f"Reconnect the backend in the project's settings (Settings > Model), or set a valid "
                    f"{LABEL_STUDIO_KEY_ENV} for the worker and restart it",
                )
            return StudioError(
                f"Label Studio at {self.url} refused the API token ({status}) while {what}; "
                f"reconnect the backend in the project's settings or set {LABEL_STUDIO_KEY_ENV} for the worker"
            )
        if status == 404 and project is not None:
            return StudioHopeless(
                f"Label Studio at {self.url} has no project {project} (404): it was deleted, or the backend "
                "points at another Label Studio",
                action=RECONNECT,
            )
        if status == 404:
            return StudioError(f"Label Studio at {self.url} has no such object (404) while {what}")
        return StudioError(f"Label Studio at {self.url} answered {status} while {what}: {detail}")

    def _raw(
        self,
        method: str,
        path: str,
        what: str,
        body: dict[str, Any] | list[Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        with self._calling(what):
            response = self.sdk._client_wrapper.httpx_client.request(path, method=method, json=body, params=params)
        if response.status_code >= 400:
            try:
                detail = response.json()
            except ValueError:
                detail = response.text
            raise self._api_error(what, response.status_code, detail)
        return response.json() if response.content else None

    # -- projects ----------------------------------------------------------------------------

    def project(self, project_id: int) -> ProjectInfo:
        with self._calling(f"reading project {project_id}", project=project_id):
            p = self.sdk.projects.get(id=project_id)
        return ProjectInfo(
            id=int(p.id),
            task_number=int(p.task_number or 0),
            tasks_with_annotations=int(p.num_tasks_with_annotations or 0),
            total_annotations=int(p.total_annotations_number or 0),
            skipped_annotations=int(p.skipped_annotations_number or 0),
            model_version=p.model_version or None,
            sampling=p.sampling,
        )

    def set_model_version(self, project_id: int, version: str) -> None:
        """Make Label Studio order by the predictions of ``version``."""
        with self._calling(f"setting model_version of project {project_id}"):
            self.sdk.projects.update(id=project_id, model_version=version)

    def set_sampling(self, project_id: int, sampling: str = UNCERTAINTY_SAMPLING) -> None:
        with self._calling(f"setting sampling of project {project_id}"):
            self.sdk.projects.update(id=project_id, sampling=sampling)

    # -- tasks -------------------------------------------------------------------------------

    def iter_tasks(
        self,
        project_id: int,
        *,
        items: Sequence[dict[str, Any]] = (),
        include: str | None = "id,data",
        annotations: bool = False,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]:
        """Tasks as ``{"id", "data"[, "updated_at", "annotations"]}`` dicts, page by page, in id order.

        Paged by hand and stopped at the last page: the SDK's pager asks for one page more, which Label
        Studio answers with a 404 it logs as an error with a traceback."""
        params: dict[str, Any] = {"project": project_id, "page_size": page_size, "query": filter_query(items)}
        if annotations:
            params["fields"] = "all"
        elif include:
            params["include"] = include
        page, seen = 1, 0
        while True:
            data = self._raw(
                "GET", "api/tasks/", f"listing tasks of project {project_id}", params={**params, "page": page}
            )
            tasks = (data or {}).get("tasks") or []
            for task in tasks:
                out = {"id": int(task["id"]), "data": task.get("data") if isinstance(task.get("data"), dict) else {}}
                if task.get("updated_at") is not None:
                    out["updated_at"] = task["updated_at"]
                if annotations:
                    out["annotations"] = list(task.get("annotations") or [])
                yield out
            seen += len(tasks)
            if len(tasks) < page_size or seen >= int((data or {}).get("total") or 0):
                return
            page += 1

    def labelled_tasks(self, project_id: int) -> list[dict[str, Any]]:
        """Every task with an annotation (a cancelled one counts: skips are read too), with its annotations."""
        tasks = self.iter_tasks(project_id, items=[ANNOTATED], annotations=True)
        return list({t["id"]: t for t in tasks}.values())  # once each, whatever the join does with several

    def tasks_updated_since(self, project_id: int, stamp: str) -> list[dict[str, Any]]:
        """Every task updated after ``stamp`` (annotated or not any more), with its annotations."""
        return list(self.iter_tasks(project_id, items=[updated_since(stamp)], annotations=True))

    def task_ids(self, project_id: int) -> list[int]:
        return [t["id"] for t in self.iter_tasks(project_id, include="id")]

    def action(self, project_id: int, action: str, task_ids: Sequence[int], what: str, **extra: Any) -> Any:
        """Run Data Manager action ``action`` on ``task_ids`` in one request (``extra``: the action's own fields)."""
        body = {"selectedItems": {"all": False, "included": [int(t) for t in task_ids]}, **extra}
        return self._raw("POST", "api/dm/actions/", what, body, params={"id": action, "project": int(project_id)})

    def set_task_field(self, project_id: int, task_ids: Sequence[int], field: str, value: float | str) -> None:
        """Set ``data[field] = value`` (a number or a string) on every task of ``task_ids`` in one request.

        Label Studio 1.23 has no bulk update of task data in its public API; its Data Manager action
        ``add_data_field`` (marked experimental, hidden from the menu, callable) does it in bulk.
        """
        if task_ids:
            self.action(
                project_id,
                "add_data_field",
                task_ids,
                f"marking {len(task_ids)} tasks of project {project_id}",
                value_name=field,
                value_type="String" if isinstance(value, str) else "Number",
                value=value,
            )

    def delete_task_predictions(self, project_id: int, task_ids: Sequence[int]) -> None:
        """Delete every prediction of these tasks in one request."""
        if task_ids:
            self.action(
                project_id,
                "delete_tasks_predictions",
                task_ids,
                f"deleting the predictions of {len(task_ids)} tasks of project {project_id}",
            )

    # -- predictions -------------------------------------------------------------------------

    def import_predictions(self, project_id: int, predictions: Sequence[dict[str, Any]], chunk: int = PAGE_SIZE) -> int:
        """Create ``predictions`` (dicts with task, result, score, model_version, cluster) in bulk."""
        created = 0
        for start in range(0, len(predictions), chunk):
            part = list(predictions[start : start + chunk])
            with self._calling(f"importing {len(part)} predictions into project {project_id}"):
                answer = self.sdk.projects.import_predictions(id=project_id, request=part)
            created += int(getattr(answer, "created", None) or len(part))
        return created

    def model_versions(self, project_id: int) -> dict[str, int]:
        """Prediction counts per model_version."""
        data = self._raw(
            "GET", f"api/projects/{project_id}/model-versions/", f"listing model versions of project {project_id}"
        )
        return {str(k): int(v) for k, v in (data or {}).items()}

    def delete_model_version(self, project_id: int, version: str) -> int:
        """Delete every prediction of ``version``; returns how many went."""
        data = self._raw(
            "DELETE",
            f"api/projects/{project_id}/model-versions/",
            f"deleting predictions of {version} in project {project_id}",
            {"model_version": version},
        )
        return int((data or {}).get("deleted_predictions", 0))

    # -- views -------------------------------------------------------------------------------

    def views(self, project_id: int) -> dict[str, int]:
        """Data Manager views of the project: title -> id."""
        with self._calling(f"listing views of project {project_id}"):
            views = self.sdk.views.list(project=project_id)
        return {str((v.data or {}).get("title", "")): int(v.id) for v in views}

    def create_view(self, project_id: int, data: dict[str, Any]) -> int:
        with self._calling(f"creating a view in project {project_id}"):
            return int(self.sdk.views.create(project=project_id, data=data).id)
