"""The int8 path: a quantised copy for CPU inference, close to float32, never the network that trains."""

from __future__ import annotations

import numpy as np
import torch

from textal.models.embedding_cache import EmbeddingCache
from textal.models.encoder import Encoder
from textal.models.int8 import quantized_copy
from textal.models.transformer import TransformerClassifier

TEXTS = ["win cash prize now", "see you at home later", "ok", "free money claim now call txt stop urgent reward"] * 3
LABELS = ["spam", "ham", "ham", "spam"] * 3


def quantized_linears(net: torch.nn.Module) -> int:
    from torch.ao.nn.quantized.dynamic import Linear as DynamicQuantizedLinear

    return sum(isinstance(m, DynamicQuantizedLinear) for m in net.modules())


def test_a_quantised_copy_replaces_linear_layers_and_leaves_the_original_float():
    net = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    copy = quantized_copy(net)
    assert quantized_linears(copy) == 2 and quantized_linears(net) == 0
    x = torch.randn(64, 16)
    assert torch.allclose(copy(x), net(x), atol=0.1)


def test_int8_embeddings_point_the_same_way_as_float32_and_are_cached_apart(tiny_bert_dir, tmp_path):
    fp32 = Encoder(model=str(tiny_bert_dir), cache_dir=tmp_path, precision="fp32").encode(TEXTS)
    int8_encoder = Encoder(model=str(tiny_bert_dir), cache_dir=tmp_path, precision="int8")
    int8 = int8_encoder.encode(TEXTS)
    assert quantized_linears(int8_encoder.model_) > 0
    cosine = (fp32 * int8).sum(axis=1)
    assert cosine.min() > 0.98 and not np.array_equal(fp32, int8)
    assert len(EmbeddingCache(tmp_path)) == 2 * len(set(TEXTS))  # one entry per text and precision


def test_an_int8_classifier_predicts_like_float32_and_trains_in_float32(tiny_bert_dir):
    clf = TransformerClassifier(model=str(tiny_bert_dir), epochs=2, min_steps=20, seed=0, precision="int8").fit(
        TEXTS, LABELS
    )
    assert quantized_linears(clf.model_) == 0  # the trained network stays float32
    int8 = clf.predict_proba(TEXTS)
    clf.set_params(precision="fp32")
    fp32 = clf.predict_proba(TEXTS)
    np.testing.assert_allclose(int8, fp32, atol=0.05)
    assert (int8.argmax(1) == fp32.argmax(1)).mean() >= 0.9
