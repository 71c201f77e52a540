"""A real Label Studio, `textal serve` and `textal worker`: labels submitted wrong on purpose come first in the view
"textal: labels to review", with the right label suggested, and a corrected one leaves it at the next retrain."""

from __future__ import annotations

import time

import pytest

from ml_backend.labelstudio.ordering import REVIEW_VIEW
from ml_backend.worker.review import REVIEW_GROWTH
from tests.support.browser import AnnotatorBrowser
from tests.support.dataset_rows import read_rows
from tests.support.ls_project import CONFIG, EVAL_VIEW, WORKER_ARGS, Project, choice, wait_for, work_state

pytestmark = pytest.mark.e2e

N_TASKS = 150  # 15 in the evaluation slice
N_LABELS = 100
WRONG = {"ham": "spam", "spam": "ham"}


def test_deliberately_wrong_labels_rank_first_in_the_review_view_and_a_fix_clears_the_mark(
    label_studio, start_backend, start_worker, data_dir, tmp_path
):
    started = time.monotonic()
    state = tmp_path / "backend-data"
    worker = start_worker(state, *WORKER_ARGS, "--promote-margin", "inf")
    backend = start_backend(tmp_path / "no-store", data_dir=state)
    ls = label_studio.client()
    project = ls.projects.create(title="textal review e2e", label_config=CONFIG)
    ls.ml.create(url=backend.url, project=project.id, title="textal")
    p = Project(ls, project.id, state, None)
    rows = read_rows(data_dir / "sms_spam" / "test.csv", N_TASKS)
    ids = sorted(
        ls.projects.import_tasks(id=p.id, request=[{"text": r["text"]} for r in rows], return_task_ids=True).task_ids
    )
    gold = {tid: r["label"] for tid, r in zip(ids, rows)}

    def marked_slice() -> list[int]:
        titles = {(v.data or {}).get("title") for v in ls.views.list(project=p.id)}
        return EVAL_VIEW in titles and len(p.view(EVAL_VIEW)) == 15 and p.view(EVAL_VIEW)

    slice_ids = set(wait_for(marked_slice, 120, "the slice marked", worker.log))

    # 100 labels outside the slice, every twelfth of them wrong on purpose (a spam-heavy share: SMS is 13 % spam)
    to_label = [t for t in ids if t not in slice_ids][:N_LABELS]
    wrong = set(to_label[3::12])
    annotation_of = {}
    for tid in to_label:
        answer = WRONG[gold[tid]] if tid in wrong else gold[tid]
        annotation_of[tid] = ls.annotations.create(id=tid, result=choice(answer)).id

    def reviewed() -> bool:
        review = work_state(state, p.id).get("review") or {}
        # the worker reviews again once the labels grew by REVIEW_GROWTH: the last review saw nearly all of them
        return (
            p.idle()
            and review.get("labels", 0) * (1 + REVIEW_GROWTH) >= N_LABELS
            and len(p.view(REVIEW_VIEW)) >= len(wrong)
        )

    wait_for(
        reviewed,
        180,
        "the review of every label",
        lambda: "\n".join(line for line in worker.log().splitlines() if "joins the waiting" not in line),
    )
    order = p.view(REVIEW_VIEW)
    top = order[: len(wrong)]
    # two thirds of the first are the wrong labels (a random order would give a twelfth); which tasks are labelled
    # depends on the evaluation slice, drawn with the project's id, so the exact share moves with the tests run before
    assert len(set(top) & wrong) >= 2 * len(wrong) // 3, (top, sorted(wrong))
    tasks = {t.id: t for t in p.tasks()}
    for tid in set(top) & wrong:
        assert tasks[tid].data["textal_suggestion"].startswith(f"{gold[tid]} (")
        assert tasks[tid].data["textal_review"] > 0.5
    suspicion = [tasks[t].data["textal_review"] for t in order]
    assert suspicion == sorted(suspicion, reverse=True)  # most suspicious first

    # what a reviewer sees: the view in the Data Manager, the suspicion and the suggestion as columns
    view_id = {(v.data or {}).get("title"): v.id for v in ls.views.list(project=p.id)}[REVIEW_VIEW]
    with AnnotatorBrowser(failure_screenshot=tmp_path / "failure.png") as browser:
        browser.login(label_studio.url, label_studio.email, label_studio.password)
        browser.open_data_manager(label_studio.url, p.id, view_id)
        first = tasks[order[0]].data["textal_suggestion"]
        browser.wait(
            lambda d: first in d.page_source and "textal_suggestion" in d.page_source,
            "the review view's columns and the first task's suggestion",
        )
        shot = browser.screenshot(tmp_path / "review-view.png")
    assert shot.stat().st_size > 10_000
    print(f"review view screenshot: {shot}")

    # the annotator fixes the most suspicious one: the next retrain clears its mark
    fixed = next(t for t in top if t in wrong)
    ls.annotations.update(id=annotation_of[fixed], result=choice(gold[fixed]))
    wait_for(lambda: p.idle() and fixed not in p.view(REVIEW_VIEW), 120, "the fixed label's mark cleared", worker.log)
    assert ls.tasks.get(id=fixed).data["textal_review"] == 0
    print(f"review e2e: {time.monotonic() - started:.1f} s")
