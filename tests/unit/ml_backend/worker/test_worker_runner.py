"""The worker's jobs end to end over a fake Label Studio: cold start, training and publishing, refreshes, the fill."""

from __future__ import annotations

from collections import Counter

import pytest
from worker_fakes import PROJECT_ID, Harness, sms_like

from ml_backend.labelstudio.ordering import EVAL_VIEW, INFORMATIVE_VIEW, REVIEW_VIEW
from ml_backend.labelstudio.predictions import COLD_START_VERSION
from ml_backend.labelstudio.tasks import EVAL_KEY
from ml_backend.scoring.scale_file import ScaleFile
from ml_backend.state.projects import ProjectRef
from ml_backend.worker import publisher, push_labels
from ml_backend.worker.ranked_rows import RankedRows
from textal.errors import TextalError
from textal.store import history
from textal.store.model_store import ModelStore


def open_tasks(harness):
    return [tid for tid, t in harness.studio.tasks.items() if not t["annotations"]]


def eval_ids(harness):
    return sorted(tid for tid, t in harness.studio.tasks.items() if t["data"].get(EVAL_KEY) == 1)


def band_order(harness):
    """Task ids of the band, in the order Label Studio serves them: the open tasks scored below every other one."""
    band = set(harness.project().work.get("band", []))
    current = {t: p for t, p in harness.studio.current().items() if not harness.studio.tasks[t]["annotations"]}
    order = [t for t, _ in sorted(current.items(), key=lambda kv: kv[1]["score"])]
    assert set(order[: len(band & set(current))]) == band & set(current)  # the band comes first in Label Studio's order
    return order[: len(band & set(current))]


def test_before_any_label_every_task_is_ordered_by_coverage_with_the_band_and_its_slice_share_first(harness, pool):
    outcome = harness.retrain("TASKS_CREATED")
    assert outcome["status"] == "waiting" and outcome["reason"] == "no training labels yet"
    studio = harness.studio
    assert studio.sampling == "Uncertainty sampling" and set(studio.view_ids) == {
        INFORMATIVE_VIEW,
        EVAL_VIEW,
        REVIEW_VIEW,
    }
    slice_ids = eval_ids(harness)
    assert len(slice_ids) == 6  # 10 % of 60, marked in Label Studio after the predictions
    assert studio.model_version == COLD_START_VERSION
    order = band_order(harness)
    assert len(order) == 7  # 5 coverage picks + 2 slice tasks
    assert sorted(studio.current()) == sorted(pool)  # every task holds a prediction, so every task is in the order
    assert [t in slice_ids for t in order] == [False, False, True, False, False, True, False]  # one in every 3
    assert all(p["result"] == [] for p in studio.current().values())  # no model, no guess


def test_the_band_is_followed_down_then_placed_again_once_labelled(harness, pool):
    harness.retrain("TASKS_CREATED")
    first = band_order(harness)
    harness.label(first[:2], pool)  # two coverage picks, perhaps of one class only
    harness.retrain()
    assert band_order(harness) == first[2:] and first[2] in eval_ids(harness)  # the third served is from the slice
    harness.label(first[2:], pool)
    harness.retrain()
    again = band_order(harness)
    assert again and not set(again) & set(first)
    current = harness.studio.current()
    assert len([p for p in harness.studio.predictions if p["model_version"] == harness.studio.model_version]) == len(
        current
    )  # replaced, never duplicated


def test_a_slice_that_fell_behind_its_share_is_served_first(harness, pool):
    harness.retrain("TASKS_CREATED")
    slice_ids = eval_ids(harness)
    harness.label([t for t in pool if t not in slice_ids][:12], pool)
    assert harness.retrain()["promoted"]
    order = band_order(harness)
    assert order[:4] == [t for t in order if t in slice_ids][:4] and all(t in slice_ids for t in order[:4])


