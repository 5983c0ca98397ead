"""The one training loop every backend shares.

Read it top to bottom: choose the number of epochs, then for each epoch shuffle
the rows, hand each batch to ``backend.training_step`` (which owns its networks,
losses and optimizers), average the losses, stop on NaN, and let callbacks
report progress or stop early.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch

from toolkit.exceptions import TrainingError


class TrainableBackend(Protocol):
    """What the loop needs from a backend."""

    def training_step(self, batch: torch.Tensor) -> dict[str, float]: ...


@dataclass
class History:
    """Per-epoch mean losses, keyed by loss name.

    Examples
    --------
    >>> from toolkit.backends.training import History
    >>> history = History()
    >>> history.epochs
    0
    >>> history.append({"loss": 2.0, "kl": 0.5})
    >>> history.append({"loss": 1.5, "kl": 0.25})
    >>> history.losses, history.epochs
    ({'loss': [2.0, 1.5], 'kl': [0.5, 0.25]}, 2)
    """

    losses: dict[str, list[float]] = field(default_factory=dict)

    def append(self, logs: dict[str, float]) -> None:
        """Record one epoch's mean losses."""
        for name, value in logs.items():
            self.losses.setdefault(name, []).append(value)

    @property
    def epochs(self) -> int:
        """Number of recorded epochs."""
        return len(next(iter(self.losses.values()), []))


class Callback:
    """Hook called after every epoch; return ``True`` from ``on_epoch_end`` to stop."""

    def on_train_begin(self, epochs: int) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        """Called after each epoch with its mean losses."""
        return False

    def on_train_end(self) -> None:
        """Called once after the last epoch."""


class ProgressBar(Callback):
    """A tqdm bar on stderr showing the epoch and the latest losses."""

    def on_train_begin(self, epochs: int) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=epochs, desc="training", unit="epoch", file=sys.stderr,
                        leave=False)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        self.bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()}, refresh=False)
        self.bar.update(1)
        return False

    def on_train_end(self) -> None:
        self.bar.close()


class EarlyStopping(Callback):
    """Stop when the monitored loss has not improved by ``min_delta`` for ``patience`` epochs.

    Examples
    --------
    >>> from toolkit.backends.training import EarlyStopping
    >>> stopper = EarlyStopping(patience=2)
    >>> [stopper.on_epoch_end(epoch, {"loss": loss})
    ...  for epoch, loss in enumerate([1.0, 0.5, 0.4995, 0.6])]
    [False, False, False, True]
    """

    def __init__(self, patience: int, monitor: str = "loss", min_delta: float = 1e-3) -> None:
        self.patience = patience
        self.monitor = monitor
        self.min_delta = min_delta
        self.best = math.inf
        self.waited = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        value = logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.waited = value, 0
        else:
            self.waited += 1
        return self.waited >= self.patience


