"""`textal init` and `textal export` against a real Label Studio, `textal serve` and `textal worker`."""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import pytest

from ml_backend.labelstudio.admin import StudioAdmin
from ml_backend.labelstudio.client import Studio
from ml_backend.recipes import init as init_module
from ml_backend.recipes.init import ROW_KEY, init_project
from ml_backend.recipes.recipe import load_recipe
from tests.support.dataset_rows import read_rows
from textal.data.corpus import load_corpus

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def spam_csv(tmp_path, data_dir) -> Path:
    rows = read_rows(data_dir / "sms_spam" / "test.csv", 120)
    path = tmp_path / "tickets.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "label"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "label": r["label"]} for r in rows)
    return path


@pytest.fixture
def stack(label_studio, start_backend, start_worker, tmp_path, monkeypatch):
    """A backend and a worker on one data folder, and the environment `textal init` reads."""
    data_dir = tmp_path / "backend"
    backend = start_backend(tmp_path / "store", data_dir)
    env = {"LABEL_STUDIO_URL": label_studio.url, "LABEL_STUDIO_API_KEY": label_studio.token}
    start_worker(data_dir, "--eval-min", "10", env=env)
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    return backend


def every_task_predicted(studio: Studio, project_id: int, n: int, timeout: float = 90.0) -> bool:
    """Whether all ``n`` tasks come to hold a prediction of the version Label Studio orders by (the head at once,
    the rest from the worker's background fill)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        version = studio.project(project_id).model_version
        if version and studio.model_versions(project_id).get(version, 0) == n:
            return True
        time.sleep(0.5)
    return False


def projects_titled(label_studio, title: str) -> list[int]:
    admin = StudioAdmin(Studio(label_studio.url, label_studio.token))
    return [p.id for p in admin.projects() if p.title == title]


def test_init_twice_leaves_one_project_with_every_row_once_and_a_prediction_on_every_task(
    stack, spam_csv, label_studio, textal_cli
):
    argv = ["init", "--recipe", "spam", "--data", str(spam_csv), "--backend", stack.url, "--project-name", "init twice"]
    code, out, err = textal_cli(argv)
    assert code == 0, err
    assert "Created project 'init twice'" in out
    assert "120 predictions of textal-cold-start" in out or "100 of 120 open tasks hold a prediction" in out, out
    code, out, err = textal_cli(argv)
    assert code == 0, err
    assert "Found project 'init twice'" in out and "0 imported now" in out
    [project_id] = projects_titled(label_studio, "init twice")
    studio = Studio(label_studio.url, label_studio.token)
    rows = sorted(d[ROW_KEY] for d in StudioAdmin(studio).task_data(project_id))
    assert rows == list(range(120))
    assert all("label" not in d for d in StudioAdmin(studio).task_data(project_id))  # gold labels left out
    ml = label_studio.client().ml.list(project=project_id)
    assert len(ml) == 1 and ml[0].extra_params["batch"] == 20  # the recipe's settings, sent once
    assert "strategy" not in ml[0].extra_params  # none named: the backend's default
    assert every_task_predicted(studio, project_id, 120)


def test_init_after_a_crash_halfway_completes_the_project_without_duplicates(
    stack, spam_csv, label_studio, monkeypatch
):
    studio = Studio(label_studio.url, label_studio.token)
    recipe = load_recipe("spam")
    monkeypatch.setattr(init_module, "IMPORT_BATCH", 50)
    real_import = StudioAdmin.import_tasks
    calls = {"n": 0}

    def crash_on_second_batch(self, project_id, tasks):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the user's Ctrl-C, or a kill, halfway through the import
        return real_import(self, project_id, tasks)

    monkeypatch.setattr(StudioAdmin, "import_tasks", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        init_project(recipe, spam_csv, studio=studio, backend_url=stack.url, title="crashed", wait_s=0)
    [project_id] = projects_titled(label_studio, "crashed")
    assert len(list(StudioAdmin(studio).task_data(project_id))) == 50
    monkeypatch.setattr(StudioAdmin, "import_tasks", real_import)
    result = init_project(recipe, spam_csv, studio=studio, backend_url=stack.url, title="crashed", wait_s=300)
    assert not result.created and result.imported == 70 and result.tasks == 120 and result.predicted >= 100
    assert every_task_predicted(studio, project_id, 120)
    assert sorted(d[ROW_KEY] for d in StudioAdmin(studio).task_data(project_id)) == list(range(120))


def test_init_with_labels_then_export_round_trips_through_textal_train(
    stack, spam_csv, label_studio, tmp_path, textal_cli
):
    code, _, err = textal_cli(
        [
            "init",
            "--recipe",
            "spam",
            "--data",
            str(spam_csv),
            "--backend",
            stack.url,
            "--project-name",
            "exported",
            "--with-labels",
            "--wait",
            "0",
        ]
    )
    assert code == 0, err
    [project_id] = projects_titled(label_studio, "exported")
    out_csv = tmp_path / "labels.csv"
    code, out, err = textal_cli(["export", "--project", str(project_id), "--format", "csv", "--out", str(out_csv)])
    assert code == 0, err
    assert "Wrote 120 labelled tasks" in out
    exported = load_corpus(out_csv)
    gold = load_corpus(spam_csv)
    assert sorted(zip(exported.texts, exported.labels)) == sorted(zip(gold.texts, gold.labels))
    code, out, err = textal_cli(["train", str(out_csv), "--model", "linear", "--store", str(tmp_path / "store")])
    assert code == 0, err


BAD_INPUTS = {
    "unreachable Label Studio": "cannot reach Label Studio at http://127.0.0.1:9",
    "wrong key": "refused the API key in LABEL_STUDIO_API_KEY",
    "backend not running": "no textal backend answers at http://127.0.0.1:9",
    "unreadable file": "no such file or directory",
    "label outside the recipe": (
        "row 122: label 'phishing' is not in the label set (ham, spam), the labels of recipe spam"
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_init_bad_input_exits_2_with_one_line_and_creates_nothing(
    case, label_studio, start_backend, spam_csv, tmp_path, monkeypatch, textal_cli
):
    backend = start_backend(tmp_path / "store", tmp_path / "backend")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    ls_url, backend_url, data = label_studio.url, backend.url, spam_csv
    if case == "unreachable Label Studio":
        ls_url = "http://127.0.0.1:9"
    elif case == "wrong key":
        monkeypatch.setenv("LABEL_STUDIO_API_KEY", "0" * 40)
    elif case == "backend not running":
        backend_url = "http://127.0.0.1:9"
    elif case == "unreadable file":
        data = tmp_path / "missing.csv"
    else:
        data = tmp_path / "odd.csv"
        shutil.copy(spam_csv, data)
        with open(data, "a") as fh:
            fh.write("a message filed under the wrong kind of label,phishing\n")
    title = f"bad input: {case}"
    code, out, err = textal_cli(
        [
            "init",
            "--recipe",
            "spam",
            "--data",
            str(data),
            "--label-studio",
            ls_url,
            "--backend",
            backend_url,
            "--project-name",
            title,
        ]
    )
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and BAD_INPUTS[case] in lines[0], lines
    assert label_studio.token not in err + out
    assert projects_titled(label_studio, title) == []


def test_support_tickets_recipe_makes_one_choice_per_intent_found_in_the_data(
    stack, label_studio, data_dir, tmp_path, textal_cli
):
    rows = read_rows(data_dir / "clinc150" / "train.csv", 6000)[::20]  # the file is grouped by intent
    path = tmp_path / "tickets.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["text", "intent"])
        writer.writeheader()
        writer.writerows({"text": r["text"], "intent": r["intent"]} for r in rows)
    code, _, err = textal_cli(
        [
            "init",
            "--recipe",
            "support_tickets",
            "--data",
            str(path),
            "--backend",
            stack.url,
            "--project-name",
            "tickets",
            "--wait",
            "0",
        ]
    )
    assert code == 0, err
    [project_id] = projects_titled(label_studio, "tickets")
    config = label_studio.client().projects.get(id=project_id).label_config
    intents = sorted({r["intent"] for r in rows})
    assert len(intents) > 5 and all(f'<Choice value="{i}"' in config for i in intents) and "<Filter" in config
