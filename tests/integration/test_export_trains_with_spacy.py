"""A spaCy export is what `spacy train` takes: a real (tiny) training run reads it and saves a pipeline."""

from __future__ import annotations

import subprocess
import sys

import pytest

from textal.data.writers import ExportRow, write_export

pytestmark = pytest.mark.slow


def test_spacy_train_reads_the_exported_docbin_and_saves_a_textcat_pipeline(tmp_path):
    pairs = [("win cash now, text CLAIM to 80888", "spam"), ("see you at lunch tomorrow", "ham")] * 20
    rows = [ExportRow(i, text, label, 1.0, 1, False, False) for i, (text, label) in enumerate(pairs)]
    for name in ("train", "dev"):
        write_export(rows, tmp_path / f"{name}.spacy", "spacy", ["ham", "spam"])
    spacy = [sys.executable, "-m", "spacy"]
    subprocess.run(
        [
            *spacy,
            "init",
            "config",
            str(tmp_path / "config.cfg"),
            "--lang",
            "xx",
            "--pipeline",
            "textcat",
            "--optimize",
            "efficiency",
        ],
        check=True,
        capture_output=True,
    )
    run = subprocess.run(
        [
            *spacy,
            "train",
            str(tmp_path / "config.cfg"),
            "--paths.train",
            str(tmp_path / "train.spacy"),
            "--paths.dev",
            str(tmp_path / "dev.spacy"),
            "--training.max_steps",
            "20",
            "--training.eval_frequency",
            "10",
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    assert (tmp_path / "out" / "model-last" / "textcat").is_dir()
