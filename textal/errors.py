"""Errors textal raises for problems a user can fix (bad input, missing files, bad config).

The CLI turns these into exit code 2 and one readable line; anything else is an internal error.
"""


class TextalError(Exception):
    """A problem with the user's input or set-up, stated in one readable line."""


class DataError(TextalError, ValueError):
    """The data file cannot be read as texts and labels; the message names file, row and problem."""


class ModelError(TextalError):
    """A model cannot be built, loaded or used as asked (unknown kind, unreachable hub, not fitted)."""


class StoreError(TextalError):
    """The model store is missing, empty, or does not hold the version asked for."""
