"""Which model answers a request: one slot per model store, hot-swapped when a newer version is published.

A slot loads the version the store's ``LATEST`` names in a background thread, warms it up, and only
then swaps its reference under a lock; a request holds the reference it took for its whole run, so
no request is ever served by a half-loaded model, and the old one keeps serving while the new loads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ml_backend.scoring.loaded import LoadedModel, load_version, model_version_name
from textal.errors import StoreError
from textal.store.model_store import ModelStore

log = logging.getLogger("ml_backend.server")

RETRY_FAILED_S = 60.0  # a version that failed to load is retried after this long


class ModelSlot:
    """The served model of one store, swapped to the store's latest version without a restart."""

    def __init__(self, store_root: str | Path, base: bool = False, cache_dir: Path | None = None) -> None:
        self.store = ModelStore(store_root)
        self.base = base
        self.cache_dir = cache_dir
        self._cond = threading.Condition()
        self._current: LoadedModel | None = None
        self._loading: str | None = None
        self._failed: dict[str, float] = {}
        self.problem: str | None = None  # why the slot serves something other than the store's latest (for /health)

    def current(self) -> LoadedModel | None:
        """The model serving now (None before the first load); never blocks on a load."""
        return self._current

    def latest(self) -> str | None:
        """The version the store names as latest (a small file read); an unreadable pointer leaves the version
        serving (or, before any, the newest that loads) in place and is reported once."""
        try:
            return self.store.latest()
        except StoreError as exc:
            current = self._current
            self._report(f"{exc}; serving {current.version if current else 'the newest version that loads'}")
            return current.version if current is not None else self._fallback()

    def answering(self) -> str | None:
        """The version that answers now, as /health and /versions name it: the loaded one, unless the store names a
        newer one not tried yet (a request waits for it); never a version that failed to load (the one serving in
        its place is named). Starts the load of a newer version where one is serving already, so a broken newest
        version is found without waiting for a request; never blocks."""
        latest = self.latest()
        current = self._current
        if latest is None or (current is not None and current.version == latest):
            return current.version if current is not None else None
        failed_at = self._failed.get(latest)
        if failed_at is not None and time.monotonic() - failed_at < RETRY_FAILED_S:
            return current.version if current is not None else self._fallback()
        if current is not None:
            self.get(wait=0.0)
        return latest

    def _fallback(self) -> str | None:
        """The newest whole version that has not failed to load lately."""
        now = time.monotonic()
        for name in reversed(self.store.versions()):
            if now - self._failed.get(name, -RETRY_FAILED_S) >= RETRY_FAILED_S:
                return name
        return None

    def _report(self, problem: str) -> None:
        if problem != self.problem:
            log.error("model store %s: %s", self.store.root, problem)
        self.problem = problem

    def get(self, wait: float = 0.0) -> LoadedModel | None:
        """The model to serve with, starting a load when the store has a newer latest version.

        Waits up to ``wait`` seconds for that load; past that, the previous model answers. A version that
        fails to load leaves the previous one serving; with none yet, the newest version that loads serves.
        """
        latest = self.latest()
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                current = self._current
                target = latest
                failed_at = self._failed.get(target) if target is not None else None
                if failed_at is not None and time.monotonic() - failed_at < RETRY_FAILED_S:
                    if current is not None:
                        return current
                    target = self._fallback()
                if target is None or (current is not None and current.version == target):
                    return current
                if self._loading is None:
                    self._loading = target
                    threading.Thread(
                        target=self._load, args=(target,), name=f"textal-load-{target}", daemon=True
                    ).start()
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return current
                self._cond.wait(remaining)

    def _load(self, version: str) -> None:
        try:
            loaded = load_version(self.store, version, self.base, self.cache_dir)
        except Exception as exc:  # a broken version must not take the server down
            current = self._current
            self._report(
                f"could not load {version} ({type(exc).__name__}: {str(exc)[:200]}); serving "
                f"{current.version if current else 'the newest version that loads'}"
            )
            with self._cond:
                self._failed[version] = time.monotonic()
                self._loading = None
                self._cond.notify_all()
            return
        with self._cond:
            self._current = loaded  # the swap: one reference, replaced whole
            self._failed.pop(version, None)
            self._loading = None
            self._cond.notify_all()
        try:
            if self.store.latest() == version:
                self.problem = None
        except StoreError:
            pass


class ModelCatalog:
    """A project's own store first, the ``--store`` fallback second."""

    def __init__(
        self, base_store: str | Path, project_store_path: Callable[[int], Path], cache_dir: Path | None = None
    ) -> None:
        self.base = ModelSlot(base_store, base=True, cache_dir=cache_dir)
        self.cache_dir = cache_dir
        self._project_store_path = project_store_path  # callable: project id -> Path
        self._slots: dict[int, ModelSlot] = {}
        self._lock = threading.Lock()

    def slot(self, project_id: int) -> ModelSlot:
        with self._lock:
            slot = self._slots.get(project_id)
            if slot is None:
                slot = self._slots[project_id] = ModelSlot(
                    self._project_store_path(project_id), cache_dir=self.cache_dir
                )
            return slot

    def for_project(self, project_id: int | None, wait: float = 0.0) -> LoadedModel | None:
        """The model that answers for ``project_id`` (None: no model anywhere yet)."""
        if project_id is not None:
            own = self.slot(project_id)
            if own.latest() is not None:
                loaded = own.get(wait)
                if loaded is not None:
                    return loaded
        return self.base.get(wait)

    def answering(self, project_id: int) -> str | None:
        """The model_version that answers for ``project_id`` now, as Label Studio names it (None: no model anywhere):
        what ``for_project`` serves, without loading a model no request asked for yet."""
        own = self.slot(project_id)
        if own.latest() is not None:
            version = own.answering()
            if version is not None:
                return model_version_name(version)
        base = self.base.answering()
        return model_version_name(base, base=True) if base is not None else None

    def problems(self) -> list[str]:
        """What the slots report (unreadable pointers, versions that do not load), for /health."""
        with self._lock:
            slots = [("base store", self.base), *((f"project {pid}", slot) for pid, slot in self._slots.items())]
        return [f"{name}: {slot.problem}" for name, slot in slots if slot.problem]

    def published(self, project_id: int | None) -> list[str]:
        """Every published version that can answer for ``project_id``, as Label Studio names them, newest first:
        the project's own versions, then the base store's."""
        own = self.slot(project_id).store.versions() if project_id is not None else []
        base = [model_version_name(v, base=True) for v in self.base.store.versions()]
        return own[::-1] + base[::-1]
