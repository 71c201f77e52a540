"""After a retrain the worker marks the labels that are probably wrong, and clears a mark once the label is fixed."""

from __future__ import annotations

import numpy as np
import pytest
from worker_fakes import HAM_WORDS, SPAM_WORDS, Harness, choice

from ml_backend.labelstudio.tasks import EVAL_KEY, REVIEW_KEY, SUGGESTION_KEY

WRONG = {"ham": "spam", "spam": "ham"}


def clear_text(i: int) -> tuple[str, str]:
    """A text made of its label's words only: a wrong label on it is plainly wrong."""
    label = "spam" if i % 3 == 0 else "ham"
    words = np.random.default_rng(i).choice(SPAM_WORDS if label == "spam" else HAM_WORDS, size=4)
    return " ".join(words) + f" n{i}", label


@pytest.fixture
def labelled(tmp_path):
    """120 tasks, the 90 outside the evaluation slice labelled, eight of them deliberately wrong."""
    harness = Harness(tmp_path / "data", eval_min=10, min_eval=10)
    texts, labels = zip(*(clear_text(i) for i in range(120)))
    ids = harness.studio.add_tasks(list(texts))
    truth = dict(zip(ids, labels))
    harness.retrain("TASKS_CREATED")  # set-up: the slice is chosen and marked
    open_ids = [t for t in ids if harness.studio.tasks[t]["data"].get(EVAL_KEY) != 1][:90]
    wrong = set(open_ids[5::11])
    for tid in open_ids:
        harness.studio.annotate(tid, WRONG[truth[tid]] if tid in wrong else truth[tid])
    return harness, truth, wrong


def marks(harness):
    return {tid: t["data"] for tid, t in harness.studio.tasks.items() if t["data"].get(REVIEW_KEY, 0) > 0}


def test_the_deliberately_wrong_labels_are_marked_most_suspicious_first_with_the_right_label_suggested(labelled):
    harness, truth, wrong = labelled
    outcome = harness.retrain()
    assert outcome["status"] == "published"
    marked = marks(harness)
    by_suspicion = sorted(marked, key=lambda tid: -marked[tid][REVIEW_KEY])
    top = set(by_suspicion[: len(wrong)])
    assert top == wrong
    for tid in wrong:
        assert marked[tid][SUGGESTION_KEY].startswith(f"{truth[tid]} (")
    review = harness.project().work["review"]
    assert review["flagged"] >= len(wrong) and review["marked"] == len(marked) and review["labels"] == 90


def test_a_corrected_label_loses_its_mark_at_the_next_retrain(labelled):
    harness, truth, wrong = labelled
    harness.retrain()
    fixed = sorted(set(marks(harness)) & wrong)[0]
    task = harness.studio.tasks[fixed]
    task["annotations"][0].update(result=choice(truth[fixed]), updated_at=harness.studio.tick().isoformat())
    task["updated_at"] = harness.studio.tick()
    harness.retrain()
    assert fixed not in marks(harness) and harness.studio.tasks[fixed]["data"][SUGGESTION_KEY] == ""
    assert harness.project().work["review"]["cleared"] >= 1


def test_no_marks_when_the_review_is_switched_off(tmp_path, labelled):
    harness, truth, wrong = labelled
    harness.settings = harness.ctx.settings = harness.settings.__class__(
        **{**harness.settings.__dict__, "review_marks": 0}
    )
    harness.retrain()
    assert not marks(harness) and "review" not in harness.project().work


def test_status_and_export_report_the_marked_labels(labelled):
    from worker_fakes import PROJECT_ID

    from ml_backend.export import from_mirror
    from ml_backend.state.status import project_status

    harness, truth, wrong = labelled
    harness.retrain()
    data_dir = harness.settings.data_dir
    exported = from_mirror(data_dir, PROJECT_ID, 2 / 3)
    assert {r.task_id for r in exported.rows if r.review} == set(marks(harness))
    line = project_status(data_dir, PROJECT_ID).review_line()
    assert line.startswith(f"Labels to review: {harness.project().work['review']['flagged']} of 90 look wrong")


