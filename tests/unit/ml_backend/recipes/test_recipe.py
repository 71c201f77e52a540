"""Recipes are plain data, read and checked: every mistake is one line naming the file, the key and what is allowed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ml_backend.labelstudio.schema import parse_label_config
from ml_backend.recipes.recipe import RECIPES_DIR, RecipeError, load_recipe


@pytest.fixture
def recipe_dir(tmp_path) -> Path:
    folder = tmp_path / "mine"
    shutil.copytree(RECIPES_DIR / "spam", folder)
    return folder


def edit(folder: Path, old: str, new: str) -> Path:
    path = folder / "recipe.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def error_of(ref) -> str:
    with pytest.raises(RecipeError) as exc:
        load_recipe(ref)
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_shipped_recipes_load_with_their_settings_for_the_worker():
    spam = load_recipe("spam")
    assert spam.labels == ("ham", "spam") and spam.text_column == "text"
    assert spam.strategy is None  # the shipped recipes take textal's default strategy, defined once
    assert spam.extra_params() == {
        "batch": 20,
        "eval_fraction": 0.1,
        "full_every": 500,
        "promote_margin": 0.02,
        "prefill_margin": 0.2,
    }
    tickets = load_recipe("support_tickets")
    assert tickets.labels is None and tickets.label_column == "intent"


def test_labels_from_the_data_become_the_choices_of_the_label_config():
    tickets = load_recipe("support_tickets")
    xml, schema = tickets.config_for(("card_lost", "balance"))
    assert schema.labels == ("card_lost", "balance") and schema.from_name == "intent"
    assert parse_label_config(xml) == schema


def test_a_recipe_is_found_by_name_folder_or_file(recipe_dir):
    assert load_recipe(recipe_dir).name == "mine"
    assert load_recipe(recipe_dir / "recipe.toml").name == "mine"
    assert "one of: spam, support_tickets" in error_of("no-such-recipe")


def test_an_unknown_key_names_the_file_the_key_and_what_is_allowed(recipe_dir):
    path = edit(recipe_dir, "batch = 20", "bacth = 20")
    message = error_of(recipe_dir)
    assert message.startswith(str(path)) and "unknown key [active_learning] bacth" in message
    assert "allowed: strategy, class_weight, precision, full_tier, batch, eval_fraction" in message


def test_a_wrong_type_names_the_key_and_the_type(recipe_dir):
    edit(recipe_dir, "batch = 20", 'batch = "20"')
    assert "[active_learning] batch must be an integer, got '20'" in error_of(recipe_dir)


def test_an_unknown_strategy_lists_the_strategies(recipe_dir):
    edit(recipe_dir, '# strategy = "margin"', 'strategy = "smartest"')
    message = error_of(recipe_dir)
    assert "strategy 'smartest' is unknown; allowed:" in message and "hybrid" in message and "entropy.v1" in message


def test_a_value_out_of_range_names_the_key(recipe_dir):
    edit(recipe_dir, "eval_fraction = 0.1", "eval_fraction = 0.7")
    assert "[active_learning] project setting 'eval_fraction'" in error_of(recipe_dir)


def test_a_missing_key_is_named(recipe_dir):
    edit(recipe_dir, 'text_column = "text"', "")
    assert "[data] text_column is missing" in error_of(recipe_dir)


def test_labels_that_differ_from_the_label_config_are_refused(recipe_dir):
    edit(recipe_dir, 'labels = ["ham", "spam"]', 'labels = ["ham", "spam", "phishing"]')
    assert "differ from the label config's choices" in error_of(recipe_dir)


def test_labels_from_the_data_need_a_label_column_and_an_empty_choices(recipe_dir):
    edit(recipe_dir, 'labels = ["ham", "spam"]', 'labels = "from the data"')
    recipe = load_recipe(recipe_dir)
    with pytest.raises(RecipeError, match="lists choices already"):
        recipe.config_for(("ham", "spam"))
    edit(recipe_dir, 'label_column = "label"', "")
    assert "needs [data] label_column" in error_of(recipe_dir)


def test_invalid_toml_and_a_missing_label_config_are_one_line(recipe_dir):
    (recipe_dir / "label_config.xml").unlink()
    assert "label_config 'label_config.xml' unreadable" in error_of(recipe_dir)
    (recipe_dir / "recipe.toml").write_text("title = \n")
    assert "not valid TOML" in error_of(recipe_dir)


def test_a_local_encoder_folder_is_passed_on_and_a_missing_one_refused(recipe_dir):
    (recipe_dir / "my-encoder").mkdir()
    edit(recipe_dir, 'encoder = "default"', 'encoder = "my-encoder"')
    assert load_recipe(recipe_dir).extra_params()["encoder"] == str((recipe_dir / "my-encoder").resolve())
    edit(recipe_dir, 'encoder = "my-encoder"', 'encoder = "elsewhere"')
    assert "[model] encoder must be" in error_of(recipe_dir)


def test_a_recipe_may_turn_class_weights_off_and_a_bad_weighting_is_named(recipe_dir):
    edit(recipe_dir, "batch = 20", 'batch = 20\nclass_weight = "none"')
    assert load_recipe(recipe_dir).extra_params()["class_weight"] == "none"
    edit(recipe_dir, 'class_weight = "none"', 'class_weight = "heavy"')
    assert "class_weight' must be one of balanced, none, got 'heavy'" in error_of(recipe_dir)


def test_a_recipe_may_set_the_precision_and_the_full_tier_and_a_bad_one_is_named(recipe_dir):
    edit(recipe_dir, "batch = 20", 'batch = 20\nprecision = "fp32"\nfull_tier = "plain"')
    params = load_recipe(recipe_dir).extra_params()
    assert (params["precision"], params["full_tier"]) == ("fp32", "plain")
    edit(recipe_dir, 'precision = "fp32"', 'precision = "fp8"')
    assert "'precision' must be one of auto, fp32, bf16, int8, got 'fp8'" in error_of(recipe_dir)
