"""Polling until something is true, with a deadline and an error that names what was waited for."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """What ``wait_until`` raises when its deadline passes: it names what it waited for."""


def wait_until(
    predicate: Callable[[], T],
    timeout: float,
    interval: float = 0.25,
    what: str = "a condition",
    details: Callable[[], str] | None = None,
) -> T:
    """Call ``predicate`` every ``interval`` seconds until it returns something truthy, and return that.

    After ``timeout`` seconds raise ``WaitTimeout`` naming ``what`` (and ``details()``: a log tail, the last state).
    The predicate is always called at least once, and once more after the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            message = f"timed out after {timeout:g} s waiting for {what}"
            raise WaitTimeout(f"{message}\n{details()}" if details is not None else message)
        time.sleep(interval)
