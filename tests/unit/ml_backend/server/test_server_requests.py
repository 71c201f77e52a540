"""Reading /setup, /predict and /webhook bodies (``ml_backend.server.requests``): typed results, refusals as 4xx."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_backend.config import ServerSettings
from ml_backend.server.requests import (
    BadRequest,
    checked_config,
    parse_predict,
    parse_setup,
    parse_webhook,
)
from ml_backend.state.projects import ProjectRef

CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)


def refusal(call, *args) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        call(*args)
    return caught.value


# -- /setup --------------------------------------------------------------------------------------------------------


def test_a_setup_reads_the_project_config_host_and_token():
    asked = parse_setup(
        {"project": "3.1717000000", "schema": CONFIG, "hostname": "http://ls:8080", "access_token": "t"}
    )
    assert asked.ref == ProjectRef(3, 1717000000) and asked.label_config == CONFIG
    assert asked.hostname == "http://ls:8080" and asked.access_token == "t"
    assert asked.extra is None and asked.strategy is None


def test_setup_without_a_label_config_is_a_400_naming_the_field():
    error = refusal(parse_setup, {"project": "3.1"})
    assert error.status == 400 and "missing field 'schema'" in error.reason


def test_setup_without_a_project_is_a_400_naming_the_field_before_the_config():
    error = refusal(parse_setup, {})
    assert error.status == 400 and "missing field 'project'" in error.reason


def test_setup_with_a_project_id_label_studio_never_sends_is_a_400():
    assert refusal(parse_setup, {"project": "seven", "schema": CONFIG}).status == 400


@pytest.mark.parametrize("blank", [None, "", 5, []])
def test_a_setup_host_or_token_that_is_not_text_is_taken_as_absent(blank):
    asked = parse_setup({"project": 3, "schema": CONFIG, "hostname": blank, "access_token": blank})
    assert asked.hostname is None and asked.access_token is None


def test_setup_extra_params_as_a_json_text_are_read_as_an_object():
    asked = parse_setup({"project": 3, "schema": CONFIG, "extra_params": '{"strategy": "entropy", "batch": 5}'})
    assert asked.extra == {"strategy": "entropy", "batch": 5} and asked.strategy == "entropy"


def test_setup_extra_params_empty_text_are_none_but_an_empty_object_is_kept():
    assert parse_setup({"project": 3, "schema": CONFIG, "extra_params": ""}).extra is None
    kept = parse_setup({"project": 3, "schema": CONFIG, "extra_params": {}})
    assert kept.extra == {} and kept.strategy is None  # an empty object resets the project's settings


def test_setup_extra_params_text_that_is_not_json_is_a_400():
    error = refusal(parse_setup, {"project": 3, "schema": CONFIG, "extra_params": "{not json"})
    assert error.status == 400 and error.reason == "extra_params is a string but not JSON"


@pytest.mark.parametrize("extra", ["   ", "[1, 2]", [1], 7])
def test_setup_extra_params_that_are_not_an_object_are_a_400(extra):
    error = refusal(parse_setup, {"project": 3, "schema": CONFIG, "extra_params": extra})
    assert error.reason == "extra_params must be a JSON object of project settings"


def test_setup_extra_params_strategy_that_is_not_a_name_is_a_400():
    error = refusal(parse_setup, {"project": 3, "schema": CONFIG, "extra_params": {"strategy": 3}})
    assert error.reason == "extra_params.strategy must be a strategy name"


def test_setup_extra_params_out_of_their_bounds_are_a_400_naming_the_setting():
    error = refusal(parse_setup, {"project": 3, "schema": CONFIG, "extra_params": {"colour": "red"}})
    assert error.status == 400 and error.reason.startswith("extra_params: unknown project setting 'colour'")


# -- the label config's limits -------------------------------------------------------------------------------------


def test_a_config_within_the_limits_is_returned_as_it_is(tmp_path: Path):
    assert checked_config(ServerSettings(store=tmp_path, data_dir=tmp_path), CONFIG) == CONFIG


def test_a_config_over_the_size_limit_is_a_413_counting_utf8_bytes(tmp_path: Path):
    settings = ServerSettings(store=tmp_path, data_dir=tmp_path, max_config_chars=len(CONFIG) + 1)
    error = refusal(checked_config, settings, CONFIG.replace("ham", "漢漢"))
    assert error.status == 413 and "bytes (UTF-8)" in error.reason and "TEXTAL_MAX_CONFIG_KB" in error.reason


def test_a_config_with_too_many_choices_is_a_413_naming_the_setting(tmp_path: Path):
    error = refusal(checked_config, ServerSettings(store=tmp_path, data_dir=tmp_path, max_choices=1), CONFIG)
    assert error.status == 413 and "TEXTAL_MAX_CHOICES" in error.reason


def test_a_config_textal_cannot_serve_is_a_400(tmp_path: Path):
    error = refusal(checked_config, ServerSettings(store=tmp_path, data_dir=tmp_path), "<View/>")
    assert error.status == 400


# -- /predict ------------------------------------------------------------------------------------------------------


def test_a_predict_reads_its_tasks_project_and_config_hint():
    asked = parse_predict({"tasks": [{"id": 1}], "project": "7.1", "label_config": CONFIG}, 10)
    assert asked.tasks == [{"id": 1}] and asked.ref == ProjectRef(7, 1) and asked.label_config == CONFIG


def test_a_predict_config_hint_that_is_not_text_is_ignored():
    assert parse_predict({"tasks": [], "project": 7, "label_config": 5}, 10).label_config is None


def test_a_predict_over_the_task_limit_is_a_413_before_the_project_is_read():
    error = refusal(parse_predict, {"tasks": [{}, {}, {}], "project": "seven"}, 2)
    assert error.status == 413 and "TEXTAL_MAX_PREDICT_TASKS" in error.reason


def test_a_predict_task_that_is_not_an_object_is_a_400_naming_its_index():
    error = refusal(parse_predict, {"tasks": [{}, "x"], "project": 7}, 10)
    assert error.reason == "tasks[1] must be a task object, got str"


# -- /webhook ------------------------------------------------------------------------------------------------------


def test_a_webhook_textal_does_not_act_on_is_ignored_without_reading_the_rest():
    hook = parse_webhook({"action": "PROJECT_UPDATED", "project": "not read"})
    assert hook.ignored and hook.ref is None and hook.task_ids == ()


def test_a_webhook_without_an_action_is_a_400_naming_the_field():
    assert "missing field 'action'" in refusal(parse_webhook, {"project": 3}).reason


def test_a_new_annotation_webhook_asks_for_a_retrain_of_its_project():
    hook = parse_webhook({"action": "ANNOTATION_CREATED", "project": {"id": 3, "title": "x"}})
    assert not hook.ignored and not hook.scores and hook.ref == ProjectRef(3)


def test_a_webhook_textal_acts_on_without_a_project_is_a_400_naming_the_action():
    error = refusal(parse_webhook, {"action": "START_TRAINING"})
    assert error.reason == "missing field 'project' in the START_TRAINING webhook"


def test_a_tasks_created_webhook_reads_each_task_id_objects_or_bare():
    hook = parse_webhook({"action": "TASKS_CREATED", "project": 3, "tasks": [{"id": 5}, 6]})
    assert hook.scores and hook.task_ids == (5, 6)


@pytest.mark.parametrize("task", [{"id": "5"}, {"id": True}, {}, 1.5])
def test_a_created_task_without_an_integer_id_is_a_400_naming_its_index(task):
    error = refusal(parse_webhook, {"action": "TASKS_CREATED", "project": 3, "tasks": [{"id": 1}, task]})
    assert error.reason == "tasks[1] has no integer 'id'"


def test_a_tasks_created_webhook_without_tasks_is_a_400_naming_the_field():
    assert "missing field 'tasks'" in refusal(parse_webhook, {"action": "TASKS_CREATED", "project": 3}).reason
