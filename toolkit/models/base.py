"""What :class:`~toolkit.Synthesizer` and :class:`~toolkit.AnomalyDetector` share: the latent
model's parameters (one definition), one config resolver, one fitted check, and the seeds,
devices and threads they train and score with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator

from toolkit.adapters.tabular import TabularAdapter
from toolkit.config import Config, load_config
from toolkit.exceptions import NotFittedError, UsageError

#: the parameters of the latent model that both estimators take, with the same meaning
MODEL_PARAMETERS = ("backend", "config", "epochs", "batch_size", "metadata", "device",
                    "random_state", "verbose")

#: seeds are integers in [0, MAX_SEED] (numpy's and scikit-learn's range)
MAX_SEED = 2**32 - 1


def fresh_seed() -> int:
    """A new seed from the operating system's entropy, in [0, MAX_SEED]."""
    return int(np.random.SeedSequence().generate_state(1)[0])


def resolve_seed(random_state: int | np.random.Generator | None) -> int:
    """The seed ``random_state`` stands for: itself (checked to lie in ``[0, MAX_SEED]``),
    one drawn from a numpy Generator, or a fresh one for ``None``.

    Raises
    ------
    UsageError
        For a seed out of range or a value that is no seed.

    Examples
    --------
    >>> resolve_seed(7)
    7
    """
    if random_state is None:
        return fresh_seed()
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**31 - 1))
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if not 0 <= random_state <= MAX_SEED:
            raise UsageError(f"random_state (seed) must be between 0 and {MAX_SEED}, "
                             f"got {random_state}")
        return int(random_state)
    raise UsageError(f"random_state must be an int or None, got {random_state!r}")


def resolve_device(device: str) -> torch.device:
    """``"auto"`` becomes CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("device 'cuda' was asked for but CUDA is not available; use 'auto'")
    return torch.device(device)


@contextmanager
def torch_threads(n: int, device: torch.device) -> Iterator[None]:
    """Run the block with ``n`` torch threads on CPU (0: unchanged), then restore the setting."""
    if n == 0 or device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class LatentEstimator(BaseEstimator):
    """Base of the estimators that train a latent model: the parameters in
    :data:`MODEL_PARAMETERS` (each subclass lists them in its ``__init__``, as scikit-learn
    requires), :meth:`resolve_config` and :meth:`check_fitted`.
    """

    #: the attribute :meth:`fit` sets, whose presence means "fitted"
    fitted_attribute: ClassVar[str] = ""

    def model_parameters(self) -> dict[str, Any]:
        """The latent model's parameters, ``{name: value}`` for :data:`MODEL_PARAMETERS`."""
        return {name: getattr(self, name) for name in MODEL_PARAMETERS}

    def preset(self, domain: type = TabularAdapter) -> str | Path | Config:
        """The preset (name, path or Config) the settings start from for data of the adapter
        class ``domain``: the ``config`` parameter."""
        return self.config

    def resolve_config(self, domain: type = TabularAdapter) -> Config:
        """The training settings these parameters describe for data of the adapter class
        ``domain`` (tables unless said): the :meth:`preset` with ``backend``, ``epochs``,
        ``batch_size`` and ``device`` applied.

        Raises
        ------
        UsageError
            For an unknown preset, backend or option: checked before any work.
        """
        return load_config(self.preset(domain), backend=self.backend, epochs=self.epochs,
                           batch_size=self.batch_size, device=self.device)

    def check_fitted(self) -> None:
        """Raise :class:`~toolkit.exceptions.NotFittedError` unless ``fit`` (or ``load``)
        has run."""
        if not hasattr(self, self.fitted_attribute):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit first"
            )
