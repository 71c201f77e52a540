"""Rows in push order, built only when taken, and the scores that order them."""

from __future__ import annotations

import numpy as np

from ml_backend.labelstudio.predictions import Row
from ml_backend.scoring.ls_score import UNREADABLE, ScoreScale
from ml_backend.worker.ranked_rows import RankedRows
from ml_backend.worker.rows import place, place_scores


def _row(task_id: int, score: float) -> Row:
    return Row(task_id, None, score, None, False)


def test_rows_come_lowest_score_first_and_ties_keep_the_tasks_order():
    ranked = RankedRows.of([_row(1, 0.5), _row(2, 0.1), _row(3, 0.5), _row(4, 0.0)])
    assert ranked.task_ids() == [4, 2, 1, 3]
    assert [r.task_id for r in ranked.take(0, 2)] == [4, 2] and ranked.after(2).task_ids() == [1, 3]


def test_only_rows_taken_are_built():
    built: list[int] = []

    def make(positions: np.ndarray) -> list[Row]:
        built.extend(positions.tolist())
        return [_row(int(i) + 100, float(i)) for i in positions]

    ranked = RankedRows.by_score(np.arange(100_000) + 100, np.arange(100_000, dtype=float), make)
    assert [r.task_id for r in ranked.take(0, 3)] == [100, 101, 102] and built == [0, 1, 2]
    assert len(ranked.after(3)) == 99_997 and built == [0, 1, 2]


def test_only_keeps_the_named_tasks_in_push_order():
    ranked = RankedRows.of([_row(1, 0.9), _row(2, 0.1), _row(3, 0.5)])
    assert ranked.only({1, 3}).task_ids() == [3, 1] and len(ranked.only(set())) == 0


def test_the_band_comes_first_then_informativeness_on_the_pools_scale_and_unreadable_tasks_last():
    ids = np.array([10, 11, 12, 13, 14])
    informativeness = np.array([0.9, 0.1, np.nan, 0.5, 0.7])
    scores, scale = place_scores(ids, informativeness, np.full(5, UNREADABLE), [13, 11], None)
    band = scale.band_scores(2)
    assert scores[3] == band[0] and scores[1] == band[1]  # the band's order, whatever the informativeness
    assert scores[2] == UNREADABLE
    assert band[1] < scores[0] < scores[4] <= UNREADABLE  # the most informative outside the band next
    assert scale == ScoreScale.from_pool(np.array([0.9, 0.7]), 2)  # the scale: the open tasks outside the band


def test_placing_rows_keeps_a_given_scale_and_leaves_rows_without_informativeness_alone():
    scale = ScoreScale.from_pool(np.linspace(0, 1, 50), 5)
    rows = [Row(1, ["spam"], UNREADABLE, 0, False, None, 0.8, 0.9), Row(2, None, UNREADABLE, None, True)]
    placed, kept = place(rows, [], scale)
    assert kept is scale and placed[1] is rows[1]
    assert placed[0].score == float(scale.scores(np.array([0.8]))[0]) and placed[0].choices == ["spam"]