def cosine_factor(step: int, total: int, floor: float = 0.1) -> float:
    """Learning-rate multiplier decaying from 1 to ``floor`` along a half cosine.

    Examples
    --------
    >>> from toolkit.backends.training import cosine_factor
    >>> [round(cosine_factor(step, 100), 3) for step in (0, 50, 100, 150)]
    [1.0, 0.55, 0.1, 0.1]
    """
    progress = min(1.0, step / max(1, total))
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def steps_per_epoch(n_rows: int, batch_size: int) -> int:
    """Optimizer steps in one pass over ``n_rows`` rows: full batches of ``batch_size``
    (the whole table when it is smaller), at least one.

    Examples
    --------
    >>> from toolkit.backends.training import steps_per_epoch
    >>> steps_per_epoch(10, 4), steps_per_epoch(3, 512)  # the last, partial batch is dropped
    (2, 1)
    """
    return max(1, n_rows // min(batch_size, n_rows))


def choose_epochs(n_rows: int, batch_size: int, epochs: int | None, steps: int,
                  min_epochs: int, max_epochs: int) -> int:
    """Epochs to run: ``epochs`` if given, else enough for ``steps`` optimizer steps.

    Automatic epochs stay within ``[min_epochs, max_epochs]``.

    Examples
    --------
    >>> choose_epochs(1000, 250, None, 500, 10, 500)   # 4 steps per epoch
    125
    >>> choose_epochs(100_000, 250, None, 500, 10, 500)  # large table: min_epochs passes
    10
    """
    if epochs is not None:
        return epochs
    per_epoch = steps_per_epoch(n_rows, batch_size)
    return max(min_epochs, min(max_epochs, math.ceil(steps / per_epoch)))


def train(
    backend: TrainableBackend,
    data: torch.Tensor,
    epochs: int,
    batch_size: int,
    generator: torch.Generator,
    callbacks: list[Callback] | None = None,
    after_step: Callable[[], None] | None = None,
    poisson_rate: float | None = None,
) -> History:
    """Run the training loop.

    Parameters
    ----------
    backend : TrainableBackend
        Its ``training_step(batch)`` takes one optimizer step and returns its losses.
    data : torch.Tensor of shape (n_rows, width)
        The encoded training rows, already on the backend's device.
    epochs, batch_size : int
        Passes over the data and rows per step (the last, smaller batch is
        dropped when another full batch exists, which keeps batch statistics stable).
    generator : torch.Generator
        Seeded source of the shuffling.
    callbacks : list of Callback, optional
        Progress reporting, early stopping.
    after_step : callable, optional
        Called after every optimizer step (e.g. to advance learning-rate schedules).
    poisson_rate : float, optional
        Draw each batch by Poisson sampling instead (every row independently with this
        probability; the batch size varies), as DP-SGD's accounting assumes. An epoch is
        still ``n_rows // batch_size`` steps.

    Returns
    -------
    History

    Raises
    ------
    TrainingError
        When a loss becomes NaN or infinite.

    Examples
    --------
    A backend that reports how many rows each step saw:

    >>> import torch
    >>> from toolkit.backends.training import train
    >>> class Counter:
    ...     def training_step(self, batch):
    ...         return {"rows": float(len(batch))}
    >>> data = torch.zeros(10, 3)
    >>> history = train(Counter(), data, epochs=2, batch_size=4,
    ...                 generator=torch.Generator().manual_seed(0))
    >>> history.losses  # two full batches of 4 per epoch; 2 shuffled rows sit each one out
    {'rows': [4.0, 4.0]}
    >>> class Diverging:
    ...     def training_step(self, batch):
    ...         return {"loss": float("nan")}
    >>> train(Diverging(), data, epochs=2, batch_size=4,
    ...       generator=torch.Generator().manual_seed(0))
    Traceback (most recent call last):
    ...
    toolkit.exceptions.TrainingError: training diverged at epoch 1: loss 'loss' is nan; ...
    """
    callbacks = callbacks or []
    history = History()
    n_rows = data.shape[0]
    batch_size = min(batch_size, n_rows)
    n_batches = steps_per_epoch(n_rows, batch_size)
    for callback in callbacks:
        callback.on_train_begin(epochs)
    try:
        for epoch in range(epochs):
            order = torch.randperm(n_rows, generator=generator).to(data.device)
            totals: dict[str, float] = {}
            for b in range(n_batches):
                if poisson_rate is None:
                    batch = data[order[b * batch_size : (b + 1) * batch_size]]
                else:
                    chosen = torch.rand(n_rows, generator=generator) < poisson_rate
                    batch = data[chosen.to(data.device)]
                for name, value in backend.training_step(batch).items():
                    totals[name] = totals.get(name, 0.0) + value
                if after_step is not None:
                    after_step()
            logs = {name: total / n_batches for name, total in totals.items()}
            bad = [name for name, value in logs.items() if not math.isfinite(value)]
            if bad:
                raise TrainingError(
                    f"training diverged at epoch {epoch + 1}: loss {bad[0]!r} is {logs[bad[0]]}; "
                    "try a lower learning_rate"
                )
            history.append(logs)
            stop = [callback.on_epoch_end(epoch, logs) for callback in callbacks]
            if any(stop):
                break
    finally:
        for callback in callbacks:
            callback.on_train_end()
    return history
