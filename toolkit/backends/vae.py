"""Variational autoencoder for any TensorSpec (tables now, images through the spec later)."""

from __future__ import annotations

import torch
from torch import nn

from toolkit.backends.base import Backend
from toolkit.backends.layers import (
    encoder_for,
    generator_for,
    output_bias_owner,
)
from toolkit.backends.prior import ConditionalLatents


class VAEBackend(Backend):
    """A beta-VAE: MLP encoder to a diagonal Gaussian posterior, MLP decoder to the spec's heads.

    The loss is the per-block negative log-likelihood of the row (Gaussian for
    numeric scalars, cross-entropy per one-hot, binary cross-entropy per
    missing flag) plus ``beta`` times the KL divergence to N(0, I). After
    training, the latent prior is refitted on the aggregated posterior, and one
    Gaussian per categorical level is fitted on the codes of the rows with that
    level, so conditional samples start where such rows live (a conditional
    latent, no rejection).
    """

    name = "vae"
    has_encoder = True
    trains_privately = True

    def build(self) -> None:
        self.build_autoencoder()

    def build_optimizers(self) -> list[torch.optim.Optimizer]:
        self.optimizer = self.make_optimizer(self.encoder, self.decoder, self.heads)
        return [self.optimizer]

    def build_autoencoder(self) -> None:
        """Create the encoder, the decoder and the per-level latent Gaussians."""
        hidden, latent = self.config.hidden_dims, self.config.latent_dim
        self.encoder = encoder_for(self.spec, 2 * latent, hidden)  # convolutional on images
        self.decoder = generator_for(self.spec, latent, hidden[::-1])
        self.level_latents = ConditionalLatents(self.condition_dim, latent)

    def output_layer(self) -> nn.Module:
        return output_bias_owner(self.decoder)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of the latent code of rows ``x``."""
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """A draw from N(mu, exp(logvar)) that gradients flow through."""
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)

    @staticmethod
    def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        """KL(N(mu, exp(logvar)) || N(0, I)) of each row, shape ``(n,)``."""
        return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)

    def decode(self, z: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z)

    def kept_rows(self, row_losses: torch.Tensor) -> torch.Tensor | slice:
        """Indices of the rows whose loss counts this step: all but the ``trim_fraction``
        with the highest loss (a trimmed likelihood, robust to outliers)."""
        n = row_losses.shape[0]
        keep = max(1, round(n * (1.0 - self.config.trim_fraction)))
        if keep == n:
            return slice(None)
        return torch.topk(row_losses.detach(), keep, largest=False).indices

    def elbo_rows(self, x: torch.Tensor, noise: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction NLL and KL term of each row of ``x``, each of shape ``(n,)``.

        ``noise`` is the reparameterization's standard normal draw (drawn here when
        not given)."""
        mu, logvar = self.encode(x)
        if noise is None:
            z = self.reparameterize(mu, logvar)
        else:
            z = mu + noise * torch.exp(0.5 * logvar)
        return self.heads.row_losses(self.decode(z), x), self.kl_divergence(mu, logvar)

    def private_row_loss(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Per-row negative ELBO (``reconstruction + beta * KL``) with the given
        reparameterization noise: the loss DP-SGD differentiates row by row."""
        reconstruction, kl = self.elbo_rows(x, noise)
        return reconstruction + self.config.beta * kl

    def private_optimizer(self) -> torch.optim.Optimizer:
        return self.optimizer

    def private_inputs(self, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (torch.randn(batch.shape[0], self.config.latent_dim, device=batch.device),)

    def training_step(self, batch: torch.Tensor) -> dict[str, float]:
        reconstruction_rows, kl_rows = self.elbo_rows(batch)
        kept = self.kept_rows(reconstruction_rows + self.config.beta * kl_rows)
        reconstruction, kl = reconstruction_rows[kept].mean(), kl_rows[kept].mean()
        loss = reconstruction + self.config.beta * kl
        self.step(self.optimizer, loss)
        return {"loss": loss.item(), "reconstruction": reconstruction.item(), "kl": kl.item()}

    @torch.no_grad()
    def anomaly_parts(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """What an anomaly score is made of, for data-space rows ``x``.

        Returns
        -------
        block_nll : (n, n_blocks)
            Negative log-likelihood of each block of ``x`` under the decoder's
            heads, decoded from the posterior mean.
        kl : (n,)
            KL divergence of the posterior q(z | x) from the N(0, I) prior the
            encoder was trained against.
        latent_nll : (n,)
            Negative log-density of the posterior mean under the latent prior.
        """
        mu, logvar, raw = self.reconstruction(x)
        block_nll = self.heads.block_losses(raw, x)
        return block_nll, self.kl_divergence(mu, logvar), -self.prior.log_prob(mu)

    @torch.no_grad()
    def reconstruction(self, x: torch.Tensor
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """How the model reconstructs data-space rows ``x``: the posterior ``(mu, logvar)``
        and the decoder's raw output at the posterior mean (no sampling). Every score,
        explanation and reconstruction error is read off this one decoding."""
        mu, logvar = self.encode(x)
        return mu, logvar, self.decode(mu)

    @torch.no_grad()
    def part_nll(self, x: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of every part of ``x`` (each scalar, one-hot, flag and
        pixel), decoded from the posterior mean, ``(n, parts)``; ``heads.part_blocks``
        says which block each part belongs to. Summed per block it is ``block_nll`` of
        :meth:`anomaly_parts`."""
        return self.heads.part_losses(self.reconstruction(x)[2], x)

    def after_fit(self, data: torch.Tensor, generator: torch.Generator) -> None:
        means, logvars = map(torch.cat, zip(*(self.encode(chunk) for chunk in data.split(8192)),
                                             strict=True))
        codes = self.reparameterize(means, logvars)
        self.fit_prior(codes, means, torch.exp(0.5 * logvars), generator)
        if self.condition_dim:
            self.level_latents.fit(codes, data[:, self.condition_columns])

    def sample_latent(self, n: int, generator: torch.Generator | None,
                      fixed: dict[int, int]) -> torch.Tensor:
        if not fixed:
            return self.draw_prior(n, generator)
        levels = [self.condition_offsets[block] + slot for block, slot in fixed.items()]
        return self.level_latents.sample(n, levels, generator)
