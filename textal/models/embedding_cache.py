"""An on-disk cache of text embeddings: SQLite, one row per content hash, vectors as float32 blobs.

Keys are made by the caller (encoder fingerprint + settings + text), so one file can hold the
embeddings of several encoder versions side by side. WAL mode lets a worker write while other
processes read; reads and writes go in batches so a 100k-text pool costs a few queries.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from textal.errors import ModelError

CACHE_FILE = "embeddings.sqlite3"
_CHUNK = 500  # keys per SELECT ... IN (...): well under SQLite's host-parameter limit


def content_key(*parts: str) -> bytes:
    """A 32-byte SHA-256 of ``parts`` joined with a separator no text holds."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00\x1f")
    return h.digest()


class EmbeddingCache:
    """Vectors by key in ``directory/embeddings.sqlite3``; missing keys are simply absent from ``get``."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / CACHE_FILE
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS embeddings (key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID"
                )
        except (OSError, sqlite3.Error) as exc:
            raise ModelError(f"embedding cache {self.path}: cannot open ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=60.0)

    def get(self, keys: Sequence[bytes]) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys``."""
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        try:
            db = self._connect()
            try:
                for start in range(0, len(unique), _CHUNK):
                    chunk = unique[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    for key, blob in db.execute(f"SELECT key, vec FROM embeddings WHERE key IN ({marks})", chunk):
                        found[bytes(key)] = np.frombuffer(blob, dtype=np.float32)
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise ModelError(f"embedding cache {self.path}: unreadable ({exc}); delete it to rebuild") from None
        return found

    def put(self, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors (as float32) in one transaction; an existing key keeps its vector."""
        rows = [(key, np.ascontiguousarray(vec, dtype=np.float32).tobytes()) for key, vec in items]
        if not rows:
            return
        try:
            db = self._connect()
            try:
                with db:
                    db.executemany("INSERT OR IGNORE INTO embeddings (key, vec) VALUES (?, ?)", rows)
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise ModelError(f"embedding cache {self.path}: cannot write ({exc})") from None

    def __len__(self) -> int:
        db = self._connect()
        try:
            return int(db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0])
        finally:
            db.close()
