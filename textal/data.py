"""Load texts and labels from CSV, TSV, JSONL, Parquet or a saved Hugging Face dataset into a Corpus.

Every error names the file, the row and the problem, so a user can fix their data without a traceback.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textal.errors import DataError

LABEL_COLUMN_GUESSES = ("label", "labels", "category", "class", "intent", "target")
TEXT_COLUMN_GUESSES = ("text", "sentence", "content", "message", "body")
FORMATS = ("csv", "tsv", "jsonl", "parquet", "hf")

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
    pool; with ``with_labels=False`` labels are not read at all. ``label_set`` rejects any other label. ``multi_label`` splits labels on ``label_sep`` (or
    takes JSON lists as they are). ``dedupe`` is ``none``, ``exact`` or ``near``.
    """
    path = Path(path)
    if dedupe not in ("none", "exact", "near"):
        raise DataError(f"dedupe must be 'none', 'exact' or 'near', not {dedupe!r}")
    if not path.exists():
        raise DataError(f"{path}: no such file or directory")
    kind = fmt or _guess_format(path)
    columns, records = _open_records(path, kind, split)

    text_col = _choose_column(path, columns, text_col, TEXT_COLUMN_GUESSES, "text", required=True)
    label_col = (
        _choose_column(path, columns, label_col, LABEL_COLUMN_GUESSES, "label", required=require_labels)
        if with_labels
        else None
    )
    allowed = set(label_set) if label_set is not None else None

    texts: list[str] = []
    labels: list[Label] = []
    rows: list[int] = []
    for row, record in records:
        texts.append(_clean_text(path, row, text_col, record.get(text_col)))
        if label_col is not None:
            labels.append(_clean_label(path, row, label_col, record.get(label_col), multi_label, label_sep, allowed))
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


def _guess_format(path: Path) -> str:
    if path.is_dir():
        return "hf"
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    mapping = {".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
    if suffix not in mapping:
        raise DataError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            "use .csv, .tsv, .jsonl, .parquet or a saved Hugging Face dataset folder"
        )
    return mapping[suffix]


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix.lower() == ".gz":
        import gzip

        data = gzip.decompress(data)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}: line {line}: bytes that are not valid UTF-8 at byte {exc.start} "
            f"({data[exc.start:exc.start + 4]!r}); re-save the file as UTF-8"
        ) from None


def _open_records(path: Path, kind: str, split: str | None) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    if kind in ("csv", "tsv"):
        return _csv_records(path, "\t" if kind == "tsv" else ",")
    if kind == "jsonl":
        return _jsonl_records(path)
    if kind == "parquet":
        return _parquet_records(path)
    if kind == "hf":
        return _hf_records(path, split)
    raise DataError(f"{path}: unknown format {kind!r}; choose one of {', '.join(FORMATS)}")


def _csv_records(path: Path, delimiter: str) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise DataError(f"{path}: line 1: {exc}") from None
    header = [h.strip() for h in header]

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise DataError(f"{path}: line {reader.line_num}: {exc}") from None
            if not values:
                continue  # a blank line
            if len(values) != len(header):
                raise DataError(
                    f"{path}: line {reader.line_num}: {len(values)} fields where the header has "
                    f"{len(header)} (an unquoted {delimiter!r} inside a text?)"
                )
            yield reader.line_num, dict(zip(header, values))

    return header, records()


def _jsonl_records(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    lines = _read_text(path).splitlines()
    parsed: list[tuple[int, dict[str, Any]]] = []
    columns: dict[str, None] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object, got {type(obj).__name__}")
        columns.update(dict.fromkeys(obj))
        parsed.append((number, obj))
    return list(columns), iter(parsed)


def _parquet_records(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DataError(f"{path}: cannot be read as Parquet ({exc})") from None
    return table.column_names, ((i + 1, rec) for i, rec in enumerate(table.to_pylist()))


def _hf_records(path: Path, split: str | None) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise DataError(f"{path}: not a saved Hugging Face dataset folder ({exc})") from None
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds)
        chosen = split or ("train" if "train" in ds else names[0] if len(names) == 1 else None)
        if chosen is None or chosen not in ds:
            raise DataError(f"{path}: choose a split with --split; this dataset has {', '.join(names)}")
        ds = ds[chosen]
    # ClassLabel columns hold integers; give back their names, as a user sees them.
    class_names = {
        name: feat.names for name, feat in ds.features.items() if isinstance(feat, datasets.ClassLabel)
    }
    seq_names = {
        name: feat.feature.names
        for name, feat in ds.features.items()
        if isinstance(feat, datasets.Sequence) and isinstance(feat.feature, datasets.ClassLabel)
    }

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        for i, rec in enumerate(ds):
            for name, names in class_names.items():
                if isinstance(rec.get(name), int) and 0 <= rec[name] < len(names):
                    rec[name] = names[rec[name]]
            for name, names in seq_names.items():
                if isinstance(rec.get(name), list):
                    rec[name] = [names[v] if isinstance(v, int) and 0 <= v < len(names) else v for v in rec[name]]
            yield i + 1, rec

    return list(ds.column_names), records()


def _choose_column(
    path: Path, columns: list[str], asked: str | None, guesses: Sequence[str], what: str, required: bool
) -> str | None:
    if asked is not None:
        if asked not in columns:
            raise DataError(f"{path}: no column {asked!r} (columns: {', '.join(columns) or 'none'})")
        return asked
    for guess in guesses:
        if guess in columns:
            return guess
    if required:
        raise DataError(
            f"{path}: no {what} column found among {', '.join(columns) or 'no columns'}; "
            f"name it with --{what}-col"
        )
    return None


def _clean_text(path: Path, row: int, col: str, value: Any) -> str:
    if value is None:
        raise DataError(f"{path}: row {row}: column {col!r} is missing or null")
    if not isinstance(value, str):
        raise DataError(f"{path}: row {row}: column {col!r} holds a {type(value).__name__}, not text")
    if not value.strip():
        raise DataError(f"{path}: row {row}: column {col!r} is empty")
    return value


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
            raise DataError(
                f"{path}: row {row}: label column {col!r} holds several values; pass --multi-label"
            )
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        label = str(value).strip()
        names = (label,)
    if allowed is not None:
        for name in names:
            if name not in allowed:
                raise DataError(
                    f"{path}: row {row}: label {name!r} is not in the label set ({', '.join(sorted(allowed))})"
                )
    return label
