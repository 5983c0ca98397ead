"""Variational autoencoder for any TensorSpec (tables now, images through the spec later)."""

from __future__ import annotations

import torch

from toolkit.backends.base import Backend
from toolkit.backends.layers import mlp


class VAEBackend(Backend):
    """A beta-VAE: MLP encoder to a diagonal Gaussian posterior, MLP decoder to the spec's heads.

    The loss is the per-block negative log-likelihood of the row (Gaussian for
    numeric scalars, cross-entropy per one-hot, binary cross-entropy per
    missing flag) plus ``beta`` times the KL divergence to N(0, I). After
    training, the latent prior is refitted on the aggregated posterior.
    """

    name = "vae"

    def build(self) -> None:
        width, hidden, latent = self.spec.width, self.config.hidden_dims, self.config.latent_dim
        self.encoder = mlp(width, hidden, 2 * latent)
        self.decoder = mlp(latent, hidden[::-1], width)
        self.optimizer = self.make_optimizer(self.encoder, self.decoder, self.heads)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of the latent code of rows ``x``."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def training_step(self, batch: torch.Tensor) -> dict[str, float]:
        mu, logvar = self.encode(batch)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        reconstruction = self.heads.block_losses(self.decode(z), batch).sum(dim=1).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1).mean()
        loss = reconstruction + self.config.beta * kl
        self.step(self.optimizer, loss)
        return {"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()}

    def after_fit(self, data: torch.Tensor, generator: torch.Generator) -> None:
        codes = []
        for chunk in data.split(8192):
            mu, logvar = self.encode(chunk)
            codes.append(mu + torch.randn_like(mu) * torch.exp(0.5 * logvar))
        self.fit_prior(torch.cat(codes), generator)
