"""Label Studio tasks -> scored rows with one loaded model: read each task's text, predict in batches, score, cluster.

Used by /predict and by the worker for tasks a base-store model scores, so both give the same row
for the same task and version. One row per task, in the tasks' order. A task that cannot be read
(no text under the config's key, empty or non-string text, text over the length limit) gets no
choice, the ``UNREADABLE`` score and a ``skipped`` reason instead of failing the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_backend.config import PREFILL_MARGIN
from ml_backend.labelstudio.predictions import Row
from ml_backend.labelstudio.schema import TaskSchema
from ml_backend.labelstudio.tasks import is_eval, task_text
from ml_backend.scoring.loaded import LoadedModel
from ml_backend.scoring.ls_score import UNREADABLE, ScoreScale, guesses
from textal.ranking.scale import Scorer
from textal.runtime import logs

log = logging.getLogger("ml_backend.scoring")


def _few(items: Sequence[str], shown: int = 5) -> str:
    """At most ``shown`` items and how many more: a reason never grows with the label set."""
    head = ", ".join(str(x)[:40] for x in list(items)[:shown])
    return head + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _task_id(task: dict[str, Any]) -> int | None:
    tid = task.get("id")
    return tid if isinstance(tid, int) and not isinstance(tid, bool) else None


def unknown_labels(model_labels: Sequence[str], config_labels: Sequence[str]) -> list[str]:
    """The config's labels the model never learned (compared exactly: a look-alike is another label)."""
    known = set(model_labels)
    return [label for label in config_labels if label not in known]


class Abandoned(Exception):
    """The caller gave up (its client left): the rest of the batches are not computed."""


def _proba_and_embeddings(
    loaded: LoadedModel, texts: list[str], batch_size: int, cancelled: Callable[[], bool] = lambda: False
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities and embeddings in batches of similar length; one encoder pass when the model offers it."""
    model = loaded.model
    probas, embeds = [], []
    from_embeddings = getattr(model, "predict_proba_embeddings", None)  # embed-head: head over the encoder's output
    # chunks of similar length: little padding for transformer models, and each chunk holds the model briefly
    order = np.argsort([len(t) for t in texts], kind="stable")
    ordered = [texts[i] for i in order]
    for start in range(0, len(ordered), batch_size):
        if cancelled():
            raise Abandoned(f"abandoned after {start} of {len(ordered)} texts")
        chunk = ordered[start : start + batch_size]
        with loaded.lock:
            emb = model.embed(chunk)
            proba = from_embeddings(emb) if callable(from_embeddings) else model.predict_proba(chunk)
        probas.append(np.asarray(proba, dtype=np.float64))
        embeds.append(np.asarray(emb, dtype=np.float32))
    restore = np.empty_like(order)
    restore[order] = np.arange(len(order))
    return np.concatenate(probas)[restore], np.concatenate(embeds)[restore]


@dataclass
class Predicted:
    """One scored row per task, and for the tasks that have a text (``readable``: their indices) the
    probabilities (in the model's label order, restricted to the config's choices; all of the model's, and no
    choice guessed, when the config holds labels the model never learned) and embeddings."""

    rows: list[Row]
    readable: list[int]
    proba: np.ndarray
    embeddings: np.ndarray | None


def predict(
    tasks: Sequence[dict[str, Any]],
    schema: TaskSchema,
    loaded: LoadedModel,
    scorer: Scorer,
    *,
    max_chars: int,
    batch_size: int = 32,
    scale: ScoreScale | None = None,
    prefill_margin: float = PREFILL_MARGIN,
    cancelled: Callable[[], bool] = lambda: False,
) -> Predicted:
    """One scored row per task, same order as ``tasks``, scored under ``scale`` (the version's, when known), with
    the probabilities and embeddings behind them."""
    rows: list[Row | None] = [None] * len(tasks)
    texts: list[str] = []
    readable: list[int] = []
    for i, task in enumerate(tasks):
        read = task_text(task, schema, max_chars)
        if read.text is None:
            rows[i] = Row(_task_id(task), None, UNREADABLE, None, False, skipped=read.skipped)
        else:
            texts.append(read.text)
            readable.append(i)
    if len(readable) < len(tasks):
        first = next(r.skipped for r in rows if r is not None)
        # clipped and rate-limited: a client sends as many unreadable tasks as it likes
        logs.limited(
            log,
            logging.INFO,
            "skipped",
            "skipped %d of %d tasks (first reason: %s)",
            len(tasks) - len(readable),
            len(tasks),
            first,
        )

    model_labels = loaded.labels
    wanted = set(schema.labels)
    columns = [j for j, label in enumerate(model_labels) if label in wanted]
    if not columns or not readable:
        if not columns:
            reason = (
                f"the model's labels ({_few(model_labels)}) are none of the config's choices ({_few(schema.labels)})"
            )
            logs.once(
                log,
                logging.WARNING,
                ("no shared label", loaded.model_version, hash(tuple(schema.labels))),
                "%s: %s",
                loaded.model_version,
                reason,
            )
            for i in readable:
                rows[i] = Row(_task_id(tasks[i]), None, UNREADABLE, None, False, skipped=reason)
        return Predicted([r for r in rows if r is not None], [], np.zeros((0, len(columns))), None)

    proba, emb = _proba_and_embeddings(loaded, texts, batch_size, cancelled)
    multi = loaded.multi_label
    unknown = unknown_labels(model_labels, schema.labels)
    if unknown:
        # The model never learned some of the project's labels: its probabilities say nothing of them, and
        # renormalised over the shared ones they would claim certainty (one shared label: 1.0 on every task).
        # Order by the model's own uncertainty over what it learned, but guess nothing.
        logs.once(
            log,
            logging.WARNING,
            ("unknown labels", loaded.model_version, hash(tuple(schema.labels))),
            "%s: no choice is pre-filled: the project's labels %s are not among the model's (%s); a model "
            "cannot be sure of labels it never learned",
            loaded.model_version,
            _few([ascii(x) for x in unknown]),
            _few([ascii(x) for x in model_labels]),
        )
        labels = list(model_labels)
    else:
        labels = [model_labels[j] for j in columns]
        proba = proba[:, columns]
        if not multi and len(columns) < len(model_labels):  # the config dropped labels: renormalise over the rest
            proba = proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)
    held_out = np.array([is_eval(tasks[i].get("data") or {}) for i in readable], dtype=bool)
    informativeness = scorer.informativeness(proba, multi, embeddings=emb, texts=texts)
    scores = (scale or ScoreScale()).scores(informativeness)
    clusters = loaded.clusters.assign(emb)
    guessed = (
        [([], None)] * len(readable) if unknown else guesses(proba, labels, multi, loaded.thresholds, prefill_margin)
    )
    for row, i in enumerate(readable):
        choices, sure = guessed[row]
        rows[i] = Row(
            _task_id(tasks[i]),
            None if unknown else choices,
            float(scores[row]),
            int(clusters[row]),
            bool(held_out[row]),
            informativeness=float(informativeness[row]),
            confidence=sure,
        )
    return Predicted([r for r in rows if r is not None], readable, proba, emb)
