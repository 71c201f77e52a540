"""Learning-curve summaries: AUC, labels to a target, savings against random."""

from __future__ import annotations

import numpy as np

from textal.loop.curves import labels_to_reach, summarise_curves
from textal.loop.simulate import RoundRecord, SimulationResult, SimulationSettings


def record(strategy, repeat, labels, f1):
    return RoundRecord(strategy, repeat, 0, labels, f1, f1, None, 0.0, 0.0, None, 0.0, 0.0)


def test_labels_to_reach_is_the_first_count_at_or_above_target():
    labels = np.array([10, 20, 30, 40])
    assert labels_to_reach(labels, np.array([0.5, 0.8, 0.79, 0.9]), 0.8) == 20
    assert labels_to_reach(labels, np.array([0.5, 0.6, 0.7, 0.75]), 0.8) is None


def test_summary_gives_auc_over_all_rounds_and_savings_against_random():
    rounds = []
    for repeat in (0, 1):
        for labels, good, rand in ((10, 0.60, 0.50), (20, 0.90, 0.60), (30, 0.95, 0.70), (40, 0.96, 0.96)):
            rounds.append(record("margin", repeat, labels, good))
            rounds.append(record("random", repeat, labels, rand))
    result = SimulationResult(
        SimulationSettings(strategies=["margin", "random"], seed_size=10, batch=10, budget=40),
        {"macro_f1": 1.0},
        rounds,
        {},
    )
    summary = summarise_curves(result, targets=(0.9, 0.95))
    margin = summary["strategies"]["margin"]
    assert margin["auc"] == np.mean([0.60, 0.90, 0.95, 0.96])
    assert margin["labels_to"] == {"0.90": 20, "0.95": 30}
    assert margin["saving_vs_random"]["0.90"] == {"percent": 50.0, "at_least": False}
    assert summary["strategies"]["random"]["labels_to"]["0.95"] == 40


def test_stopping_summary_reports_the_first_firing_round_and_the_gain_of_going_on():
    from textal.loop.curves import stopping_summary

    rounds = []
    for repeat, fire_at in ((0, 20), (1, 30)):
        for labels, f1 in ((10, 0.5), (20, 0.8), (30, 0.85), (40, 0.9)):
            r = record("margin", repeat, labels, f1)
            r.stop_plateau = labels >= fire_at
            rounds.append(r)
    summary = stopping_summary(rounds)
    assert summary["metric_plateau"]["fired_in"] == 2
    assert summary["metric_plateau"]["labels"] == 25
    assert summary["metric_plateau"]["gain_if_continued"] == np.mean([0.9 - 0.8, 0.9 - 0.85])
    assert summary["stabilising_predictions"] == {"fired_in": 0, "repeats": 2}
