"""A score-based diffusion model over the latent codes: the ``prior: diffusion`` option.

A Gaussian mixture with a few components cannot follow latent codes that lie on
curved, thin or many-clustered sets; rows decoded from its samples are then easy
to tell from real ones. As in TabSyn (Zhang et al., ICLR 2024), a small denoiser
is trained on the VAE's codes after the VAE itself and sampled by solving the
probability-flow ODE in a few steps. The parameterisation, noise distribution and
sampler follow EDM (Karras et al., NeurIPS 2022): the denoiser
``D(x; sigma) = c_skip x + c_out F(c_in x, log(sigma) / 4)`` on codes standardised
to unit variance, noise levels ``log sigma ~ N(-1.2, 1.2^2)`` in training, and
Heun's second-order steps on the ``rho = 7`` schedule from ``sigma_max`` to 0.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from toolkit.backends.layers import mlp, random_like

#: noise levels of training: log sigma ~ N(P_MEAN, P_STD^2) (EDM's defaults)
P_MEAN, P_STD = -1.2, 1.2
#: the sampler's schedule (EDM's defaults, for data of unit variance)
SIGMA_MIN, SIGMA_MAX, RHO = 0.002, 80.0, 7.0
#: width of the noise-level embedding
EMBEDDING_DIM = 64
#: codes denoised at once when sampling (bounds the activations' memory)
SAMPLE_CHUNK = 16_384
#: a backend trains the prior on batches of at least this many codes, at this learning rate
MIN_BATCH = 1024
LEARNING_RATE = 1e-3


class DiffusionPrior(nn.Module):
    """An EDM-style denoiser over latent codes, trained after the autoencoder.

    Parameters
    ----------
    latent_dim : int
        Size of the latent code.
    hidden_dims : list of int
        Widths of the denoiser's MLP.
    sampling_steps : int
        Noise levels of the sampler; Heun's method evaluates the denoiser
        ``2 * sampling_steps - 1`` times per code.

    Examples
    --------
    Trained on codes in two tight clusters, its samples land in them and not between:

    >>> import torch
    >>> from toolkit.backends.diffusion import DiffusionPrior
    >>> g = torch.Generator().manual_seed(0)
    >>> means = torch.cat([torch.full((200, 2), -3.0), torch.full((200, 2), 3.0)])
    >>> prior = DiffusionPrior(latent_dim=2, hidden_dims=[64, 64], sampling_steps=12)
    >>> _ = torch.manual_seed(0)
    >>> prior = prior.fit(means, torch.full_like(means, 0.1), steps=2000, batch_size=256,
    ...                   learning_rate=3e-3, generator=g)
    >>> samples = prior.sample(200, torch.Generator().manual_seed(1))
    >>> samples.shape, float(((samples.abs() - 3).abs() < 0.75).float().mean()) > 0.9
    (torch.Size([200, 2]), True)
    """

    def __init__(self, latent_dim: int, hidden_dims: list[int], sampling_steps: int) -> None:
        super().__init__()
        self.sampling_steps = sampling_steps
        self.embed = nn.Sequential(nn.Linear(EMBEDDING_DIM, EMBEDDING_DIM), nn.SiLU())
        self.network = mlp(latent_dim + EMBEDDING_DIM, hidden_dims, latent_dim)
        # codes are standardised with these before diffusion (saved with the weights)
        self.register_buffer("shift", torch.zeros(latent_dim))
        self.register_buffer("scale", torch.ones(latent_dim))
        frequencies = torch.exp(-math.log(1e4) * torch.arange(EMBEDDING_DIM // 2)
                                / (EMBEDDING_DIM // 2))
        self.register_buffer("frequencies", frequencies, persistent=False)

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """EDM's preconditioned denoiser ``D(x; sigma)``; ``sigma`` has shape ``(n, 1)``."""
        total = sigma.square() + 1.0
        c_skip, c_out, c_in = 1.0 / total, sigma / total.sqrt(), 1.0 / total.sqrt()
        angles = (torch.log(sigma) / 4.0) * 1000.0 * self.frequencies
        embedding = self.embed(torch.cat([angles.sin(), angles.cos()], dim=1))
        return c_skip * x + c_out * self.network(torch.cat([c_in * x, embedding], dim=1))

    def loss(self, y: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """EDM's weighted denoising loss on standardised codes ``y``."""
        n = y.shape[0]
        log_sigma = P_MEAN + P_STD * random_like((n, 1), generator, y.device, normal=True)
        sigma = log_sigma.exp()
        noisy = y + sigma * random_like(tuple(y.shape), generator, y.device, normal=True)
        weight = (sigma.square() + 1.0) / sigma.square()
        return (weight * (self.denoise(noisy, sigma) - y).square()).mean()

    def fit(self, means: torch.Tensor, stds: torch.Tensor, steps: int, batch_size: int,
            learning_rate: float, generator: torch.Generator) -> DiffusionPrior:
        """Train on the posteriors ``N(means, stds^2)`` of the training rows, ``(n, latent)``.

        Every batch draws fresh codes from the posteriors of random rows (the
        aggregated posterior the decoder was trained on), so the denoiser never sees
        one fixed code per row.
        """
        codes = means + stds * random_like(tuple(means.shape), generator, means.device,
                                           normal=True)
        self.shift.copy_(codes.mean(0))
        self.scale.copy_(codes.std(0).clamp_min(1e-3))
        optimizer = torch.optim.Adam(self.parameters(), lr=learning_rate)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
        self.train()
        with torch.enable_grad():  # the backend's after_fit runs without gradients
            self._train(means, stds, steps, batch_size, optimizer, schedule, generator)
        self.eval()
        return self

    def _train(self, means: torch.Tensor, stds: torch.Tensor, steps: int, batch_size: int,
               optimizer: torch.optim.Optimizer, schedule: torch.optim.lr_scheduler.LRScheduler,
               generator: torch.Generator) -> None:
        for _ in range(steps):
            rows = torch.randint(len(means), (min(batch_size, len(means)),), generator=generator,
                                 device=generator.device).to(means.device)
            noise = random_like((len(rows), means.shape[1]), generator, means.device, normal=True)
            codes = means[rows] + stds[rows] * noise
            loss = self.loss((codes - self.shift) / self.scale, generator)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()

    def noise_levels(self) -> torch.Tensor:
        """The sampler's ``sampling_steps`` noise levels from ``SIGMA_MAX`` down, then 0."""
        ramp = torch.linspace(0, 1, self.sampling_steps, device=self.shift.device)
        top, bottom = SIGMA_MAX ** (1 / RHO), SIGMA_MIN ** (1 / RHO)
        return torch.cat([(top + ramp * (bottom - top)) ** RHO, ramp.new_zeros(1)])

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` latent codes by Heun's method on the probability-flow ODE."""
        start = random_like((n, self.shift.shape[0]), generator, self.shift.device, normal=True)
        return torch.cat([self._solve(chunk) for chunk in start.split(SAMPLE_CHUNK)])

    def _solve(self, start: torch.Tensor) -> torch.Tensor:
        levels = self.noise_levels()
        x = start * levels[0]
        for sigma, following in zip(levels[:-1], levels[1:], strict=True):
            slope = (x - self.denoise(x, sigma.expand(len(x), 1))) / sigma
            proposal = x + (following - sigma) * slope
            if following > 0:
                corrected = (proposal - self.denoise(proposal, following.expand(len(x), 1)))
                proposal = x + (following - sigma) * (slope + corrected / following) / 2
            x = proposal
        return x * self.scale + self.shift
