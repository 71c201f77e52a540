"""Load texts and labels from CSV, TSV, JSONL, Parquet or a saved Hugging Face dataset into a Corpus.

Every error names the file, the row and the problem, so a user can fix their data without a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from textal.data.input_files import (
    HeldRows,
    InputLimits,
    check_input_path,
    guess_format,
    input_limits,
    open_records,
)  # noqa: F401
from textal.errors import DataError

LABEL_COLUMN_GUESSES = ("label", "labels", "category", "class", "intent", "target")
TEXT_COLUMN_GUESSES = ("text", "sentence", "content", "message", "body")

Label = str | tuple[str, ...]


@dataclass(frozen=True)
class Corpus:
    """Texts with (optional) gold labels, as read from one source.

    ``labels`` holds one string per text (single-label) or a tuple of strings (multi-label), or is
    None for an unlabelled pool. ``rows`` are the 1-based row numbers in the source, kept through
    de-duplication so that any later message can point back at the file.
    """

    texts: list[str]
    labels: list[Label] | None
    label_set: tuple[str, ...]
    multi_label: bool
    source: str
    rows: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def labelled(self) -> bool:
        return self.labels is not None

    def subset(self, indices: Iterable[int]) -> Corpus:
        """The rows at ``indices``, in that order, with the same label set."""
        idx = list(indices)
        return Corpus(
            texts=[self.texts[i] for i in idx],
            labels=None if self.labels is None else [self.labels[i] for i in idx],
            label_set=self.label_set,
            multi_label=self.multi_label,
            source=self.source,
            rows=[self.rows[i] for i in idx] if self.rows else [],
        )

    def fingerprint(self) -> str:
        """A short content hash of texts and labels: two corpora with equal data share it."""
        h = hashlib.sha256()
        for i, text in enumerate(self.texts):
            h.update(text.encode("utf-8"))
            h.update(b"\x1f")
            if self.labels is not None:
                lab = self.labels[i]
                h.update(("\x1e".join(lab) if isinstance(lab, tuple) else lab).encode("utf-8"))
            h.update(b"\x1d")
        return h.hexdigest()[:16]


def normalise_text(text: str) -> str:
    """The form under which two texts count as near-duplicates.

    Case-folded, accents stripped, every run of digits made one ``0``, punctuation dropped and
    whitespace collapsed: "Call 0800 123 NOW!!" and "call 0800-124 now" normalise alike.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    no_marks = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    no_digits = re.sub(r"\d+", "0", no_marks)
    words = re.sub(r"[^\w]+", " ", no_digits)
    return re.sub(r"0( 0)+", "0", " ".join(words.split()))


def duplicate_groups(texts: Sequence[str], near: bool = True) -> list[int]:
    """For each text, the index of the first text it duplicates (itself when it is the first)."""
    first: dict[str, int] = {}
    out = []
    for i, text in enumerate(texts):
        key = normalise_text(text) if near else text
        out.append(first.setdefault(key, i))
    return out


def checked_input(path: Path, fmt: str | None) -> tuple[str, InputLimits]:
    """The input's format and the limits it is read under, once the path is known to be a readable file within them."""
    limits = input_limits()
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    kind = fmt or guess_format(path)
    check_input_path(path, kind, limits)
    return kind, limits


def load_corpus(
    path: str | Path,
    text_col: str | None = None,
    label_col: str | None = None,
    *,
    require_labels: bool = True,
    with_labels: bool = True,
    label_set: Sequence[str] | None = None,
    multi_label: bool = False,
    label_sep: str = "|",
    dedupe: str = "none",
    split: str | None = None,
    fmt: str | None = None,
) -> Corpus:
    """Read ``path`` into a Corpus.

    ``text_col``/``label_col`` default to the first of the usual names found (text, label,
    category, ...). With ``require_labels=False`` a file without a label column is an unlabelled
    pool; with ``with_labels=False`` labels are not read at all. ``label_set`` rejects any other label.
    ``multi_label`` splits labels on ``label_sep`` (or takes JSON lists as they are). ``dedupe`` is ``none``,
    ``exact`` or ``near``.

    Input is bounded (:func:`input_limits`): ``path`` must be a regular file (a folder for a saved
    Hugging Face dataset) of at most ``TEXTAL_MAX_INPUT_MB``, every text at most
    ``TEXTAL_MAX_INPUT_TEXT_CHARS`` characters; text formats are streamed a line at a time.
    """
    path = Path(path)
    if dedupe not in ("none", "exact", "near"):
        raise DataError(f"dedupe must be 'none', 'exact' or 'near', not {dedupe!r}")
    kind, limits = checked_input(path, fmt)

    texts: list[str] = []
    labels: list[Label] = []
    rows: list[int] = []
    with contextlib.ExitStack() as stack:
        columns, records = open_records(path, kind, split, limits, stack)
        text_col = _choose_column(path, columns, text_col, TEXT_COLUMN_GUESSES, "text", required=True)
        label_col = (
            _choose_column(path, columns, label_col, LABEL_COLUMN_GUESSES, "label", required=require_labels)
            if with_labels
            else None
        )
        allowed = set(label_set) if label_set is not None else None
        held = HeldRows(path, limits)  # every row is kept: their memory is bounded, not only the file's bytes
        for row, record in records:
            texts.append(_clean_text(path, row, text_col, record.get(text_col), limits.max_text_chars))
            if label_col is not None:
                labels.append(
                    _clean_label(path, row, label_col, record.get(label_col), multi_label, label_sep, allowed)
                )
            held.add(row, texts[-1], labels[-1] if label_col is not None else None)
            rows.append(row)
    if not texts:
        raise DataError(f"{path}: holds no rows")

    if label_set is not None:
        final_labels = tuple(label_set)
    elif label_col is not None:
        seen = {lab for item in labels for lab in (item if isinstance(item, tuple) else (item,))}
        final_labels = tuple(sorted(seen))
    else:
        final_labels = ()
    corpus = Corpus(
        texts=texts,
        labels=labels if label_col is not None else None,
        label_set=final_labels,
        multi_label=multi_label,
        source=str(path),
        rows=rows,
    )
    if dedupe != "none":
        groups = duplicate_groups(texts, near=dedupe == "near")
        corpus = corpus.subset(i for i, g in enumerate(groups) if g == i)
    return corpus


