"""What every endpoint shares: the settings, the projects' state, their models, strategies and the job queue."""

from __future__ import annotations

import threading

from ml_backend.config import ServerSettings
from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import Jobs
from ml_backend.scoring.ls_score import ScoreScale
from ml_backend.scoring.scale_file import ScaleFile
from ml_backend.server.requests import BadRequest
from ml_backend.server.slots import ModelCatalog
from ml_backend.state.projects import ProjectRef, ProjectRegistry, ProjectState
from textal.ranking.scale import Scorer


class Backend:
    """Everything the endpoints share: settings, project state, models, strategies, the job queue."""

    def __init__(self, settings: ServerSettings, jobs: Jobs | None = None) -> None:
        self.settings = settings
        # the projects' cap is checked where a project is created (one at a time), so concurrent set-ups never pass
        # it; what one project stores is bounded by its config's (escaped in JSON, labels listed again)
        self.projects = ProjectRegistry(
            settings.data_dir,
            max_projects=settings.max_projects,
            max_state_bytes=3 * settings.max_config_chars + 64 * 1024,
        )
        self.models = ModelCatalog(settings.store, self.projects.store_path, self.projects.layout.embeddings)
        self.jobs = jobs if jobs is not None else Jobs(make_huey(settings.data_dir, settings.queue_url))
        self._scorers: dict[str, Scorer] = {}
        self._scales: dict[int, ScaleFile] = {}
        self._lock = threading.Lock()
        self.scorer(settings.strategy)  # an unknown --strategy fails at start, not at the first request

    def scorer(self, name: str) -> Scorer:
        """The scorer of strategy ``name``, made once (TextalError: no such strategy, or not one per batch)."""
        with self._lock:
            scorer = self._scorers.get(name)
            if scorer is None:
                scorer = self._scorers[name] = Scorer(name).require_per_batch()
            return scorer

    def strategy_of(self, state: ProjectState) -> str:
        """The strategy a project is scored by: its own, else the server's."""
        return state.strategy or self.settings.strategy

    def scale(self, project_id: int, model_version: str) -> ScoreScale | None:
        """The score scale the worker pushed ``model_version`` of the project with (None: it has not)."""
        with self._lock:
            file = self._scales.get(project_id)
            if file is None:
                file = self._scales[project_id] = ScaleFile(self.settings.data_dir, project_id)
        return file.read(model_version)

    def serving(self, ids: list[int] | None = None) -> dict[int, str]:
        """The model_version that answers for each project (``ids``, default all): the one serving, never a newer one
        that failed to load (``ModelCatalog.answering``)."""
        out = {}
        for pid in self.projects.ids() if ids is None else ids:
            version = self.models.answering(pid)
            if version is not None:
                out[pid] = version
        return out

    def known_project(self, ref: ProjectRef) -> ProjectState:
        """The state of the project ``ref`` names, or a 404 when Label Studio never set it up here."""
        state = self.projects.get(ref)
        if state is None:
            raise BadRequest(
                f"unknown project {ref.uid}: Label Studio has not called /setup for it on this backend "
                "(connect the backend to the project in its Model settings)",
                status=404,
            )
        return state
