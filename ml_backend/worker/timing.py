"""Named phase durations of one job, for logs, cards and the refresh benchmark."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import datetime, timezone


class Timer:
    """Adds up the time spent in each named phase."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.phases: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = round(self.phases.get(name, 0.0) + time.perf_counter() - started, 3)

    def total(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def now_iso() -> str:
    """The current UTC time, to the second, as ISO text."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
