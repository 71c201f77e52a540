"""Reading data files within bounds: the kinds of file accepted, their size, the length of a line, and the records
of each format (CSV, TSV, JSONL, Parquet, a saved Hugging Face dataset), streamed a line at a time.

``textal.data.corpus.load_corpus`` turns these records into a Corpus; everything here raises DataError naming the file.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import json
import os
import re
import stat
import sys
import threading
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from textal.errors import DataError
from textal.runtime.settings import positive_number

FORMATS = ("csv", "tsv", "jsonl", "parquet", "hf")
MIB = 1024 * 1024
DEFAULT_MAX_INPUT_MB = 2048  # 2 GiB
DEFAULT_MAX_INPUT_TEXT_CHARS = 100_000
DEFAULT_MAX_INPUT_MEMORY_MB = 1024  # 1 GiB of rows held in memory (texts, labels and their bookkeeping)
# A .gz file may unpack to at most this many times its own size (and to 16 MiB whatever its size): text
# compresses 3 to 10 times, a file of one repeated row a thousand times.
MAX_GZIP_RATIO = 100
GZIP_FLOOR_BYTES = 16 * MIB
MAX_COLUMNS = 10_000  # columns of a CSV/TSV header, keys of the JSONL objects of one file
ROW_OVERHEAD_BYTES = 56  # a row held: its number and three list slots, besides its text and label


@dataclass(frozen=True)
class InputLimits:
    """The bounds :func:`load_corpus` puts on what it reads (see :func:`input_limits`)."""

    max_bytes: int
    max_text_chars: int
    max_memory_bytes: int = DEFAULT_MAX_INPUT_MEMORY_MB * MIB

    @property
    def max_line_bytes(self) -> int:
        """The longest line a CSV, TSV or JSONL file may hold: room for one text at the limit in its
        widest spelling (a JSON escape pair, 12 bytes a character) and 1 MiB for the other columns."""
        return 12 * self.max_text_chars + MIB


def input_limits(environ: Mapping[str, str] | None = None) -> InputLimits:
    """The input bounds, from the environment: the one place that reads these variables.

    - ``TEXTAL_MAX_INPUT_MB`` (default 2048, i.e. 2 GiB): the largest data file, in MB of
      1024 * 1024 bytes (a fraction is fine). A ``.gz`` file counts at its decompressed size.
    - ``TEXTAL_MAX_INPUT_MEMORY_MB`` (default 1024): the memory the rows read may hold (their texts and
      labels as Python keeps them, and a fixed cost a row), for the commands that hold every row
      (``textal train``, ``simulate``, ``init``); a file of millions of tiny rows costs far more in memory
      than on disk. ``textal score`` streams and is bounded by its chunk instead.
    - A ``.gz`` file unpacking to more than ``MAX_GZIP_RATIO`` times its size (and more than 16 MiB) is
      refused as a likely gzip bomb: unpack it and pass the plain file, bounded as above.
    - ``TEXTAL_MAX_INPUT_TEXT_CHARS`` (default 100000): the longest text, in characters. Lines
      of CSV/TSV/JSONL are bounded to match (:attr:`InputLimits.max_line_bytes`), and so are CSV
      fields, so one huge text is refused before it is read in full. Not ``TEXTAL_MAX_TEXT_CHARS``:
      that is the Label Studio backend's own, smaller bound on the task texts it scores.

    A value that is not a positive number is a TextalError naming the variable.
    """
    mb = positive_number("TEXTAL_MAX_INPUT_MB", DEFAULT_MAX_INPUT_MB, environ, "MB")
    chars = positive_number(
        "TEXTAL_MAX_INPUT_TEXT_CHARS", DEFAULT_MAX_INPUT_TEXT_CHARS, environ, "characters", whole=True
    )
    memory = positive_number("TEXTAL_MAX_INPUT_MEMORY_MB", DEFAULT_MAX_INPUT_MEMORY_MB, environ, "MB")
    return InputLimits(
        max_bytes=max(1, int(mb * MIB)), max_text_chars=max(1, int(chars)), max_memory_bytes=max(1, int(memory * MIB))
    )


def guess_format(path: Path) -> str:
    if path.is_dir():
        return "hf"
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    mapping = {
        ".csv": "csv",
        ".tsv": "tsv",
        ".tab": "tsv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
    if suffix not in mapping:
        raise DataError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            "use .csv, .tsv, .jsonl, .parquet or a saved Hugging Face dataset folder"
        )
    return mapping[suffix]


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a file")


def check_input_path(path: Path, kind: str, limits: InputLimits) -> None:
    """Refuse, before anything opens it, a path of the wrong kind (a FIFO or a device would be read
    forever) or a file larger than ``TEXTAL_MAX_INPUT_MB``."""
    try:
        info = path.stat()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if kind == "hf":
        if not stat.S_ISDIR(info.st_mode):
            raise DataError(
                f"{path}: not a folder ({_file_kind(info.st_mode)}); a saved Hugging Face dataset is a folder"
            )
        return
    if not stat.S_ISREG(info.st_mode):
        raise DataError(f"{path}: not a regular file ({_file_kind(info.st_mode)})")
    if info.st_size > limits.max_bytes:
        raise DataError(
            f"{path}: the file is {_size(info.st_size)}, larger than the limit of {_size(limits.max_bytes)} "
            "(set TEXTAL_MAX_INPUT_MB to raise it)"
        )


def _size(n: int) -> str:
    return f"{n:,} bytes ({n / MIB:.3g} MB)"


@contextlib.contextmanager
def _open_input(path: Path) -> Iterator[IO[bytes]]:
    """``path`` opened for binary reading, and checked once open to be a regular file still.

    Opened without blocking, so a path swapped for a FIFO after the first check cannot hang here.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise DataError(f"{path}: not a regular file ({_file_kind(mode)})")
        os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


