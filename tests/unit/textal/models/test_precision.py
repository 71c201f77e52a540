"""Precision as a setting: auto picks bf16 only where the chip has it, bf16 falls back and says so, bf16 embeddings
point the way fp32 ones do and are cached apart, and a model saved with the old int8 switch still loads."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from textal.errors import ModelError
from textal.models import precision_runtime
from textal.models.classifier import params_from_saved
from textal.models.embedding_cache import EmbeddingCache
from textal.models.encoder import Encoder
from textal.models.precision import cpu_bf16_flags
from textal.models.precision_runtime import computing_in, resolve_precision
from textal.models.transformer import TransformerClassifier

TEXTS = ["win cash prize now", "see you at home later", "free money claim now", "sorry going to sleep"] * 3
CPU = torch.device("cpu")


@pytest.fixture
def cpu_flags(monkeypatch):
    def set_flags(*flags: str) -> None:
        monkeypatch.setattr(precision_runtime, "cpu_bf16_flags", lambda: tuple(flags))
        precision_runtime.say_once.cache_clear()

    return set_flags


def test_auto_is_bf16_where_the_cpu_has_it_and_fp32_elsewhere(cpu_flags):
    cpu_flags("avx512_bf16")
    assert resolve_precision("auto", CPU) == "bf16"
    cpu_flags("amx_bf16")
    assert resolve_precision("auto", CPU) == "bf16"
    cpu_flags()
    assert resolve_precision("auto", CPU) == "fp32"


def test_bf16_asked_for_without_it_falls_back_to_fp32_and_says_so_once(cpu_flags, caplog):
    cpu_flags()
    with caplog.at_level(logging.WARNING, logger="textal"):
        assert [resolve_precision("bf16", CPU) for _ in range(3)] == ["fp32"] * 3
    assert [r.getMessage() for r in caplog.records] == ["bf16 asked for, but cpu has no native bf16: running fp32"]
    assert resolve_precision("int8", CPU) == "int8" and resolve_precision("fp32", CPU) == "fp32"
    with pytest.raises(ModelError, match="unknown precision 'fp16': choose auto, fp32, bf16, int8"):
        resolve_precision("fp16", CPU)


def test_the_cpu_flags_are_read_from_cpuinfo_and_none_when_it_cannot_be_read(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_bf16_flags.__wrapped__(str(info)) == ("avx512_bf16",)
    assert cpu_bf16_flags.__wrapped__(str(tmp_path / "missing")) == ()


def test_bf16_computes_matrix_products_in_bf16_and_fp32_leaves_them_alone():
    a = torch.randn(4, 4)
    with computing_in("bf16", CPU):
        assert (a @ a).dtype == torch.bfloat16
    with computing_in("fp32", CPU):
        assert (a @ a).dtype == torch.float32


def test_bf16_embeddings_point_the_way_fp32_ones_do_and_are_cached_apart(tiny_bert_dir, tmp_path, cpu_flags):
    cpu_flags("avx512_bf16")  # torch emulates bf16 where the CPU lacks it: the numbers are the same
    fp32 = Encoder(model=str(tiny_bert_dir), cache_dir=tmp_path, precision="fp32").encode(TEXTS)
    bf16_encoder = Encoder(model=str(tiny_bert_dir), cache_dir=tmp_path)
    assert bf16_encoder.running_precision == "bf16"
    bf16 = bf16_encoder.encode(TEXTS)
    assert bf16.dtype == np.float32 and not np.array_equal(fp32, bf16)
    assert (fp32 * bf16).sum(axis=1).min() > 0.99
    assert len(EmbeddingCache(tmp_path)) == 2 * len(set(TEXTS))  # one entry per text and precision


def test_a_bf16_classifier_predicts_like_fp32(tiny_bert_dir, cpu_flags):
    cpu_flags("avx512_bf16")
    labels = ["spam", "ham", "spam", "ham"] * 3
    clf = TransformerClassifier(model=str(tiny_bert_dir), epochs=2, min_steps=10, seed=0, precision="bf16")
    clf.fit(TEXTS, labels)
    bf16 = clf.predict_proba(TEXTS)
    fp32 = clf.set_params(precision="fp32").predict_proba(TEXTS)
    np.testing.assert_allclose(bf16, fp32, atol=0.05)
    assert (bf16.argmax(1) == fp32.argmax(1)).all()


def test_a_model_saved_with_the_old_int8_switch_loads_with_the_matching_precision():
    assert params_from_saved(TransformerClassifier, {"seed": 1, "int8": True}) == {"seed": 1, "precision": "int8"}
    assert params_from_saved(TransformerClassifier, {"seed": 1, "int8": False}) == {"seed": 1}
