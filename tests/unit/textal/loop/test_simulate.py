"""textal.loop.simulate on synthetic embeddings: the protocol's bookkeeping and its determinism."""

from __future__ import annotations

import numpy as np
import pytest

from textal.data.corpus import Corpus
from textal.errors import TextalError
from textal.loop.learners import EmbedHeadLearner
from textal.loop.simulate import SimulationSettings, simulate, summarise


def blobs(n: int, k: int, seed: int) -> tuple[np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, 8)) * 3
    y = rng.integers(0, k, size=n)
    X = centres[y] + rng.normal(size=(n, 8))
    return X.astype(np.float32), [f"c{v}" for v in y]


def word(i: int) -> str:
    """Distinct letters-only texts: digits would make them near-duplicates of one another."""
    out = ""
    while True:
        out += "abcdefghijklmnopqrstuvwxyz"[i % 26]
        i //= 26
        if i == 0:
            return out


@pytest.fixture(scope="module")
def task():
    X_all, y_all = blobs(600, 4, 0)
    X, y, Xt, yt = X_all[:400], y_all[:400], X_all[400:], y_all[400:]
    train = Corpus([f"text {word(i)}" for i in range(400)], y, tuple(sorted(set(y))), False, "train", list(range(400)))
    test = Corpus([f"test {word(i)}" for i in range(200)], yt, tuple(sorted(set(yt))), False, "test", list(range(200)))
    return X, Xt, train, test


def run(task, **kw):
    X, Xt, train, test = task
    settings = SimulationSettings(
        **{
            "strategies": ["random", "margin", "vote_entropy"],
            "seed_size": 20,
            "batch": 30,
            "budget": 110,
            "repeats": 2,
            **kw,
        }
    )
    learner = EmbedHeadLearner(X, Xt, sorted(set(train.labels)), committee_size=3)
    return simulate(learner, train, test, settings)


def test_every_curve_starts_at_the_seed_and_grows_by_batches_to_the_budget(task):
    result = run(task)
    for name in ("random", "margin", "vote_entropy"):
        for repeat in (0, 1):
            labels = [r.labels for r in result.rounds if r.strategy == name and r.repeat == repeat]
            assert labels == [20, 50, 80, 110]


def test_same_seed_gives_the_same_numbers_and_another_seed_does_not(task):
    a, b, c = run(task), run(task), run(task, seed=5)
    f1 = lambda res: [r.macro_f1 for r in res.rounds]  # noqa: E731
    assert f1(a) == f1(b)
    assert f1(a) != f1(c)


def test_strategies_of_a_repeat_share_their_seed_round(task):
    result = run(task)
    first = {(r.strategy, r.repeat): r.macro_f1 for r in result.rounds if r.round == 0}
    assert first[("random", 0)] == first[("margin", 0)] == first[("vote_entropy", 0)]


def test_uncertainty_beats_random_on_separable_blobs(task):
    summary = summarise(run(task, repeats=3))
    assert summary["strategies"]["margin"]["auc"] >= summary["strategies"]["random"]["auc"] - 0.01
    assert summary["full_data_macro_f1"] > 0.9


def test_held_out_slice_gives_an_eval_metric_and_is_never_trained_on(task):
    result = run(task, eval_fraction=0.2)
    assert all(r.eval_macro_f1 is not None for r in result.rounds)


def test_coverage_cold_start_runs_and_is_reported_in_settings(task):
    result = run(task, cold_start="coverage", strategies=["margin"], repeats=1)
    assert [r.labels for r in result.rounds] == [20, 50, 80, 110]
    assert result.to_dict()["settings"]["cold_start"] == "coverage"


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"strategies": ["nope"]}, "unknown strategy"),
        ({"budget": 10}, "smaller than the seed set"),
        ({"budget": 10_000}, "exceeds the 400 texts"),
        ({"batch": 0}, "at least 1"),
        ({"cold_start": "magic"}, "cold start"),
    ],
)
def test_impossible_settings_are_rejected_with_the_reason(task, kw, message):
    with pytest.raises(TextalError, match=message):
        run(task, **kw)


def test_a_multi_label_pool_simulates_and_refuses_label_noise(task):
    X, Xt, train, test = task
    tags = lambda labels: [tuple(sorted({lab, "even" if int(lab[1:]) % 2 == 0 else "odd"})) for lab in labels]  # noqa: E731
    names = sorted(set(train.labels) | {"even", "odd"})
    multi_train = Corpus(train.texts, tags(train.labels), tuple(names), True, "train", train.rows)
    multi_test = Corpus(test.texts, tags(test.labels), tuple(names), True, "test", test.rows)
    learner = EmbedHeadLearner(X, Xt, names, multi_label=True, committee_size=3)
    settings = SimulationSettings(strategies=["random", "margin"], seed_size=20, batch=30, budget=80, repeats=1)
    result = simulate(learner, multi_train, multi_test, settings)
    assert [r.labels for r in result.rounds if r.strategy == "margin"] == [20, 50, 80]
    with pytest.raises(TextalError, match="apply to single-label data"):
        simulate(
            learner,
            multi_train,
            multi_test,
            SimulationSettings(strategies=["random"], seed_size=20, batch=30, budget=80, repeats=1, label_noise=0.1),
        )
