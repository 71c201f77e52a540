"""What a benchmark's raw results say of their run: command, commit, date, machine and library versions."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]

# textal's own dependencies whose version moves a figure (distribution names, as pip knows them).
KEY_LIBRARIES = ("textal", "torch", "transformers", "sentence-transformers", "scikit-learn", "numpy", "label-studio")
# The active-learning libraries benchmarks/peers compares against (not installed in textal's environment).
PEER_LIBRARIES = ("small-text", "modAL-python", "scikit-activeml", "baal", "cleanlab")
NOT_INSTALLED = "not installed"
NO_GPU = "none"


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def gpu_name() -> str:
    """The GPUs as torch sees them (name and memory, comma-separated), else nvidia-smi's, else "none"."""
    if importlib.util.find_spec("torch") is not None:
        import torch

        if torch.cuda.is_available():
            cards = [torch.cuda.get_device_properties(i) for i in range(torch.cuda.device_count())]
            return ", ".join(f"{card.name} ({card.total_memory / 2**30:.0f} GiB)" for card in cards)
        return NO_GPU
    try:
        done = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return NO_GPU
    cards = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    return ", ".join(cards) if done.returncode == 0 and cards else NO_GPU


def versions(packages: Sequence[str], python: str | None = None) -> dict[str, str]:
    """The installed version of each distribution ("not installed" where absent), in this interpreter or in
    ``python`` (another virtualenv's, as the peers' own)."""
    if python is None:
        found = {}
        for name in packages:
            try:
                found[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                found[name] = NOT_INSTALLED
        return found
    code = "import json, sys; from benchmarks.machine import versions; print(json.dumps(versions(sys.argv[1:])))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH", "")]))}
    done = subprocess.run([python, "-c", code, *packages], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def git_commit(where: Path = REPO) -> str:
    """The short commit checked out at ``where`` (empty outside a checkout)."""
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True)
    return done.stdout.strip()


def committed(path: Path) -> tuple[str, str]:
    """The short commit and its date (YYYY-MM-DD) that last changed ``path``: when raw files that predate run records
    were recorded, from git rather than typed in ("", "") outside a checkout or for a file never committed)."""
    done = subprocess.run(
        ["git", "log", "-1", "--format=%h %cs", "--", str(path)], cwd=REPO, capture_output=True, text=True
    )
    parts = done.stdout.split()
    return (parts[0], parts[1]) if len(parts) == 2 else ("", "")


def provenance(record: dict[str, Any] | None, raw: Path) -> str:
    """One line for a RESULTS.md on when and where ``raw`` was recorded: from its run record where there is one,
    else the commit that added the file (git) and that the machine was not recorded."""
    if record and record.get("date"):
        machine = record.get("cpu") or record.get("machine", "machine not recorded")
        cores = f", {record['cores']} cores" if record.get("cores") else ""
        gpu = f", GPU {record['gpu']}" if record.get("gpu") else ""
        return f"Recorded {record['date'][:10]} at commit {record.get('commit') or '?'} on {machine}{cores}{gpu}."
    commit, date = committed(raw)
    if not commit:
        return "Date and machine not recorded."
    return f"Raw file committed {date} (commit {commit}); its run recorded no date or CPU model."


def run_record(module: str, libraries: Sequence[str] = (), python: str | None = None) -> dict[str, Any]:
    """What a results file says of its run, so a figure can be traced and rerun: the command (``python -m module``
    and this run's arguments, paths in the checkout made relative), the commit, the date (UTC), the machine (CPU
    model, cores, GPU) and the versions of textal's key libraries, plus ``libraries`` (looked up in ``python``'s
    environment where given, e.g. the peers' virtualenv)."""
    record: dict[str, Any] = {
        "command": (f"python -m {module} " + " ".join(_portable(a) for a in sys.argv[1:])).rstrip(),
        "commit": git_commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "gpu": gpu_name(),
        "python": platform.python_version(),
        "versions": versions(KEY_LIBRARIES),
    }
    if libraries:
        record["versions"].update(versions(libraries, python))
    return record


def _portable(arg: str) -> str:
    """A command-line argument as a results file may keep it: paths in the checkout relative, any other absolute
    path (one machine's scratch folder) as PATH."""
    arg = arg.replace(str(REPO) + os.sep, "")
    return "PATH" if os.path.isabs(arg) else arg


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50/p95/p99, mean and max of raw latencies (numpy's linear percentiles): every raw file computes them alike."""
    if not seconds:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    values = np.asarray(seconds, dtype=float)
    p50, p95, p99 = (float(v) for v in np.percentile(values, [50, 95, 99]))
    return {
        "n": len(values),
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "mean": float(values.mean()),
        "max": float(values.max()),
    }


def write_raw(path: Path, results: dict[str, Any], module: str, libraries: Sequence[str] = ()) -> Path:
    """Write ``results`` under ``run_record(module)`` so the raw figures travel with their command, commit, date,
    machine and versions: one line appended to a ``.jsonl`` file (a run a line), else the whole JSON file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**run_record(module, libraries), **results}
    if path.suffix == ".jsonl":
        with open(path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
    else:
        path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def read_raw(path: Path) -> list[dict[str, Any]]:
    """The runs a raw file holds: each line of a ``.jsonl`` file, or the one JSON object of a ``.json`` file."""
    text = Path(path).read_text()
    if Path(path).suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return [json.loads(text)]
