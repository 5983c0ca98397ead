"""The toolkit's own exception types.

Every error a user can cause is one of these, with a message that names the
column, file or option at fault and what would be valid. The CLI maps them to
exit codes in one place: :class:`UsageError` exits with 2, every other
:class:`ToolkitError` with 1.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


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


class NotFittedError(ToolkitError, _SklearnNotFittedError):
    """A method that needs a fitted estimator was called before ``fit``."""


class PrivacyWarning(UserWarning):
    """Synthetic output holds something that may reveal a training row (rows that still
    copy one after the copy guard's redraws); the message says how many."""


class InferenceWarning(UserWarning):
    """Something about the data was guessed from weak evidence (a tiny table, mixed
    date formats, an identifier recognised by its name ...); the message says what
    was guessed and how to state it instead. The CLI prints it as one ``Warning:`` line."""
