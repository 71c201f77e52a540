"""A simulation's ``--model`` name -> its learner: the one factory over ``learners`` and ``two_tier``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from textal.errors import TextalError
from textal.loop.learners import ClassifierLearner, EmbedHeadLearner, Learner
from textal.loop.mixed_committee import MixedCommitteeLearner
from textal.loop.two_tier import TwoTierLearner
from textal.models.class_weights import DEFAULT_CLASS_WEIGHT, class_weight_param
from textal.models.fine_tune_schedule import DEFAULT_FULL_EVERY, DEFAULT_FULL_TIER, FULL_TIERS
from textal.models.precision import DEFAULT_PRECISION, check_precision
from textal.runtime.settings import cache_dir as default_cache_dir


def check_full_every(model: str, full_every: int | None, full_tier: str | None = None) -> None:
    """Refuse ``--full-every`` below 1, a ``--full-tier`` that is none, and either for a model without a full tier."""
    if full_every is not None and (model != "two-tier" or full_every < 1):
        raise TextalError("--full-every applies to --model two-tier and must be at least 1")
    if full_tier is not None and (model != "two-tier" or full_tier not in FULL_TIERS):
        raise TextalError(f"--full-tier applies to --model two-tier and must be {' or '.join(FULL_TIERS)}")


COMMITTEES = ("bootstrap", "mc-dropout", "mixed")
_OWN_COMMITTEE = {"bootstrap": ("embed-head", "two-tier"), "mc-dropout": ("transformer",)}


def check_committee(model: str, committee: str | None) -> None:
    """Refuse a ``--committee`` the model cannot have: bootstrap heads need embeddings (embed-head, two-tier),
    MC-dropout a transformer; a mixed committee goes with any model."""
    if committee is None or committee == "mixed":
        return
    if committee not in COMMITTEES:
        raise TextalError(f"unknown committee {committee!r}; choose one of {', '.join(COMMITTEES)}")
    if model not in _OWN_COMMITTEE[committee]:
        raise TextalError(
            f"--committee {committee} needs --model {' or '.join(_OWN_COMMITTEE[committee])}, not {model}"
        )


def make_learner(
    model: str,
    pool_texts: Sequence[str],
    test_texts: Sequence[str],
    labels: Sequence[str],
    multi_label: bool = False,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    encoder: str = "default",
    class_weight: str | None = None,
    full_every: int | None = None,
    committee: str | None = None,
    full_tier: str | None = None,
    precision: str | None = None,
) -> Learner:
    """The learner for a simulation's ``--model``: embed-head (default), two-tier, linear, spacy or transformer.
    ``class_weight`` (``balanced``, ``none``) applies to the logistic heads; None: the live loop's default.
    ``full_every``, ``full_tier``: labels between the two-tier loop's full tiers, and which (the worker's defaults when
    None). ``precision``: the transformer's number format (``textal.models.precision``; None: auto).
    ``committee``: the query-by-committee votes (``COMMITTEES``); None: the model's own."""
    check_committee(model, committee)
    learner = _learner(
        model,
        pool_texts,
        test_texts,
        labels,
        multi_label,
        seed,
        cache_dir,
        encoder,
        class_weight,
        full_every,
        full_tier,
        precision,
    )
    return MixedCommitteeLearner(learner, pool_texts) if committee == "mixed" else learner


def _learner(
    model: str,
    pool_texts: Sequence[str],
    test_texts: Sequence[str],
    labels: Sequence[str],
    multi_label: bool,
    seed: int,
    cache_dir: str | Path | None,
    encoder: str,
    class_weight: str | None,
    full_every: int | None,
    full_tier: str | None = None,
    precision: str | None = None,
) -> Learner:
    weights = DEFAULT_CLASS_WEIGHT if class_weight is None else class_weight
    class_weight_param(weights)  # a bad name fails before any text is embedded
    if model in ("spacy", "transformer") and class_weight not in (None, "none"):
        raise TextalError(f"--class-weight applies to embed-head and linear, not {model}")
    check_full_every(model, full_every, full_tier)
    if precision is not None and check_precision(precision) and model in ("linear", "spacy"):
        raise TextalError(f"--precision applies to embed-head, two-tier and transformer, not {model}")
    precision = precision or DEFAULT_PRECISION
    if model in ("embed-head", "two-tier"):
        from textal.models.encoder import Encoder

        enc = Encoder(
            model=encoder, cache_dir=cache_dir if cache_dir is not None else default_cache_dir(), precision=precision
        )
        X_pool, X_test = enc.encode(pool_texts), enc.encode(test_texts)
        if model == "embed-head":
            return EmbedHeadLearner(
                X_pool, X_test, labels, multi_label, seed=seed, encoder=encoder, class_weight=weights
            )
        return TwoTierLearner(
            pool_texts,
            test_texts,
            X_pool,
            X_test,
            labels,
            multi_label,
            seed=seed,
            encoder=encoder,
            class_weight=weights,
            full_every=full_every or DEFAULT_FULL_EVERY,
            full_tier=full_tier or DEFAULT_FULL_TIER,
        )
    if model in ("linear", "spacy", "transformer"):
        params: dict[str, Any] = (
            {"random_state": seed, "class_weight": class_weight_param(weights)} if model == "linear" else {"seed": seed}
        )
        if model == "transformer":
            params["model"], params["precision"] = encoder, precision
        return ClassifierLearner(model, pool_texts, test_texts, labels, multi_label, params=params)
    raise TextalError(f"unknown simulation model {model!r}; choose embed-head, two-tier, linear, spacy or transformer")
