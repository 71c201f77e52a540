"""Label Studio tasks -> prediction results: read each task's text, predict in batches, score, cluster.

One result per task, in the request's order (Label Studio matches them by position). A task that
cannot be read (no text under the config's key, empty or non-string text, text over the length
limit) gets an empty ``result``, score 1.0 (last in Label Studio's order) and a ``skipped`` reason
instead of failing the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml_backend.labelconfig import TaskSchema
from ml_backend.scoring import Scorer, ls_score
from ml_backend.serving import NO_MODEL_VERSION, LoadedModel

log = logging.getLogger("ml_backend.predict")

DEFAULT_THRESHOLD = 0.5


@dataclass(frozen=True)
class TaskText:
    """A task's text, or why it has none."""

    text: str | None
    skipped: str | None = None


def task_text(task: dict[str, Any], schema: TaskSchema, max_chars: int) -> TaskText:
    """The text textal classifies for ``task``, or the reason it cannot."""
    data = task.get("data")
    if not isinstance(data, dict):
        return TaskText(None, "task has no 'data' object")
    if schema.text_key not in data:
        keys = ", ".join(sorted(map(str, data))) or "none"
        return TaskText(None, f"task data has no {schema.text_key!r} key (the config reads ${schema.text_key}; keys: {keys})")
    text = data[schema.text_key]
    if not isinstance(text, str):
        return TaskText(None, f"task data {schema.text_key!r} is {type(text).__name__}, not text")
    if not text.strip():
        return TaskText(None, f"task data {schema.text_key!r} is empty")
    if len(text) > max_chars:
        return TaskText(None, f"text has {len(text)} characters; the limit is {max_chars} (TEXTAL_MAX_TEXT_CHARS)")
    return TaskText(text)


def skipped_result(version: str, reason: str) -> dict[str, Any]:
    """The prediction of a task textal cannot read: no choice, score 1.0 so it sorts after every real one.

    (Label Studio orders a missing score differently on SQLite and PostgreSQL; 1.0 is last on both.)
    """
    return {"result": [], "score": 1.0, "model_version": version, "skipped": reason}


def no_model_results(n: int, reason: str) -> list[dict[str, Any]]:
    """An empty prediction per task when no model is published yet."""
    return [{"result": [], "model_version": NO_MODEL_VERSION, "skipped": reason} for _ in range(n)]


def _proba_and_embeddings(loaded: LoadedModel, texts: list[str], want_embeddings: bool, batch_size: int):
    """Probabilities (and embeddings) in batches; one encoder pass when the model offers it."""
    model = loaded.model
    probas, embeds = [], []
    from_embeddings = getattr(model, "predict_proba_embeddings", None)  # embed-head: head over the encoder's output
    # chunks of similar length: little padding for transformer models, and each chunk holds the model briefly
    order = np.argsort([len(t) for t in texts], kind="stable")
    ordered = [texts[i] for i in order]
    for start in range(0, len(ordered), batch_size):
        chunk = ordered[start : start + batch_size]
        with loaded.lock:
            if want_embeddings and callable(from_embeddings):
                emb = model.embed(chunk)
                proba = from_embeddings(emb)
            else:
                proba = model.predict_proba(chunk)
                emb = model.embed(chunk) if want_embeddings else None
        probas.append(np.asarray(proba, dtype=np.float64))
        if emb is not None:
            embeds.append(np.asarray(emb, dtype=np.float32))
    restore = np.empty_like(order)
    restore[order] = np.arange(len(order))
    proba = np.concatenate(probas)[restore] if probas else np.zeros((0, len(model.labels_)))
    emb = np.concatenate(embeds)[restore] if embeds else None
    return proba, emb


def predict_tasks(
    tasks: Sequence[dict[str, Any]],
    schema: TaskSchema,
    loaded: LoadedModel,
    scorer: Scorer,
    *,
    max_chars: int,
    batch_size: int = 32,
) -> list[dict[str, Any]]:
    """One Label Studio prediction per task, same order as ``tasks``."""
    version = loaded.model_version
    results: list[dict[str, Any]] = [{} for _ in tasks]
    texts: list[str] = []
    rows: list[int] = []
    for i, task in enumerate(tasks):
        read = task_text(task, schema, max_chars)
        if read.text is None:
            results[i] = skipped_result(version, read.skipped)
        else:
            texts.append(read.text)
            rows.append(i)
    skipped = len(tasks) - len(rows)
    if skipped:
        log.info("skipped %d of %d tasks (first reason: %s)", skipped, len(tasks), next(r["skipped"] for r in results if r))

    model_labels = loaded.labels
    wanted = set(schema.labels)
    columns = [j for j, label in enumerate(model_labels) if label in wanted]
    if not columns:
        reason = f"the model's labels {model_labels} are none of the config's choices {list(schema.labels)}"
        log.warning("%s: %s", version, reason)
        for i in rows:
            results[i] = skipped_result(version, reason)
        return results
    if not rows:
        return results

    proba, emb = _proba_and_embeddings(loaded, texts, True, batch_size)
    labels = [model_labels[j] for j in columns]
    multi = loaded.multi_label
    proba = proba[:, columns]
    if not multi and len(columns) < len(model_labels):  # the config dropped labels: renormalise over the rest
        proba = proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)

    informativeness = scorer.informativeness(proba, multi, embeddings=emb, texts=texts)
    scores = ls_score(informativeness)
    clusters = loaded.clusters.assign(emb)
    for row, i in enumerate(rows):
        p = proba[row]
        if multi:
            chosen = [lab for lab, q in zip(labels, p) if q >= loaded.thresholds.get(lab, DEFAULT_THRESHOLD)]
        else:
            chosen = [labels[int(p.argmax())]]
        results[i] = {
            "result": [schema.choices_result(chosen)] if chosen else [],
            "score": float(scores[row]),
            "model_version": version,
            "cluster": int(clusters[row]),
        }
    return results
