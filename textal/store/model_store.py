"""A versioned model store on a local folder, with atomic publish.

Layout::

    STORE/
      versions/v0001/{model/, card.json}   one folder per published version
      LATEST                               name of the version to serve (replaced atomically)
      .staging/<pid>-<random>/             versions being written; renamed into versions/ when whole

A version is written aside and renamed into place, so a reader never sees half a model and a
writer killed mid-publish leaves only a staging folder that the next publish sweeps away.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import stat
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from textal import __version__
from textal.errors import StoreError
from textal.models import Classifier, load_classifier
from textal.models.saved_state import LEGACY_CONVERT, PickledModelError
from textal.runtime.fsutil import atomic_write_text, pid_alive

VERSION_RE = re.compile(r"^v(\d{4,})$")
CARD_FILE = "card.json"
MODEL_DIR = "model"


class ModelStore:
    """Publish, list and load model versions kept under ``root``.

    ``keep`` bounds how many versions stay on disk (the oldest go first; the one ``LATEST`` names
    is never removed).
    """

    def __init__(self, root: str | Path, keep: int = 10) -> None:
        if keep < 1:
            raise StoreError("keep must be at least 1")
        self.root = Path(root)
        self.keep = keep

    @property
    def versions_dir(self) -> Path:
        return self.root / "versions"

    @property
    def staging_dir(self) -> Path:
        return self.root / ".staging"

    # -- writing -------------------------------------------------------------------------------

    def publish(
        self,
        model: Classifier,
        card: dict[str, Any] | None = None,
        *,
        promote: bool = True,
        write: Callable[[Classifier, Path], None] | None = None,
    ) -> str:
        """Save ``model`` with its ``card`` as a new version and return the version's name.

        With ``promote`` the version becomes ``latest``; otherwise it is kept for inspection only
        (a retrain that scored worse than its parent, say). ``write`` overrides ``model.save``.
        """
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self._sweep_staging()
        stage = self.staging_dir / f"{os.getpid()}-{secrets.token_hex(6)}"
        stage.mkdir()
        try:
            (write or (lambda m, p: m.save(p)))(model, stage / MODEL_DIR)
            parent = self.latest()
            full_card = {
                "labels": list(getattr(model, "labels_", [])),
                "multi_label": bool(getattr(model, "multi_label_", False)),
                "kind": getattr(model, "kind", type(model).__name__),
                "parent": parent,
                "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "textal_version": __version__,
                **(card or {}),
            }
            _sync_tree(stage)
            name = self._rename_into_place(stage, full_card)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        if promote:
            self.promote(name)
        self._prune()
        return name

    def _rename_into_place(self, stage: Path, card: dict[str, Any]) -> str:
        """Claim the next free version number by renaming the staged folder onto it."""
        for _ in range(1000):
            number = self._highest_number() + 1
            name = f"v{number:04d}"
            card["version"] = name
            _write_json(stage / CARD_FILE, card)
            try:
                os.rename(stage, self.versions_dir / name)
            except OSError:  # another writer took this number first: try the next one
                continue
            _fsync_dir(self.versions_dir)
            return name
        raise StoreError(f"{self.root}: could not claim a version number")

    def promote(self, version: str) -> None:
        """Make ``version`` the one ``latest()`` names."""
        self._check_exists(version)
        atomic_write_text(self.root / "LATEST", version + "\n")
        _fsync_dir(self.root)

    # -- reading -------------------------------------------------------------------------------

    def versions(self) -> list[str]:
        """Names of all whole versions, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        found = [(int(m.group(1)), p.name) for p in self.versions_dir.iterdir() if (m := VERSION_RE.match(p.name))]
        return [name for _, name in sorted(found)]

    def latest(self) -> str | None:
        """The promoted version, or None when nothing was published yet."""
        pointer = self.root / "LATEST"
        try:
            name = _read_pointer(pointer).strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:  # a folder, a device, bytes that are not a version name
            raise StoreError(f"{pointer} is unreadable ({type(exc).__name__})") from None
        return name if VERSION_RE.match(name) and (self.versions_dir / name).is_dir() else None

    def card(self, version: str | None = None) -> dict[str, Any]:
        """The model card of ``version`` (default: latest)."""
        path = self.path(version) / CARD_FILE
        return json.loads(path.read_text())

    def path(self, version: str | None = None) -> Path:
        """Folder of ``version`` (default: latest)."""
        version = version or self._require_latest()
        self._check_exists(version)
        return self.versions_dir / version

    def load(self, version: str | None = None, *, cache_dir: str | Path | None = None) -> Classifier:
        """Load the classifier of ``version`` (default: latest); ``cache_dir`` as for ``load_classifier``.

        A version holds data only (JSON, ``.npz``, safetensors); one an older textal pickled is refused
        unread, with the command that converts a store its user trusts."""
        version = version or self._require_latest()
        try:
            return load_classifier(self.path(version) / MODEL_DIR, cache_dir=cache_dir)
        except PickledModelError as exc:
            raise StoreError(
                f"{version} is an older textal's pickle ({MODEL_DIR}/{', '.join(exc.files)}), not loaded: pickles can "
                f"run code. If you trust this store: {LEGACY_CONVERT} {shlex.quote(str(self.root))}"
            ) from None

    def convert_pickles(self) -> list[tuple[str, list[str]]]:
        """UNSAFE (unpickles): rewrite every version an older textal pickled as data, in place (cards and names
        unchanged). Only for a store its user trusts. Returns (version, files converted) per converted version."""
        from textal.models.legacy import convert_pickled_model

        if not self.versions_dir.is_dir():
            raise StoreError(f"{self.root}: not a model store (no versions/ folder)")
        converted = []
        for name in self.versions():
            files = convert_pickled_model(self.versions_dir / name / MODEL_DIR)
            if files:
                _fsync_dir(self.versions_dir / name / MODEL_DIR)
                converted.append((name, [f"{MODEL_DIR}/{file}" for file in files]))
        return converted

    def update_card(self, version: str, **fields: Any) -> None:
        """Add fields to a published card (calibration, rescoring time), atomically."""
        card = self.card(version)
        card.update(fields)
        _write_json(self.path(version) / CARD_FILE, card)

    # -- housekeeping --------------------------------------------------------------------------

    def _require_latest(self) -> str:
        latest = self.latest()
        if latest is None:
            raise StoreError(f"{self.root}: no published model yet; run `textal train ... --store {self.root}`")
        return latest

    def _check_exists(self, version: str) -> None:
        if not VERSION_RE.match(version) or not (self.versions_dir / version).is_dir():
            known = ", ".join(self.versions()) or "none"
            raise StoreError(f"{self.root}: no version {version!r} (published: {known})")

    def _highest_number(self) -> int:
        names = self.versions()
        return int(names[-1][1:]) if names else 0

    def _prune(self) -> None:
        names = self.versions()
        latest = self.latest()
        excess = len(names) - self.keep
        for name in names:
            if excess <= 0:
                break
            if name == latest:
                continue
            trash = self.staging_dir / f"{os.getpid()}-trash-{secrets.token_hex(4)}"
            try:
                os.rename(self.versions_dir / name, trash)
            except OSError:
                continue
            shutil.rmtree(trash, ignore_errors=True)
            excess -= 1

    def _sweep_staging(self) -> None:
        """Remove staging folders whose writer is gone (killed or crashed)."""
        for stage in self.staging_dir.iterdir():
            owner = stage.name.split("-", 1)[0]
            pid = int(owner) if owner.isdigit() else None
            if pid == os.getpid() or (pid is not None and pid_alive(pid)):
                continue  # still being written, by this process or another live one
            shutil.rmtree(stage, ignore_errors=True)


def _read_pointer(path: Path, limit: int = 256) -> str:
    """A pointer file's text, read without ever blocking: a FIFO, socket or device in its place is an OSError
    (opened non-blocking, then checked to be a regular file); more than ``limit`` bytes is not a version name."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{path} is not a regular file")
        return os.read(fd, limit).decode("utf-8")
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str))


def _sync_tree(root: Path) -> None:
    """fsync every file under ``root`` so the rename publishes data that is really on disk."""
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
