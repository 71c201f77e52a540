"""The worker's embedder runs each project in its own precision and never hands one precision's vectors to another."""

from __future__ import annotations

import numpy as np

from ml_backend.worker.embeddings import PoolEmbedder
from textal.models import precision_runtime

TEXTS = ["win cash prize now", "see you at home later", "free money claim now"]


def test_a_project_precision_embeds_apart_from_the_worker_default(tmp_path, tiny_bert_dir, monkeypatch):
    monkeypatch.setattr(precision_runtime, "cpu_bf16_flags", lambda: ("avx512_bf16",))
    embedder = PoolEmbedder(tmp_path / "embeddings", precision="fp32")
    fp32 = embedder.embed(str(tiny_bert_dir), TEXTS)
    bf16 = embedder.embed(str(tiny_bert_dir), TEXTS, "bf16")
    assert not np.array_equal(fp32, bf16) and (fp32 * bf16).sum(axis=1).min() > 0.99
    assert np.array_equal(embedder.embed(str(tiny_bert_dir), TEXTS), fp32)  # from memory, still fp32's
    assert embedder.encoder(str(tiny_bert_dir), "bf16").running_precision == "bf16"
    assert embedder.encoder(str(tiny_bert_dir)).running_precision == "fp32"
