"""A frozen transformer encoder: texts -> mean-pooled, L2-normalised float32 embeddings, optionally cached.

This is the fast tier's feature extractor (DESIGN.md, "Two speeds of learning"): the pool is
encoded once per encoder version and every later refit of a light head reads the cache.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator

from textal.errors import ModelError
from textal.models.embedding_cache import EmbeddingCache, content_key
from textal.models.hf import batched_inference, default_device, load_encoder_model, load_tokenizer, resolve_model_source
from textal.models.int8 import quantized_copy
from textal.models.pooling import POOLING, mean_pool
from textal.models.precision import DEFAULT_PRECISION
from textal.models.precision_runtime import computing_in, resolve_precision
from textal.runtime import progress

FINGERPRINT_SUFFIXES = (".json", ".txt", ".model", ".safetensors", ".bin")
CACHE_WRITE_CHUNK = 4096  # texts encoded between cache writes: an interrupted run keeps what it did


def model_fingerprint(path: str | Path) -> str:
    """A short hash of a model directory's weights, config and tokenizer files (names and contents)."""
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in FINGERPRINT_SUFFIXES)
    if not files:
        raise ModelError(f"{path}: no model files to fingerprint")
    stats = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _fingerprint(str(path), stats)


@functools.lru_cache(maxsize=64)
def _fingerprint(path: str, stats: tuple[tuple[str, int, int], ...]) -> str:
    # Keyed on (size, mtime) of every file, so a changed file is hashed afresh.
    h = hashlib.sha256()
    for name, _, _ in stats:
        h.update(name.encode() + b"\x00")
        with open(Path(path) / name, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


class Encoder(BaseEstimator):
    """Mean-pooled, L2-normalised embeddings from a frozen ``AutoModel`` (the same pooling as
    ``TransformerClassifier.embed``).

    ``model`` is ``"default"``, a local directory (a saved TransformerClassifier works too) or a hub
    id. With ``cache_dir``, vectors are cached on disk by (fingerprint, max_length, pooling, precision, text).
    The model loads on first use; a pool answered wholly from the cache never loads it. ``precision``: auto (bf16
    where the hardware has it, else fp32), fp32, bf16, or int8 (a dynamically quantised copy on the CPU); see
    ``textal.models.precision``.
    """

    def __init__(
        self,
        model: str = "default",
        max_length: int = 128,
        batch_size: int = 64,
        cache_dir: str | Path | None = None,
        device: str | None = None,
        precision: str = DEFAULT_PRECISION,
    ) -> None:
        self.model = model
        self.max_length = max_length
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.device = device
        self.precision = precision

    def set_params(self, **params: Any) -> Encoder:
        """Change parameters; weights loaded for the old ones are dropped and load again on next use."""
        super().set_params(**params)
        for loaded in ("source_", "tokenizer_", "model_"):
            self.__dict__.pop(loaded, None)
        return self

    @functools.cached_property
    def source_(self) -> Path:
        """The local directory the weights come from."""
        return resolve_model_source(self.model)

    @property
    def running_precision(self) -> str:
        """The precision that runs: ``precision`` resolved for this device (auto chosen, fallbacks applied)."""
        return resolve_precision(self.precision, default_device(self.device))

    @property
    def fingerprint(self) -> str:
        """Hash of the encoder's weights, config and tokenizer: changes exactly when its embeddings may."""
        return model_fingerprint(self.source_)

    @property
    def dim(self) -> int:
        """Embedding width (the model's hidden size)."""
        from transformers import AutoConfig

        return int(AutoConfig.from_pretrained(str(self.source_), local_files_only=True).hidden_size)

    def _load(self) -> None:
        if getattr(self, "model_", None) is None:
            self.tokenizer_ = load_tokenizer(self.source_)
            device = default_device(self.device)
            net = load_encoder_model(self.source_).to(device).eval()
            self.model_ = quantized_copy(net) if self.running_precision == "int8" else net

    def _compute(self, texts: list[str], bar: progress.Bar) -> np.ndarray:
        self._load()
        device, precision = default_device(self.device), self.running_precision

        def forward(batch: dict[str, torch.Tensor]) -> torch.Tensor:
            with computing_in(precision, device):
                return mean_pool(self.model_(**batch).last_hidden_state, batch["attention_mask"])

        return batched_inference(
            self.tokenizer_,
            texts,
            forward,
            max_length=self.max_length,
            batch_size=self.batch_size,
            device=device,
            bar=bar,
        ).astype(np.float32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings (n, dim) float32, unit length, in input order."""
        texts = list(texts)
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise ModelError(f"text {i} is {type(text).__name__}, not a string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if self.cache_dir is None:
            with progress.task(f"Encoding {len(texts)} texts", total=len(texts)) as bar:
                return self._compute(texts, bar)
        return self._encode_cached(texts, self.cache_dir)

    def _encode_cached(self, texts: list[str], cache_dir: str | Path) -> np.ndarray:
        cache = EmbeddingCache(cache_dir)
        precision = self.running_precision
        prefix = (self.fingerprint, str(self.max_length), POOLING) + ((precision,) if precision != "fp32" else ())
        keys = [content_key(*prefix, text) for text in texts]
        found = cache.get(keys)
        missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in found))
        if missing:
            with progress.task(f"Encoding {len(missing)} new texts", total=len(missing)) as bar:
                for start in range(0, len(missing), CACHE_WRITE_CHUNK):
                    chunk = missing[start : start + CACHE_WRITE_CHUNK]
                    vectors = self._compute(chunk, bar)
                    fresh = {content_key(*prefix, t): v for t, v in zip(chunk, vectors)}
                    cache.put(fresh.items())
                    found.update(fresh)
        return np.stack([found[k] for k in keys]).astype(np.float32, copy=False)
