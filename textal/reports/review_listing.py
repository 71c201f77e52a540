"""What ``textal review`` writes and prints: every labelled row, the likeliest mistakes first."""

from __future__ import annotations

import csv
from pathlib import Path

from rich.console import Console
from rich.table import Table

from textal.data.corpus import Corpus
from textal.quality.label_review import LabelReview

REVIEW_COLUMNS = (
    "rank",
    "row",
    "text",
    "label",
    "suggested_label",
    "suggested_probability",
    "label_quality",
    "flagged",
)


def _names(value, classes: list[str]) -> str:
    """A suggested label as text: a class name, or multi-label names joined with '|'."""
    if getattr(value, "ndim", 0) == 1:
        return "|".join(classes[j] for j in value.nonzero()[0])
    return classes[int(value)]


def _label(value) -> str:
    return "|".join(value) if isinstance(value, tuple) else str(value)


def rows(corpus: Corpus, classes: list[str], review: LabelReview):
    """(rank, source row, text, label, suggested, probability, quality, flagged) in review order."""
    labels = corpus.labels
    assert labels is not None  # a review is of a labelled corpus
    for rank, i in enumerate(review.order, start=1):
        yield (
            rank,
            corpus.rows[i] if corpus.rows else i + 1,
            corpus.texts[i],
            _label(labels[i]),
            _names(review.suggested[i], classes),
            round(float(review.suggested_proba[i]), 4),
            round(float(review.quality[i]), 4),
            bool(review.flagged[i]),
        )


def write_review(path: Path, corpus: Corpus, classes: list[str], review: LabelReview) -> None:
    """The ranked CSV (written whole to a temporary name, then moved into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(REVIEW_COLUMNS)
        writer.writerows(rows(corpus, classes, review))
    partial.replace(path)


def print_review(console: Console, corpus: Corpus, classes: list[str], review: LabelReview, top_k: int) -> None:
    """How many labels look wrong, and the first ``top_k`` of them."""
    flagged = int(review.flagged.sum())
    console.print(f"{flagged} of {len(corpus)} labels look wrong ({100 * flagged / max(1, len(corpus)):.1f} %).")
    if not flagged or top_k <= 0:
        return
    table = Table(title=f"The {min(top_k, flagged)} likeliest mistakes")
    for col in ("row", "text", "label", "suggested", "p", "quality"):
        table.add_column(col, overflow="fold")
    for rank, row, text, label, suggested, p, quality, is_flagged in rows(corpus, classes, review):
        if rank > top_k or not is_flagged:
            break
        table.add_row(
            str(row), text if len(text) <= 80 else text[:77] + "...", label, suggested, f"{p:.2f}", f"{quality:.2f}"
        )
    console.print(table)
