"""`textal export --format hf` never deletes what it did not write (issue 26, new 7).

``--out DIR`` used to replace DIR whole, deleting an unrelated folder's files (exit 0), and ``--out .``
was an internal error. Now a non-empty folder that is not an earlier export is refused (one line, exit 2)
unless ``--overwrite``, which writes the dataset in and keeps every other file.
"""

from __future__ import annotations

import os

import pytest

from textal.data.corpus import load_corpus
from textal.data.writers import ExportRow, write_export
from textal.errors import DataError

LABELS = ("ham", "spam")
ROWS = [
    ExportRow(1, "win cash now", "spam", 1.0, 1, False, False),
    ExportRow(2, "see you", "ham", 1.0, 1, False, False),
]


@pytest.fixture
def unrelated(tmp_path):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("years of work")
    (folder / "state.json").write_text("{}")  # a name a dataset uses too
    return folder


def test_a_folder_holding_other_files_is_refused_and_left_as_it_was(unrelated):
    with pytest.raises(DataError, match="not an earlier export.*--overwrite"):
        write_export(ROWS, unrelated, "hf", LABELS)
    assert sorted(os.listdir(unrelated)) == ["chapter1.tex", "state.json"]
    assert (unrelated / "chapter1.tex").read_text() == "years of work"


def test_overwrite_writes_the_dataset_in_and_keeps_every_other_file(unrelated):
    write_export(ROWS, unrelated, "hf", LABELS, overwrite=True)
    assert (unrelated / "chapter1.tex").read_text() == "years of work"
    assert load_corpus(unrelated, fmt="hf").texts == ["win cash now", "see you"]


def test_an_earlier_export_is_replaced(tmp_path):
    write_export(ROWS, tmp_path / "ds", "hf", LABELS)
    write_export(ROWS[:1], tmp_path / "ds", "hf", LABELS)
    assert load_corpus(tmp_path / "ds", fmt="hf").texts == ["win cash now"]
    assert not [p for p in tmp_path.iterdir() if p.name != "ds"]


def test_the_cli_refuses_with_one_line_and_exit_2_and_out_dot_is_no_internal_error(
    unrelated, tmp_path, monkeypatch, textal_cli
):
    from ml_backend.labelstudio.schema import parse_label_config
    from ml_backend.state.projects import ProjectRef, ProjectRegistry
    from ml_backend.state.workfiles import ProjectFiles

    config = (
        '<View><Text name="text" value="$text"/><Choices name="label" toName="text" choice="single">'
        '<Choice value="ham"/><Choice value="spam"/></Choices></View>'
    )
    data = tmp_path / "data"
    registry = ProjectRegistry(data)
    registry.setup(ProjectRef(7, 1717000000), config, hostname="http://127.0.0.1:9", access_token="t" * 40)
    ProjectFiles(registry, 7).mirror().add([{"id": 1, "data": {"text": "a"}}], parse_label_config(config), 1000)
    for out in (str(unrelated), "."):
        monkeypatch.chdir(unrelated)
        code, _, err = textal_cli(["export", "--project", "7", "--format", "hf", "--out", out, "--data-dir", str(data)])
        assert code == 2 and len(err.strip().splitlines()) == 1 and "not an earlier export" in err, err
    assert sorted(os.listdir(unrelated)) == ["chapter1.tex", "state.json"]


def test_out_dot_in_an_empty_folder_writes_the_dataset_there(tmp_path, monkeypatch):
    from pathlib import Path

    folder = tmp_path / "empty"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert write_export(ROWS, Path("."), "hf", LABELS) == folder
    assert load_corpus(folder, fmt="hf").texts == ["win cash now", "see you"]
    assert os.path.samefile(os.getcwd(), folder)  # written into the folder, not renamed over it
