"""`textal train` / `versions` through the installed console script, on the full SMS spam data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from textal.store.model_store import ModelStore

TEXTAL = str(Path(sys.executable).with_name("textal"))


def run_textal(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TEXTAL, *args], capture_output=True, text=True, timeout=900)


def macro_f1(stdout: str) -> float:
    match = re.search(r"macro_f1 ([0-9.]+)", stdout)
    assert match, stdout
    return float(match.group(1))


@pytest.mark.parametrize(("model", "bar"), [("linear", 0.95), ("spacy", 0.95)])
def test_train_on_full_sms_spam_reaches_the_bar_and_publishes(tmp_path, data_dir, model, bar):
    store = tmp_path / "store"
    result = run_textal(
        "train",
        str(data_dir / "sms_spam" / "train.csv"),
        "--model",
        model,
        "--eval",
        str(data_dir / "sms_spam" / "test.csv"),
        "--store",
        str(store),
    )
    assert result.returncode == 0, result.stderr
    assert macro_f1(result.stdout) >= bar
    assert "Published version v0001" in result.stdout
    card = ModelStore(store).card()
    assert card["training_size"] == 4442 and card["eval_size"] == 1132
    assert card["metrics"]["macro_f1"] == pytest.approx(macro_f1(result.stdout), abs=1e-4)

    listed = run_textal("versions", "--store", str(store))
    assert listed.returncode == 0 and "v0001" in listed.stdout and "latest" in listed.stdout
