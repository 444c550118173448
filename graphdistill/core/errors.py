"""User-facing errors.

Every check of user input raises :class:`UserError` with a one-line message that says what is
wrong and how to fix it; the CLI prints that line and exits non-zero instead of a traceback.
"""


class UserError(ValueError):
    """Bad input from the user (unknown name, impossible budget, missing or corrupt files)."""


class DataNotFoundError(UserError, FileNotFoundError):
    """A dataset's files are absent from every data root and could not be fetched."""
