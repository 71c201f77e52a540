"""What an annotator sees: a real Label Studio's label stream, in a real (headless) browser, serves the task with the
lowest prediction score first and shows its predicted choice pre-selected. No textal backend: the predictions are
imported through the API, as textal's worker would store them."""

from __future__ import annotations

import time

import pytest

from tests.support.browser import AnnotatorBrowser, chromium_available
from tests.support.ls_project import CONFIG, choice

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MODEL_VERSION = "t1"
# one score per task; the lowest is neither the first nor the last task, so id order or luck cannot pass the test
SCORES = [0.91, 0.62, 0.48, 0.77, 0.35, 0.83, 0.07, 0.55, 0.29, 0.70]


def test_label_stream_shows_the_lowest_score_task_with_its_prediction_prefilled(label_studio, tmp_path):
    reason = chromium_available()
    assert reason is None, reason
    started = time.monotonic()
    ls = label_studio.client()
    project = ls.projects.create(title="textal e2e: browser label stream", label_config=CONFIG)
    texts = [
        f"message {i}: {word} see you at the station"
        for i, word in enumerate(
            ["lunch", "tomorrow", "dinner", "tonight", "later", "home", "prize", "work", "sleep", "thanks"]
        )
    ]
    ls.projects.import_tasks(id=project.id, request=[{"text": t} for t in texts])
    tasks = {task.data["text"]: int(task.id) for task in ls.tasks.list(project=project.id, include="id,data")}
    assert sorted(tasks) == sorted(texts)

    for text, score in zip(texts, SCORES):
        lowest = score == min(SCORES)
        ls.predictions.create(
            task=tasks[text], result=choice("spam" if lowest else "ham"), score=score, model_version=MODEL_VERSION
        )
    lowest_text = texts[SCORES.index(min(SCORES))]
    # what ml_backend.labelstudio.client's set_model_version / set_sampling do
    ls.projects.update(id=project.id, model_version=MODEL_VERSION)
    ls.projects.update(id=project.id, sampling="Uncertainty sampling")
    settings = ls.projects.get(id=project.id)
    assert (settings.model_version, settings.sampling, settings.show_collab_predictions) == (
        MODEL_VERSION,
        "Uncertainty sampling",
        True,
    )

    with AnnotatorBrowser(failure_screenshot=tmp_path / "failure.png") as browser:
        browser.login(label_studio.url, label_studio.email, label_studio.password)
        shown = browser.open_label_stream(label_studio.url, project.id)
        shot = browser.screenshot(tmp_path / "label-stream.png")

    assert (shown.task_id, shown.text) == (tasks[lowest_text], lowest_text), shown
    assert shown.choices == ["ham", "spam"], shown
    assert shown.checked == ["spam"], f"the prediction's choice is not shown pre-selected: {shown}"
    assert shot.stat().st_size > 10_000
    print(f"browser label stream: task {shown.task_id} shown in {time.monotonic() - started:.1f} s; screenshot {shot}")
