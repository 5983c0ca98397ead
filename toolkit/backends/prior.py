"""The latent prior samples start from: N(0, I) or a Gaussian mixture fitted after training."""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from torch import nn

from toolkit.backends.layers import random_like


class LatentPrior(nn.Module):
    """A Gaussian mixture over the latent space, stored as plain tensors.

    Before :meth:`fit` it is the standard normal N(0, I) (one component). After
    :meth:`fit` it is a full-covariance Gaussian mixture fitted on latent codes
    of the training data (the aggregated posterior), which removes the "prior
    holes" that make N(0, I) samples decode to unrealistic rows.

    Parameters
    ----------
    latent_dim : int
        Size of the latent code.
    n_components : int
        Maximum number of mixture components (unused ones get weight 0).
    """

    def __init__(self, latent_dim: int, n_components: int) -> None:
        super().__init__()
        self.register_buffer("weights", torch.zeros(n_components))
        self.register_buffer("means", torch.zeros(n_components, latent_dim))
        self.register_buffer("scale_tril", torch.eye(latent_dim).repeat(n_components, 1, 1))
        self.weights[0] = 1.0

    def fit(self, codes: np.ndarray, random_state: int) -> LatentPrior:
        """Fit the mixture on latent codes ``codes`` of shape ``(n, latent_dim)``."""
        n_components = min(len(self.weights), len(codes))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture = GaussianMixture(n_components, covariance_type="full", reg_covar=1e-4,
                                      max_iter=200, random_state=random_state).fit(codes)
        self.weights.zero_()
        self.weights[:n_components] = torch.as_tensor(mixture.weights_, dtype=torch.float32)
        self.means[:n_components] = torch.as_tensor(mixture.means_, dtype=torch.float32)
        chol = np.linalg.cholesky(mixture.covariances_)
        self.scale_tril[:n_components] = torch.as_tensor(chol, dtype=torch.float32)
        return self

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` latent codes."""
        device = self.means.device
        where = generator.device if generator is not None else device
        component = torch.multinomial(self.weights.to(where), n, replacement=True,
                                      generator=generator).to(device)
        noise = random_like((n, self.means.shape[1]), generator, device, normal=True)
        return self.means[component] + torch.einsum("nij,nj->ni", self.scale_tril[component],
                                                     noise)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density of latent codes ``z`` under the prior, shape ``(n,)``."""
        active = self.weights > 0
        diff = z[:, None, :] - self.means[active][None]  # (n, k, d)
        tril = self.scale_tril[active]
        solved = torch.linalg.solve_triangular(
            tril[None].expand(z.shape[0], -1, -1, -1), diff[..., None], upper=False
        )[..., 0]
        log_det = torch.log(torch.diagonal(tril, dim1=-2, dim2=-1)).sum(-1)
        log_component = (-0.5 * (solved**2).sum(-1) - log_det
                         - 0.5 * z.shape[1] * math.log(2 * math.pi))
        return torch.logsumexp(log_component + torch.log(self.weights[active]), dim=1)
