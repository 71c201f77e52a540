"""Encoder on the tiny BERT: pooled unit-length embeddings, fingerprint, and the on-disk cache."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from textal.errors import ModelError
from textal.models.embedding_cache import EmbeddingCache
from textal.models.encoder import Encoder
from textal.models.transformer import TransformerClassifier

TEXTS = ["win cash prize now", "see you at home later", "ok", "free money claim now call txt stop urgent reward"]


def count_forwards(encoder: Encoder) -> list[int]:
    """Batch sizes of every forward pass the encoder's network makes from now on (a real forward hook)."""
    calls: list[int] = []
    encoder.model_.register_forward_hook(
        lambda module, args, kwargs, out: calls.append(len(kwargs["input_ids"])), with_kwargs=True
    )
    return calls


def test_embeddings_are_unit_length_float32_in_input_order(tiny_bert_dir):
    encoder = Encoder(model=str(tiny_bert_dir), batch_size=2)
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (4, 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(TEXTS[::-1]), vectors[::-1], atol=1e-6)
    assert encoder.encode([]).shape == (0, 32)


def test_encoder_on_a_saved_classifier_pools_exactly_like_the_classifiers_embed(tiny_bert_dir, tmp_path):
    clf = TransformerClassifier(model=str(tiny_bert_dir), epochs=1, min_steps=0).fit(
        TEXTS * 3, ["spam", "ham", "ham", "spam"] * 3
    )
    clf.save(tmp_path / "clf")
    np.testing.assert_allclose(Encoder(model=str(tmp_path / "clf")).encode(TEXTS), clf.embed(TEXTS), atol=1e-6)


def test_cache_hit_returns_identical_vectors_without_running_the_network(tiny_bert_dir, tmp_path):
    encoder = Encoder(model=str(tiny_bert_dir), cache_dir=tmp_path / "cache")
    first = encoder.encode(TEXTS)
    calls = count_forwards(encoder)
    again = encoder.encode(TEXTS)
    assert calls == []
    np.testing.assert_array_equal(again, first)
    mixed = encoder.encode(["a text never seen before", TEXTS[1]])
    assert calls == [1]  # only the new text went through the network
    np.testing.assert_array_equal(mixed[1], first[1])
    assert len(EmbeddingCache(tmp_path / "cache")) == 5


def test_cache_persists_across_encoder_instances_and_never_loads_the_model(tiny_bert_dir, tmp_path):
    first = Encoder(model=str(tiny_bert_dir), cache_dir=tmp_path).encode(TEXTS)
    fresh = Encoder(model=str(tiny_bert_dir), cache_dir=tmp_path)
    np.testing.assert_array_equal(fresh.encode(TEXTS), first)
    assert getattr(fresh, "model_", None) is None


def test_cache_keys_depend_on_max_length_and_encoder_version(tiny_bert_dir, tmp_path):
    long_text = ["word " * 40]
    full = Encoder(model=str(tiny_bert_dir), cache_dir=tmp_path / "c").encode(long_text)
    short = Encoder(model=str(tiny_bert_dir), max_length=8, cache_dir=tmp_path / "c").encode(long_text)
    assert not np.allclose(full, short)
    changed = tmp_path / "changed"
    shutil.copytree(tiny_bert_dir, changed)
    (changed / "config.json").write_text(
        (changed / "config.json").read_text().replace('"hidden_act": "gelu"', '"hidden_act": "relu"')
    )
    assert Encoder(model=str(changed)).fingerprint != Encoder(model=str(tiny_bert_dir)).fingerprint
    assert len(EmbeddingCache(tmp_path / "c")) == 2


def test_cache_handles_a_large_pool_in_batched_queries(tmp_path):
    cache = EmbeddingCache(tmp_path)
    rng = np.random.default_rng(0)
    keys = [i.to_bytes(32, "big") for i in range(20_000)]
    vectors = rng.standard_normal((20_000, 8)).astype(np.float32)
    cache.put(zip(keys, vectors))
    found = cache.get(keys[::-1] + [b"\xff" * 32])
    assert len(found) == 20_000
    np.testing.assert_array_equal(found[keys[123]], vectors[123])


def test_fingerprint_is_stable_and_short(tiny_bert_dir):
    a, b = Encoder(model=str(tiny_bert_dir)), Encoder(model=str(tiny_bert_dir), max_length=16)
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16


def test_non_string_text_is_a_model_error(tiny_bert_dir):
    with pytest.raises(ModelError, match="not a string"):
        Encoder(model=str(tiny_bert_dir)).encode(["ok", 3])
