"""The fast tier builds on what the project knows: the base model's training rows, and, before the evaluation
slice can judge, paired out-of-fold estimates instead of a version that replaces the last whatever it is."""

from __future__ import annotations

from worker_fakes import Harness, sms_like

from ml_backend.labelstudio.tasks import EVAL_KEY
from textal.data.corpus import Corpus
from textal.models.linear import LinearClassifier
from textal.store import history
from textal.store.model_store import ModelStore
from textal.training.train_corpus import train_and_publish


def eval_ids(harness):
    return sorted(tid for tid, t in harness.studio.tasks.items() if t["data"].get(EVAL_KEY) == 1)


def base_store_with_rows(root, first: int, count: int, rename: dict[str, str] | None = None):
    """A linear base model published as `textal train` publishes it: its training rows kept beside it (labels
    renamed by ``rename``: a base that knew another set of classes)."""
    rows = [sms_like(i) for i in range(first, first + count)]
    texts, labels = [t for t, _ in rows], [(rename or {}).get(lab, lab) for _, lab in rows]
    corpus = Corpus(texts, labels, tuple(sorted(set(labels))), False, "base.csv", list(range(len(texts))))
    model = LinearClassifier(char_ngrams=(3, 4), max_features=5000, embed_dim=8)
    train_and_publish(model, corpus, ModelStore(root))
    return root


def guesses(harness) -> dict[int, str]:
    return {t: p["result"][0]["value"]["choices"][0] for t, p in harness.studio.current().items() if p["result"]}


def test_versions_learn_from_the_base_models_rows_and_replace_it_only_on_honest_evidence(tmp_path):
    store = base_store_with_rows(tmp_path / "base", 1000, 12)  # a weak base: 12 rows
    harness = Harness(tmp_path / "data", store=store)
    texts, labels = zip(*(sms_like(i) for i in range(80)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    others = [t for t in truth if t not in eval_ids(harness)]
    first_two = [next(t for t in others if truth[t] == lab) for lab in ("ham", "spam")]
    harness.label(first_two, truth)
    outcome = harness.retrain()
    assert outcome["version"] == "v0001" and not outcome["promoted"]  # two labels cannot judge the base model
    card = harness.project().store.card("v0001")
    assert card["base_rows"] == {"version": "v0001", "rows": 12} and card["training_size"] == 2
    assert harness.studio.model_version == "base-v0001"
    harness.label([t for t in others if t not in first_two][:18], truth)
    outcome = harness.retrain()
    record = history.read_records(harness.project().files.history_path)[-1]
    assert record["parent"] == "base-v0001"
    assert record["promotion"]["reason"].startswith("out of fold on 20 training labels: ")
    assert outcome["promoted"]  # more of the 20 labels right out of fold than the base, which never saw them
    right = sum(guess == truth[t] for t, guess in guesses(harness).items())
    assert right / len(guesses(harness)) > 0.9


def test_a_class_the_base_never_saw_is_learnt_from_the_projects_labels_beside_the_base_rows(tmp_path):
    store = base_store_with_rows(tmp_path / "base", 1000, 300, rename={"spam": "promo"})  # no spam class
    harness = Harness(tmp_path / "data", store=store)
    texts, labels = zip(*(sms_like(i) for i in range(90)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    spam = [t for t in truth if truth[t] == "spam" and t not in eval_ids(harness)][:8]
    harness.label(spam, truth)
    outcome = harness.retrain()  # one class among the labels, the other from the base's rows: trainable
    assert outcome["promoted"]  # the base answers none of the eight right, out of fold the new version does
    record = history.read_records(harness.project().files.history_path)[-1]
    assert record["promotion"]["reason"].startswith("out of fold on 8 training labels: ")
    guessed = guesses(harness)
    open_spam = [t for t in guessed if truth[t] == "spam" and t not in spam]
    open_ham = [t for t in guessed if truth[t] == "ham"]
    assert sum(guessed[t] == "spam" for t in open_spam) >= len(open_spam) / 3  # from 8 labels, on toy features
    assert sum(guessed[t] == "ham" for t in open_ham) >= 0.9 * len(open_ham)  # the base's class kept


def test_before_the_slice_can_judge_a_version_worse_out_of_fold_does_not_replace_the_serving_one(tmp_path):
    harness = Harness(tmp_path / "data", min_eval=20, promote_margin=0.0)
    texts, labels = zip(*(sms_like(i) for i in range(90)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    others = [t for t in truth if t not in eval_ids(harness)]
    harness.label(others[:30], truth)
    assert harness.retrain()["promoted"]
    # twelve tasks that repeat labelled texts, labelled the other way: they teach the model nothing but confusion
    copies = harness.studio.add_tasks([harness.studio.tasks[t]["data"]["text"] for t in others[:12]])
    contrary = {c: ("ham" if truth[t] == "spam" else "spam") for c, t in zip(copies, others[:12])}
    harness.label(copies, contrary)
    outcome = harness.retrain()
    assert not outcome["promoted"] and harness.studio.model_version == "v0001"
    reason = history.read_records(harness.project().files.history_path)[-1]["promotion"]["reason"]
    assert reason.startswith("out of fold on 42 training labels: ")


def test_before_the_slice_can_judge_a_version_no_worse_out_of_fold_replaces_the_serving_one(tmp_path):
    harness = Harness(tmp_path / "data", min_eval=20)
    texts, labels = zip(*(sms_like(i) for i in range(90)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    others = [t for t in truth if t not in eval_ids(harness)]
    harness.label(others[:20], truth)
    assert harness.retrain()["promoted"]
    harness.label(others[20:40], truth)
    outcome = harness.retrain()
    assert outcome["promoted"] and harness.studio.model_version == "v0002"
    reason = history.read_records(harness.project().files.history_path)[-1]["promotion"]["reason"]
    assert reason.startswith("out of fold on 40 training labels: ")


def test_a_version_not_ahead_of_a_strong_base_model_out_of_fold_leaves_it_serving(tmp_path):
    store = base_store_with_rows(tmp_path / "base", 1000, 24)  # char n-grams on 24 rows: right on all these texts
    harness = Harness(tmp_path / "data", store=store)
    texts, labels = zip(*(sms_like(i) for i in range(120)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    harness.label([t for t in truth if t not in eval_ids(harness)][:50], truth)
    outcome = harness.retrain()
    assert not outcome["promoted"] and harness.studio.model_version == "base-v0001"
    reason = history.read_records(harness.project().files.history_path)[-1]["promotion"]["reason"]
    assert reason.startswith("not ahead of the base model base-v0001 on the 50 training labels, out of fold")


def test_a_base_whose_training_rows_cannot_be_read_leaves_the_project_learning_from_its_labels(tmp_path, caplog):
    from textal.store.model_store import MODEL_DIR
    from textal.store.training_rows import TRAINING_ROWS_FILE

    store = base_store_with_rows(tmp_path / "base", 1000, 12)
    (ModelStore(store).path("v0001") / MODEL_DIR / TRAINING_ROWS_FILE).write_text("not json\n")
    harness = Harness(tmp_path / "data", store=store)
    texts, labels = zip(*(sms_like(i) for i in range(60)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    others = [t for t in truth if t not in eval_ids(harness)]
    harness.label([next(t for t in others if truth[t] == lab) for lab in ("ham", "spam")], truth)
    with caplog.at_level("WARNING", logger="ml_backend.worker"):
        outcome = harness.retrain()
    assert outcome["version"] == "v0001"
    assert harness.project().store.card("v0001")["base_rows"] is None
    assert "its training rows cannot be used" in caplog.text and "line 1 is not JSON" in caplog.text