_LONE_CR = re.compile(r"(?<=\r)(?!\n)")


def _text_lines(path: Path, fh: IO[bytes], limits: InputLimits) -> Iterator[str]:
    """The lines of a UTF-8 file (gzip-compressed when the name ends in .gz), line ends kept.

    Lines end at \\n, \\r\\n or a lone \\r, as ``open(newline="")`` splits them. Read one at a time,
    none longer than ``limits.max_line_bytes`` and no more than ``limits.max_bytes`` in all
    (decompressed), so neither a huge line nor a gzip bomb is ever held in memory.
    """
    compressed = path.suffix.lower() == ".gz"
    stream: IO[bytes] | gzip.GzipFile = gzip.GzipFile(fileobj=fh, mode="rb") if compressed else fh
    unpacked_limit, packed = limits.max_bytes, 0
    if compressed:
        packed = os.fstat(fh.fileno()).st_size
        unpacked_limit = min(limits.max_bytes, max(GZIP_FLOOR_BYTES, MAX_GZIP_RATIO * packed))
    line_limit = limits.max_line_bytes
    offset = 0
    number = 0
    while True:
        try:
            raw = stream.readline(line_limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path}: line {number + 1}: cannot be read ({_one_line(exc)})") from None
        if not raw:
            return
        if len(raw) > line_limit:
            raise DataError(
                f"{path}: line {number + 1}: a line longer than {line_limit:,} bytes, more than any row needs "
                f"with texts of at most {limits.max_text_chars} characters (TEXTAL_MAX_INPUT_TEXT_CHARS)"
            )
        start = 3 if offset == 0 and raw.startswith(codecs.BOM_UTF8) else 0
        try:
            line = raw[start:].decode("utf-8")
        except UnicodeDecodeError as exc:
            at = offset + start + exc.start
            bad = raw[start + exc.start : start + exc.start + 4]
            raise DataError(
                f"{path}: line {number + 1}: bytes that are not valid UTF-8 at byte {at} ({bad!r}); "
                "re-save the file as UTF-8"
            ) from None
        offset += len(raw)
        if offset > unpacked_limit and unpacked_limit < limits.max_bytes:
            raise DataError(
                f"{path}: unpacks to more than {_size(unpacked_limit)}, over {MAX_GZIP_RATIO} times its "
                f"{packed:,} bytes (a gzip bomb?); if it is real, unpack it and pass the plain file"
            )
        if offset > limits.max_bytes:
            raise DataError(
                f"{path}: more than {_size(limits.max_bytes)} {'once decompressed' if compressed else 'read'}, "
                "larger than the limit (set TEXTAL_MAX_INPUT_MB to raise it)"
            )
        # a \r inside the line, not just its own \r\n end, also ends a line (as open(newline="") has it)
        if line.find("\r", 0, len(line) - (2 if line.endswith("\r\n") else 1)) >= 0:
            for piece in _LONE_CR.split(line):
                if piece:
                    number += 1
                    yield piece
        else:
            number += 1
            yield line


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def open_records(
    path: Path, kind: str, split: str | None, limits: InputLimits, stack: contextlib.ExitStack
) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """The columns of ``path`` and its records; files opened are closed when ``stack`` is."""
    if kind in ("csv", "tsv"):
        return _csv_records(path, "\t" if kind == "tsv" else ",", limits, stack)
    if kind == "jsonl":
        return _jsonl_records(path, limits, stack)
    if kind == "parquet":
        return _parquet_records(path, limits, stack)
    if kind == "hf":
        return _hf_records(path, split)
    raise DataError(f"{path}: unknown format {kind!r}; choose one of {', '.join(FORMATS)}")


