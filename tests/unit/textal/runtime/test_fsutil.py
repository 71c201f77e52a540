import os
import subprocess
import sys

import pytest

from textal.runtime.fsutil import atomic_write_bytes, atomic_write_text, pid_alive


def test_atomic_write_text_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    atomic_write_text(target, "new", mode=0o600)
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_atomic_write_text_gives_a_new_file_the_requested_mode(tmp_path):
    target = tmp_path / "token"
    atomic_write_text(target, "secret", mode=0o600)
    assert (target.stat().st_mode & 0o777) == 0o600


def test_an_atomic_write_that_fails_midway_keeps_the_old_file_and_cleans_up(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        atomic_write_bytes(target, 123)  # type: ignore[arg-type]  (fails after the temporary file is open)
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_pid_alive_tells_a_running_process_from_a_reaped_one():
    assert pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)