def test_the_review_waits_for_a_twentieth_more_labels_or_a_changed_mark(labelled):
    from ml_backend.worker.review import review_due

    harness, truth, wrong = labelled
    harness.retrain()
    work = harness.project().work
    ids = sorted(int(t) for t in work["review_marks"])
    labels = {tid: work["review_marks"][str(tid)][2] for tid in ids}
    others = list(range(10_000, 10_000 + 90 - len(ids)))
    current = [labels[t] for t in ids] + ["ham"] * len(others)
    assert not review_due(work, ids + others, current)  # the same 90 labels, marks unchanged
    assert review_due(work, ids + others + [1, 2, 3, 4, 5], current + ["ham"] * 5)  # 95 labels: a twentieth more
    changed = [WRONG[current[0]]] + current[1:]
    assert review_due(work, ids + others, changed)  # a marked label fixed


def test_with_several_annotators_per_task_the_careless_one_gets_the_lowest_quality(tmp_path, textal_cli):
    from worker_fakes import PROJECT_ID

    from ml_backend.state.status import project_status

    harness = Harness(tmp_path / "data", eval_min=10, min_eval=10)
    texts, labels = zip(*(clear_text(i) for i in range(120)))
    ids = harness.studio.add_tasks(list(texts))
    truth = dict(zip(ids, labels))
    harness.retrain("TASKS_CREATED")
    rng = np.random.default_rng(0)
    for n, tid in enumerate(t for t in ids if harness.studio.tasks[t]["data"].get(EVAL_KEY) != 1):
        for who, error in (("careful@x", 0.0), ("steady@x", 0.05), ("careless@x", 0.4)):
            if who == "steady@x" and n % 2:
                continue  # not every annotator sees every task
            label = WRONG[truth[tid]] if rng.random() < error else truth[tid]
            harness.studio.annotate(tid, label)
            harness.studio.tasks[tid]["annotations"][-1]["completed_by"] = who
    harness.retrain()
    stats = {a["annotator"]: a for a in harness.project().work["annotators"]}
    assert set(stats) == {"careful@x", "steady@x", "careless@x"}
    assert stats["careless@x"]["quality"] < min(stats["careful@x"]["quality"], stats["steady@x"]["quality"])
    assert stats["careless@x"]["agreement"] < 0.8 < stats["careful@x"]["agreement"]
    assert project_status(harness.settings.data_dir, PROJECT_ID).annotators == harness.project().work["annotators"]
    code, printed, _ = textal_cli(
        ["status", "--project", str(PROJECT_ID), "--data-dir", str(harness.settings.data_dir)]
    )
    assert code == 0 and "Labels to review:" in printed
    rows = [line for line in printed.splitlines() if "@x" in line]
    assert "careless@x" in rows[0]  # lowest quality first


def test_with_the_holdout_marked_labels_sit_out_training_until_changed(tmp_path):
    harness = Harness(tmp_path / "data", eval_min=10, min_eval=10, review_holdout=True)
    texts, labels = zip(*(clear_text(i) for i in range(120)))
    ids = harness.studio.add_tasks(list(texts))
    truth = dict(zip(ids, labels))
    harness.retrain("TASKS_CREATED")
    open_ids = [t for t in ids if harness.studio.tasks[t]["data"].get(EVAL_KEY) != 1][:90]
    wrong = set(open_ids[5::11])
    for tid in open_ids:
        harness.studio.annotate(tid, WRONG[truth[tid]] if tid in wrong else truth[tid])
    harness.retrain()  # the review marks them
    marked = set(marks(harness))
    harness.studio.annotate(open_ids[0], truth[open_ids[0]])  # a new label: the next retrain
    harness.retrain()
    store = harness.project().store
    card = store.card(store.latest())
    assert card["held_for_review"] == len(marked) and card["training_size"] == 90 - len(marked)
