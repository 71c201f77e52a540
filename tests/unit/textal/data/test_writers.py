"""The export writers: every format reads back with the texts and labels written, and bad input is refused."""

from __future__ import annotations

import csv
import json

import pytest

from textal.data.corpus import load_corpus
from textal.data.writers import EXPORT_FORMATS, ExportRow, write_export
from textal.errors import DataError, TextalError

LABELS = ("ham", "spam")
AWKWARD = 'Größe, "quoted"\nsecond line — ça va? 日本語'


def row(task_id, text, label, *, agreement=1.0, annotations=1, disputed=False, eval=False, review=False):
    return ExportRow(task_id, text, label, agreement, annotations, disputed, eval, review)


SINGLE = [
    row(1, "win cash now", "spam", agreement=2 / 3, annotations=3),
    row(2, AWKWARD, "ham", eval=True),
    row(3, "free prize, call now", "spam", agreement=None, annotations=0),
]
MULTI_LABELS = ("billing", "bug", "praise")
MULTI = [
    row(1, "charged twice and the app crashes", ("billing", "bug")),
    row(2, AWKWARD, ("praise",)),
    row(3, "love it", "praise"),  # a plain string counts as one label
]
DISPUTED = row(9, "maybe spam?", None, agreement=0.5, annotations=2, disputed=True, review=True)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "hf"])
def test_single_label_export_reads_back_with_textals_loader(tmp_path, fmt):
    out = write_export(SINGLE, tmp_path / f"out.{fmt if fmt != 'hf' else 'hfds'}", fmt, LABELS)
    corpus = load_corpus(out, fmt=fmt)
    assert corpus.texts == [r.text for r in SINGLE]
    assert corpus.labels == [r.label for r in SINGLE]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "hf"])
def test_multi_label_export_reads_back_with_multi_label_loader(tmp_path, fmt):
    out = write_export(MULTI, tmp_path / f"out.{fmt}", fmt, MULTI_LABELS, multi_label=True)
    corpus = load_corpus(out, fmt=fmt, multi_label=True)
    assert corpus.texts == [r.text for r in MULTI]
    assert corpus.labels == [("billing", "bug"), ("praise",), ("praise",)]


def test_csv_has_the_documented_columns_with_flags_as_0_1_and_empty_label_for_disputed(tmp_path):
    out = write_export([*SINGLE, DISPUTED], tmp_path / "sub" / "dir" / "out.csv", "csv", LABELS)
    with out.open(newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    assert list(records[0]) == ["text", "label", "task_id", "agreement", "annotations", "disputed", "eval", "review"]
    assert records[1]["text"] == AWKWARD and records[1]["eval"] == "1" and records[1]["disputed"] == "0"
    assert records[2]["agreement"] == "" and records[2]["annotations"] == "0"
    assert records[3] == {
        "text": "maybe spam?",
        "label": "",
        "task_id": "9",
        "agreement": "0.5",
        "annotations": "2",
        "disputed": "1",
        "eval": "0",
        "review": "1",
    }


def test_multi_label_csv_joins_labels_with_a_bar(tmp_path):
    out = write_export(MULTI[:1], tmp_path / "out.csv", "csv", MULTI_LABELS, multi_label=True)
    with out.open(newline="", encoding="utf-8") as fh:
        assert next(csv.DictReader(fh))["label"] == "billing|bug"


def test_jsonl_keeps_non_ascii_and_writes_lists_and_null_labels(tmp_path):
    out = write_export([*MULTI, DISPUTED], tmp_path / "out.jsonl", "jsonl", MULTI_LABELS, multi_label=True)
    raw = out.read_text(encoding="utf-8")
    assert "日本語" in raw
    records = [json.loads(line) for line in raw.splitlines()]
    assert records[0]["label"] == ["billing", "bug"]
    assert records[3] == {
        "text": "maybe spam?",
        "label": None,
        "task_id": 9,
        "agreement": 0.5,
        "annotations": 2,
        "disputed": True,
        "eval": False,
        "review": True,
    }


def test_spacy_docbin_holds_one_cat_per_label_and_row_facts_in_user_data(tmp_path):
    import spacy
    from spacy.tokens import DocBin

    out = write_export([*SINGLE, DISPUTED], tmp_path / "train.spacy", "spacy", LABELS)
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("xx").vocab))
    assert [d.text for d in docs] == [r.text for r in SINGLE]  # the disputed row is left out
    assert docs[0].cats == {"ham": 0.0, "spam": 1.0}
    assert docs[1].cats == {"ham": 1.0, "spam": 0.0}
    assert docs[1].user_data["task_id"] == 2 and docs[1].user_data["eval"] is True
    assert docs[0].user_data["agreement"] == pytest.approx(2 / 3) and docs[0].user_data["disputed"] is False
    assert docs[2].user_data["agreement"] is None