def test_labels_make_a_version_whose_predictions_cover_every_open_task_before_the_switch(harness, pool):
    harness.retrain("TASKS_CREATED")
    slice_ids = eval_ids(harness)
    train = [t for t in pool if t not in slice_ids][:20]
    harness.label(train + slice_ids[:4], pool)
    outcome = harness.retrain()
    assert outcome["status"] == "published" and outcome["version"] == "v0001" and outcome["promoted"]
    studio = harness.studio
    assert studio.model_version == "v0001"
    current = studio.current()
    assert sorted(current) == sorted(open_tasks(harness))  # one prediction per unlabelled task
    assert len([p for p in studio.predictions if p["model_version"] == "v0001"]) == len(current)
    open_slice = [t for t in slice_ids if t in current]
    assert open_slice and all(current[t]["result"] == [] for t in open_slice)  # no guess to anchor on
    batch = band_order(harness)
    assert len([t for t in batch if t not in slice_ids]) == harness.settings.batch
    guessed = {t: p for t, p in current.items() if t not in slice_ids and p["result"]}
    assert len(guessed) > len(current) // 2  # sure enough to pre-fill for most tasks; coin flips go without
    right = sum(p["result"][0]["value"]["choices"][0] == pool[t] for t, p in guessed.items())
    assert right / len(guessed) > 0.8  # the fake pool is separable: the version learned something real
    card = ModelStore(harness.project().store.root).card("v0001")
    assert card["training_size"] == 20 and card["eval_size"] == 4 and "cache_dir" not in str(card)


