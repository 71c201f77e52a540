"""`textal score` under `accelerate launch` on 2 CPU processes writes what one process writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port

BIN = Path(sys.executable).parent


LAUNCH = [
    str(BIN / "accelerate"),
    "launch",
    "--multi_gpu",
    "--num_processes",
    "2",
    "--num_machines",
    "1",
    "--mixed_precision",
    "no",
    "--dynamo_backend",
    "no",
]


def run(*args: str, cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "TMPDIR": str(cwd / "scratch")}
    done = subprocess.run([*args], capture_output=True, text=True, timeout=600, cwd=cwd, env=env)
    assert (done.returncode == 0) == ok, done.stderr[-3000:]
    return done


def test_two_processes_share_the_chunks_and_write_the_ranking_of_one(tmp_path, data_dir):
    (tmp_path / "scratch").mkdir()
    store = str(tmp_path / "store")
    pool = str(data_dir / "sms_spam" / "test.csv")
    run(
        str(BIN / "textal"),
        "train",
        str(data_dir / "sms_spam" / "train.csv"),
        "--model",
        "linear",
        "--store",
        store,
        cwd=tmp_path,
    )
    score = ["score", pool, "--store", store, "--chunk-size", "100", "--top-k", "5"]
    run(str(BIN / "textal"), *score, "--out", "one.csv", cwd=tmp_path)
    # --multi_gpu is accelerate's launcher of several processes; without a GPU they run on the CPU
    two = run(
        *LAUNCH, "--main_process_port", str(free_port()), "-m", "textal", *score, "--out", "two.csv", cwd=tmp_path
    )
    assert (tmp_path / "two.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert two.stdout.count("5 most informative texts") == 1  # the main process reports; the other is silent
    assert "Scored by 2 processes" in two.stdout
    assert list((tmp_path / "scratch").glob("textal-score-*")) == []  # shards and the merged pool deleted


def test_a_bad_row_in_one_processs_share_is_reported_once_by_the_first_process(tmp_path, data_dir):
    (tmp_path / "scratch").mkdir()
    train = str(data_dir / "sms_spam" / "test.csv")
    run(str(BIN / "textal"), "train", train, "--model", "linear", "--store", "s", cwd=tmp_path)
    rows = [f"message number {i} for you" for i in range(150)]
    rows[130] = ""  # row 132 of the file, in the second chunk: the second process's share
    (tmp_path / "pool.csv").write_text("text\n" + "".join(f"{r}\n" if r else '""\n' for r in rows))
    done = run(
        *LAUNCH,
        "--main_process_port",
        str(free_port()),
        "-m",
        "textal",
        "score",
        "pool.csv",
        "--store",
        "s",
        "--strategy",
        "kmeans.v1",
        "--chunk-size",
        "100",
        cwd=tmp_path,
        ok=False,
    )
    assert done.stderr.count("row 132") == 1, done.stderr[-2000:]
    assert list((tmp_path / "scratch").glob("textal-score-*")) == []
