"""Train a classifier on a corpus, measure it on held-out data, publish it with its card."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textal.data.corpus import Corpus
from textal.errors import DataError
from textal.models.classifier import Classifier
from textal.models.metrics import evaluate
from textal.models.validation import split_validation
from textal.store.model_store import ModelStore
from textal.store.training_rows import save_training_rows


@dataclass
class TrainReport:
    """What a training run produced: the published version and its figures."""

    version: str
    metrics: dict[str, float] | None
    train_size: int
    eval_size: int
    eval_source: str | None
    seconds: float


def holdout_split(corpus: Corpus, fraction: float, seed: int) -> tuple[Corpus, Corpus | None]:
    """Split a stratified evaluation slice off ``corpus``; (corpus, None) when fraction is 0."""
    if fraction <= 0:
        return corpus, None
    labels = corpus.labels
    assert labels is not None  # a corpus to train on is read with its labels
    if corpus.multi_label:
        encoded = np.array([corpus.label_set.index(lab[0]) for lab in labels])
    else:
        encoded = np.array([corpus.label_set.index(lab) for lab in labels])
    train_idx, eval_idx = split_validation(encoded, fraction, seed)
    if len(eval_idx) == 0:
        return corpus, None
    return corpus.subset(np.sort(train_idx)), corpus.subset(eval_idx)


def check_trainable(train: Corpus) -> None:
    """Raise DataError unless the labels of ``train`` give a classifier something to learn.

    Single-label: at least two distinct labels. Multi-label: at least two distinct label sets, i.e.
    some label on some texts and not on others (a label on every text or on none is fine as long as
    another one varies). Otherwise the model would give every text the same answer.
    """
    if train.labels is None:
        raise DataError(f"{train.source}: no labels to train on")
    distinct = set(train.labels)
    if len(distinct) >= 2:
        return
    only = next(iter(distinct), None)
    if train.multi_label and isinstance(only, tuple):
        raise DataError(
            f"{train.source}: all {len(train)} training texts have the same labels {'|'.join(only)!r}; "
            "at least two different label sets are needed"
        )
    raise DataError(f"{train.source}: all {len(train)} training labels are {only!r}; at least two labels are needed")


def train_and_publish(
    model: Classifier,
    train: Corpus,
    store: ModelStore,
    evaluation: Corpus | None = None,
    card: dict[str, Any] | None = None,
    keep_rows: bool = True,
) -> TrainReport:
    """Fit ``model`` on ``train``, score it on ``evaluation`` (never trained on), publish it.

    With ``keep_rows`` the version keeps its training texts and labels (``textal.store.training_rows``), so that
    a live project using it as its base model learns from them too. Training labels that teach nothing (see
    :func:`check_trainable`) are a DataError: nothing is published.
    """
    check_trainable(train)
    labels = train.labels
    assert labels is not None  # check_trainable refuses a corpus without labels
    start = time.perf_counter()
    model.fit(train.texts, labels)
    seconds = time.perf_counter() - start
    metrics = None
    if evaluation is not None:
        assert evaluation.labels is not None  # an evaluation corpus is read with its labels
        metrics = evaluate(model, evaluation.texts, evaluation.labels)
    kept: dict[str, Any] = {}

    def write(m: Classifier, path: Path) -> None:
        m.save(path)
        if keep_rows:
            kept.update(save_training_rows(path, train.texts, labels))

    version = store.publish(
        model,
        {
            "training_size": len(train),
            "data_fingerprint": train.fingerprint(),
            "data_source": train.source,
            "metrics": metrics,
            "eval_source": evaluation.source if evaluation is not None else None,
            "eval_size": len(evaluation) if evaluation is not None else 0,
            "train_seconds": round(seconds, 2),
            **(card or {}),
        },
        write=write,
    )
    if kept:
        store.update_card(version, training_rows=kept)
    return TrainReport(
        version=version,
        metrics=metrics,
        train_size=len(train),
        eval_size=len(evaluation) if evaluation is not None else 0,
        eval_source=evaluation.source if evaluation is not None else None,
        seconds=seconds,
    )
