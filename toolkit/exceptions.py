"""The toolkit's own exception types.

Every error a user can cause is one of these, with a message that names the
column, file or option at fault and what would be valid. The CLI maps them to
exit codes in one place: :class:`UsageError` exits with 2, every other
:class:`ToolkitError` with 1.
"""

from __future__ import annotations

from typing import Any

# NotFittedError is made on first use (module __getattr__ below)
__all__ = ["DataError", "InferenceWarning", "ModelFileError", "NotFittedError",  # noqa: F822
           "PrivacyWarning", "ToolkitError", "TrainingError", "UsageError"]


class ToolkitError(Exception):
    """Base class of all errors raised on purpose by the toolkit."""

    exit_code = 1


class UsageError(ToolkitError, ValueError):
    """An option, parameter or preset key is unknown or out of range."""

    exit_code = 2


class DataError(ToolkitError, ValueError):
    """The input data cannot be used (empty table, inf, unknown column...)."""


class ModelFileError(ToolkitError):
    """A model file is missing, truncated, tampered with or of another kind."""


class TrainingError(ToolkitError, RuntimeError):
    """Training failed, e.g. the loss became NaN."""


def _not_fitted_error() -> type:
    """:class:`NotFittedError`, made on first use: it is scikit-learn's ``NotFittedError``
    too (so that ``except sklearn.exceptions.NotFittedError`` catches it), and importing
    scikit-learn takes a second that ``toolkit --version`` should not spend."""
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError

    class NotFittedError(ToolkitError, SklearnNotFittedError):
        """A method that needs a fitted estimator was called before ``fit``."""

    NotFittedError.__module__, NotFittedError.__qualname__ = __name__, "NotFittedError"
    return NotFittedError


def __getattr__(name: str) -> Any:
    if name == "NotFittedError":
        globals()[name] = _not_fitted_error()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class PrivacyWarning(UserWarning):
    """Synthetic output holds something that may reveal a training row (rows that still
    copy one after the copy guard's redraws); the message says how many."""


class InferenceWarning(UserWarning):
    """Something about the data was guessed from weak evidence (a tiny table, mixed
    date formats, an identifier recognised by its name ...); the message says what
    was guessed and how to state it instead. The CLI prints it as one ``Warning:`` line."""
