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

MEMORY_LIMIT = 500_000  # vectors kept in memory per encoder (about 770 MB at 384 dims)


class PoolEmbedder:
    """Embeddings of texts under a named encoder (``"default"`` or a folder of a fine-tuned one)."""

    def __init__(self, cache_dir: str | Path, batch_size: int = 64, max_length: int = 128) -> None:
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size
        self.max_length = max_length
        self._encoders: dict[str, Encoder] = {}
        self._memory: dict[str, dict[str, np.ndarray]] = {}
        self._lock = threading.Lock()

    def encoder(self, ref: str) -> Encoder:
        with self._lock:
            enc = self._encoders.get(ref)
            if enc is None:
                enc = self._encoders[ref] = Encoder(ref, self.max_length, self.batch_size, self.cache_dir)
            return enc

    def fingerprint(self, ref: str) -> str:
        return self.encoder(ref).fingerprint

    def embed(self, ref: str, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 embeddings of ``texts`` under encoder ``ref``."""
        enc = self.encoder(ref)
        memory = self._memory.setdefault(enc.fingerprint, {})
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
        return np.stack(found).astype(np.float32, copy=False)
