"""Running the repository's own modules (a benchmark, say) as ``python -m`` from the repository root, as a user does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def run_module(module: str, *args: str, data_dir: Path, **run: Any) -> subprocess.CompletedProcess:
    """``python -m module args`` from the repository root with DATA pointing at ``data_dir`` (the shared datasets);
    ``run``: subprocess.run's other arguments (capture_output, text, timeout, check)."""
    return subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO, env={**os.environ, "DATA": str(data_dir)}, **run
    )
