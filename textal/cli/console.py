"""Terminal output for the CLI: a rich progress reporter and error printing.

Kept apart from cli.py so that the commands stay a thin layer of parse -> call -> print.
"""

from __future__ import annotations

import sys
from typing import cast

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from textal.runtime.progress import Bar

# Piped output (a file, a test, CI) gets a wide page instead of rich's 80-column default.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


class _RichBar:
    def __init__(self, progress: Progress, task_id: TaskID) -> None:
        self.progress = progress
        self.task_id = task_id

    def advance(self, n: int = 1) -> None:
        self.progress.advance(self.task_id, n)


class RichReporter:
    """Shows textal.runtime.progress tasks as rich progress bars on stderr; one live display for nested tasks."""

    def __init__(self, console: Console = err) -> None:
        self.console = console
        self.progress: Progress | None = None
        self.active = 0

    def start(self, description: str, total: int | None) -> _RichBar:
        if self.progress is None:
            self.progress = Progress(
                SpinnerColumn(),
                TextColumn("[progress.description]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self.progress.start()
        self.active += 1
        return _RichBar(self.progress, self.progress.add_task(description, total=total))

    def finish(self, bar: Bar) -> None:
        own = cast(_RichBar, bar)  # a bar this reporter's ``start`` made (textal.runtime.progress pairs them)
        task = next((t for t in own.progress.tasks if t.id == own.task_id), None)
        if self.active > 1:  # a step inside a longer task: gone when done, or bars pile up per round
            own.progress.remove_task(own.task_id)
        elif task is not None and task.total is not None:
            own.progress.update(own.task_id, completed=task.total)
        self.active -= 1
        if self.active == 0 and self.progress is not None:
            self.progress.stop()
            self.progress = None


def fail(message: str, code: int) -> None:
    """Print one readable line to stderr and exit with ``code``."""
    err.print(f"textal: {message}", markup=False, soft_wrap=True)
    sys.exit(code)
