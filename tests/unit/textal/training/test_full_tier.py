"""What the full tier needs before it can tune: the contrastive tier a pair of texts sharing a label."""

from __future__ import annotations

import pytest

from textal.errors import ModelError
from textal.training.full_tier import why_not_tunable


def test_the_contrastive_tier_waits_while_no_label_has_two_texts():
    reason = why_not_tunable(["spam", "ham", "other"], multi_label=False, full_tier="contrastive")
    assert reason is not None and "two texts sharing a label" in reason


def test_the_contrastive_tier_can_tune_once_one_label_has_two_texts():
    assert why_not_tunable(["spam", "ham", "spam"], multi_label=False, full_tier="contrastive") is None


def test_multi_label_texts_pair_up_on_any_shared_label():
    assert why_not_tunable([("a", "b"), ("b",)], multi_label=True, full_tier="contrastive") is None
    assert why_not_tunable([("a",), ("b",)], multi_label=True, full_tier="contrastive") is not None


def test_the_plain_tier_needs_no_pair():
    assert why_not_tunable(["spam", "ham"], multi_label=False, full_tier="plain") is None


def test_an_unknown_tier_is_refused():
    with pytest.raises(ModelError, match="unknown full tier"):
        why_not_tunable(["spam"], multi_label=False, full_tier="setfit")


def test_asking_the_plain_tier_for_bf16_says_it_trains_in_fp32(monkeypatch, caplog):
    from textal.models import precision_runtime, transformer
    from textal.training.full_tier import tune_encoder

    monkeypatch.setattr(transformer, "fine_tune", lambda *args, **kwargs: "tuned")
    precision_runtime.say_once.cache_clear()
    with caplog.at_level("WARNING", logger="textal"):
        assert tune_encoder(["a", "b"], ["x", "y"], ["x", "y"], False, full_tier="plain", precision="bf16") == "tuned"
    assert "plain fine-tune trains in fp32" in caplog.text
