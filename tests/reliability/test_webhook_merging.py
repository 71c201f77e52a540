"""TASKS_CREATED webhooks are merged per project and the ids they carry are capped (issue 26, new 5).

10,000 one-task webhooks used to queue 10,000 jobs, and 50 webhooks listing 850,000 task ids grew
queue.db from 6 to 220 MB. Now one score_tasks job waits per project whatever the number of webhooks, it
gathers their ids up to ``MAX_SCORE_IDS``, and past the cap it keeps none (the job syncs the whole pool).
"""

from __future__ import annotations

import logging

from ml_backend.queue.factory import make_huey
from ml_backend.queue.jobs import MAX_SCORE_IDS, Jobs
from ml_backend.state.layout import DataLayout
from textal.runtime import logs


class Runner:
    def __init__(self) -> None:
        self.scored: list[tuple[int, list[int]]] = []

    def score_tasks(self, project_id, task_ids):
        self.scored.append((project_id, list(task_ids)))
        return "scored"


def run_all(huey) -> int:
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def test_a_thousand_one_task_webhooks_queue_one_job_per_project_that_scores_them_all(tmp_path, caplog):
    logs.forget()
    runner = Runner()
    jobs = Jobs(make_huey(tmp_path), runner)
    with caplog.at_level(logging.INFO, logger="ml_backend.queue"):
        ids = {jobs.enqueue_score(7, [i]) for i in range(1000)}
        other = jobs.enqueue_score(8, [5000])
    assert len(ids) == 1 and other not in ids
    assert sorted(j["args"][0] for j in jobs.pending()) == [7, 8]
    assert len(caplog.records) < 10  # "joins the waiting job" once, not per webhook
    assert run_all(jobs.huey) == 2
    assert sorted(runner.scored) == [(7, list(range(1000))), (8, [5000])]


def test_webhooks_listing_a_million_ids_keep_none_past_the_cap_and_leave_the_queue_small(tmp_path):
    runner = Runner()
    jobs = Jobs(make_huey(tmp_path), runner)
    for n in range(50):
        jobs.enqueue_score(7, list(range(n * 17_000, (n + 1) * 17_000)))
    assert len(jobs.pending()) == 1
    assert DataLayout(tmp_path).queue_file.stat().st_size < 2_000_000
    assert run_all(jobs.huey) == 1 and runner.scored == [(7, [])]  # a full sync


def test_ids_past_the_cap_in_small_webhooks_fall_back_to_a_full_sync(tmp_path):
    runner = Runner()
    jobs = Jobs(make_huey(tmp_path), runner)
    for start in range(0, MAX_SCORE_IDS + 1000, 1000):
        jobs.enqueue_score(7, list(range(start, start + 1000)))
    assert run_all(jobs.huey) == 1 and runner.scored == [(7, [])]
    jobs.enqueue_score(7, [1, 2])  # the next webhook starts afresh
    assert run_all(jobs.huey) == 1 and runner.scored[-1] == (7, [1, 2])
