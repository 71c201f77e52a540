"""A base model's training rows reach a project only with labels its config knows."""

from __future__ import annotations

from ml_backend.worker.base_rows import usable
from textal.store.training_rows import TrainingRows


def test_single_label_rows_with_labels_the_project_lacks_are_left_out():
    rows = TrainingRows(["a", "b", "c"], ["spam", "ham", "promo"])
    assert usable(rows, ["ham", "spam"], False) == (["a", "b"], ["spam", "ham"])


def test_multi_label_rows_keep_their_known_labels_and_rows_left_with_none_go():
    rows = TrainingRows(["a", "b", "c"], [("x", "old"), ("old",), ("y",)])
    assert usable(rows, ["x", "y"], True) == (["a", "c"], [("x",), ("y",)])


def test_rows_of_the_other_kind_of_labels_serve_neither():
    single, multi = TrainingRows(["a"], ["x"]), TrainingRows(["a"], [("x",)])
    assert usable(single, ["x"], True) == ([], [])
    assert usable(multi, ["x"], False) == ([], [])
