"""A job's view of one project: state, schema and strategy, pool mirror, work state, model store and Label Studio."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ml_backend.labelstudio.api import StudioAPI
from ml_backend.labelstudio.client import ProjectInfo
from ml_backend.state.projects import ProjectState
from ml_backend.state.workfiles import ProjectFiles
from ml_backend.worker.context import WorkerContext
from textal.errors import TextalError
from textal.store.model_store import ModelStore


class Project:
    """Everything a job reads and writes for one project; built at the start of each job."""

    def __init__(self, ctx: WorkerContext, project_id: int, studio: StudioAPI | None = None) -> None:
        self.ctx = ctx
        self.id = int(project_id)
        state = ctx.registry.get(self.id)
        if state is None:
            raise TextalError(
                f"project {self.id} has no state in {ctx.registry.data_dir}: connect `textal serve` "
                "(same --data-dir) to it in Label Studio first"
            )
        self.state: ProjectState = state
        self.settings = ctx.settings.for_project(state.params)
        self.schema = state.schema
        self.strategy = state.strategy or self.settings.strategy
        self.files = ProjectFiles(ctx.registry, self.id)
        self.mirror = self.files.mirror()
        self.store = ModelStore(self.files.store_path)
        self.studio: StudioAPI = studio or ctx.studio(state.hostname, ctx.registry.access_token(self.id))
        self.work: dict[str, Any] = self.files.state()
        self._info: ProjectInfo | None = None

    def __repr__(self) -> str:
        return f"Project({self.id})"

    def info(self, refresh: bool = False) -> ProjectInfo:
        """Label Studio's figures for the project, read once per job unless ``refresh``."""
        if self._info is None or refresh:
            self._info = self.studio.project(self.id)
        return self._info

    def save(self, **fields: Any) -> None:
        """Update these fields of the work state (re-read under a lock: a fine-tune may write it meanwhile)."""
        self.work = self.files.update_state(**fields)

    @property
    def encoder(self) -> str:
        """The fast tier's encoder now: the adopted fine-tuned one, else the worker's default."""
        return self.work.get("encoder") or self.settings.encoder

    def embed(self, encoder: str, texts: Sequence[str]) -> np.ndarray:
        """``texts`` embedded by ``encoder`` in the project's precision (the worker's unless a recipe set one)."""
        return self.ctx.embedder.embed(encoder, texts, self.settings.precision)

    def load_own(self, version: str) -> Any:
        """A version of the project's own store, loaded once per worker process."""
        return self.ctx.cached((str(self.store.root), version), lambda: self.store.load(version))

    def readable_texts(self) -> list[str]:
        return [t.text for t in self.mirror.tasks() if t.text is not None]
