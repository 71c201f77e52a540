"""Errors every layer of the backend shares."""

from __future__ import annotations

from textal.errors import TextalError

RECONNECT = "Reconnect the backend in the project's settings (Settings > Model) to resume"


class TransientError(Exception):
    """A failure worth retrying later with backoff (Label Studio unreachable, a 5xx): the job is not lost."""


class HopelessError(TextalError):
    """A failure that waiting cannot fix: the project was deleted in Label Studio (404), the Label Studio
    URL is malformed, every API token was refused (401/403).

    The queue does not retry a job that raises it: the worker gives the project up (one log line, a
    ``gave_up`` entry in its work state that ``textal status`` shows, no more reconciliation) until the
    project is set up again. The message says what happened; ``action`` what a person must do.
    """

    def __init__(self, message: str, action: str = RECONNECT) -> None:
        super().__init__(message)
        self.action = action


class BackendConfigError(TextalError):
    """A setting or environment variable the backend cannot run with."""
