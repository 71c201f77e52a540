"""What the Label Studio benchmarks share: starting processes, waiting for them, a choice annotation."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DATA", REPO.parent / "shared" / "data"))  # the shared datasets
BIN = Path(sys.executable).parent  # label-studio and textal beside this interpreter
SPAM_CONFIG = (
    '<View><Text name="text" value="$text"/>'
    '<Choices name="label" toName="text" choice="single"><Choice value="ham"/><Choice value="spam"/></Choices></View>'
)
sys.path.insert(0, str(REPO / "tests"))  # the tests' helpers start Label Studio the same way
from servers import _ls_environment, _wait_for_label_studio, free_port, log_tail, stop_process  # noqa: E402,F401


def choice(label: str) -> list[dict]:
    """An annotation result choosing ``label`` in the spam config."""
    return [{"from_name": "label", "to_name": "text", "type": "choices", "value": {"choices": [label]}}]


def start(cmd: list[str], log: Path, env: dict[str, str], cwd: Path | None = None) -> subprocess.Popen:
    """Start ``cmd`` in its own session, output to ``log``."""
    with open(log, "wb") as fh:
        return subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=cwd, start_new_session=True
        )


def wait(check, timeout: float, what: str, log: Path, every: float = 0.05):
    """Poll ``check`` until it returns something truthy; exit with ``log``'s tail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}:\n{log_tail(log, 60)}")
        time.sleep(every)


def up(url: str) -> bool:
    """True when ``url`` answers 200."""
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
