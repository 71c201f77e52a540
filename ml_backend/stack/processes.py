"""Child processes of ``textal up``: started in their own process group with a log file each, stopped together."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from textal.errors import TextalError


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers bind: a just-closed port is free
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port_from(port: int, taken: Sequence[int] = ()) -> int:
    """``port`` if nothing listens on it, else the next free one above it."""
    for candidate in range(port, port + 200):
        if candidate not in taken and port_free(candidate):
            return candidate
    raise OSError(f"no free port in {port}-{port + 199}")


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace_s: float = 15.0) -> None:
        """SIGTERM to the child's group, SIGKILL after ``grace_s``."""
        if self.alive():
            stop_group(self.process.pid, grace_s)
            self.process.wait(grace_s)


def stop_group(pid: int, grace_s: float = 15.0) -> None:
    """SIGTERM to process ``pid`` (to its whole group when it leads one), SIGKILL to what is left after ``grace_s``."""
    try:
        leader = os.getpgid(pid) == pid
    except ProcessLookupError:
        return

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            (os.killpg if leader else os.kill)(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # our own child: reap it, or it lingers as a zombie
        try:
            (os.killpg if leader else os.kill)(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    send(signal.SIGKILL)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies, even by SIGKILL (Linux), so nothing is orphaned."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start(
    name: str, cmd: Sequence[str], log: Path, env: Mapping[str, str], cwd: Path, die_with_parent: bool = True
) -> Child:
    """``cmd`` in its own process group (a terminal's Ctrl-C reaches the parent only, which stops it in order)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent if die_with_parent else None,
        )
    return Child(name, proc, log)


class ChildFailed(TextalError):
    """A server of the stack stopped or never answered: one line naming it and its log."""


def _last_line(path: Path) -> str:
    lines = [line for line in log_tail(path, 40).splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else "(empty)"


def wait_until(child: Child, ready: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``ready`` until it holds; ChildFailed if the child exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not child.alive():
            raise ChildFailed(
                f"{child.name} exited with {child.process.returncode} while {what}; see {child.log} "
                f"(last line: {_last_line(child.log)})"
            )
        if ready():
            return
        time.sleep(1.0)
    raise ChildFailed(
        f"{child.name} did not answer within {timeout_s:.0f} s of {what}; see {child.log} "
        f"(last line: {_last_line(child.log)})"
    )
