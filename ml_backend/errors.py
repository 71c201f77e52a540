"""Errors every layer of the backend shares."""

from __future__ import annotations

from textal.errors import TextalError


class TransientError(Exception):
    """A failure worth retrying later with backoff (Label Studio unreachable, a 5xx): the job is not lost."""


class BackendConfigError(TextalError):
    """A setting or environment variable the backend cannot run with."""
