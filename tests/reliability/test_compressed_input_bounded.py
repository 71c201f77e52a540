"""A small compressed file cannot fill the memory (issue 26, old 2).

A 516 KB .csv.gz (203 MiB unpacked) drove `textal train` to 4 GB RSS: the cap counted bytes, not what they
unpack to nor the memory the rows take. Now a .gz may unpack to at most ``MAX_GZIP_RATIO`` times its size
(16 MiB at least), the rows held are bounded in memory (``TEXTAL_MAX_INPUT_MEMORY_MB``), and so are the
columns of a row; each is refused with one line, exit 2, naming the limit.
"""

from __future__ import annotations

import gzip
import time

import pytest

from textal.data.corpus import load_corpus
from textal.data.input_files import MAX_COLUMNS
from textal.errors import DataError

LONG_ROW = ("a" * 90_000 + ",spam\n").encode()


@pytest.fixture
def bomb(tmp_path):
    """A few KB of gzip that unpack to about 200 MiB of rows, each within the text length limit."""
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb", compresslevel=9) as fh:
        fh.write(b"text,label\n")
        for _ in range(2_300):
            fh.write(LONG_ROW)
    assert path.stat().st_size < 600_000
    return path


def test_a_gzip_bomb_is_refused_early_with_one_line_and_exit_2(bomb, tmp_path, textal_cli):
    started = time.perf_counter()
    code, _, err = textal_cli(["train", str(bomb), "--model", "linear", "--store", str(tmp_path / "s")])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "unpacks to more than" in err and "gzip bomb" in err
    assert time.perf_counter() - started < 10  # refused after 16 MiB, not read to the end


def test_many_tiny_rows_are_bounded_by_the_memory_they_take(tmp_path, monkeypatch, textal_cli):
    path = tmp_path / "tiny.csv.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"text,label\n" + b"x,spam\ny,ham\n" * 40_000)  # 560 KB unpacked, over 10 MB as Python rows
    monkeypatch.setenv("TEXTAL_MAX_INPUT_MEMORY_MB", "2")
    code, _, err = textal_cli(["train", str(path), "--model", "linear", "--store", str(tmp_path / "s")])
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "in memory" in err and "TEXTAL_MAX_INPUT_MEMORY_MB" in err


def test_a_header_of_too_many_columns_is_refused(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(
        "text,"
        + ",".join(f"c{i}" for i in range(MAX_COLUMNS))
        + ",label\n"
        + ("hello world," + "," * MAX_COLUMNS + "spam\n") * 3
    )
    with pytest.raises(DataError, match="columns"):
        load_corpus(path)


def test_jsonl_keys_piling_up_over_rows_are_refused(tmp_path):
    path = tmp_path / "keys.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        for i in range(MAX_COLUMNS + 1):
            fh.write(f'{{"text": "t", "label": "a", "k{i}": 1}}\n')
    with pytest.raises(DataError, match="columns"):
        load_corpus(path)


def test_a_parquet_file_repeating_one_long_value_is_refused_as_it_unpacks(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bomb.parquet"
    rows = 400  # 36 MB as read, over the 16 MiB a small file may unpack to
    pq.write_table(pa.table({"text": ["a" * 90_000] * rows, "label": ["spam", "ham"] * (rows // 2)}), path)
    assert path.stat().st_size < 200_000  # one value in a dictionary, its uses run-length encoded
    with pytest.raises(DataError, match="unpack to more than"):
        load_corpus(path)
