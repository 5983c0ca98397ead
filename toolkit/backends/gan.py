"""Conditional Wasserstein GAN for mixed-type tables, built from the TensorSpec.

Written from the papers: Xu et al. 2019, "Modeling Tabular Data using Conditional
GAN" (condition vector over categorical columns, training-by-sampling with
log-frequencies, a generator loss that makes it honour the condition);
Gulrajani et al. 2017, "Improved Training of Wasserstein GANs" (gradient
penalty); Lin et al. 2018, "PacGAN" (the critic judges packs of rows together,
which penalises mode collapse).
"""

from __future__ import annotations

import torch
from torch import nn

from toolkit.backends.base import Backend
from toolkit.backends.layers import (
    discriminator_for,
    generator_for,
    gradient_penalty,
    output_bias_owner,
    random_like,
)


class GANBackend(Backend):
    """A conditional WGAN-GP: generator ``(noise, condition) -> row``, packed critic.

    During training every row of a batch gets a condition: a categorical column
    chosen uniformly and one of its levels chosen with probability proportional
    to the log of its frequency (so rare levels are seen), together with a real
    row that has that level. The generator is trained to fool the critic and to
    output the conditioned level (cross-entropy on that block). Unconditional
    samples draw conditions with the levels' real frequencies.
    """

    name = "gan"
    trains_privately = True
    scalar_noise = False
    monitor = "critic"  # the critic's Wasserstein estimate shrinks as samples get realistic

    def build(self) -> None:
        latent, cond = self.config.latent_dim, self.condition_dim
        self.generator = generator_for(self.spec, latent + cond, self.config.hidden_dims)
        self.critic = discriminator_for(self.spec, self.config.discriminator_dims, cond,
                                        pac=self.config.pac)
        self.register_buffer("level_frequencies", torch.zeros(cond))
        # (blocks, cond): 1 over each categorical block's slots of the condition vector
        masks = torch.zeros(len(self.categorical_blocks), cond)
        for i, block in enumerate(self.categorical_blocks):
            start = self.condition_offsets[block]
            masks[i, start : start + self.spec.blocks[block].width] = 1.0
        self.register_buffer("block_masks", masks, persistent=False)

    def build_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = (0.5, 0.9)
        self.generator_optimizer = self.make_optimizer(self.generator, betas=betas)
        self.critic_optimizer = self.make_optimizer(self.critic, betas=betas)
        return [self.generator_optimizer, self.critic_optimizer]

    def output_layer(self) -> nn.Module:
        return output_bias_owner(self.generator)

    def decode(self, z: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.generator(torch.cat([z, condition], dim=1))

    # training-by-sampling -------------------------------------------------------------
    def before_fit(self, data: torch.Tensor) -> None:
        """Index the rows by level of every categorical block for training-by-sampling."""
        super().before_fit(data)
        if not self.condition_dim:
            return
        one_hots = data[:, self.condition_columns]
        counts = one_hots.sum(0)
        self.level_frequencies.copy_(counts / len(self.categorical_blocks) / len(data))
        widths = [self.spec.blocks[b].width for b in self.categorical_blocks]
        max_width = max(widths)
        log_weights = torch.zeros(len(widths), max_width, device=data.device)
        starts = torch.zeros(len(widths), max_width, dtype=torch.long, device=data.device)
        sizes = torch.zeros(len(widths), max_width, dtype=torch.long, device=data.device)
        orders = []
        for i, block in enumerate(self.categorical_blocks):
            offset, width = self.condition_offsets[block], widths[i]
            level = one_hots[:, offset : offset + width].argmax(dim=1)
            orders.append(torch.argsort(level, stable=True))
            block_counts = torch.bincount(level, minlength=width)
            sizes[i, :width] = block_counts
            starts[i, :width] = torch.cumsum(block_counts, 0) - block_counts
            log_weights[i, :width] = torch.log1p(block_counts.float()) * (block_counts > 0)
        self._orders = torch.stack(orders)
        self._starts, self._sizes = starts, sizes
        self._log_weights = log_weights
        self._data = data

    def after_fit(self, data: torch.Tensor, generator: torch.Generator) -> None:
        self._data = None  # drop the reference to the training rows

    def sample_training_conditions(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Conditions by training-by-sampling and real rows that satisfy them."""
        device = self._orders.device
        block = torch.randint(len(self.categorical_blocks), (n,), device=device)
        level = torch.multinomial(self._log_weights[block], 1).squeeze(1)
        pick = (torch.rand(n, device=device) * self._sizes[block, level]).long()
        rows = self._orders[block, self._starts[block, level] + pick]
        offsets = torch.tensor([self.condition_offsets[b] for b in self.categorical_blocks],
                               device=device)
        condition = torch.zeros(n, self.condition_dim, device=device)
        condition[torch.arange(n, device=device), offsets[block] + level] = 1.0
        return condition, self._data[rows]

    def condition_vector(self, fixed: dict[int, int], n: int,
                         generator: torch.Generator | None = None) -> torch.Tensor:
        if fixed or not self.condition_dim:
            return super().condition_vector(fixed, n, generator)
        # unconditional: a random block per row, its level with the real frequencies
        where = generator.device if generator is not None else self.level_frequencies.device
        choice = torch.multinomial(self.level_frequencies.to(where), n, replacement=True,
                                   generator=generator).to(self.level_frequencies.device)
        vector = torch.zeros(n, self.condition_dim, device=self.level_frequencies.device)
        vector[torch.arange(n), choice] = 1.0
        return vector

    # one optimizer step -----------------------------------------------------------------
    def training_step(self, batch: torch.Tensor) -> dict[str, float]:
        pac = self.critic.pac  # 1 for images: a convolutional critic judges one at a time
        n = max(pac, batch.shape[0] // pac * pac)
        if self.condition_dim:
            condition, real = self.sample_training_conditions(n)
        else:
            condition = batch.new_zeros(n, 0)
            real = batch[torch.randint(batch.shape[0], (n,), device=batch.device)]
        real_input = torch.cat([real, condition], dim=1)
        for _ in range(self.config.discriminator_steps):
            fake = self.heads.activate(self.decode(self._noise(n, batch), condition),
                                       self.config.gumbel_tau)
            fake_input = torch.cat([fake.detach(), condition], dim=1)
            wasserstein = self.critic(fake_input).mean() - self.critic(real_input).mean()
            penalty = gradient_penalty(self.critic, real_input, fake_input)
            self.step(self.critic_optimizer, wasserstein + self.config.gp_weight * penalty)
        adversarial, condition_loss = self._generator_step(condition)
        return {"critic": -wasserstein.item(), "generator": adversarial.item(),
                "condition": condition_loss.item()}

    def _generator_step(self, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One generator step against the critic, for rows with ``condition``."""
        raw = self.decode(self._noise(condition.shape[0], condition), condition)
        fake = self.heads.activate(raw, self.config.gumbel_tau)
        adversarial = -self.critic(torch.cat([fake, condition], dim=1)).mean()
        condition_loss = self._condition_loss(raw, condition)
        self.step(self.generator_optimizer, adversarial + condition_loss)
        return adversarial, condition_loss

    # differential privacy: DP-SGD on the critic, the only network that reads real rows --------
    def private_optimizer(self) -> torch.optim.Optimizer:
        return self.critic_optimizer

    def private_inputs(self, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per real row: its condition (the one-hot of one of its categorical columns, chosen
        at random, since training-by-sampling would pick rows by their levels), a generated
        row with a condition drawn from the levels' frequencies, and a mixing weight."""
        n = batch.shape[0]
        real_condition = batch.new_zeros(n, self.condition_dim)
        condition = batch.new_zeros(n, self.condition_dim)
        if self.condition_dim:
            block = torch.randint(len(self.categorical_blocks), (n,), device=batch.device)
            real_condition = batch[:, self.condition_columns] * self.block_masks[block]
            condition = self.condition_vector({}, n)
        with torch.no_grad():
            fake = self.heads.activate(self.decode(self._noise(n, batch), condition),
                                       self.config.gumbel_tau)
        return (real_condition, torch.cat([fake, condition], dim=1),
                torch.rand(n, 1, device=batch.device))

    def private_row_loss(self, real: torch.Tensor, real_condition: torch.Tensor,
                         fake_input: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """Per-row WGAN-GP critic loss of real rows against generated ones: what DP-SGD
        differentiates row by row (the penalty's input gradient is taken per row too)."""
        from torch.func import grad

        real_input = torch.cat([real, real_condition], dim=1)
        mixed = alpha * real_input + (1 - alpha) * fake_input
        slope = grad(lambda rows: self.critic(rows).sum())(mixed)
        penalty = (slope.norm(dim=1) - 1) ** 2
        return (self.critic(fake_input) - self.critic(real_input)
                + self.config.gp_weight * penalty)

    def public_step(self, n: int) -> None:
        """The generator learns only through the private critic (post-processing)."""
        condition = self.condition_vector({}, n) if self.condition_dim else torch.zeros(
            n, 0, device=self.level_frequencies.device)
        self._generator_step(condition)

    def _noise(self, n: int, like: torch.Tensor) -> torch.Tensor:
        return random_like((n, self.config.latent_dim), None, like.device, normal=True)

    def _condition_loss(self, raw: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the generated conditioned blocks against their conditions."""
        if not self.condition_dim:
            return raw.new_zeros(())
        target = torch.zeros_like(raw)
        target[:, self.condition_columns] = condition
        losses = self.heads.block_losses(raw, target)[:, self.categorical_blocks]
        return losses.sum(dim=1).mean()
