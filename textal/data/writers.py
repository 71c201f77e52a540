"""Write resolved annotations as training data: CSV, JSONL, a spaCy DocBin or a Hugging Face dataset.

Pure writers: they take rows already fetched and resolved by the caller (``textal export``) and know
nothing of Label Studio. CSV and JSONL read back with :func:`textal.data.corpus.load_corpus` (and so train
with ``textal train``); the spaCy and HF outputs are ready for ``spacy train`` and ``datasets``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textal.errors import DataError
from textal.runtime.fsutil import atomic_write_bytes, atomic_write_text

EXPORT_FORMATS = ("csv", "jsonl", "spacy", "hf")
COLUMNS = ("text", "label", "task_id", "agreement", "annotations", "disputed", "eval", "review")


@dataclass(frozen=True)
class ExportRow:
    """One task with its resolved label and how far its annotators agreed on it."""

    task_id: int
    text: str
    label: str | tuple[str, ...] | None  # tuple for multi-label; None: no label (annotators tied)
    agreement: float | None  # share of annotators agreeing with the resolved label (None: no annotations)
    annotations: int  # number of (non-cancelled) annotations
    disputed: bool  # annotators disagreed beyond the agreement rule
    eval: bool  # task is in textal's evaluation slice
    review: bool = False  # the last review marked its label as probably wrong


def write_export(
    rows: Sequence[ExportRow],
    out: Path,
    fmt: str,
    labels: Sequence[str],
    multi_label: bool = False,
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``rows`` to ``out`` in ``fmt`` (one of EXPORT_FORMATS) and return the path written.

    Every label must be in ``labels``, which also fixes the label order of the spaCy cats and the HF
    ClassLabel. Rows whose label is None (a tie) are kept in CSV (empty label) and JSONL (null),
    but left out of the spaCy and HF outputs, which cannot hold a text without a label. A file output
    replaces ``out`` atomically, and so does a new hf folder: a crash leaves the old file (or none), never
    half of the new one.
    Raises DataError (a TextalError: exit code 2) for an unknown format or a label not in ``labels``.

    ``hf`` writes a folder and never deletes what an export did not write: a new or empty folder, or an
    earlier export (whose dataset files are replaced), is written; a non-empty folder holding anything
    else is refused (DataError) unless ``overwrite``, which writes the dataset into it, replacing only
    files named as a dataset's. A file format refuses an ``out`` that is a folder.
    """
    out = Path(out)
    if fmt not in EXPORT_FORMATS:
        raise DataError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    target = "new"
    if fmt == "hf":
        out = Path(os.path.abspath(out))  # "." and "dir/.." have a name to write beside
        target = _hf_target(out, overwrite)
    elif out.is_dir():
        raise DataError(f"{out}: is a folder; --format {fmt} writes a file, so give a file name")
    resolved = [_checked_label(row, labels, multi_label) for row in rows]
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        atomic_write_text(out, _csv_text(rows, resolved))
    elif fmt == "jsonl":
        atomic_write_text(out, _jsonl_text(rows, resolved))
    elif fmt == "spacy":
        _write_spacy(rows, resolved, out, labels)
    else:
        _write_hf(rows, resolved, out, labels, multi_label, target)
    return out


def _checked_label(row: ExportRow, labels: Sequence[str], multi_label: bool) -> str | tuple[str, ...] | None:
    """The row's label as the format expects it (a tuple with ``multi_label``), checked against ``labels``."""
    label = row.label
    if label is None:
        return None
    if multi_label:
        names = (label,) if isinstance(label, str) else tuple(dict.fromkeys(label))
    elif isinstance(label, str):
        names = (label,)
    elif len(label) == 1:
        names, label = tuple(label), label[0]
    else:
        raise DataError(f"task {row.task_id}: several labels {', '.join(label)} for a single-label export")
    for name in names:
        if name not in labels:
            raise DataError(f"task {row.task_id}: label {name!r} is not in the label set ({', '.join(labels)})")
    return names if multi_label else label


def _record(row: ExportRow, label: Any) -> dict[str, Any]:
    return {
        "text": row.text,
        "label": label,
        "task_id": row.task_id,
        "agreement": row.agreement,
        "annotations": row.annotations,
        "disputed": row.disputed,
        "eval": row.eval,
        "review": row.review,
    }