_csv_limit_lock = threading.Lock()
_csv_limit_users = 0
_csv_limit_before = 0


@contextlib.contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    """Set ``csv.field_size_limit`` (a process-wide setting) while a CSV is read; put back the
    previous value when the last reader is done."""
    global _csv_limit_users, _csv_limit_before
    with _csv_limit_lock:
        if _csv_limit_users == 0:
            _csv_limit_before = csv.field_size_limit(limit)
        else:
            csv.field_size_limit(max(csv.field_size_limit(), limit))
        _csv_limit_users += 1
    try:
        yield
    finally:
        with _csv_limit_lock:
            _csv_limit_users -= 1
            if _csv_limit_users == 0:
                csv.field_size_limit(_csv_limit_before)


def _csv_records(
    path: Path, delimiter: str, limits: InputLimits, stack: contextlib.ExitStack
) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    # One character over the text bound: a text just over it is read and reported with its length
    # by _clean_text; a longer field stops the parser here, before it is built in full.
    field_limit = limits.max_text_chars + 1
    stack.enter_context(_csv_field_limit(field_limit))
    lines = _text_lines(path, stack.enter_context(_open_input(path)), limits)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)

    def csv_error(exc: csv.Error) -> DataError:
        if str(exc).startswith("field larger than field limit"):
            return DataError(
                f"{path}: line {reader.line_num}: a field of more than {field_limit} characters is longer than "
                f"the limit {limits.max_text_chars} (TEXTAL_MAX_INPUT_TEXT_CHARS)"
            )
        return DataError(f"{path}: line {reader.line_num}: {_one_line(exc)}")

    try:
        header = next(reader)
    except StopIteration:
        raise DataError(f"{path}: the file is empty") from None
    except csv.Error as exc:
        raise csv_error(exc) from None
    header = [h.strip() for h in header]
    _check_columns(path, len(header))

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise csv_error(exc) from None
            if not values:
                continue  # a blank line
            if len(values) != len(header):
                raise DataError(
                    f"{path}: line {reader.line_num}: {len(values)} fields where the header has "
                    f"{len(header)} (an unquoted {delimiter!r} inside a text?)"
                )
            yield reader.line_num, dict(zip(header, values))

    return header, records()


def _check_columns(path: Path, count: int) -> None:
    if count > MAX_COLUMNS:
        raise DataError(f"{path}: more than {MAX_COLUMNS:,} columns (or JSON keys), more than any text data needs")


