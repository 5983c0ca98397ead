"""Differential privacy: the (ε, δ) budget, Opacus's accountant and DP-SGD steps.

What a private fit releases, and how it is accounted (all by Opacus's Rényi-DP
accountant, composed):

1. one Gaussian-mechanism release of per-column histograms over the schema the
   metadata states (:mod:`toolkit.adapters.dp_statistics`), from which every statistic of
   the adapter and the decoder's starting output are derived;
2. DP-SGD (Abadi et al. 2016) on the whole model that reads real rows: batches
   drawn by Poisson sampling, each row's gradient clipped to ``max_grad_norm``,
   Gaussian noise ``noise_multiplier * max_grad_norm`` added to their sum, with
   Opacus's :class:`~opacus.optimizers.DPOptimizer` doing the clipping and noise.

The noise of the release is set so that it alone would cost
``STATISTICS_SHARE`` of ε; the training noise is then the smallest that keeps
the composition of both within the target ε at δ. Nothing else reads the data:
no loss is recorded, no early stopping, no latent prior fitted on codes.
The number of rows is treated as public (as DP-SGD's sampling rate does).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch

from toolkit.backends.training import steps_per_epoch
from toolkit.exceptions import UsageError

#: share of ε the histogram release would cost on its own
STATISTICS_SHARE = 0.25
#: Rényi orders searched by the accountant (Opacus's defaults plus larger ones,
#: which small budgets need)
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + list(range(64, 513, 8))
MAX_NOISE = 1e4


def default_delta(n_rows: int) -> float:
    """δ when none is given: ``1 / n^1.1``, below the ``1 / n`` at which a mechanism
    could publish one whole row and still satisfy (ε, δ)-DP."""
    return 1.0 / n_rows**1.1


def composed_epsilon(statistics_noise: float, training_noise: float, sample_rate: float,
                     steps: int, delta: float) -> float:
    """ε at ``delta`` of the histogram release followed by ``steps`` DP-SGD steps."""
    return epsilon_of([(statistics_noise, 1.0, 1), (training_noise, sample_rate, steps)],
                      delta)


def epsilon_of(mechanisms: list[tuple[float, float, int]], delta: float) -> float:
    """ε at ``delta`` of sampled Gaussian mechanisms run one after another, each given as
    ``(noise_multiplier, sample_rate, steps)`` (a release of the whole table has rate 1 and
    1 step), composed by Opacus's Rényi-DP accountant."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = list(mechanisms)
    with warnings.catch_warnings():  # "optimal order is the largest alpha": ALPHAS go far enough
        warnings.simplefilter("ignore", UserWarning)
        return float(accountant.get_epsilon(delta, alphas=ALPHAS))


