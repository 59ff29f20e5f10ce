"""Errors that reach a user as one clear line instead of a traceback."""

__all__ = ["ArgumentError", "ConfigWarning", "UserInputError"]


class UserInputError(ValueError):
    """Bad input from a user: a file, a field or a name, and what was expected.

    The CLI prints `str(error)` on one line and exits with status 2. The message
    should name the file (if any), the field or array, and what was expected,
    e.g. ``codes.npz: factors_train: expected integers >= 0, got -1``.
    """


class ArgumentError(UserInputError):
    """A bad value of one named argument of a data set, model entry or metric.

    `argument` is the argument's name and `detail` says what was expected
    ("expected an integer >= 1, got 0"), so a task-file loader can point at
    the field that set it (``tasks/x.yaml: sweep.beta[2]: expected ...``);
    `str(error)` is the whole message for callers without a file.
    """

    def __init__(self, message: str, *, argument: str, detail: str) -> None:
        super().__init__(message)
        self.argument = argument
        self.detail = detail


class ConfigWarning(UserWarning):
    """Something in a task file that runs, but likely not as meant (one line, no traceback).

    The CLI prints it as ``disbench <command>: warning: <message>``.
    """
