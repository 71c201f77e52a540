"""Annotator agreement: resolved labels, ratios, Krippendorff's alpha, flagged items."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textal.quality.agreement import AgreementError, krippendorff_alpha, per_round, resolve


def test_alpha_matches_krippendorffs_published_nominal_example():
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders,
    # 12 units, missing values as "."; the paper gives nominal alpha = 0.743.
    coders = [
        "1 2 3 3 2 1 4 1 2 . . .",
        "1 2 3 3 2 2 4 1 2 5 . 3",
        ". 3 3 3 2 3 4 2 2 5 1 .",
        "1 2 3 3 2 4 4 1 2 5 1 .",
    ]
    units = [[v for v in unit if v != "."] for unit in zip(*(c.split() for c in coders))]
    assert round(krippendorff_alpha(units), 3) == 0.743


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 30), coders=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_alpha_is_one_for_perfect_agreement_whenever_two_values_occur(n, coders, seed):
    values = np.random.default_rng(seed).integers(0, 3, n)
    values[0], values[1] = 0, 1
    assert krippendorff_alpha([[v] * coders for v in values]) == 1.0


def test_alpha_is_undefined_without_pairs_or_without_variation():
    assert krippendorff_alpha([["a"], ["b"]]) is None
    assert krippendorff_alpha([["a", "a"], ["a", "a"]]) is None


def test_majority_label_ratio_and_flags():
    report = resolve({"t1": ["spam", "spam", "ham"], "t2": ["ham", "spam"], "t3": ["ham"] * 3, "t4": ["spam"]})
    by = {it.item: it for it in report.items}
    assert by["t1"].label == "spam" and np.isclose(by["t1"].ratio, 2 / 3) and not by["t1"].flagged
    assert by["t2"].label is None and by["t2"].flagged  # a tie has no majority
    assert by["t3"].ratio == 1.0 and by["t4"].ratio == 1.0 and by["t4"].annotations == 1
    assert report.flagged == ["t2"]
    assert report.training_labels() == {"t1": "spam", "t3": "ham", "t4": "spam"}


def test_items_below_the_threshold_stay_out_of_training_unless_asked():
    report = resolve({"a": ["x", "x", "y", "z"], "b": ["x", "x"]}, threshold=0.75)
    assert report.flagged == ["a"]
    assert report.training_labels() == {"b": "x"}
    assert report.training_labels(include_flagged=True) == {"a": "x", "b": "x"}


def test_multi_label_majority_per_label_and_mean_agreement():
    report = resolve(
        {"a": [["billing", "urgent"], ["billing"], ["billing", "urgent"]], "b": [["tech"], ["billing"]]},
        label_set=["billing", "tech", "urgent"],
    )
    by = {it.item: it for it in report.items}
    assert report.multi_label
    assert by["a"].label == ("billing", "urgent") and np.isclose(by["a"].ratio, (1 + 2 / 3) / 2)
    assert by["b"].flagged  # each of tech and billing chosen by exactly half: a tie
    assert report.alpha is not None and report.alpha < 1


def test_multi_label_alpha_is_one_when_every_decision_agrees():
    report = resolve({"a": [["x"], ["x"]], "b": [["y"], ["y"]]}, multi_label=True)
    assert report.alpha == 1.0 and report.flagged == []


def test_reports_per_round_and_summary():
    rounds = {1: {"a": ["x", "y"], "b": ["y", "y"]}, 2: {"c": ["x", "x"], "d": ["y", "y"]}}
    reports = per_round(rounds)
    assert reports[2].alpha == 1.0 and reports[1].alpha < reports[2].alpha
    summary = reports[1].summary()
    assert summary["items"] == 2 and summary["flagged"] == 1 and summary["mean_ratio"] == 0.75


@pytest.mark.parametrize(
    "annotations, kwargs, message",
    [
        ({"a": []}, {}, "no annotations"),
        ({"a": "spam"}, {}, "list of labels"),
        ({"a": ["x", ["x", "y"]]}, {}, "mix single labels and label lists"),
        ({"a": ["x"]}, {"threshold": 1.5}, "threshold"),
        ({"a": [["x"], ["q"]]}, {"label_set": ["x"]}, "not in the label set"),
        ({"a": ["x", 3]}, {"multi_label": False}, "must be strings"),
    ],
)
def test_unresolvable_annotations_are_clear_errors(annotations, kwargs, message):
    with pytest.raises(AgreementError, match=message):
        resolve(annotations, **kwargs)
