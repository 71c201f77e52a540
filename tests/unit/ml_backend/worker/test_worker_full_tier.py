"""The worker's full tier over a fake Label Studio: a real (tiny) transformer tuned the way ``--full-tier`` names,
and what the project records of it."""

from __future__ import annotations

import pytest
from worker_fakes import PROJECT_ID, Harness, sms_like


@pytest.mark.parametrize("full_tier", ["contrastive", "plain"])
def test_a_full_tier_tunes_the_encoder_on_the_labels_and_the_project_records_which_and_how(
    tmp_path, tiny_bert_dir, full_tier
):
    harness = Harness(tmp_path / "data", encoder=str(tiny_bert_dir), full_tier=full_tier, full_min_steps=2)
    texts, labels = zip(*(sms_like(i) for i in range(40)))
    truth = dict(zip(harness.studio.add_tasks(list(texts)), labels))
    harness.retrain("TASKS_CREATED")
    harness.label(list(truth)[:24], truth)
    harness.retrain()
    outcome = harness.runner.finetune(PROJECT_ID, "test")
    record = harness.project().work["last_finetune"]
    assert outcome["status"] in ("adopted", "rejected") and record["full_tier"] == full_tier
    assert ("steps" in record) == (full_tier == "contrastive")  # the contrastive tuner reports its own steps
    assert ("precision" in record) == (full_tier == "contrastive")  # and the precision its forward passes ran in
    encoders = [e for e in (harness.project().files.encoders_dir).iterdir() if not e.name.startswith(".")]
    if outcome["status"] == "adopted":
        assert [e.name for e in encoders] == ["e0001"] and list(encoders[0].glob("*.safetensors"))
    else:
        assert encoders == []  # a rejected encoder is not kept


def test_the_contrastive_full_tier_waits_without_failing_while_no_label_has_two_texts(tmp_path, tiny_bert_dir):
    harness = Harness(tmp_path / "data", encoder=str(tiny_bert_dir), full_tier="contrastive", full_min_steps=2)
    texts, _ = zip(*(sms_like(i) for i in range(40)))
    harness.studio.add_tasks(list(texts))
    harness.retrain("TASKS_CREATED")
    outside_slice = [t.id for t in harness.project().mirror.tasks() if not t.eval]
    truth = dict(zip(outside_slice, ["spam", "ham"]))  # one text of each label: no positive pair for the loss
    harness.label(list(truth), truth)
    harness.retrain()
    outcome = harness.runner.finetune(PROJECT_ID, "START_TRAINING")
    assert outcome["status"] == "waiting" and "two texts sharing a label" in outcome["reason"]
    assert "last_finetune" not in harness.project().work
