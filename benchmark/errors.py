"""Errors that reach a user as one clear line instead of a traceback."""

__all__ = ["UserInputError"]


class UserInputError(ValueError):
    """Bad input from a user: a file, a field or a name, and what was expected.

    The CLI prints `str(error)` on one line and exits with status 2. The message
    should name the file (if any), the field or array, and what was expected,
    e.g. ``codes.npz: factors_train: expected integers >= 0, got -1``.
    """
