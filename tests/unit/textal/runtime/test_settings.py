"""textal.runtime.settings: the library's one reader of the environment, and the number rule the backend shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml_backend.config import ServerSettings
from ml_backend.errors import BackendConfigError
from textal.errors import TextalError
from textal.runtime import settings


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "0", "-1", "ten", "1e400"])
def test_a_number_that_is_not_finite_and_positive_is_refused_naming_the_variable(raw):
    with pytest.raises(TextalError, match=rf"^TEXTAL_X must be a positive number of MB, not '{raw}'$"):
        settings.positive_number("TEXTAL_X", 5, {"TEXTAL_X": raw}, "MB")


def test_a_count_below_one_is_refused_and_a_fraction_of_a_size_is_kept():
    with pytest.raises(TextalError, match=r"\(1 or more\), not '0.5'"):
        settings.positive_number("TEXTAL_N", 5, {"TEXTAL_N": "0.5"}, whole=True)
    assert settings.positive_number("TEXTAL_MB", 5, {"TEXTAL_MB": "0.5"}, "MB") == 0.5
    assert settings.positive_number("TEXTAL_MB", 5, {"TEXTAL_MB": " "}, "MB") == 5


@pytest.mark.parametrize("raw", ["nan", "inf"])
def test_the_backend_refuses_nan_and_inf_by_the_same_rule_instead_of_crashing(raw, tmp_path):
    with pytest.raises(BackendConfigError, match=rf"^TEXTAL_MAX_PREDICT_TASKS must be a positive number.*'{raw}'$"):
        ServerSettings.create(tmp_path, environ={"TEXTAL_MAX_PREDICT_TASKS": raw})


def test_the_embedding_cache_follows_textal_cache_then_xdg_cache_home():
    assert settings.cache_dir({"TEXTAL_CACHE": "/c"}) == Path("/c/embeddings")
    assert settings.cache_dir({"XDG_CACHE_HOME": "/x"}) == Path("/x/textal/embeddings")


def test_launcher_variables_give_the_process_count_and_rank_and_refuse_nonsense():
    assert settings.launched_processes({}) == 1 and settings.process_rank({}) == 0
    assert settings.launched_processes({"WORLD_SIZE": "4"}) == 4 and settings.process_rank({"RANK": "3"}) == 3
    with pytest.raises(TextalError, match="RANK must be a whole number"):
        settings.process_rank({"RANK": "-1"})


def test_no_other_textal_module_reads_the_environment():
    root = Path(settings.__file__).resolve().parents[1]
    readers = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "settings.py" and any(word in path.read_text() for word in ("os.environ", "os.getenv"))
    ]
    assert readers == []


def test_no_ml_backend_module_but_its_config_reads_the_environment():
    import ml_backend

    root = Path(ml_backend.__file__).resolve().parent
    readers = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "config.py" and any(word in path.read_text() for word in ("os.environ", "os.getenv"))
    ]
    assert readers == []
