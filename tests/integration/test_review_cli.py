"""`textal review` on a slice of SMS spam with planted wrong labels, through the real MiniLM encoder."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

TEXTAL = str(Path(sys.executable).with_name("textal"))


@pytest.fixture(scope="module")
def planted(tmp_path_factory, data_dir):
    """300 rows of SMS spam with 15 labels flipped; returns the file and the flipped source row numbers."""
    root = tmp_path_factory.mktemp("review")
    with open(data_dir / "sms_spam" / "train.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:301]
    flipped = set(range(7, 300, 20))  # every 20th row
    for i in flipped:
        body[i][1] = "ham" if body[i][1] == "spam" else "spam"
    path = root / "noisy.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([header, *body])
    return path, {i + 2 for i in flipped}, root  # source rows count the header as row 1


def test_review_ranks_the_planted_wrong_labels_first_and_suggests_the_right_ones(planted):
    path, flipped, root = planted
    out = root / "issues.csv"
    done = subprocess.run(
        [TEXTAL, "review", str(path), "--out", str(out), "--cache-dir", str(root / "cache")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    ranked = list(csv.DictReader(out.open()))
    assert len(ranked) == 300 and [r["rank"] for r in ranked] == [str(i) for i in range(1, 301)]
    top = ranked[: len(flipped)]
    hits = [r for r in top if int(r["row"]) in flipped]
    assert len(hits) >= 0.6 * len(flipped), [(r["row"], r["text"][:40]) for r in top]
    assert all(r["suggested_label"] != r["label"] for r in hits)
    flagged = [r for r in ranked if r["flagged"] == "True"]
    assert ranked[: len(flagged)] == flagged  # the flagged rows come first
    assert f"{len(flagged)} of 300 labels look wrong" in done.stdout


def test_review_refuses_an_unknown_model_and_a_file_without_labels_with_exit_2(planted, tmp_path):
    path, _, root = planted
    bad = subprocess.run(
        [TEXTAL, "review", str(path), "--out", str(tmp_path / "x.csv"), "--model", "gpt"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert bad.returncode == 2 and "--model must be one of embed-head, linear, not 'gpt'" in bad.stderr
    texts = tmp_path / "texts.csv"
    texts.write_text("text\nhello there\nwin a prize now\n")
    unlabelled = subprocess.run(
        [TEXTAL, "review", str(texts), "--out", str(tmp_path / "y.csv")], capture_output=True, text=True, timeout=300
    )
    assert unlabelled.returncode == 2 and "no label column found" in unlabelled.stderr
    one_fold = subprocess.run(
        [TEXTAL, "review", str(path), "--out", str(tmp_path / "z.csv"), "--folds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert one_fold.returncode == 2 and "--folds must be at least 2" in one_fold.stderr
    assert "Traceback" not in bad.stderr + unlabelled.stderr + one_fold.stderr
