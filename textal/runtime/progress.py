"""Progress reporting without a UI dependency: the library reports, the caller decides how to show it.

Library code wraps long work in ``with progress.task("Fine-tuning", total=n) as bar: bar.advance()``.
By default nothing is shown; the CLI installs a rich-backed reporter with ``progress.reporting(...)``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import Protocol, TypeVar

T = TypeVar("T")


class Bar(Protocol):
    def advance(self, n: int = 1) -> None: ...


class Reporter(Protocol):
    """Something that can show a named task with a known (or unknown) total."""

    def start(self, description: str, total: int | None) -> Bar: ...

    def finish(self, bar: Bar) -> None: ...


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass


class _Quiet:
    """A reporter that shows nothing, to silence the tasks inside a ``reporting`` block."""

    def start(self, description: str, total: int | None) -> Bar:
        return _Silent()

    def finish(self, bar: Bar) -> None:
        pass


QUIET: Reporter = _Quiet()

_reporter: contextvars.ContextVar[Reporter | None] = contextvars.ContextVar("textal_reporter", default=None)


@contextlib.contextmanager
def reporting(reporter: Reporter) -> Iterator[None]:
    """Show every ``task`` started inside this block through ``reporter``."""
    token = _reporter.set(reporter)
    try:
        yield
    finally:
        _reporter.reset(token)


@contextlib.contextmanager
def task(description: str, total: int | None = None) -> Iterator[Bar]:
    """A unit of long work; ``advance`` it as parts finish."""
    reporter = _reporter.get()
    if reporter is None:
        yield _Silent()
        return
    bar = reporter.start(description, total)
    try:
        yield bar
    finally:
        reporter.finish(bar)


def track(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """Iterate ``items`` while advancing a task by one per item."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with task(description, total) as bar:
        for item in items:
            yield item
            bar.advance()
