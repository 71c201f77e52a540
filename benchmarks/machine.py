"""What the benchmark scripts print about the machine they ran on."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def git_commit(where: Path = REPO) -> str:
    """The short commit checked out at ``where`` (empty outside a checkout)."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True)
    return done.stdout.strip()


def run_record(module: str) -> dict[str, str]:
    """What a results file says of its run: the command (``python -m module`` and this run's arguments, paths in the
    checkout made relative), the commit, the date (UTC) and the machine."""
    return {
        "command": f"python -m {module} " + " ".join(sys.argv[1:]).replace(str(REPO) + os.sep, ""),
        "commit": git_commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
    }
