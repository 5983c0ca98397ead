"""The base class every backend derives from: construction from the spec, training, sampling.

A backend file only says which networks it has (:meth:`Backend.build`), what one
optimizer step does (:meth:`Backend.training_step`) and how a latent code
becomes a raw decoder output (:meth:`Backend.decode`). The loop, the output heads,
the latent prior, conditioning on categorical levels and sampling live here and
in :mod:`toolkit.backends.training`.

Conditions are passed as ``fixed = {block index: slot}``: the categorical
blocks (by their index in the spec) whose level is given, and that level's
one-hot slot. The condition vector is the concatenation of the one-hots of
every categorical block, zero for blocks that are not fixed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from toolkit.adapters.base import TensorSpec
from toolkit.backends.diffusion import LEARNING_RATE, MIN_BATCH, DiffusionPrior
from toolkit.backends.layers import OutputHeads
from toolkit.backends.prior import LatentPrior
from toolkit.backends.privacy import PrivacyPlan, PrivateSteps
from toolkit.backends.training import (
    Callback,
    History,
    choose_epochs,
    cosine_factor,
    steps_per_epoch,
    train,
)
from toolkit.config import Config
from toolkit.exceptions import TrainingError

#: rounds and prior rows of the calibration after training (Backend.calibrate_sampling)
CALIBRATION_ROUNDS = 8
CALIBRATION_DRAWS = 40_000
CALIBRATION_CHUNK = 4096
#: largest shift of a level's sampling logit
BIAS_LIMIT = 5.0


#: why a backend without an encoder can neither score, encode nor reconstruct records
NO_ENCODER = ("it has no encoder, so a record can be neither reconstructed nor placed in the "
              "latent space")


class Backend(nn.Module):
    """A generative model over tensors laid out by a :class:`TensorSpec`.

    Parameters
    ----------
    spec : TensorSpec
        Layout of the data tensor; fixes the output heads and losses.
    config : Config
        Network sizes, optimizer and training settings.
    """

    name: ClassVar[str] = ""
    #: whether sampled numeric scalars get the heads' Gaussian noise (a VAE's decoder
    #: gives a mean; a GAN's generator output is already a sample)
    scalar_noise: ClassVar[bool] = True
    #: the loss that early stopping watches
    monitor: ClassVar[str] = "loss"
    #: whether the backend has an encoder: records can be scored, encoded into the latent
    #: space and reconstructed, and the codes of the training rows fit a latent prior (the
    #: others sample N(0, I) whatever ``prior`` says)
    has_encoder: ClassVar[bool] = False
    #: whether the backend trains with differential privacy: it implements
    #: ``private_row_loss(rows, *inputs)``, ``private_inputs`` and ``private_optimizer``
    trains_privately: ClassVar[bool] = False
    #: for a backend that does not train privately, why (said when it is asked to)
    private_training_note: ClassVar[str] = (
        "it does not implement per-row losses; use the vae or gan backend"
    )

    def __init__(self, spec: TensorSpec, config: Config) -> None:
        super().__init__()
        self.spec = spec
        self.config = config
        self.heads = OutputHeads(spec)
        self.prior = LatentPrior(config.latent_dim, config.prior_components)
        self.diffusion = None
        if self.has_encoder and config.prior == "diffusion":
            self.diffusion = DiffusionPrior(config.latent_dim, config.diffusion_dims,
                                            config.diffusion_sampling_steps)
        slices = spec.slices()
        self.categorical_blocks = [i for i, b in enumerate(spec.blocks) if b.kind == "categorical"]
        self.condition_columns = [c for i in self.categorical_blocks
                                  for c in range(slices[i].start, slices[i].stop)]
        offsets, start = {}, 0
        for i in self.categorical_blocks:
            offsets[i] = start
            start += spec.blocks[i].width
        self.condition_offsets = offsets
        self.build()

    @property
    def condition_dim(self) -> int:
        """Width of the condition vector (all categorical one-hots)."""
        return len(self.condition_columns)

    # hooks a backend fills in -------------------------------------------------------
    def build(self) -> None:
        """Create the networks."""
        raise NotImplementedError

    def build_optimizers(self) -> list[torch.optim.Optimizer]:
        """Create the optimizers (kept as attributes for the training steps) and return them
        all; :meth:`fit` calls it, so a model loaded only to sample or score never pays for
        them (the first optimizer imports much of torch)."""
        raise NotImplementedError

    def training_step(self, batch: torch.Tensor) -> dict[str, float]:
        """Take one optimizer step on ``batch`` and return the losses as floats."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Map latent codes (and a condition vector) to the raw output tensor."""
        raise NotImplementedError

    def output_layer(self) -> nn.Module:
        """The module whose ``bias`` is added last to the raw output (it starts at the
        marginals)."""
        raise NotImplementedError

    def private_optimizer(self) -> torch.optim.Optimizer:
        """The one optimizer over every network that reads real rows, for DP-SGD."""
        raise NotImplementedError(self.private_training_note)

    def private_inputs(self, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per-row extra inputs of :meth:`private_row_loss` for a DP-SGD step (each
        ``(n, ...)``)."""
        raise NotImplementedError(self.private_training_note)

    def private_row_loss(self, rows: torch.Tensor, *inputs: torch.Tensor) -> torch.Tensor:
        """The loss of each of ``rows`` alone, ``(n,)``: what DP-SGD differentiates row by
        row (``inputs`` from :meth:`private_inputs`)."""
        raise NotImplementedError(self.private_training_note)

    def public_step(self, n: int) -> None:
        """After a DP-SGD step: update what never reads real rows (nothing by default)."""

    def before_fit(self, data: torch.Tensor) -> None:
        """Work done once before training; the base starts the output bias at the marginals."""
        with torch.no_grad():
            self.output_layer().bias.copy_(self.heads.init_from_marginals(data))

    def after_fit(self, data: torch.Tensor, generator: torch.Generator) -> None:
        """Work done once training ends (e.g. fitting the latent prior)."""

    def sample_latent(self, n: int, generator: torch.Generator | None,
                      fixed: dict[int, int]) -> torch.Tensor:
        """Latent codes to decode; the default draws from the prior."""
        return self.draw_prior(n, generator)

    def draw_prior(self, n: int, generator: torch.Generator | None) -> torch.Tensor:
        """``n`` codes from the latent prior: the diffusion model's when the config has one,
        else the Gaussian mixture (N(0, I) until fitted)."""
        if self.diffusion is not None:
            return self.diffusion.sample(n, generator)
        return self.prior.sample(n, generator)

    # shared machinery ---------------------------------------------------------------
    def make_optimizer(self, *modules: nn.Module, betas: tuple[float, float] = (0.9, 0.999),
                       lr: float | None = None) -> torch.optim.Optimizer:
        """Adam over the parameters of ``modules`` with the configured settings."""
        params = [p for module in modules for p in module.parameters()]
        return torch.optim.Adam(params, lr=lr or self.config.learning_rate, betas=betas,
                                weight_decay=self.config.weight_decay, fused=True)

    @staticmethod
    def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """Back-propagate ``loss`` and take one step of ``optimizer``."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def fit(self, data: torch.Tensor, generator: torch.Generator,
            callbacks: list[Callback] | None = None, privacy: PrivacyPlan | None = None,
            marginals: torch.Tensor | None = None) -> History:
        """Train on ``data`` with the shared loop, then run :meth:`after_fit`.

        Parameters
        ----------
        data : torch.Tensor
            Encoded training rows.
        generator : torch.Generator
            Seeded source of batches (and of the DP noise).
        callbacks : list of Callback, optional
            Progress, early stopping.
        privacy : PrivacyPlan, optional
            Train with DP-SGD (:mod:`toolkit.backends.privacy`): Poisson-sampled batches,
            per-row clipping and noise, no recorded losses, no :meth:`after_fit`
            (which would read the rows again).
        marginals : torch.Tensor, optional
            Encoded rows the output bias starts from instead of ``data`` (a private
            fit passes its surrogate rows).
        """
        if privacy is not None:  # the plan's epochs are what its accounting assumed
            epochs = privacy.epochs
        else:
            epochs = choose_epochs(data.shape[0], self.config.batch_size, self.config.epochs,
                                   self.config.steps, self.config.min_epochs,
                                   self.config.max_epochs)
        optimizers = self.build_optimizers()
        self.before_fit(data if marginals is None else marginals)
        self.train()
        schedule = self._learning_rate_schedule(optimizers, data.shape[0], epochs)
        if privacy is None:
            history = train(self, data, epochs, self.config.batch_size, generator, callbacks,
                            after_step=schedule)
        else:
            noise = torch.Generator(device=data.device).manual_seed(
                int(torch.randint(2**62, (1,), generator=generator)))
            steps = PrivateSteps(self, self.private_optimizer(), privacy, data.shape[0], noise)
            history = train(steps, data, epochs, self.config.batch_size, generator, callbacks,
                            after_step=schedule, poisson_rate=privacy.sample_rate)
            if not all(torch.isfinite(p).all() for p in self.parameters()):
                raise TrainingError("private training diverged (non-finite weights); try a "
                                    "lower learning_rate or a smaller max_grad_norm")
        self.eval()
        if privacy is None:
            with torch.no_grad():
                self.after_fit(data, generator)
                self.calibrate_sampling(
                    data, generator, map_scalars=len(data) >= self.config.marginal_map_rows)
        return history

    @torch.no_grad()
    def calibrate_sampling(self, data: torch.Tensor, generator: torch.Generator,
                           map_scalars: bool = True, rounds: int = CALIBRATION_ROUNDS,
                           draws: int = CALIBRATION_DRAWS) -> None:
        """Calibrate what sampling draws against the training ``data``: the logits of every
        categorical level (and numeric mode), then every numeric scalar's marginal.

        A latent prior fitted after training (a Gaussian mixture over the codes) does
        not cover the codes exactly, so its rows can over- or under-represent levels.
        Each of ``rounds`` rounds compares the mean sampling probabilities of ``draws``
        prior rows (at most the data's rows, at least one chunk) with the data's
        frequencies and adds the log ratio to ``heads.level_bias``. With ``map_scalars``,
        the same rows, sampled once more, then give each scalar's map onto the data's
        marginal (:meth:`~toolkit.backends.layers.OutputHeads.calibrate_scalars`). Only
        sampling reads either (scores, reconstructions and training losses do not).
        """
        heads = self.heads
        heads.scalar_mapped.zero_()
        target = heads.level_frequencies(data).clamp_min(1e-6)
        map_scalars = map_scalars and heads.has_free_scalars
        if not len(target) and not map_scalars:
            return
        draws = min(draws, max(CALIBRATION_CHUNK, len(data)))
        # the codes are drawn once (a diffusion prior's are the costly part) and decoded
        # again each round, a chunk at a time
        codes = [self.sample_latent(min(CALIBRATION_CHUNK, draws - start), generator, {})
                 for start in range(0, draws, CALIBRATION_CHUNK)]
        condition = self.condition_vector({}, CALIBRATION_CHUNK)
        for _ in range(rounds if len(target) else 0):
            generated = sum(len(z) * heads.level_probabilities(
                self.decode(z, condition[:len(z)])) for z in codes) / draws
            bias = heads.level_bias + torch.log(target / generated.clamp_min(1e-6))
            heads.level_bias.copy_(bias.clamp(-BIAS_LIMIT, BIAS_LIMIT))
        if map_scalars:
            rows = torch.cat([heads.sample(self.decode(z, condition[:len(z)]), generator,
                                           self.scalar_noise) for z in codes])
            heads.calibrate_scalars(data, rows)

    def _learning_rate_schedule(self, optimizers: list[torch.optim.Optimizer], n_rows: int,
                                epochs: int) -> Callable[[], None] | None:
        """A function that advances every optimizer's cosine schedule by one step."""
        if self.config.lr_schedule == "constant":
            return None
        total = epochs * steps_per_epoch(n_rows, self.config.batch_size)
        schedulers = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: cosine_factor(s, total))
                      for o in optimizers]

        def advance() -> None:
            for scheduler in schedulers:
                scheduler.step()

        return advance

    def condition_vector(self, fixed: dict[int, int], n: int,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        """The ``(n, condition_dim)`` condition vector that fixes ``{block: slot}``."""
        vector = torch.zeros(n, self.condition_dim, device=self.prior.means.device)
        for block, slot in fixed.items():
            vector[:, self.condition_offsets[block] + slot] = 1.0
        return vector

    def force(self, rows: torch.Tensor, fixed: dict[int, int]) -> torch.Tensor:
        """Set the one-hots of the fixed blocks in data-space ``rows``."""
        slices = self.spec.slices()
        for block, slot in fixed.items():
            rows[:, slices[block]] = 0.0
            rows[:, slices[block].start + slot] = 1.0
        return rows

    def problem(self) -> str | None:
        """What makes loaded weights unusable (``None`` when nothing does): a non-finite
        weight, or a latent prior that is not a distribution."""
        for name, tensor in [*self.named_parameters(), *self.named_buffers()]:
            if tensor.is_floating_point() and not torch.isfinite(tensor).all():
                return f"the weights {name!r} hold NaN or infinite values"
        return self.prior.problem()

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               fixed: dict[int, int] | None = None) -> torch.Tensor:
        """Draw ``n`` rows in data space (one-hots and flags as 0/1).

        Parameters
        ----------
        n : int
            Rows to draw.
        generator : torch.Generator, optional
            Source of randomness.
        fixed : dict of int to int, optional
            Categorical blocks whose level is given (block index to slot); the
            rows are generated conditionally on them.
        """
        fixed = fixed or {}
        raw = self._raw_samples(n, generator, fixed)
        return self.force(self.heads.sample(raw, generator, self.scalar_noise), fixed)

    def _raw_samples(self, n: int, generator: torch.Generator | None,
                     fixed: dict[int, int]) -> torch.Tensor:
        """The decoder's raw output for ``n`` rows drawn from the prior."""
        z = self.sample_latent(n, generator, fixed)
        return self.decode(z, self.condition_vector(fixed, n, generator))

    def fit_prior(self, codes: torch.Tensor, means: torch.Tensor, stds: torch.Tensor,
                  generator: torch.Generator) -> None:
        """Fit the latent prior the config asks for on the training rows' ``codes``, draws
        from their posteriors ``N(means, stds^2)``: the Gaussian mixture (also kept beside a
        diffusion prior, whose density it stands for in anomaly scores) and the diffusion
        model, which draws fresh codes from the posteriors as it trains."""
        if self.config.prior == "standard":
            return
        self.prior.fit(codes, generator)
        if self.diffusion is not None:
            self.diffusion.fit(means, stds, self.config.diffusion_steps,
                               max(self.config.batch_size, MIN_BATCH), LEARNING_RATE, generator)
