"""VAE-GAN for any TensorSpec, in the spirit of Larsen et al. 2016.

"Autoencoding beyond pixels using a learned similarity metric": the VAE's
decoder is also a GAN's generator, a discriminator tells real rows from
reconstructions and from prior samples, and part of the reconstruction error is
measured in the discriminator's feature space, where it reflects what makes a
row look real rather than column-by-column error.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F  # noqa: N812

from toolkit.backends.layers import discriminator_for
from toolkit.backends.vae import VAEBackend


class VAEGANBackend(VAEBackend):
    """Encoder, decoder-generator and discriminator trained together.

    * encoder: ``reconstruction + feature_weight * feature + beta * KL``
    * decoder: ``reconstruction + feature_weight * feature + adversarial_weight * fool``
    * discriminator: binary cross-entropy, real rows vs. reconstructions and prior samples

    ``reconstruction`` is the spec's per-block likelihood (as in the VAE),
    ``feature`` the squared distance between the discriminator features of a
    row and of its reconstruction, ``fool`` the non-saturating GAN loss of
    reconstructions and prior samples. Sampling, the mixture prior and
    conditional latents are the VAE's.
    """

    name = "vaegan"
    trains_privately = False
    private_training_note = (
        "its encoder, decoder and discriminator all read real rows through three coupled "
        "losses; use the vae or gan backend"
    )

    def build(self) -> None:
        self.build_autoencoder()
        self.discriminator = discriminator_for(self.spec, self.config.discriminator_dims)

    def build_optimizers(self) -> list[torch.optim.Optimizer]:
        self.encoder_optimizer = self.make_optimizer(self.encoder)
        self.decoder_optimizer = self.make_optimizer(self.decoder, self.heads)
        self.discriminator_optimizer = self.make_optimizer(self.discriminator, betas=(0.5, 0.9))
        return [self.encoder_optimizer, self.decoder_optimizer, self.discriminator_optimizer]

    def training_step(self, batch: torch.Tensor) -> dict[str, float]:
        tau = self.config.gumbel_tau
        mu, logvar = self.encode(batch)
        raw = self.decode(self.reparameterize(mu, logvar))
        prior_raw = self.decode(torch.randn_like(mu))
        reconstructed = self.heads.activate(raw, tau)
        generated = self.heads.activate(prior_raw, tau)

        # discriminator: real vs reconstructed and generated rows
        real_score = self.discriminator(batch)
        fake_scores = self.discriminator(torch.cat([reconstructed, generated]).detach())
        discriminator_loss = (
            F.binary_cross_entropy_with_logits(real_score, torch.ones_like(real_score))
            + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores))
        )
        self.step(self.discriminator_optimizer, discriminator_loss)

        # encoder and decoder share the reconstruction terms
        reconstruction_rows = self.heads.row_losses(raw, batch)
        kl_rows = self.kl_divergence(mu, logvar)
        kept = self.kept_rows(reconstruction_rows + self.config.beta * kl_rows)
        reconstruction, kl = reconstruction_rows[kept].mean(), kl_rows[kept].mean()
        real_features = self.discriminator.features(batch[kept]).detach()
        feature = (self.discriminator.features(reconstructed[kept]) - real_features).pow(2)
        feature = feature.sum(1).mean()
        fool_scores = self.discriminator(torch.cat([reconstructed, generated]))
        fool = F.binary_cross_entropy_with_logits(fool_scores, torch.ones_like(fool_scores))
        shared = reconstruction + self.config.feature_weight * feature
        encoder_loss = shared + self.config.beta * kl
        decoder_loss = shared + self.config.adversarial_weight * fool
        self.encoder_optimizer.zero_grad(set_to_none=True)
        self.decoder_optimizer.zero_grad(set_to_none=True)
        # each network gets the gradient of its own loss only
        encoder_grads = torch.autograd.grad(encoder_loss, list(self.encoder.parameters()),
                                            retain_graph=True, allow_unused=True)
        decoder_params = [*self.decoder.parameters(), *self.heads.parameters()]
        # allow_unused: e.g. the heads' scalar scales when a spec has no numeric scalar
        decoder_grads = torch.autograd.grad(decoder_loss, decoder_params, allow_unused=True)
        for param, grad in zip([*self.encoder.parameters(), *decoder_params],
                               [*encoder_grads, *decoder_grads], strict=True):
            param.grad = grad
        self.encoder_optimizer.step()
        self.decoder_optimizer.step()
        return {"loss": (encoder_loss + self.config.adversarial_weight * fool).item(),
                "reconstruction": reconstruction.item(), "feature": feature.item(),
                "kl": kl.item(), "discriminator": discriminator_loss.item(),
                "adversarial": fool.item()}
