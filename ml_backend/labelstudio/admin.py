"""The set-up side of the Label Studio API (``textal init``, ``textal export``): projects, task import, the
ML backend connection. Errors are the client's (``StudioError``, ``StudioUnavailable``), never the token."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ml_backend.config import BasicCredentials
from ml_backend.labelstudio.client import Studio

PROJECT_PAGE = 100


@dataclass(frozen=True)
class ProjectSummary:
    id: int
    title: str
    description: str
    label_config: str


@dataclass(frozen=True)
class Connection:
    """An ML backend connected to a project."""

    id: int
    url: str
    title: str
    extra_params: Any
    auth_method: str = "NONE"
    auth_user: str = ""


class StudioAdmin:
    """Creates and fills projects on one Label Studio, as the user whose key ``studio`` holds."""

    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    def projects(self) -> Iterator[ProjectSummary]:
        page = 1
        while True:
            data = self.studio._raw(
                "GET",
                "api/projects/",
                "listing projects",
                params={"page": page, "page_size": PROJECT_PAGE, "include": "id,title,description,label_config"},
            )
            results = data.get("results", []) if isinstance(data, dict) else data or []
            for p in results:
                yield ProjectSummary(
                    int(p["id"]),
                    str(p.get("title") or ""),
                    str(p.get("description") or ""),
                    str(p.get("label_config") or ""),
                )
            if not isinstance(data, dict) or not data.get("next") or not results:
                return
            page += 1

    def create_project(self, title: str, description: str, label_config: str) -> int:
        data = self.studio._raw(
            "POST",
            "api/projects/",
            f"creating project {title!r}",
            {"title": title, "description": description, "label_config": label_config},
        )
        return int(data["id"])

    def task_data(self, project_id: int) -> Iterator[dict[str, Any]]:
        """Every task's data (paged)."""
        for task in self.studio.iter_tasks(project_id, include="id,data"):
            yield task["data"]

    def import_tasks(self, project_id: int, tasks: Sequence[dict[str, Any]]) -> int:
        """Import ``tasks`` (``{"data": ..., "annotations": [...]}``) in one request; returns how many were created."""
        data = self.studio._raw(
            "POST", f"api/projects/{project_id}/import", f"importing {len(tasks)} tasks", list(tasks)
        )
        return int((data or {}).get("task_count", len(tasks)))

    def connections(self, project_id: int) -> list[Connection]:
        data = self.studio._raw(
            "GET", "api/ml/", f"listing the ML backends of project {project_id}", params={"project": project_id}
        )
        return [
            Connection(
                int(b["id"]),
                str(b.get("url") or ""),
                str(b.get("title") or ""),
                b.get("extra_params"),
                str(b.get("auth_method") or "NONE"),
                str(b.get("basic_auth_user") or ""),
            )
            for b in data or []
        ]

    def connect(
        self, project_id: int, url: str, title: str, extra_params: dict[str, Any], auth: BasicCredentials | None = None
    ) -> int:
        """Connect the ML backend at ``url`` (Label Studio calls its /health and /setup now, with ``auth``)."""
        data = self.studio._raw(
            "POST",
            "api/ml/",
            f"connecting the ML backend {url} to project {project_id}",
            {
                "url": url,
                "project": project_id,
                "title": title,
                "extra_params": extra_params,
                "is_interactive": False,
                **_auth_fields(auth),
            },
        )
        return int(data["id"])

    def update_connection(
        self,
        connection_id: int,
        project_id: int,
        url: str,
        extra_params: dict[str, Any],
        auth: BasicCredentials | None = None,
    ) -> None:
        """Point a connection at ``url`` with these settings (Label Studio calls /setup again; Label Studio 1.23
        answers 500 to a PATCH of the url without the project)."""
        self.studio._raw(
            "PATCH",
            f"api/ml/{connection_id}",
            "updating the ML backend's connection",
            {"url": url, "project": project_id, "extra_params": extra_params, **_auth_fields(auth)},
        )


def _auth_fields(auth: BasicCredentials | None) -> dict[str, Any]:
    """The connection's basic auth as Label Studio 1.23 keeps it (the password is write-only there)."""
    if auth is None:
        return {}
    return {"auth_method": "BASIC_AUTH", "basic_auth_user": auth.user, "basic_auth_pass": auth.password}
