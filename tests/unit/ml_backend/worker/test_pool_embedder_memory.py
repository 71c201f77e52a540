"""The worker's embedder hands a refresh that asks for the same pool again the matrix it built last time."""

from __future__ import annotations

import numpy as np
import pytest

from ml_backend.worker.embeddings import PoolEmbedder

TEXTS = ["win cash prize now", "see you at home later", "free money claim now"]


def test_the_same_texts_again_get_the_same_read_only_matrix(tmp_path, tiny_bert_dir):
    embedder = PoolEmbedder(tmp_path / "embeddings", precision="fp32")
    first = embedder.embed(str(tiny_bert_dir), TEXTS)
    again = embedder.embed(str(tiny_bert_dir), list(TEXTS))
    assert again is first
    with pytest.raises(ValueError):
        first[0, 0] = 1.0  # shared with every caller: nobody may change it


def test_other_texts_get_their_own_rows(tmp_path, tiny_bert_dir):
    embedder = PoolEmbedder(tmp_path / "embeddings", precision="fp32")
    first = embedder.embed(str(tiny_bert_dir), TEXTS)
    fewer = embedder.embed(str(tiny_bert_dir), TEXTS[1:])
    assert fewer.shape == (2, first.shape[1]) and np.array_equal(fewer, first[1:])
    assert np.array_equal(embedder.embed(str(tiny_bert_dir), TEXTS[::-1]), first[::-1])