def _csv_text(rows: Sequence[ExportRow], resolved: Sequence[Any]) -> str:
    """CSV with a header; multi-label cells joined by ``|`` (what ``--multi-label`` splits on)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row, label in zip(rows, resolved):
        rec = _record(row, "" if label is None else label if isinstance(label, str) else "|".join(label))
        rec["agreement"] = "" if row.agreement is None else repr(float(row.agreement))
        rec["disputed"], rec["eval"], rec["review"] = int(row.disputed), int(row.eval), int(row.review)
        writer.writerow([rec[c] for c in COLUMNS])
    return buf.getvalue()


def _jsonl_text(rows: Sequence[ExportRow], resolved: Sequence[Any]) -> str:
    """One JSON object a line; a multi-label label is a list, a missing one (a tie) null."""
    lines = [
        json.dumps(_record(row, list(label) if isinstance(label, tuple) else label), ensure_ascii=False)
        for row, label in zip(rows, resolved)
    ]
    return "".join(line + "\n" for line in lines)


def _write_spacy(rows: Sequence[ExportRow], resolved: Sequence[Any], out: Path, labels: Sequence[str]) -> None:
    """A DocBin for ``spacy train`` (textcat or textcat_multilabel): one 0/1 cat per label, row facts in user_data."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("xx")
    docbin = DocBin(store_user_data=True)
    for row, label in zip(rows, resolved):
        if label is None:
            continue
        chosen = {label} if isinstance(label, str) else set(label)
        doc = nlp.make_doc(row.text)
        doc.cats = {name: 1.0 if name in chosen else 0.0 for name in labels}
        doc.user_data.update(
            task_id=row.task_id,
            agreement=row.agreement,
            annotations=row.annotations,
            disputed=row.disputed,
            eval=row.eval,
            review=row.review,
        )
        docbin.add(doc)
    atomic_write_bytes(out, docbin.to_bytes())


# What ``datasets.Dataset.save_to_disk`` writes: an earlier export holds these names and nothing else.
_HF_FILES = re.compile(r"(state\.json|dataset_info\.json|data-\d{5}-of-\d{5}\.arrow)")
_HF_MARKS = ("state.json", "dataset_info.json")


def _hf_target(out: Path, overwrite: bool) -> str:
    """What ``out`` is to an hf export: ``new`` (absent), ``empty``, ``export`` (an earlier export) or
    ``merge`` (a folder holding other files, with ``overwrite``); DataError for anything else."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise DataError(
            f"{out}: is {'a link' if out.is_symlink() else 'a file'}; --format hf writes a folder, so "
            "give a new or empty folder (or an earlier hf export)"
        )
    if not out.exists():
        return "new"
    try:
        names = sorted(entry.name for entry in os.scandir(out))
    except OSError as exc:
        raise DataError(f"{out}: cannot be read ({exc.strerror or exc})") from None
    if not names:
        return "empty"
    if all(_HF_FILES.fullmatch(n) for n in names) and all(m in names for m in _HF_MARKS):
        return "export"
    if overwrite:
        return "merge"
    others = [n for n in names if not _HF_FILES.fullmatch(n)]
    shown = ", ".join(ascii(n)[:40] for n in others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    raise DataError(
        f"{out}: a folder holding other files ({shown}), not an earlier export; give a new or empty "
        "folder, or pass --overwrite to write the dataset into it (only files named as a dataset's are "
        "replaced)"
    )


def _write_hf(
    rows: Sequence[ExportRow],
    resolved: Sequence[Any],
    out: Path,
    labels: Sequence[str],
    multi_label: bool,
    target: str = "new",
) -> None:
    """A saved ``datasets.Dataset`` with a ClassLabel (or a sequence of them) named after ``labels``."""
    import datasets

    class_label = datasets.ClassLabel(names=list(labels))
    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "label": datasets.Sequence(class_label) if multi_label else class_label,
            "task_id": datasets.Value("int64"),
            "agreement": datasets.Value("float32"),
            "annotations": datasets.Value("int32"),
            "disputed": datasets.Value("bool"),
            "eval": datasets.Value("bool"),
            "review": datasets.Value("bool"),
        }
    )
    kept = [
        _record(row, list(label) if isinstance(label, tuple) else label)
        for row, label in zip(rows, resolved)
        if label is not None
    ]
    columns = {name: [rec[name] for rec in kept] for name in COLUMNS}
    dataset = datasets.Dataset.from_dict(columns, features=features)
    # beside the folder when it is new (renamed into place whole), else inside it (its files moved in one by one)
    tmp = (
        out.with_name(f".{out.name}.{secrets.token_hex(4)}")
        if target == "new"
        else out / f".textal-export.{secrets.token_hex(4)}"
    )
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # the export says in one line what it wrote
    try:
        dataset.save_to_disk(str(tmp))
        if target == "new":
            _replace_dir(tmp, out)
        else:
            _move_into(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if bars:
            datasets.enable_progress_bars()


def _replace_dir(new: Path, target: Path) -> None:
    """Move the finished folder ``new`` to ``target``, which is absent (never anything else)."""
    try:
        os.rename(new, target)  # a folder made meanwhile: replaced if empty, else refused by the OS
    except OSError as exc:
        raise DataError(f"{target}: cannot be written ({exc.strerror or exc}); give a new or empty folder") from None


def _move_into(new: Path, target: Path) -> None:
    """Put the dataset files of ``new`` into ``target``: an earlier export's dataset files go, nothing else."""
    for entry in os.scandir(target):
        if _HF_FILES.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)
    for entry in os.scandir(new):
        os.replace(entry.path, target / entry.name)