def test_spacy_multi_label_docbin_marks_every_resolved_label(tmp_path):
    import spacy
    from spacy.tokens import DocBin

    out = write_export(MULTI, tmp_path / "train.spacy", "spacy", MULTI_LABELS, multi_label=True)
    docs = list(DocBin().from_disk(out).get_docs(spacy.blank("xx").vocab))
    assert docs[0].cats == {"billing": 1.0, "bug": 1.0, "praise": 0.0}


def test_hf_dataset_has_a_classlabel_named_after_labels_and_leaves_out_disputed_rows(tmp_path):
    import datasets

    out = write_export([*SINGLE, DISPUTED], tmp_path / "ds", "hf", LABELS)
    ds = datasets.load_from_disk(str(out))
    assert isinstance(ds.features["label"], datasets.ClassLabel)
    assert ds.features["label"].names == list(LABELS)
    assert ds["task_id"] == [1, 2, 3]
    assert ds["label"] == [1, 0, 1]
    assert ds[2]["agreement"] is None and ds[0]["agreement"] == pytest.approx(2 / 3, rel=1e-6)
    assert ds["eval"] == [False, True, False] and ds.features["annotations"].dtype == "int32"


def test_hf_multi_label_uses_a_sequence_of_classlabels(tmp_path):
    import datasets

    out = write_export(MULTI, tmp_path / "ds", "hf", MULTI_LABELS, multi_label=True)
    feature = datasets.load_from_disk(str(out)).features["label"]
    assert isinstance(feature, datasets.Sequence) and feature.feature.names == list(MULTI_LABELS)


def test_hf_export_replaces_an_existing_folder(tmp_path):
    write_export(SINGLE, tmp_path / "ds", "hf", LABELS)
    write_export(SINGLE[:1], tmp_path / "ds", "hf", LABELS)
    assert load_corpus(tmp_path / "ds").texts == ["win cash now"]
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]  # no temporary folders left behind


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_export_returns_the_path_and_leaves_no_temporary_files(tmp_path, fmt):
    out = tmp_path / "export.out"
    assert write_export(SINGLE, out, fmt, LABELS) == out
    assert [p.name for p in tmp_path.iterdir()] == ["export.out"]


def test_unknown_format_is_bad_input(tmp_path):
    with pytest.raises(DataError, match="unknown export format 'xml'") as exc:
        write_export(SINGLE, tmp_path / "out.xml", "xml", LABELS)
    assert isinstance(exc.value, TextalError) and "\n" not in str(exc.value)
    assert not (tmp_path / "out.xml").exists()


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_a_label_outside_the_label_set_is_bad_input_and_writes_nothing(tmp_path, fmt):
    rows = [*SINGLE, row(7, "hello", "eggs")]
    with pytest.raises(DataError, match="task 7: label 'eggs' is not in the label set"):
        write_export(rows, tmp_path / "out", fmt, LABELS)
    assert not (tmp_path / "out").exists()


def test_several_labels_in_a_single_label_export_are_bad_input(tmp_path):
    with pytest.raises(DataError, match="task 1: several labels"):
        write_export(MULTI[:1], tmp_path / "out.csv", "csv", MULTI_LABELS)


def test_an_exported_csv_trains_with_textal_train_unchanged(tmp_path):
    from typer.testing import CliRunner

    from textal.cli import app as cli
    from textal.store.model_store import ModelStore

    spam = ["win cash now", "free prize, call now", "claim your reward", "urgent: txt WIN to 80082"]
    ham = ["see you soon", "lunch at noon?", "meeting moved to 3", "thanks, see you tomorrow"]
    rows = [
        row(i, f"{text} #{i}", label, eval=i % 5 == 0)
        for i, (text, label) in enumerate(((t, "spam") for t in spam * 5), start=1)
    ]
    rows += [row(100 + i, f"{text} #{i}", "ham") for i, text in enumerate(ham * 5)]
    out = write_export(rows, tmp_path / "export.csv", "csv", LABELS)

    result = CliRunner().invoke(cli.app, ["train", str(out), "--model", "linear", "--store", str(tmp_path / "store")])
    assert result.exit_code == 0, result.output
    assert ModelStore(tmp_path / "store").latest() == "v0001"
