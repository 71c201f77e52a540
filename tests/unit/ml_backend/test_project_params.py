"""A project's own settings (a recipe's, sent as extra_params) are checked like the worker's flags and override them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_backend.config import WorkerSettings, project_params
from ml_backend.errors import BackendConfigError


def test_known_settings_pass_with_their_types():
    assert project_params({"batch": 10, "eval_fraction": 0.2, "promote_margin": 0, "strategy": "margin"}) == {
        "batch": 10,
        "eval_fraction": 0.2,
        "promote_margin": 0.0,
    }


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"bacth": 1}, "unknown project setting 'bacth'; allowed: strategy, batch"),
        ({"batch": 2.5}, "'batch' must be an integer"),
        ({"batch": True}, "'batch' must be an integer"),
        ({"eval_fraction": "0.1"}, "'eval_fraction' must be a number"),
        ({"eval_fraction": 0.9}, "project setting 'eval_fraction': --eval-fraction must be in [0, 0.5)"),
        ({"prefill_margin": 1.5}, "--prefill-margin must be in [0, 1]"),
        ({"encoder": "/no/such/folder"}, "'encoder' must be 'default' or a model folder"),
        ({"class_weight": "heavy"}, "project setting 'class_weight' must be one of balanced, none, got 'heavy'"),
        ({"class_weight": 1}, "project setting 'class_weight' must be one of balanced, none, got 1"),
    ],
)
def test_bad_settings_are_refused_naming_the_key(extra, message):
    with pytest.raises(BackendConfigError) as exc:
        project_params(extra)
    assert message in str(exc.value)


def test_a_projects_settings_replace_the_workers_and_leave_the_rest():
    worker = WorkerSettings(data_dir=Path("."), batch=20, full_every=500)
    mine = worker.for_project({"batch": 5, "prefill_margin": 0.0})
    assert (mine.batch, mine.prefill_margin, mine.full_every) == (5, 0.0, 500)
    assert worker.for_project({}) is worker


def test_a_project_may_weigh_its_classes_or_not_and_the_worker_refuses_an_unknown_weighting():
    assert project_params({"class_weight": "none"}) == {"class_weight": "none"}
    assert WorkerSettings(data_dir=Path(".")).for_project({"class_weight": "none"}).class_weight == "none"
    with pytest.raises(BackendConfigError, match="--class-weight must be one of balanced, none, got 'even'"):
        WorkerSettings(data_dir=Path("."), class_weight="even").check()


def test_the_worker_tunes_contrastively_by_default_and_refuses_an_unknown_full_tier():
    assert WorkerSettings(data_dir=Path(".")).check().full_tier == "contrastive"
    assert WorkerSettings(data_dir=Path("."), full_tier="plain").check().full_tier == "plain"
    with pytest.raises(BackendConfigError, match="--full-tier must be contrastive or plain, got 'setfit'"):
        WorkerSettings(data_dir=Path("."), full_tier="setfit").check()


def test_a_project_may_set_its_precision_and_full_tier_and_an_unknown_one_is_refused():
    mine = project_params({"precision": "fp32", "full_tier": "plain"})
    settings = WorkerSettings(data_dir=Path(".")).for_project(mine)
    assert (settings.precision, settings.full_tier) == ("fp32", "plain")
    with pytest.raises(BackendConfigError, match="'precision' must be one of auto, fp32, bf16, int8, got 'fp16'"):
        project_params({"precision": "fp16"})
    with pytest.raises(BackendConfigError, match="--precision must be one of auto, fp32, bf16, int8, got 'fp16'"):
        WorkerSettings(data_dir=Path("."), precision="fp16").check()