@pytest.mark.parametrize("weights, expected", [("balanced", "balanced"), ("none", None)])
def test_the_fast_tier_weighs_classes_as_the_project_says(tmp_path, weights, expected):
    harness = Harness(tmp_path / "data", class_weight=weights)
    texts, labels = zip(*(sms_like(i) for i in range(60)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    slice_ids = eval_ids(harness)
    harness.label([t for t in truth if t not in slice_ids][:20] + slice_ids[:4], truth)
    assert harness.retrain()["status"] == "published"
    model = ModelStore(harness.project().store.root).load("v0001")
    assert model.get_params()["class_weight"] == expected


def test_unchanged_labels_push_only_what_label_studio_lacks(harness, pool):
    harness.retrain("TASKS_CREATED")
    harness.label([t for t in pool if t not in eval_ids(harness)][:12], pool)
    harness.retrain()
    assert harness.retrain()["status"] == "unchanged" and harness.retrain()["pushed"] == 0
    new = harness.studio.add_tasks(["claim your free cash prize now", "see you at dinner tonight"])
    outcome = harness.runner.score_tasks(PROJECT_ID, new)
    assert outcome["status"] == "scored"
    assert set(new) <= set(harness.studio.current()) and harness.studio.model_version == "v0001"


def test_a_version_worse_than_its_parent_on_the_slice_is_published_but_not_served(tmp_path):
    harness = Harness(tmp_path / "data", promote_margin=0.0, min_eval=4, eval_min=10)
    texts, labels = zip(*(sms_like(i) for i in range(90)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    slice_ids = eval_ids(harness)
    others = [t for t in truth if t not in slice_ids]
    harness.label(others[:20] + slice_ids, truth)
    assert harness.retrain()["promoted"]
    flipped = {t: ("ham" if truth[t] == "spam" else "spam") for t in others[20:70]}
    harness.label(list(flipped), flipped)  # a careless annotator: fifty wrong labels
    outcome = harness.retrain()
    assert outcome["version"] == "v0002" and not outcome["promoted"]
    assert harness.studio.model_version == "v0001"  # annotators keep the better model
    records = history.read_records(harness.project().files.history_path)
    assert [r["promoted"] for r in records] == [True, False]


def test_a_committee_strategy_scores_the_whole_pool(tmp_path):
    harness = Harness(tmp_path / "data", strategy="vote_entropy")
    texts, labels = zip(*(sms_like(i) for i in range(40)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    harness.label([t for t in truth if t not in eval_ids(harness)][:12], truth)
    assert harness.retrain()["promoted"]
    scores = [p["score"] for p in harness.studio.current().values()]
    assert len(set(scores)) > 10  # a real spread, not one constant


def fill_all(harness) -> list[list[float]]:
    """Run fill steps until one pushes nothing; the scores each step pushed."""
    steps = []
    while True:
        before = {id(p) for p in harness.studio.predictions}
        if not harness.runner.fill_predictions(PROJECT_ID)["pushed"]:
            return steps
        steps.append([p["score"] for p in harness.studio.predictions if id(p) not in before])


def predictions_per_open_task(harness, truth) -> Counter:
    labelled = {t for t, task in harness.studio.tasks.items() if task["annotations"]}
    held = Counter(p["task"] for p in harness.studio.predictions)
    return Counter(held.get(t, 0) for t in truth if t not in labelled)


def test_a_new_version_goes_to_its_head_first_then_the_switch_and_the_rest_fills_in_best_ranked_first(
    tmp_path, monkeypatch
):
    clock = [1_000_000.0]
    monkeypatch.setattr(push_labels, "now", lambda: clock[0])
    monkeypatch.setattr(publisher, "FILL_STEP_S", 0.0)  # one chunk a step, to see the order step by step
    harness = Harness(tmp_path / "data", head=8, push_chunk=5, keep_replaced_s=600.0)
    texts, labels = zip(*(sms_like(i) for i in range(40)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    assert harness.studio.model_version == COLD_START_VERSION
    assert harness.studio.model_versions(PROJECT_ID) == {COLD_START_VERSION: 8}  # the head only, then the switch
    head = {p["task"] for p in harness.studio.predictions}
    assert set(harness.project().work["band"]) <= head  # the band is served from the first second
    assert [j["name"] for j in harness.jobs.pending()] == ["fill_predictions"]
    steps = fill_all(harness)
    assert [len(s) for s in steps] == [5] * 6 + [2]  # 32 open tasks left, 5 per step
    assert all(max(a) <= min(b) for a, b in zip(steps, steps[1:]))  # best-ranked (lowest score) first
    assert predictions_per_open_task(harness, truth) == {1: 40}

    others = [t for t in truth if t not in eval_ids(harness)]
    harness.label(others[:10], truth)
    cold_ids = {p["id"] for p in harness.studio.predictions}
    assert harness.retrain()["promoted"]
    assert harness.studio.model_version == "v0001" and harness.studio.model_versions(PROJECT_ID)["v0001"] == 8
    assert cold_ids <= {p["id"] for p in harness.studio.predictions}  # added beside, none deleted: editors hold them
    harness.ctx.unfilled.keep(PROJECT_ID, "v0001", RankedRows.of([]))  # a new worker process: the rest scored again
    steps = fill_all(harness)
    assert sum(len(s) for s in steps) == 22 and all(max(a) <= min(b) for a, b in zip(steps, steps[1:]))
    assert cold_ids <= {p["id"] for p in harness.studio.predictions}  # still there while an editor may hold one

    clock[0] += 600.0  # the replaced label's time is up: the next step deletes it whole
    harness.runner.fill_predictions(PROJECT_ID)
    open_versions = Counter(p["model_version"] for p in harness.studio.predictions if p["task"] not in others[:10])
    assert open_versions == {"v0001": 30} and predictions_per_open_task(harness, truth) == {1: 30}
    assert harness.project().work["replaced_labels"] == []


def test_a_fill_step_imports_chunk_after_chunk_until_its_time_is_up_or_a_retrain_waits(tmp_path):
    harness = Harness(tmp_path / "data", head=8, push_chunk=5)
    texts, labels = zip(*(sms_like(i) for i in range(40)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    imports = []
    real_import = harness.studio.import_predictions
    harness.studio.import_predictions = lambda pid, items, chunk=1000: (
        imports.append(len(items)) or real_import(pid, items, chunk)
    )
    harness.jobs.enqueue_retrain(PROJECT_ID, "ANNOTATION_CREATED")  # a label came: the step yields after a chunk
    assert harness.runner.fill_predictions(PROJECT_ID)["pushed"] == 5 and imports == [5]
    harness.jobs.gate.clear_pending("retrain", PROJECT_ID)
    assert harness.runner.fill_predictions(PROJECT_ID)["pushed"] == 27  # the rest in one step, 5 per import
    assert imports == [5] * 6 + [2] and predictions_per_open_task(harness, truth) == {1: 40}


def test_a_band_placed_again_under_the_same_version_gets_a_label_of_its_own(harness, pool):
    harness.retrain("TASKS_CREATED")
    first = {p["id"] for p in harness.studio.predictions}
    band = harness.project().work["band"]
    harness.label(band, {t: "ham" for t in band})  # one class only: nothing to train, the cold-start order stays
    assert harness.retrain()["status"] == "waiting"
    assert harness.studio.model_version == f"{COLD_START_VERSION}.1"
    current = Counter(p["task"] for p in harness.studio.predictions if p["model_version"] == f"{COLD_START_VERSION}.1")
    assert current and set(current.values()) == {1}  # one prediction of the project's label per task
    assert not set(band) & set(harness.project().work["band"])  # the new band is new tasks
    assert first <= {p["id"] for p in harness.studio.predictions}  # the first push's predictions are all still there
    # /predict asks for the scale by the version's name, whatever push label it went out under
    assert ScaleFile(harness.settings.data_dir, PROJECT_ID).read(COLD_START_VERSION) is not None


def test_start_training_asks_for_a_fine_tune(harness, pool):
    harness.retrain("START_TRAINING")
    assert [j["name"] for j in harness.jobs.pending()] == ["finetune"]


def test_a_project_never_connected_is_refused_with_what_to_do(harness):
    with pytest.raises(TextalError, match="connect `textal serve`"):
        harness.runner.retrain(99, "webhook", False)


@pytest.fixture
def base_store(tmp_path):
    """What `textal serve --store` serves before a project has its own model: a linear model on 300 labels."""
    from textal.models.linear import LinearClassifier

    texts, labels = zip(*(sms_like(i) for i in range(1000, 1300)))
    model = LinearClassifier(char_ngrams=(3, 4), max_features=5000, embed_dim=8).fit(list(texts), list(labels))
    root = tmp_path / "base-store"
    ModelStore(root).publish(model, {"training_size": 300})
    return root


def test_a_model_trained_on_two_labels_never_replaces_a_base_model_trained_on_hundreds(tmp_path, base_store):
    harness = Harness(tmp_path / "data", store=base_store)
    texts, labels = zip(*(sms_like(i) for i in range(60)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    assert harness.studio.model_version == "base-v0001"
    assert len(harness.studio.current()) == 60 and len(band_order(harness)) == 7  # every task, the band first
    slice_ids = eval_ids(harness)
    first_two = [next(t for t in truth if truth[t] == lab and t not in slice_ids) for lab in ("ham", "spam")]
    harness.label(first_two, truth)
    outcome = harness.retrain()
    assert outcome["version"] == "v0001" and not outcome["promoted"]
    assert harness.studio.model_version == "base-v0001"  # annotators keep the base model's guesses
    record = history.read_records(harness.project().files.history_path)[-1]
    assert (
        record["parent"] == "base-v0001" and "trained on more labels (300 against 2)" in record["promotion"]["reason"]
    )
    assert band_order(harness)[0] not in first_two  # the band moved on under the base model


def test_the_base_model_is_measured_on_the_slice_as_soon_as_slice_labels_exist(tmp_path, base_store):
    harness = Harness(tmp_path / "data", store=base_store)
    texts, labels = zip(*(sms_like(i) for i in range(60)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    slice_ids = eval_ids(harness)
    harness.label(slice_ids[:3], truth)  # slice labels only: nothing to train yet
    assert harness.retrain()["status"] == "waiting"
    records = history.read_records(harness.project().files.history_path)
    assert [(r["version"], r["base"], r["metrics"]["n"]) for r in records] == [("base-v0001", True, 3)]


def test_once_in_ten_labels_a_random_pick_of_the_strategy_is_served_first(harness):
    from ml_backend.worker.rows import random_share_first

    project = harness.project()  # entropy: a tenth of each batch is drawn at random, at its end
    picks = list(range(20))
    assert random_share_first(project, picks, labelled=3) == picks
    assert (
        random_share_first(project, picks, labelled=9)[0] == 18
        and sorted(random_share_first(project, picks, 9)) == picks
    )


def test_a_projects_own_settings_override_the_workers_and_a_zero_prefill_margin_guesses_every_open_task(tmp_path):
    harness = Harness(tmp_path / "data")
    state = harness.ctx.registry.get(PROJECT_ID)
    harness.ctx.registry.setup(
        ProjectRef(PROJECT_ID, 1717000000), state.label_config, params={"batch": 3, "prefill_margin": 0.0}
    )
    texts, labels = zip(*(sms_like(i) for i in range(40)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    assert harness.project().settings.batch == 3 and harness.settings.batch == 5
    others = [t for t in truth if t not in eval_ids(harness)]
    harness.label(others[:10], truth)
    harness.retrain()
    slice_ids = eval_ids(harness)
    current = harness.studio.current()
    open_ids = [t for t in current if t not in slice_ids and not harness.studio.tasks[t]["annotations"]]
    assert open_ids and all(current[t]["result"] for t in open_ids)  # a guess on every open task outside the slice


def test_a_project_labelled_in_full_trains_and_publishes_without_a_model_version_to_order_by(tmp_path):
    harness = Harness(tmp_path / "data")
    texts, labels = zip(*(sms_like(i) for i in range(30)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.label(list(truth), truth)  # imported with their labels (textal init --with-labels)
    outcome = harness.retrain("TASKS_CREATED")
    assert outcome["status"] != "error" and harness.project().store.latest() == "v0001"
    assert harness.retrain()["status"] != "error"  # and the next refresh does not try again


def test_a_slow_prediction_import_is_told_once_with_the_label_studio_setting_that_fixes_it(
    harness, pool, monkeypatch, caplog
):
    from ml_backend.worker import publisher

    monkeypatch.setattr(publisher, "SLOW_IMPORT_S", 0.0)  # every import counts as slow
    monkeypatch.setattr(publisher, "_slow_import_told", False)
    with caplog.at_level("WARNING", logger="ml_backend.worker"):
        harness.retrain("TASKS_CREATED")
        harness.retrain("TASKS_CREATED")
    told = [r.getMessage() for r in caplog.records if "recounts every task" in r.getMessage()]
    assert len(told) == 1
    assert "fflag_fix_back_4620_memory_efficient_predictions_import_08012025_short=true" in told[0]


def test_a_base_model_orders_a_large_pool_from_a_sample_first_and_the_fill_scores_the_rest(
    tmp_path, base_store, monkeypatch
):
    from ml_backend.worker import rows

    monkeypatch.setattr(rows, "HEAD_SAMPLE", 20)
    scored_at_once = []
    real_base_rows = rows.base_rows
    monkeypatch.setattr(
        rows,
        "base_rows",
        lambda p, c, targets, b, t: scored_at_once.append(len(targets)) or real_base_rows(p, c, targets, b, t),
    )
    harness = Harness(tmp_path / "data", store=base_store, head=8, push_chunk=10)
    texts, labels = zip(*(sms_like(i) for i in range(80)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    assert harness.studio.model_version == "base-v0001"
    slice_first = min(2 * harness.settings.batch, len(eval_ids(harness)))
    assert scored_at_once == [20 + slice_first]  # the head chosen from the sample, not the whole pool
    assert harness.studio.model_versions(PROJECT_ID) == {"base-v0001": 8}
    fill_all(harness)
    assert scored_at_once[1] == 80 - 8  # the fill scored every open task left, on the head's scale
    assert predictions_per_open_task(harness, truth) == {1: 80}