# Texts a streaming reader hands on at a time (`textal score`): memory is bounded by this many.
DEFAULT_CHUNK = 8192


def text_chunks(
    path: str | Path,
    text_col: str | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    *,
    split: str | None = None,
    fmt: str | None = None,
) -> Iterator[tuple[list[int], list[str]]]:
    """The texts of ``path`` as (rows, texts) chunks of at most ``chunk_size``, read as they are needed.

    The same checks and limits as :func:`load_corpus`, without holding the file in memory: for pools
    larger than memory (``textal score``). A file of no rows is a DataError once read through.
    """
    path = Path(path)
    if chunk_size < 1:
        raise DataError(f"chunk size must be 1 or more, not {chunk_size}")
    kind, limits = checked_input(path, fmt)
    seen = 0
    with contextlib.ExitStack() as stack:
        columns, records = open_records(path, kind, split, limits, stack)
        text_col = _choose_column(path, columns, text_col, TEXT_COLUMN_GUESSES, "text", required=True)
        rows: list[int] = []
        texts: list[str] = []
        for row, record in records:
            texts.append(_clean_text(path, row, text_col, record.get(text_col), limits.max_text_chars))
            rows.append(row)
            if len(texts) == chunk_size:
                seen += len(texts)
                yield rows, texts
                rows, texts = [], []
        if texts:
            seen += len(texts)
            yield rows, texts
    if not seen:
        raise DataError(f"{path}: holds no rows")


@overload
def _choose_column(
    path: Path, columns: list[str], asked: str | None, guesses: Sequence[str], what: str, required: Literal[True]
) -> str: ...


@overload
def _choose_column(
    path: Path, columns: list[str], asked: str | None, guesses: Sequence[str], what: str, required: bool
) -> str | None: ...


def _choose_column(
    path: Path, columns: list[str], asked: str | None, guesses: Sequence[str], what: str, required: bool
) -> str | None:
    if asked is not None:
        if asked not in columns:
            raise DataError(f"{path}: no column {asked!r} (columns: {_column_names(columns) or 'none'})")
        return asked
    for guess in guesses:
        if guess in columns:
            return guess
    if required:
        raise DataError(
            f"{path}: no {what} column found among {_column_names(columns) or 'no columns'}; name it with --{what}-col"
        )
    return None


def _column_names(columns: Sequence[str], most: int = 20, width: int = 40) -> str:
    """Column names for a one-line message: odd ones (line breaks, blanks) quoted, long ones cut."""
    shown = []
    for name in columns[:most]:
        text = name if name and name.isprintable() and name.strip() == name and ", " not in name else repr(name)
        shown.append(text if len(text) <= width else text[: width - 3] + "...")
    if len(columns) > most:
        shown.append(f"... ({len(columns)} in all)")
    return ", ".join(shown)


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _clean_text(path: Path, row: int, col: str, value: Any, max_chars: int) -> str:
    if value is None:
        raise DataError(f"{path}: row {row}: column {col!r} is missing or null")
    if not isinstance(value, str):
        raise DataError(f"{path}: row {row}: column {col!r} holds a {type(value).__name__}, not text")
    if len(value) > max_chars:
        raise DataError(
            f"{path}: row {row}: text of {len(value)} characters is longer than the limit {max_chars} "
            "(TEXTAL_MAX_INPUT_TEXT_CHARS)"
        )
    if not value.strip():
        raise DataError(f"{path}: row {row}: column {col!r} is empty")
    _refuse_surrogates(path, row, f"column {col!r}", value)
    return value


def _refuse_surrogates(path: Path, row: int, what: str, value: str) -> None:
    # JSON can spell a lone surrogate ("\ud800"): not Unicode text, and it breaks every encoder later on.
    bad = None if value.isascii() else _SURROGATE.search(value)
    if bad:
        raise DataError(f"{path}: row {row}: {what} holds a lone surrogate ({bad.group()!r}), which is not valid text")


def _clean_label(
    path: Path, row: int, col: str, value: Any, multi_label: bool, sep: str, allowed: set[str] | None
) -> Label:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise DataError(f"{path}: row {row}: label column {col!r} is empty")
    if multi_label:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(sep)]
        elif isinstance(value, (list, tuple)):
            parts = [str(p).strip() for p in value]
        else:
            raise DataError(f"{path}: row {row}: label column {col!r} holds a {type(value).__name__}")
        parts = [p for p in parts if p]
        if not parts:
            raise DataError(f"{path}: row {row}: label column {col!r} names no label")
        label: Label = tuple(sorted(set(parts)))
        names = label
    else:
        if isinstance(value, (list, tuple, dict)):
            raise DataError(f"{path}: row {row}: label column {col!r} holds several values; pass --multi-label")
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        label = str(value).strip()
        names = (label,)
    for name in names:
        if not name.isascii():
            _refuse_surrogates(path, row, f"label column {col!r}", name)
    if allowed is not None:
        for name in names:
            if name not in allowed:
                raise DataError(
                    f"{path}: row {row}: label {name!r} is not in the label set ({', '.join(sorted(allowed))})"
                )
    return label