class HeldRows:
    """The memory the rows kept by a reader take (texts, labels, a fixed cost a row), against
    ``limits.max_memory_bytes`` (``TEXTAL_MAX_INPUT_MEMORY_MB``): many tiny rows cost far more in memory
    than on disk, so a small file (a .gz above all) cannot fill the memory."""

    def __init__(self, path: Path, limits: InputLimits) -> None:
        self.path = path
        self.limit = limits.max_memory_bytes
        self.held = 0

    def add(self, row: int, text: str, label: Any = None) -> None:
        self.held += ROW_OVERHEAD_BYTES + sys.getsizeof(text)
        if isinstance(label, str):
            self.held += sys.getsizeof(label)
        elif isinstance(label, tuple):
            self.held += sys.getsizeof(label) + sum(sys.getsizeof(x) for x in label)
        if self.held > self.limit:
            raise DataError(
                f"{self.path}: row {row}: the rows read take more than {_size(self.limit)} in memory, over the "
                "limit (set TEXTAL_MAX_INPUT_MEMORY_MB to raise it)"
            )


def _jsonl_objects(path: Path, fh: IO[bytes], limits: InputLimits) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(_text_lines(path, fh, limits), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: not valid JSON ({exc.msg})") from None
        except RecursionError:
            raise DataError(f"{path}: line {number}: not valid JSON (nested too deeply)") from None
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise DataError(f"{path}: line {number}: not valid JSON ({_one_line(exc)})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object, got {type(obj).__name__}")
        yield number, obj


def _jsonl_records(
    path: Path, limits: InputLimits, stack: contextlib.ExitStack
) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    # Two passes, one line in memory at a time: the first finds every column (a key that only some
    # rows hold still counts), the second gives the records.
    columns: dict[str, None] = {}
    with _open_input(path) as fh:
        for _, obj in _jsonl_objects(path, fh, limits):
            columns.update(dict.fromkeys(obj))
            _check_columns(path, len(columns))
    return list(columns), _jsonl_objects(path, stack.enter_context(_open_input(path)), limits)


PARQUET_BATCH_ROWS = 256


def _parquet_records(
    path: Path, limits: InputLimits, stack: contextlib.ExitStack
) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    import pyarrow.parquet as pq

    fh = stack.enter_context(_open_input(path))
    try:
        parquet = pq.ParquetFile(fh)
        meta = parquet.metadata
        unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        columns = list(parquet.schema_arrow.names)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise DataError(f"{path}: cannot be read as Parquet ({_one_line(exc)})") from None
    _check_columns(path, len(columns))
    packed = os.fstat(fh.fileno()).st_size
    limit = min(limits.max_bytes, max(GZIP_FLOOR_BYTES, MAX_GZIP_RATIO * packed))
    if unpacked > limit:
        raise DataError(
            f"{path}: its data unpack to {_size(unpacked)}, more than the limit of {_size(limit)} "
            f"({'TEXTAL_MAX_INPUT_MB' if limit == limits.max_bytes else f'{MAX_GZIP_RATIO} times the file'})"
        )

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        number, decoded = 0, 0
        try:
            batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS)  # a few rows in memory at a time
            for batch in batches:
                decoded += batch.nbytes  # as read: a dictionary-encoded column counts every value it repeats
                if decoded > limit:
                    bound = "TEXTAL_MAX_INPUT_MB" if limit == limits.max_bytes else f"{MAX_GZIP_RATIO} times the file"
                    raise DataError(
                        f"{path}: row {number + 1}: its data unpack to more than {_size(limit)}, over the limit "
                        f"({bound})"
                    )
                for rec in batch.to_pylist():
                    number += 1
                    yield number, rec
        except DataError:
            raise
        except Exception as exc:
            raise DataError(f"{path}: row {number + 1}: cannot be read as Parquet ({_one_line(exc)})") from None

    return columns, records()


def _hf_records(path: Path, split: str | None) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    import datasets

    try:
        ds = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise DataError(f"{path}: not a saved Hugging Face dataset folder ({_one_line(exc)})") from None
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds)
        chosen = split or ("train" if "train" in ds else names[0] if len(names) == 1 else None)
        if chosen is None or chosen not in ds:
            raise DataError(f"{path}: choose a split with --split; this dataset has {', '.join(names)}")
        ds = ds[chosen]
    # ClassLabel columns hold integers; give back their names, as a user sees them.
    class_names = {name: feat.names for name, feat in ds.features.items() if isinstance(feat, datasets.ClassLabel)}
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
