"""textal.data: every format loads to the same corpus; every bad input names file, row and problem."""

from __future__ import annotations

import json

import pytest

from textal.data import duplicate_groups, load_corpus, normalise_text
from textal.errors import DataError

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
