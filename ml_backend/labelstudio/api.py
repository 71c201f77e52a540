"""``StudioAPI``: the calls the worker makes on a project's Label Studio, and nothing else.

The worker's code receives a ``StudioAPI`` (``ml_backend.worker.project.Project.studio``, the reconciler's
check, ``ml_backend.labelstudio.ordering``), never a ``Studio`` itself, so that its stand-in, the unit tests'
``FakeStudio`` (tests/unit/ml_backend/worker/worker_fakes.py), answers the same calls: mypy (run by ``make
test``) checks both classes against this protocol, and a method renamed or reshaped on either side fails it.
A call the worker starts making goes here first.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ml_backend.labelstudio.client import PAGE_SIZE, UNCERTAINTY_SAMPLING, ProjectInfo

if TYPE_CHECKING:
    from ml_backend.labelstudio.client import Studio


class StudioAPI(Protocol):
    """One Label Studio as the worker uses it (``ml_backend.labelstudio.client.Studio`` documents each call)."""

    # -- projects
    def project(self, project_id: int) -> ProjectInfo: ...

    def set_model_version(self, project_id: int, version: str) -> None: ...

    def set_sampling(self, project_id: int, sampling: str = UNCERTAINTY_SAMPLING) -> None: ...

    # -- tasks
    def iter_tasks(
        self,
        project_id: int,
        *,
        items: Sequence[dict[str, Any]] = (),
        include: str | None = "id,data",
        annotations: bool = False,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[dict[str, Any]]: ...

    def labelled_tasks(self, project_id: int) -> list[dict[str, Any]]: ...

    def tasks_updated_since(self, project_id: int, stamp: str) -> list[dict[str, Any]]: ...

    def set_task_field(self, project_id: int, task_ids: Sequence[int], field: str, value: float | str) -> None: ...

    # -- predictions
    def import_predictions(
        self, project_id: int, predictions: Sequence[dict[str, Any]], chunk: int = PAGE_SIZE
    ) -> int: ...

    def delete_model_version(self, project_id: int, version: str) -> int: ...

    # -- views
    def views(self, project_id: int) -> dict[str, int]: ...

    def create_view(self, project_id: int, data: dict[str, Any]) -> int: ...


if TYPE_CHECKING:  # the real client answers every call of the protocol (checked by mypy, nothing at run time)
    _studio_is_a_studio_api: type[StudioAPI] = Studio
