"""Pool embeddings for the worker: memory first, then the on-disk cache, then the encoder.

The on-disk cache (``DATA/embeddings/``, keyed by encoder fingerprint and text) survives restarts
and is shared by every project of the data folder; the memory layer spares a long-lived worker
even the cache's hashing and SQLite reads, which is what keeps a refresh of a large pool quick.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from textal.models.encoder import Encoder
from textal.models.precision import DEFAULT_PRECISION

MEMORY_LIMIT = 500_000  # vectors kept in memory per encoder (about 770 MB at 384 dims)


class PoolEmbedder:
    """Embeddings of texts under a named encoder (``"default"`` or a folder of a fine-tuned one)."""

    def __init__(
        self, cache_dir: str | Path, batch_size: int = 64, max_length: int = 128, precision: str = DEFAULT_PRECISION
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.precision = precision  # unless a call names its own (a project's setting)
        self.batch_size = batch_size
        self.max_length = max_length
        self._encoders: dict[tuple[str, str], Encoder] = {}
        self._memory: dict[str, dict[str, np.ndarray]] = {}
        self._last: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}  # per encoder: the last texts and their matrix
        self._lock = threading.Lock()

    def encoder(self, ref: str, precision: str | None = None) -> Encoder:
        key = (ref, precision or self.precision)
        with self._lock:
            enc = self._encoders.get(key)
            if enc is None:
                enc = self._encoders[key] = Encoder(
                    ref, self.max_length, self.batch_size, self.cache_dir, precision=key[1]
                )
            return enc

    def fingerprint(self, ref: str) -> str:
        return self.encoder(ref).fingerprint

    def embed(self, ref: str, texts: Sequence[str], precision: str | None = None) -> np.ndarray:
        """(n, d) float32 embeddings of ``texts`` under encoder ``ref`` in ``precision`` (None: the embedder's)."""
        enc = self.encoder(ref, precision)
        key, asked = f"{enc.fingerprint}/{enc.running_precision}", tuple(texts)
        last = self._last.get(key)
        if last is not None and last[0] == asked:  # a refresh asks for the same pool again: no stacking of its rows
            return last[1]
        memory = self._memory.setdefault(key, {})
        missing = list(dict.fromkeys(t for t in texts if t not in memory))
        if missing:
            vectors = enc.encode(missing)
            if len(memory) + len(missing) > MEMORY_LIMIT:
                memory.clear()
            memory.update(zip(missing, vectors))
        if not texts:
            return np.zeros((0, enc.dim), dtype=np.float32)
        found = [v for v in (memory.get(t) for t in texts) if v is not None]
        if len(found) < len(texts):  # the memory was cleared under us: read the disk cache
            return enc.encode(list(texts))
        matrix = np.stack(found).astype(np.float32, copy=False)
        matrix.setflags(write=False)  # handed to every caller asking for these texts: nobody may change it
        self._last[key] = (asked, matrix)
        return matrix
