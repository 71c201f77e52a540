"""The simulation's noisy annotator, and the review that re-asks flagged labels (synthetic embeddings)."""

from __future__ import annotations

import numpy as np
import pytest
from test_simulate import run, task  # noqa: F401  (the synthetic four-class task)

from textal.errors import TextalError
from textal.loop.simulate import SimulationSettings
from textal.loop.simulated_annotators import most_confused, noisy_answers


def test_uniform_noise_makes_about_the_asked_share_wrong_and_never_keeps_a_flipped_label():
    y = np.repeat(np.arange(4), 2500)
    answers = noisy_answers(y, 4, 0.2, "uniform", np.random.default_rng(0))
    wrong = answers != y
    assert 0.18 < wrong.mean() < 0.22
    assert set(np.unique(answers[wrong] - y[wrong]) % 4) == {1, 2, 3}  # any other class


def test_confusable_noise_sends_each_class_to_the_one_the_model_confuses_it_with():
    proba = np.array([[0.7, 0.2, 0.1], [0.6, 0.1, 0.3], [0.1, 0.8, 0.1], [0.3, 0.1, 0.6]])
    y_test = np.array([0, 0, 1, 2])
    confused = most_confused(proba, y_test, 3)
    assert confused.tolist() == [2, 0, 0]  # class 0 leans to 2 (mean 0.2 against 0.15), 1 to 0 or 2 (a tie: the first)
    y = np.repeat(np.arange(3), 1000)
    answers = noisy_answers(y, 3, 0.3, "confusable", np.random.default_rng(1), confused)
    wrong = answers != y
    assert (answers[wrong] == confused[y[wrong]]).all() and 0.27 < wrong.mean() < 0.33


def test_every_strategy_of_a_repeat_meets_the_same_mistakes_and_the_review_finds_them(task):  # noqa: F811
    result = run(task, label_noise=0.2)
    first = {(r.strategy, r.repeat): r for r in result.rounds if r.round == 0}
    for repeat in (0, 1):
        assert len({first[(s, repeat)].wrong_labels for s in ("random", "margin", "vote_entropy")}) == 1
    last = [r for r in result.rounds if r.labels == 110]
    assert all(r.wrong_labels > 10 for r in last)  # about a fifth of 110 labels are wrong
    assert np.mean([r.flag_recall for r in last]) > 0.6 and np.mean([r.flag_precision for r in last]) > 0.6
    assert all(r.reasked == 0 for r in result.rounds)  # no review budget: flags only


def test_the_review_budget_re_asks_flagged_labels_within_budget_and_leaves_fewer_wrong(task):  # noqa: F811
    plain = run(task, label_noise=0.2)
    reviewed = run(task, label_noise=0.2, review_budget=0.1)
    for r in reviewed.rounds:
        assert r.reasked <= int(0.1 * r.labels)
    wrong = {
        name: np.mean([r.wrong_labels for r in res.rounds if r.labels == 110])
        for name, res in (("plain", plain), ("reviewed", reviewed))
    }
    assert wrong["reviewed"] < wrong["plain"] - 5


def test_noise_settings_that_cannot_run_are_refused():
    with pytest.raises(TextalError, match="--label-noise must be in"):
        SimulationSettings(strategies=["random"], label_noise=1.0).check(2000)
    with pytest.raises(TextalError, match="--noise-kind must be one of uniform, confusable"):
        SimulationSettings(strategies=["random"], label_noise=0.1, noise_kind="evil").check(2000)


def test_with_the_holdout_the_flagged_labels_sit_out_the_next_fit(task, monkeypatch):  # noqa: F811
    from textal.loop.learners import EmbedHeadLearner

    fitted = []
    original = EmbedHeadLearner.fit
    monkeypatch.setattr(EmbedHeadLearner, "fit", lambda self, idx, y: (fitted.append(len(idx)), original(self, idx, y)))
    result = run(task, label_noise=0.2, review_holdout=True)
    fits = fitted[1:]  # the first fit is the full-data reference
    per_curve = len(result.rounds) // 6  # three strategies, two repeats
    for c in range(6):
        rounds = result.rounds[c * per_curve : (c + 1) * per_curve]
        sizes = fits[c * per_curve : (c + 1) * per_curve]
        assert sizes[0] == rounds[0].labels  # nothing flagged before the first review
        assert sizes[1:] == [r.labels - prev.flagged for prev, r in zip(rounds, rounds[1:])]
        assert any(r.flagged for r in rounds)


def test_weighing_two_annotators_by_quality_settles_their_disagreements_mostly_right(task):  # noqa: F811
    two = dict(annotators=2, poor_annotator=0.4, label_noise=0.05, noise_kind="uniform")
    majority = run(task, **two)
    weighted = run(task, **two, weigh_annotators=True)

    def right(result):  # resolved labels that are right, over the last rounds
        return np.mean([r.labels - r.tied_labels - r.wrong_labels for r in result.rounds if r.labels >= 100])

    assert all(r.tied_labels > 0 for r in majority.rounds if r.labels >= 100)  # disagreements: no label
    assert right(weighted) > right(majority) + 10
    late = [r for r in weighted.rounds if r.labels >= 100]
    assert all(r.annotator_quality[0] < r.annotator_quality[1] for r in late)  # the careless one is found out
    assert np.mean([r.wrong_labels / (r.labels - r.tied_labels) for r in late]) < 0.15


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"annotators": 0}, "--annotators must be at least 1"),
        ({"poor_annotator": 0.3}, "need --annotators 2 or more"),
        ({"weigh_annotators": True}, "need --annotators 2 or more"),
        ({"annotators": 2, "poor_annotator": 1.0}, "--poor-annotator must be in"),
        ({"review_budget": 1.0}, "--review-budget must be in"),
        ({"review_folds": 1}, "at least 2 folds"),
    ],
)
def test_panel_and_review_settings_that_cannot_run_are_refused(settings, message):
    with pytest.raises(TextalError, match=message):
        SimulationSettings(strategies=["random"], **settings).check(2000)
