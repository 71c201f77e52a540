"""The full tier's one entry point: tune the transformer on every label, the way ``full_tier`` names, into an encoder
folder the fast tier reads (``textal.models.encoder.Encoder``). The worker and the two-tier simulation both call it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from textal.errors import ModelError
from textal.models.classifier import Labels
from textal.models.fine_tune_schedule import (
    DEFAULT_FULL_EPOCHS,
    DEFAULT_FULL_MIN_STEPS,
    DEFAULT_FULL_TIER,
    FULL_TIERS,
)
from textal.models.precision import DEFAULT_PRECISION


class TunedEncoder(Protocol):
    """What a full tier returns: a model whose ``save`` writes an encoder folder."""

    def save(self, path: str | Path) -> None: ...


def check_full_tier(name: str) -> str:
    """``name`` if it is a full tier, else a ModelError listing them."""
    if name not in FULL_TIERS:
        raise ModelError(f"unknown full tier {name!r}: choose {' or '.join(FULL_TIERS)}")
    return name


def why_not_tunable(labels: Labels, multi_label: bool, full_tier: str = DEFAULT_FULL_TIER) -> str | None:
    """Why ``full_tier`` cannot tune on these labels yet (so a worker waits for more instead of failing), or None."""
    if check_full_tier(full_tier) != "contrastive":
        return None
    counts = Counter(lab for label in labels for lab in (label if multi_label else [label]))
    if any(n >= 2 for n in counts.values()):
        return None
    return f"the contrastive full tier needs two texts sharing a label; no label of the {len(labels)} has two yet"


def tune_encoder(
    texts: Sequence[str],
    labels: Labels,
    classes: Sequence[str],
    multi_label: bool,
    *,
    full_tier: str = DEFAULT_FULL_TIER,
    encoder: str = "default",
    epochs: int = DEFAULT_FULL_EPOCHS,
    min_steps: int = DEFAULT_FULL_MIN_STEPS,
    seed: int = 0,
    precision: str = DEFAULT_PRECISION,
) -> TunedEncoder:
    """``encoder`` tuned on ``texts``/``labels`` by ``full_tier``; ``epochs``/``min_steps`` size the plain one, which
    trains in fp32 whatever ``precision`` says (the contrastive one runs its forward passes in it)."""
    if check_full_tier(full_tier) == "plain":
        from textal.models.precision_runtime import say_once
        from textal.models.transformer import fine_tune

        if precision == "bf16":
            say_once("the plain fine-tune trains in fp32 (bf16 tuning is the contrastive full tier's)")

        return fine_tune(
            texts, labels, classes, multi_label, encoder=encoder, epochs=epochs, min_steps=min_steps, seed=seed
        )
    from textal.models.contrastive_tuning import ContrastiveEncoder

    model = ContrastiveEncoder(
        classes=list(classes), multi_label=multi_label, model=encoder, seed=seed, precision=precision
    )
    return model.fit(list(texts), list(labels))


def tuning_summary(model: Any) -> dict[str, Any]:
    """What a results file or log records of a tuning: steps done and why it stopped early, where it says."""
    return {
        key: getattr(model, attr)
        for key, attr in (("steps", "steps_done_"), ("stopped", "stopped_"), ("precision", "precision_"))
        if getattr(model, attr, None) is not None
    }
