"""Which project a file goes to: a name given is used or refused; without one, the recipe's title, or, where
another file's project holds it, the title with the file's name, so `make run DATA=own.csv` gets its own project
and the same file finds its project again."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_backend.labelstudio.admin import ProjectSummary
from ml_backend.recipes.init import InitError, choose_project
from ml_backend.recipes.recipe import load_recipe

OWN = Path("/somewhere/own.csv")


class FakeAdmin:
    """Label Studio's project list, as ``StudioAdmin.projects`` gives it."""

    def __init__(self, *projects: tuple[int, str, str]) -> None:
        self.list = [ProjectSummary(i, title, mark, "<View/>") for i, title, mark in projects]

    def projects(self):
        return iter(self.list)


def mark(fingerprint: str, recipe: str = "spam") -> str:
    return f"Tell spam from normal messages.\n\n(textal init: recipe {recipe}, data {fingerprint}, 10 rows)"


@pytest.fixture
def spam():
    return load_recipe("spam")


def test_the_demo_project_is_found_again_from_the_same_data(spam):
    admin = FakeAdmin((1, "SMS spam", mark("d0")))
    assert choose_project(admin, spam, Path("test.csv"), "d0", None) == ("SMS spam", 1)


def test_own_file_gets_a_project_named_after_it_where_the_demo_holds_the_recipes_title(spam):
    admin = FakeAdmin((1, "SMS spam", mark("d0")))
    assert choose_project(admin, spam, OWN, "a1", None) == ("SMS spam (own.csv)", None)


def test_own_file_finds_its_own_project_again_on_the_next_run(spam):
    admin = FakeAdmin((1, "SMS spam", mark("d0")), (2, "SMS spam (own.csv)", mark("a1")))
    assert choose_project(admin, spam, OWN, "a1", None) == ("SMS spam (own.csv)", 2)


def test_a_project_textal_did_not_make_is_never_touched(spam):
    admin = FakeAdmin((1, "SMS spam", "the team's own project"))
    assert choose_project(admin, spam, OWN, "a1", None) == ("SMS spam (own.csv)", None)


def test_a_name_given_is_refused_when_another_files_project_has_it(spam):
    admin = FakeAdmin((1, "Mine", mark("d0")))
    with pytest.raises(InitError, match="give another --project-name"):
        choose_project(admin, spam, OWN, "a1", "Mine")
    assert choose_project(admin, spam, OWN, "a1", "Other") == ("Other", None)


def test_both_names_taken_by_other_files_asks_for_a_name_in_one_line(spam):
    admin = FakeAdmin((1, "SMS spam", mark("d0")), (2, "SMS spam (own.csv)", mark("b2")))
    with pytest.raises(InitError) as exc:
        choose_project(admin, spam, OWN, "a1", None)
    assert "\n" not in str(exc.value) and "--project-name" in str(exc.value) and "PROJECT=" in str(exc.value)
