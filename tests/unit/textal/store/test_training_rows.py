"""A version's training rows: kept as data, sampled by class past the bound, read back within bounds."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from textal.errors import StoreError
from textal.store.training_rows import (
    MIN_ROWS_A_CLASS,
    TRAINING_ROWS_FILE,
    load_training_rows,
    sample_rows,
    save_training_rows,
)


def test_rows_are_kept_as_json_lines_and_read_back_with_multi_labels_as_tuples(tmp_path):
    summary = save_training_rows(tmp_path, ["a b", "c d"], ["x", ("x", "y")])
    assert summary == {"rows": 2, "of": 2, "sampled": False}
    assert json.loads((tmp_path / TRAINING_ROWS_FILE).read_text().splitlines()[1]) == {
        "text": "c d",
        "label": ["x", "y"],
    }
    rows = load_training_rows(tmp_path)
    assert rows is not None and rows.texts == ["a b", "c d"] and rows.labels == ["x", ("x", "y")]


def test_past_the_bound_a_sample_keeps_every_class_in_proportion_and_a_floor_for_rare_ones():
    labels = ["big"] * 9_000 + ["mid"] * 900 + ["rare"] * 5
    keep = sample_rows(labels, max_rows=1_000)
    counts = Counter(labels[i] for i in keep)
    assert counts["rare"] == 5
    assert counts["big"] == pytest.approx(1_000 * 9_000 / 9_905, abs=1)
    assert counts["mid"] == max(MIN_ROWS_A_CLASS, 1_000 * 900 // 9_905)
    assert list(keep) == sorted(keep)


def test_a_version_without_rows_has_none(tmp_path):
    assert load_training_rows(tmp_path) is None


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("not json", "line 1 is not JSON"),
        ('{"text": "", "label": "x"}', "'text' must be a string"),
        ('{"text": "a", "label": 3}', "'label' must be a string or a list of strings"),
        ('{"text": "a", "label": {"__class__": "os.system"}}', "'label' must be a string or a list of strings"),
    ],
)
def test_a_row_that_is_not_what_textal_writes_is_refused_naming_the_line(tmp_path, line, says):
    (tmp_path / TRAINING_ROWS_FILE).write_text(line + "\n")
    with pytest.raises(StoreError, match=says):
        load_training_rows(tmp_path)


def test_more_rows_than_the_bound_are_refused_rather_than_read(tmp_path):
    save_training_rows(tmp_path, ["t"] * 5, ["x"] * 5)
    with pytest.raises(StoreError, match="more than 3 rows"):
        load_training_rows(tmp_path, max_rows=3)
