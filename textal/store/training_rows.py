"""The texts and labels a version was trained on, kept beside it so that the next fit can build on them.

A base model published by ``textal train`` keeps its training rows (a stratified sample past
``MAX_TRAINING_ROWS``) as JSON lines; a live project's versions then learn from those rows and the
project's own labels together, instead of starting from nothing. Data only: reading it never runs code,
and every read is bounded (file size, rows, text length, label shape).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from textal.errors import StoreError
from textal.runtime.fsutil import atomic_write_text

TRAINING_ROWS_FILE = "training_rows.jsonl"
MAX_TRAINING_ROWS = 20_000  # rows kept; past it a stratified sample
MIN_ROWS_A_CLASS = 20  # a sample keeps at least this many of every class (all of a smaller one)
MAX_TEXT_CHARS = 100_000
MAX_FILE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class TrainingRows:
    """Texts with their labels (a string, or a tuple of strings for multi-label)."""

    texts: list[str]
    labels: list[Any]

    def __len__(self) -> int:
        return len(self.texts)


def sample_rows(labels: Sequence[Any], max_rows: int = MAX_TRAINING_ROWS, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_rows`` rows (about), every class in proportion and none below ``MIN_ROWS_A_CLASS``;
    all rows, in order, when they fit."""
    n = len(labels)
    if n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keys = [lab if isinstance(lab, str) else "|".join(lab) for lab in labels]
    by_class: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        by_class.setdefault(key, []).append(i)
    keep: list[int] = []
    for rows in by_class.values():
        share = max(MIN_ROWS_A_CLASS, math.floor(max_rows * len(rows) / n))
        keep.extend(rng.permutation(rows)[:share].tolist())
    return np.sort(np.asarray(keep, dtype=np.int64))


def save_training_rows(
    model_dir: str | Path, texts: Sequence[str], labels: Sequence[Any], max_rows: int = MAX_TRAINING_ROWS
) -> dict[str, Any]:
    """Write the rows (or a stratified sample) into ``model_dir``; returns what the card records of them."""
    keep = sample_rows(labels, max_rows)
    lines = []
    for i in keep:
        label = labels[i]
        lines.append(json.dumps({"text": texts[i], "label": label if isinstance(label, str) else list(label)}))
    atomic_write_text(Path(model_dir) / TRAINING_ROWS_FILE, "\n".join(lines) + ("\n" if lines else ""))
    return {"rows": len(keep), "of": len(texts), "sampled": len(keep) < len(texts)}


def load_training_rows(model_dir: str | Path, max_rows: int = MAX_TRAINING_ROWS) -> TrainingRows | None:
    """The rows kept in ``model_dir`` (None: the version kept none); a StoreError naming the file when they are
    not what ``save_training_rows`` writes or exceed its bounds."""
    path = Path(model_dir) / TRAINING_ROWS_FILE
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_FILE_BYTES:
        raise StoreError(f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; not a file textal wrote")
    texts: list[str] = []
    labels: list[Any] = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            if len(texts) >= max_rows:
                raise StoreError(f"{path}: more than {max_rows:,} rows; not a file textal wrote")
            text, label = _row(line, path, number)
            texts.append(text)
            labels.append(label)
    return TrainingRows(texts, labels)


def _row(line: str, path: Path, number: int) -> tuple[str, Any]:
    try:
        row = json.loads(line)
    except ValueError:
        raise StoreError(f"{path}: line {number} is not JSON") from None
    text = row.get("text") if isinstance(row, dict) else None
    label = row.get("label") if isinstance(row, dict) else None
    if not isinstance(text, str) or not text or len(text) > MAX_TEXT_CHARS:
        raise StoreError(f"{path}: line {number}: 'text' must be a string of 1 to {MAX_TEXT_CHARS:,} characters")
    if isinstance(label, list) and all(isinstance(x, str) for x in label):
        return text, tuple(label)
    if not isinstance(label, str):
        raise StoreError(f"{path}: line {number}: 'label' must be a string or a list of strings")
    return text, label
