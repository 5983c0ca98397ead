"""The base class every backend derives from: construction from the spec, training, sampling.

A backend file only says which networks it has (:meth:`Backend.build`), what one
optimizer step does (:meth:`Backend.training_step`) and how a latent code
becomes a raw decoder output (:meth:`Backend.decode`). The loop, the output heads,
the latent prior and sampling live here and in :mod:`toolkit.training`.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from adapters.base import TensorSpec
from toolkit.backends.layers import OutputHeads
from toolkit.backends.prior import LatentPrior
from toolkit.config import Config
from toolkit.training import Callback, History, choose_epochs, train


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

    def __init__(self, spec: TensorSpec, config: Config) -> None:
        super().__init__()
        self.spec = spec
        self.config = config
        self.heads = OutputHeads(spec)
        self.prior = LatentPrior(config.latent_dim, config.prior_components)
        self.build()

    # hooks a backend fills in -------------------------------------------------------
    def build(self) -> None:
        """Create the networks and optimizers."""
        raise NotImplementedError

    def training_step(self, batch: torch.Tensor) -> dict[str, float]:
        """Take one optimizer step on ``batch`` and return the losses as floats."""
        raise NotImplementedError

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Map latent codes to the raw (pre-activation) output tensor."""
        raise NotImplementedError

    def after_fit(self, data: torch.Tensor, generator: torch.Generator) -> None:
        """Work done once training ends (e.g. fitting the latent prior)."""

    # shared machinery ---------------------------------------------------------------
    def make_optimizer(self, *modules: nn.Module) -> torch.optim.Optimizer:
        """Adam over the parameters of ``modules`` with the configured settings."""
        params = [p for module in modules for p in module.parameters()]
        return torch.optim.Adam(params, lr=self.config.learning_rate,
                                weight_decay=self.config.weight_decay, foreach=True)

    @staticmethod
    def step(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """Back-propagate ``loss`` and take one step of ``optimizer``."""
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def fit(self, data: torch.Tensor, generator: torch.Generator,
            callbacks: list[Callback] | None = None) -> History:
        """Train on ``data`` with the shared loop, then run :meth:`after_fit`."""
        epochs = choose_epochs(data.shape[0], self.config.batch_size, self.config.epochs,
                               self.config.steps, self.config.min_epochs,
                               self.config.max_epochs)
        self.train()
        history = train(self, data, epochs, self.config.batch_size, generator, callbacks)
        self.eval()
        with torch.no_grad():
            self.after_fit(data, generator)
        return history

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` rows in data space (one-hots and flags as 0/1)."""
        z = self.prior.sample(n, generator)
        return self.heads.sample(self.decode(z), generator)

    def fit_prior(self, codes: torch.Tensor, generator: torch.Generator) -> None:
        """Fit the latent Gaussian-mixture prior on ``codes`` when the config asks for it."""
        if self.config.prior == "gmm":
            self.prior.fit(codes, generator)
