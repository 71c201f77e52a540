"""textal.data.corpus: every format loads to the same corpus; every bad input names file, row and problem."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
from pathlib import Path

import pytest

from textal.data.corpus import duplicate_groups, load_corpus, normalise_text
from textal.errors import DataError, TextalError

ROWS = [("Win a prize now", "spam"), ("See you at 5", "ham"), ("Call me later", "ham")]


def write_csv(path, rows, header="text,label", sep=","):
    lines = [header] + [f'"{t}"{sep}{lab}' if sep == "," else f"{t}{sep}{lab}" for t, lab in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def expected():
    return [t for t, _ in ROWS], [lab for _, lab in ROWS]


def test_csv_tsv_jsonl_parquet_and_hf_folder_load_to_the_same_corpus(tmp_path, expected):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts, labels = expected
    write_csv(tmp_path / "d.csv", ROWS)
    write_csv(tmp_path / "d.tsv", ROWS, header="text\tlabel", sep="\t")
    (tmp_path / "d.jsonl").write_text("\n".join(json.dumps({"text": t, "label": lab}) for t, lab in ROWS))
    pq.write_table(pa.table({"text": texts, "label": labels}), tmp_path / "d.parquet")
    datasets.Dataset.from_dict({"text": texts, "label": labels}).save_to_disk(str(tmp_path / "hf"))

    for name in ("d.csv", "d.tsv", "d.jsonl", "d.parquet", "hf"):
        corpus = load_corpus(tmp_path / name)
        assert corpus.texts == texts, name
        assert corpus.labels == labels, name
        assert corpus.label_set == ("ham", "spam"), name


def test_hf_class_label_column_gives_label_names_not_integers(tmp_path):
    import datasets

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    ds = datasets.DatasetDict(
        {"train": datasets.Dataset.from_dict({"text": ["good", "bad"], "label": [1, 0]}, features=features)}
    )
    ds.save_to_disk(str(tmp_path / "hf"))
    corpus = load_corpus(tmp_path / "hf")
    assert corpus.labels == ["pos", "neg"]


def test_named_columns_are_used_and_a_missing_one_is_named_with_the_columns_present(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("body,intent\nhello,greet\n")
    corpus = load_corpus(path, text_col="body", label_col="intent")
    assert corpus.texts == ["hello"] and corpus.labels == ["greet"]
    with pytest.raises(DataError, match=r"d\.csv: no column 'label' \(columns: body, intent\)"):
        load_corpus(path, text_col="body", label_col="label")


def test_column_names_with_line_breaks_are_quoted_so_the_message_stays_one_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"te\nxt": "hello", "label": "a"}) + "\n")
    with pytest.raises(DataError) as exc:
        load_corpus(path)
    assert str(exc.value) == f"{path}: no text column found among 'te\\nxt', label; name it with --text-col"


def test_label_column_is_guessed_from_usual_names(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,category\nhello,greet\n")
    assert load_corpus(path).labels == ["greet"]


def test_empty_text_error_names_file_and_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"ok",ham\n"   ",spam\n')
    with pytest.raises(DataError, match=r"d\.csv: row 3: column 'text' is empty"):
        load_corpus(path)


def test_non_text_value_in_jsonl_is_reported_with_its_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": 42, "label": "b"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl: row 2: column 'text' holds a int, not text"):
        load_corpus(path)


def test_label_outside_the_label_set_is_rejected_with_its_row(tmp_path):
    path = write_csv(tmp_path / "d.csv", ROWS)
    with pytest.raises(DataError, match=r"row 2: label 'spam' is not in the label set \(ham\)"):
        load_corpus(path, label_set=["ham"])


def test_undecodable_bytes_are_reported_with_their_line(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"text,label\nfine,ham\nbad \xff\xfe here,spam\n")
    with pytest.raises(DataError, match=r"d\.csv: line 3: bytes that are not valid UTF-8"):
        load_corpus(path)


def test_row_with_too_many_fields_is_reported(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("text,label\nhello, world,ham\n")
    with pytest.raises(DataError, match=r"line 2: 3 fields where the header has 2"):
        load_corpus(path)


def test_missing_file_unknown_extension_and_empty_file_are_clear(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_corpus(tmp_path / "absent.csv")
    (tmp_path / "d.xlsx").write_text("x")
    with pytest.raises(DataError, match="cannot tell the format"):
        load_corpus(tmp_path / "d.xlsx")
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        load_corpus(tmp_path / "e.csv")
    (tmp_path / "h.csv").write_text("text,label\n")
    with pytest.raises(DataError, match="holds no rows"):
        load_corpus(tmp_path / "h.csv")


def test_unlabelled_pool_loads_without_labels(tmp_path):
    path = tmp_path / "pool.csv"
    path.write_text("text\nfirst\nsecond\n")
    corpus = load_corpus(path, require_labels=False)
    assert corpus.labels is None and corpus.texts == ["first", "second"]
    with pytest.raises(DataError, match="no label column found"):
        load_corpus(path)


def test_multi_label_cells_split_on_separator_and_json_lists_are_taken_as_is(tmp_path):
    csv_path = tmp_path / "m.csv"
    csv_path.write_text('text,label\n"a",billing|urgent\n"b",urgent\n')
    corpus = load_corpus(csv_path, multi_label=True)
    assert corpus.labels == [("billing", "urgent"), ("urgent",)]
    assert corpus.label_set == ("billing", "urgent")
    jsonl = tmp_path / "m.jsonl"
    jsonl.write_text('{"text": "a", "label": ["x", "y"]}\n')
    assert load_corpus(jsonl, multi_label=True).labels == [("x", "y")]
    with pytest.raises(DataError, match="several values; pass --multi-label"):
        load_corpus(jsonl)


def test_normalised_text_makes_near_duplicates_equal():
    assert normalise_text("Call 0800 123 NOW!!") == normalise_text("call 0800-124 now")
    assert normalise_text("Café") == normalise_text("cafe")
    assert normalise_text("hello world") != normalise_text("hello there")


def test_dedupe_exact_keeps_first_and_near_also_drops_normalised_twins(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"Hello there",a\n"Hello there",a\n"hello, THERE!",a\n"other",b\n')
    exact = load_corpus(path, dedupe="exact")
    assert exact.texts == ["Hello there", "hello, THERE!", "other"]
    assert exact.rows == [2, 4, 5]
    near = load_corpus(path, dedupe="near")
    assert near.texts == ["Hello there", "other"]
    assert duplicate_groups(["a b", "A-B", "c"]) == [0, 0, 2]


def test_fingerprint_changes_with_labels_and_is_stable_otherwise(tmp_path):
    a = write_csv(tmp_path / "a.csv", ROWS)
    b = write_csv(tmp_path / "b.csv", [(t, "ham") for t, _ in ROWS])
    assert load_corpus(a).fingerprint() == load_corpus(a).fingerprint()
    assert load_corpus(a).fingerprint() != load_corpus(b).fingerprint()


def test_shared_datasets_load_with_their_real_columns(data_dir):
    sms = load_corpus(data_dir / "sms_spam" / "train.csv")
    assert len(sms) == 4442 and sms.label_set == ("ham", "spam")
    banking = load_corpus(data_dir / "banking77" / "test.csv")
    assert len(banking.label_set) == 77


# --- input bounds: file kind, file size, text length (TEXTAL_MAX_INPUT_MB, TEXTAL_MAX_INPUT_TEXT_CHARS) ---


@pytest.mark.timeout(30)
def test_a_fifo_is_refused_as_not_a_regular_file_without_being_opened(tmp_path):
    fifo = tmp_path / "train.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataError, match=r"train\.csv: not a regular file \(a FIFO\)$"):
        load_corpus(fifo)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_character_device_is_refused_as_not_a_regular_file(tmp_path, device):
    if not Path(device).exists():
        pytest.skip(f"{device} is missing here")
    with pytest.raises(DataError, match=rf"^{device}: not a regular file \(a character device\)$"):
        load_corpus(device, fmt="csv")
    link = tmp_path / "data.jsonl"  # a link with a data file's name: the target is what counts
    link.symlink_to(device)
    with pytest.raises(DataError, match=r"data\.jsonl: not a regular file \(a character device\)$"):
        load_corpus(link)


def test_a_folder_is_refused_as_a_csv_file_and_a_file_as_a_hugging_face_folder(tmp_path):
    (tmp_path / "folder").mkdir()
    with pytest.raises(DataError, match=r"folder: not a regular file \(a directory\)$"):
        load_corpus(tmp_path / "folder", fmt="csv")
    path = write_csv(tmp_path / "d.csv", ROWS)
    with pytest.raises(DataError, match=r"d\.csv: not a folder \(a regular file\)"):
        load_corpus(path, fmt="hf")


def test_a_file_over_the_size_limit_is_refused_naming_its_size_the_limit_and_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTAL_MAX_INPUT_MB", "0.001")  # 1,048 bytes
    small = write_csv(tmp_path / "small.csv", ROWS)
    assert len(load_corpus(small)) == 3
    big = write_csv(tmp_path / "big.csv", ROWS * 40)
    size = big.stat().st_size
    with pytest.raises(DataError) as exc:
        load_corpus(big)
    message = str(exc.value)
    assert message.startswith(f"{big}: ") and f"{size:,} bytes" in message
    assert "1,048 bytes" in message and "TEXTAL_MAX_INPUT_MB" in message and "\n" not in message


def test_a_gzip_file_counts_at_its_decompressed_size(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTAL_MAX_INPUT_MB", "0.01")  # 10,485 bytes
    path = tmp_path / "d.csv.gz"
    path.write_bytes(gzip.compress(("text,label\n" + "spam spam spam,a\n" * 2000).encode()))
    assert path.stat().st_size < 10_000
    with pytest.raises(
        DataError,
        match=r"d\.csv\.gz: more than 10,485 bytes \(0\.01 MB\) once decompressed, "
        r"larger than the limit \(set TEXTAL_MAX_INPUT_MB to raise it\)$",
    ):
        load_corpus(path)
    path.write_bytes(gzip.compress(("text,label\n" + "spam spam spam,a\n" * 20).encode()))
    assert len(load_corpus(path)) == 20


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TEXTAL_MAX_INPUT_MB", "lots"),
        ("TEXTAL_MAX_INPUT_MB", "-1"),
        ("TEXTAL_MAX_INPUT_TEXT_CHARS", "0"),
        ("TEXTAL_MAX_INPUT_TEXT_CHARS", "nan"),
    ],
)
def test_a_limit_that_is_not_a_positive_number_is_refused_naming_the_variable(tmp_path, monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(TextalError, match=rf"^{name} must be a positive number"):
        load_corpus(write_csv(tmp_path / "d.csv", ROWS))


def test_input_limits_default_to_2_gib_and_100000_characters(monkeypatch):
    from textal.data.corpus import InputLimits, input_limits

    monkeypatch.delenv("TEXTAL_MAX_INPUT_MB", raising=False)
    monkeypatch.delenv("TEXTAL_MAX_INPUT_TEXT_CHARS", raising=False)
    monkeypatch.setenv("TEXTAL_MAX_TEXT_CHARS", "7")  # the server's own bound: not this one
    assert input_limits() == InputLimits(max_bytes=2 * 1024**3, max_text_chars=100_000)


def _write_rows(path, fmt, rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if fmt == "csv":
        write_csv(path, rows)
    elif fmt == "tsv":
        write_csv(path, rows, header="text\tlabel", sep="\t")
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    else:
        pq.write_table(pa.table({"text": [t for t, _ in rows], "label": [lab for _, lab in rows]}), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "tsv", "jsonl", "parquet"])
def test_a_text_just_over_the_character_limit_is_refused_with_row_length_and_limit(tmp_path, monkeypatch, fmt):
    monkeypatch.setenv("TEXTAL_MAX_INPUT_TEXT_CHARS", "50")
    at_limit = _write_rows(tmp_path / f"ok.{fmt}", fmt, [("short", "a"), ("x" * 50, "b")])
    assert load_corpus(at_limit).texts[1] == "x" * 50
    over = _write_rows(tmp_path / f"d.{fmt}", fmt, [("short", "a"), ("é" * 51, "b")])
    row = 2 if fmt == "parquet" else 3 if fmt in ("csv", "tsv") else 2
    with pytest.raises(DataError) as exc:
        load_corpus(over)
    assert str(exc.value) == (
        f"{over}: row {row}: text of 51 characters is longer than the limit 50 (TEXTAL_MAX_INPUT_TEXT_CHARS)"
    )


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_a_csv_field_far_over_the_limit_stops_the_parser_and_field_size_limit_is_restored(
    tmp_path, monkeypatch, delimiter
):
    monkeypatch.setenv("TEXTAL_MAX_INPUT_TEXT_CHARS", "50")
    before = csv.field_size_limit()
    path = tmp_path / ("d.csv" if delimiter == "," else "d.tsv")
    huge = '"' + "word, and\nmore " * 50_000 + '"'  # one quoted field of 750,000 characters over 50,000 lines
    path.write_text(f"text{delimiter}label\nfine{delimiter}a\n{huge}{delimiter}b\n")
    with pytest.raises(DataError, match=r"d\.tsv|d\.csv") as exc:
        load_corpus(path)
    message = str(exc.value)
    assert re.fullmatch(
        rf"{re.escape(str(path))}: line \d+: a field of more than 51 characters is longer than the limit 50 "
        r"\(TEXTAL_MAX_INPUT_TEXT_CHARS\)",
        message,
    ), message
    assert csv.field_size_limit() == before
    assert len(load_corpus(write_csv(tmp_path / "ok.csv", ROWS))) == 3
    assert csv.field_size_limit() == before


def test_a_jsonl_line_far_over_the_bound_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    import tracemalloc

    monkeypatch.setenv("TEXTAL_MAX_INPUT_TEXT_CHARS", "10")
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "' + "x" * 16_000_000 + '", "label": "b"}\n')
    tracemalloc.start()
    try:
        with pytest.raises(
            DataError,
            match=r"d\.jsonl: line 2: a line longer than [\d,]+ bytes.*"
            r"at most 10 characters \(TEXTAL_MAX_INPUT_TEXT_CHARS\)",
        ):
            load_corpus(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, f"peak {peak:,} bytes for a 16 MB line"


def test_jsonl_texts_may_hold_raw_unicode_line_separators(tmp_path):
    path = tmp_path / "d.jsonl"
    rows = [{"text": "first\u2028line\x85two\u2029", "label": "a"}, {"text": "second", "label": "b"}]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert load_corpus(path).texts == ["first\u2028line\x85two\u2029", "second"]


def test_csv_with_cr_or_crlf_line_ends_loads_as_before(tmp_path):
    for name, end in (("cr.csv", "\r"), ("crlf.csv", "\r\n")):
        path = tmp_path / name
        path.write_bytes(end.join(["text,label", '"a\r\nb",x', "c,y", ""]).encode())
        corpus = load_corpus(path)
        assert corpus.texts == ["a\r\nb", "c"] and corpus.rows == [3, 4], name


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "ok", "label": ' + "[" * 100_000 + "]" * 100_000 + "}", "not valid JSON"),
        ('{"text": "ok", "label": ' + "1" * 5000 + "}", "not valid JSON"),
        ('{"text": "a \\ud800 b", "label": "x"}', r"column 'text' holds a lone surrogate \('\\ud800'\)"),
        ('{"text": "ok", "label": "\\udfff"}', r"label column 'label' holds a lone surrogate"),
    ],
)
def test_jsonl_deep_nesting_huge_integers_and_lone_surrogates_are_data_errors(tmp_path, line, problem):
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "fine", "label": "a"}\n' + line + "\n")
    with pytest.raises(DataError, match=rf"d\.jsonl: (line|row) 2: {problem}"):
        load_corpus(path)