@dataclass
class PrivacyPlan:
    """The noise levels and sampling of a private fit, and what they spend.

    Attributes
    ----------
    target_epsilon, delta : float
        The guarantee asked for.
    max_grad_norm : float
        Per-row gradient clipping bound.
    statistics_noise : float
        Noise multiplier of the histogram release.
    training_noise : float
        Noise multiplier of DP-SGD.
    sample_rate : float
        Poisson sampling rate of a training batch (expected batch / rows).
    epochs : int
        Passes over the data (``steps`` is ``epochs`` times the batches per pass).
    steps : int
        DP-SGD steps.
    epsilon : float
        ε actually spent at δ by the composition (at most ``target_epsilon``).
    """

    target_epsilon: float
    delta: float
    max_grad_norm: float
    statistics_noise: float
    training_noise: float
    sample_rate: float
    epochs: int
    steps: int
    epsilon: float

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PrivacyPlan:
        """The plan of a :meth:`to_dict` summary."""
        return cls(**{f.name: state[f.name] for f in fields(cls)})

    def mechanisms(self) -> list[tuple[float, float, int]]:
        """The release and the DP-SGD run as :func:`epsilon_of` takes them."""
        return [(self.statistics_noise, 1.0, 1),
                (self.training_noise, self.sample_rate, self.steps)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary, stored in model files and shown by ``toolkit info``."""
        return {**asdict(self), "accountant": "Opacus RDP", "mechanism":
                "Gaussian histogram release of the metadata's schema + DP-SGD on every "
                "network that reads real rows", "unit": "row"}


def plan_privacy(epsilon: float, delta: float | None, max_grad_norm: float, n_rows: int,
                 batch_size: int, epochs: int) -> PrivacyPlan:
    """Choose the noise levels that meet (``epsilon``, ``delta``).

    Parameters
    ----------
    epsilon : float
        Target ε (> 0).
    delta : float or None
        Target δ, in (0, 1/n); ``None`` takes :func:`default_delta`.
    max_grad_norm : float
        Per-row clipping bound (> 0).
    n_rows, batch_size, epochs : int
        Table size, expected batch size and passes over the data.

    Raises
    ------
    UsageError
        For ε ≤ 0, δ outside (0, 1/n), a non-positive clipping bound, or a budget that
        no noise level up to ``MAX_NOISE`` can meet.
    """
    if not (isinstance(epsilon, (int, float)) and math.isfinite(epsilon) and epsilon > 0):
        raise UsageError(f"epsilon must be a positive number, got {epsilon!r}")
    if delta is None:
        delta = default_delta(n_rows)
    if not 0 < delta < 1.0 / n_rows:
        raise UsageError(f"delta must be in (0, 1/n) = (0, {1.0 / n_rows:.3g}) for {n_rows} "
                         f"rows, got {delta!r}")
    if not max_grad_norm > 0:
        raise UsageError(f"max_grad_norm must be positive, got {max_grad_norm!r}")
    from opacus.accountants.utils import get_noise_multiplier

    sample_rate = min(batch_size, n_rows) / n_rows
    steps = epochs * steps_per_epoch(n_rows, batch_size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            statistics_noise = get_noise_multiplier(
                target_epsilon=STATISTICS_SHARE * epsilon, target_delta=delta, sample_rate=1.0,
                steps=1, epsilon_tolerance=0.001 * epsilon, alphas=ALPHAS)
    except ValueError as error:
        raise UsageError(f"epsilon {epsilon} cannot be met: {error}") from None
    low, high = 0.1, MAX_NOISE
    if composed_epsilon(statistics_noise, high, sample_rate, steps, delta) > epsilon:
        raise UsageError(
            f"epsilon {epsilon} cannot be met with {steps} training steps at sampling rate "
            f"{sample_rate:.3g}: use fewer epochs, a smaller batch or a larger epsilon")
    for _ in range(60):  # bisection on the training noise
        middle = math.sqrt(low * high)
        if composed_epsilon(statistics_noise, middle, sample_rate, steps, delta) > epsilon:
            low = middle
        else:
            high = middle
        if high / low < 1.001:
            break
    spent = composed_epsilon(statistics_noise, high, sample_rate, steps, delta)
    return PrivacyPlan(float(epsilon), float(delta), float(max_grad_norm), statistics_noise,
                       high, sample_rate, epochs, steps, spent)


class RowLoss(torch.nn.Module):
    """The backend's :meth:`~toolkit.backends.base.Backend.private_row_loss` as a module's
    ``forward``, which :func:`torch.func.functional_call` calls with swapped parameters."""

    def __init__(self, backend: torch.nn.Module) -> None:
        super().__init__()
        self.backend = backend

    def forward(self, rows: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        return self.backend.private_row_loss(rows, *inputs)


class PrivateSteps:
    """DP-SGD steps for a backend whose ``private_row_loss(rows, *inputs)`` gives per-row
    losses.

    Per-row gradients come from :func:`torch.func.vmap` over :func:`torch.func.grad`
    of the backend called on one row (with that row's share of
    ``backend.private_inputs(batch)``, e.g. a VAE's reparameterization noise or a
    GAN's generated row); Opacus's ``DPOptimizer`` clips each row's gradient (over all
    its parameters together), sums, adds the Gaussian noise and divides by the
    expected batch size before the wrapped optimizer's step. Then
    ``backend.public_step(n)`` updates what never reads real rows (a GAN's generator,
    trained only through the private critic).

    Parameters
    ----------
    backend : Backend
        Provides ``private_row_loss``, ``private_inputs``, ``public_step`` and the
        optimizer.
    optimizer : torch.optim.Optimizer
        The backend's optimizer over every parameter that reads real rows.
    plan : PrivacyPlan
        Noise and sampling.
    n_rows : int
        Table size (the expected batch is ``sample_rate * n_rows``).
    generator : torch.Generator
        Source of the DP noise (seeded: fits are reproducible; not a CSPRNG).
    """

    def __init__(self, backend: torch.nn.Module, optimizer: torch.optim.Optimizer,
                 plan: PrivacyPlan, n_rows: int, generator: torch.Generator) -> None:
        from opacus.optimizers import DPOptimizer

        self.backend = backend
        self.row_loss = RowLoss(backend)
        trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
        self.names = [name for name, p in self.row_loss.named_parameters()
                      if id(p) in trained]
        if len(self.names) != len(trained):
            raise RuntimeError("every trained parameter must belong to the backend")
        self.expected_batch = max(1, round(plan.sample_rate * n_rows))
        self.optimizer = DPOptimizer(
            optimizer, noise_multiplier=plan.training_noise, max_grad_norm=plan.max_grad_norm,
            expected_batch_size=self.expected_batch, generator=generator)

    def training_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One DP-SGD step on a Poisson-sampled ``batch``, then the backend's public step;
        records no data-dependent loss."""
        from torch.func import functional_call, grad, vmap

        parameters = dict(self.row_loss.named_parameters())
        params = {name: parameters[name].detach() for name in self.names}
        if batch.shape[0]:
            inputs = self.backend.private_inputs(batch)

            def row_loss(p: dict[str, torch.Tensor], row: torch.Tensor,
                         *row_inputs: torch.Tensor) -> torch.Tensor:
                return functional_call(self.row_loss, p,
                                       (row[None], *(x[None] for x in row_inputs))).sum()

            per_row = vmap(grad(row_loss), in_dims=(None, 0, *[0] * len(inputs)),
                           randomness="different")
            grads = per_row(params, batch, *inputs)
        else:  # an empty Poisson batch still takes a (pure noise) step
            grads = {name: torch.zeros(0, *value.shape, device=value.device)
                     for name, value in params.items()}
        for name in self.names:
            parameters[name].grad_sample = grads[name]
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.backend.public_step(self.expected_batch)
        return {}
