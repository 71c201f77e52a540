"""How much memory a process uses: /proc/<pid>/status figures (peak resident, private, file-backed) and a tree's RSS."""

from __future__ import annotations

from pathlib import Path


def status_mb(pid: int, keys: tuple[str, ...] = ("VmHWM",)) -> dict[str, float]:
    """``keys`` of /proc/<pid>/status (VmHWM: peak resident memory; RssAnon, RssFile: resident now), MB; {} once the
    process has ended."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key = line.split(":")[0]
            if key in keys:
                out[key] = int(line.split()[1]) / 1024
    except OSError:  # it has just ended
        pass
    return out


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), MB; nan once it has ended."""
    return status_mb(pid, ("VmHWM",)).get("VmHWM", float("nan"))


def tree_rss_mb(pid: int) -> float:
    """Resident memory now of a process and its children, MB; nan once it has ended."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return float("nan")
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 2**20
