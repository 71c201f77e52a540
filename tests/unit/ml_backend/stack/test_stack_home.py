"""`textal up`'s folder: secrets made once and private, ports that move when taken, one stack per folder."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from ml_backend.stack.processes import free_port_from, stop_group
from ml_backend.stack.up import Stack, StackError, StackHome, stop_all
from textal.runtime.fsutil import pid_alive


def test_a_secret_is_made_once_and_readable_only_by_its_owner(tmp_path):
    home = StackHome(tmp_path / "home")
    home.make()
    first = home.secret(home.key_file)
    assert home.secret(home.key_file) == first and len(first) == 40
    assert home.key_file.stat().st_mode & 0o777 == 0o600 and home.root.stat().st_mode & 0o777 == 0o700


def test_a_port_in_use_is_replaced_by_the_next_free_one():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        assert free_port_from(taken) > taken
        assert free_port_from(taken + 1, taken=[taken + 1]) > taken + 1


def test_a_second_stack_over_a_running_ones_folder_is_refused_and_down_stops_the_first(tmp_path):
    home = StackHome(tmp_path / "home")
    home.make()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        home.pids_file.write_text(str(sleeper.pid))
        with pytest.raises(StackError, match="already runs over"):
            Stack(home.root, say=lambda _: None).start()
        assert stop_all(home.root) == [sleeper.pid]
        sleeper.wait(10)
        assert not pid_alive(sleeper.pid) and not home.pids_file.exists()
    finally:
        if sleeper.poll() is None:
            stop_group(sleeper.pid, 1)


def test_a_detached_stack_leaves_its_servers_running_and_down_stops_them(tmp_path):
    from ml_backend.stack.processes import start

    stack = Stack(tmp_path / "home", say=lambda _: None, detached=True)
    stack.home.make()
    child = start(
        "sleeper",
        [sys.executable, "-c", "import time; time.sleep(60)"],
        tmp_path / "sleeper.log",
        {},
        tmp_path,
        die_with_parent=False,
    )
    try:
        stack._started(child)
        stack.detach()
        stack.stop()  # what `textal up --detach` runs on its way out
        assert child.alive() and stack.home.live_pids() == [child.process.pid]
        assert stop_all(stack.home.root) == [child.process.pid]
        child.process.wait(10)
        assert not child.alive() and not stack.home.pids_file.exists()
    finally:
        child.stop(1)
