"""The data folder's layout, described once (``textal serve --data-dir``, default ``<store>-backend``)::

DATA/
  queue.db                     SqliteHuey job queue (unless TEXTAL_QUEUE_URL=redis://...)
  embeddings/                  the embedding cache, shared by the projects
  projects/
    <id>/                      one folder per Label Studio project id
      project.json             uid "<id>.<epoch>", label config, parsed TaskSchema, strategy, LS hostname
      access_token             API token Label Studio sent at /setup (mode 0600, never logged)
      store/                   this project's ModelStore: the retrain worker publishes here
      worker/
        state.json             set-up done, views, stop set, label fingerprint, version pushed, encoder in use
        pool.sqlite3           the mirror of the project's tasks and annotations
        history.jsonl          one record per published version (textal.store.history)
        centroids.npy          k-means centroids of the pool's embeddings (Label Studio's ``cluster``)
        score_scale.json       the score scale of the version Label Studio orders by (read by /predict)
        encoders/eNNNN/        fine-tuned encoders (the full tier)
        learning_curve.png     what `textal status` draws
    .retired/<uid>-<hex>/      state of an earlier project whose id a recreated Label Studio reused
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

QUEUE_FILE = "queue.db"
EMBEDDINGS_DIR = "embeddings"
PROJECTS_DIR = "projects"
RETIRED_DIR = ".retired"
PROJECT_FILE = "project.json"
TOKEN_FILE = "access_token"
STORE_DIR = "store"
WORKER_DIR = "worker"
WORK_STATE_FILE = "state.json"
POOL_FILE = "pool.sqlite3"
HISTORY_FILE = "history.jsonl"
CENTROIDS_FILE = "centroids.npy"
SCALE_FILE = "score_scale.json"
ENCODERS_DIR = "encoders"
LEARNING_CURVE_FILE = "learning_curve.png"


@dataclass(frozen=True)
class DataLayout:
    """Paths inside one data folder."""

    root: Path

    @property
    def queue_file(self) -> Path:
        return self.root / QUEUE_FILE

    @property
    def embeddings(self) -> Path:
        return self.root / EMBEDDINGS_DIR

    @property
    def projects(self) -> Path:
        return self.root / PROJECTS_DIR

    @property
    def retired(self) -> Path:
        return self.projects / RETIRED_DIR

    def project(self, project_id: int) -> Path:
        return self.projects / str(int(project_id))

    def project_file(self, project_id: int) -> Path:
        return self.project(project_id) / PROJECT_FILE

    def token_file(self, project_id: int) -> Path:
        return self.project(project_id) / TOKEN_FILE

    def store(self, project_id: int) -> Path:
        return self.project(project_id) / STORE_DIR

    def worker(self, project_id: int) -> Path:
        return self.project(project_id) / WORKER_DIR

    def score_scale(self, project_id: int) -> Path:
        return self.worker(project_id) / SCALE_FILE

    def learning_curve(self, project_id: int) -> Path:
        return self.worker(project_id) / LEARNING_CURVE_FILE
