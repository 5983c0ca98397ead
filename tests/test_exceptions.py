"""toolkit.exceptions: one family of errors, the exit code each maps to, and the standard types
callers may already catch."""

from __future__ import annotations

import warnings

import pytest
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from toolkit import Synthesizer
from toolkit.exceptions import (
    DataError,
    InferenceWarning,
    ModelFileError,
    NotFittedError,
    PrivacyWarning,
    ToolkitError,
    TrainingError,
    UsageError,
)


@pytest.mark.parametrize(("error", "code"), [
    (UsageError, 2), (DataError, 1), (ModelFileError, 1), (TrainingError, 1),
    (NotFittedError, 1), (ToolkitError, 1),
])
def test_every_error_is_a_toolkit_error_with_its_exit_code(error, code):
    assert issubclass(error, ToolkitError)
    assert error("x").exit_code == code


@pytest.mark.parametrize(("error", "standard"), [
    (UsageError, ValueError), (DataError, ValueError), (TrainingError, RuntimeError),
    (NotFittedError, SklearnNotFittedError),
])
def test_errors_are_also_the_standard_types_callers_catch(error, standard):
    with pytest.raises(standard, match="the message"):
        raise error("the message")


def test_the_warnings_are_user_warnings_that_filters_can_select():
    assert issubclass(PrivacyWarning, UserWarning) and issubclass(InferenceWarning, UserWarning)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore", InferenceWarning)
        warnings.simplefilter("always", PrivacyWarning)
        warnings.warn("guessed", InferenceWarning, stacklevel=1)
        warnings.warn("copied", PrivacyWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["copied"]


def test_an_unfitted_synthesizer_raises_the_not_fitted_error_sklearn_knows():
    with pytest.raises(SklearnNotFittedError):
        Synthesizer().sample(3)
