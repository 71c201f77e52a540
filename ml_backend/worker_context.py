"""The retrain worker's settings (``textal worker`` flags) and what one worker process shares between jobs."""

from __future__ import annotations

import math
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ml_backend.projects import ProjectRegistry
from ml_backend.workfiles import EMBEDDINGS_DIR
from textal.errors import TextalError


@dataclass(frozen=True)
class WorkerSettings:
    """How the worker trains and orders; ``textal worker`` flags, the same for every project it serves."""

    data_dir: Path
    store: Path | None = None  # the store `textal serve --store` serves before a project has its own versions
    strategy: str = "entropy"  # for projects whose /setup named none (give `textal serve` the same)
    encoder: str = "default"  # the fast tier's frozen encoder until a fine-tune replaces it
    eval_fraction: float = 0.1
    eval_min: int = 50
    batch: int = 20  # the strategy's next batch goes first in Label Studio's order
    full_every: int = 500  # new labels between full fine-tunes (0: only on request)
    full_epochs: int = 2
    full_min_steps: int = 100
    promote_margin: float = 0.02  # macro-F1 a version may lose against its parent and still be promoted
    min_eval: int = 20  # held-out labels before the promotion rule judges
    agreement_threshold: float = 2 / 3
    committee_size: int = 5
    keep_prediction_versions: int = 2  # textal versions whose predictions stay in Label Studio (0: keep all)
    max_text_chars: int = 20_000
    push_chunk: int = 1000
    seed: int = 0
    queue_url: str | None = None
    reconcile_s: float = 30.0
    deep_reconcile_s: float = 1800.0  # a full re-read of every annotation (belt and braces)

    def check(self) -> WorkerSettings:
        """Raise TextalError naming the first setting out of range."""
        if not 0.0 <= self.eval_fraction < 0.5:
            raise TextalError(f"--eval-fraction must be in [0, 0.5), got {self.eval_fraction}")
        for name in ("eval_min", "batch", "full_every", "min_eval", "committee_size", "keep_prediction_versions"):
            if getattr(self, name) < 0:
                raise TextalError(f"--{name.replace('_', '-')} must be 0 or more, got {getattr(self, name)}")
        if self.full_epochs < 1 or self.full_min_steps < 0 or self.push_chunk < 1:
            raise TextalError("--full-epochs and --push-chunk must be at least 1, --full-min-steps 0 or more")
        if not (self.promote_margin >= 0):
            raise TextalError(f"--promote-margin must be 0 or more (inf: always promote), got {self.promote_margin}")
        if not 0.0 <= self.agreement_threshold <= 1.0:
            raise TextalError(f"--agreement must be in [0, 1], got {self.agreement_threshold}")
        if self.reconcile_s <= 0 or self.deep_reconcile_s <= 0:
            raise TextalError("--reconcile-every must be positive")
        from textal.strategies import get_strategy

        get_strategy(self.strategy)  # an unknown name fails at start, not in the first job
        return self

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON-ready values (what the worker logs and ``textal status`` shows)."""
        out = asdict(self)
        out["data_dir"] = str(self.data_dir)
        out["store"] = str(self.store) if self.store else None
        out["promote_margin"] = self.promote_margin if math.isfinite(self.promote_margin) else "inf"
        return out


@dataclass
class WorkerContext:
    """What a worker process shares between jobs: settings, project registry, embeddings, loaded models."""

    settings: WorkerSettings
    jobs: Any = None  # ml_backend.jobs.Jobs, to queue follow-up jobs
    registry: ProjectRegistry = field(init=False)
    embedder: Any = field(init=False)  # ml_backend.embeddings.PoolEmbedder (imports torch: loaded on first use)
    _models: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        from ml_backend.embeddings import PoolEmbedder

        self.registry = ProjectRegistry(self.settings.data_dir)
        self.embedder = PoolEmbedder(self.settings.data_dir / EMBEDDINGS_DIR)
        if self.jobs is None:
            from ml_backend.jobs import Jobs
            from ml_backend.queue import make_huey

            self.jobs = Jobs(make_huey(self.settings.data_dir, self.settings.queue_url), self.settings.data_dir)

    def cached(self, key: tuple[str, str], load):
        with self._lock:
            if key in self._models:
                return self._models[key]
        value = load()
        with self._lock:
            if len(self._models) > 16:
                self._models.clear()
            self._models[key] = value
        return value


_CONTEXTS: dict[Path, WorkerContext] = {}
_CONTEXTS_LOCK = threading.Lock()


def configure(settings: WorkerSettings, jobs: Any = None) -> WorkerContext:
    """Install the settings (and the consumer's ``Jobs``) the job bodies of ``settings.data_dir`` use."""
    ctx = WorkerContext(settings.check(), jobs)
    with _CONTEXTS_LOCK:
        _CONTEXTS[Path(settings.data_dir).resolve()] = ctx
    return ctx


def context(data_dir: str | Path) -> WorkerContext:
    """The context configured for ``data_dir``, or one with default settings (and TEXTAL_QUEUE_URL)."""
    key = Path(data_dir).resolve()
    with _CONTEXTS_LOCK:
        ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = configure(WorkerSettings(data_dir=key, queue_url=os.environ.get("TEXTAL_QUEUE_URL") or None))
    return ctx
