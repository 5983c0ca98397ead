"""The latent prior samples start from: N(0, I) or a Gaussian mixture fitted after training."""

from __future__ import annotations

import math

import torch
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

    Examples
    --------
    >>> import torch
    >>> from toolkit.backends.prior import LatentPrior
    >>> prior = LatentPrior(latent_dim=2, n_components=4)
    >>> prior.weights, prior.problem()  # N(0, I) until fitted
    (tensor([1., 0., 0., 0.]), None)
    >>> round(float(prior.log_prob(torch.zeros(1, 2))), 4)  # -log(2 pi)
    -1.8379

    Fitted on codes in two tight clusters, its samples land in them and not between:

    >>> g = torch.Generator().manual_seed(0)
    >>> codes = torch.cat([torch.randn(100, 2, generator=g) * 0.1 - 3,
    ...                    torch.randn(100, 2, generator=g) * 0.1 + 3])
    >>> prior = prior.fit(codes, torch.Generator().manual_seed(0))
    >>> samples = prior.sample(6, torch.Generator().manual_seed(1))
    >>> samples.shape, bool(((samples.abs() - 3).abs() < 0.5).all())
    (torch.Size([6, 2]), True)
    """

    def __init__(self, latent_dim: int, n_components: int) -> None:
        super().__init__()
        self.register_buffer("weights", torch.zeros(n_components))
        self.register_buffer("means", torch.zeros(n_components, latent_dim))
        self.register_buffer("scale_tril", torch.eye(latent_dim).repeat(n_components, 1, 1))
        self.weights[0] = 1.0

    def fit(self, codes: torch.Tensor, generator: torch.Generator) -> LatentPrior:
        """Fit the mixture on latent codes ``codes`` of shape ``(n, latent_dim)`` by EM."""
        weights, means, tril = fit_gaussian_mixture(codes.double().cpu(), len(self.weights),
                                                    generator)
        k = len(weights)
        self.weights.zero_()
        self.weights[:k] = weights.float()
        self.means[:k] = means.float()
        self.scale_tril[:k] = tril.float()
        return self

    def problem(self) -> str | None:
        """What makes a loaded mixture unusable (``None`` when it is a valid mixture)."""
        weights = self.weights
        if not torch.isfinite(weights).all() or (weights < 0).any():
            return "the latent prior has negative or non-finite weights"
        if abs(float(weights.sum()) - 1.0) > 1e-3:
            return "the latent prior's weights do not sum to 1"
        diagonal = torch.diagonal(self.scale_tril, dim1=1, dim2=2)[weights > 0]
        if not (diagonal > 0).all():
            return "the latent prior has a component without a positive scale"
        return None

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` latent codes."""
        device = self.means.device
        where = generator.device if generator is not None else device
        component = torch.multinomial(self.weights.to(where), n, replacement=True,
                                      generator=generator).to(device)
        z = random_like((n, self.means.shape[1]), generator, device, normal=True)
        for k in torch.nonzero(self.weights > 0).flatten().tolist():
            rows = component == k
            z[rows] = self.means[k] + z[rows] @ self.scale_tril[k].T
        return z

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density of latent codes ``z`` under the prior, shape ``(n,)``."""
        active = self.weights > 0
        log_components = _component_log_density(z, self.means[active], self.scale_tril[active])
        return torch.logsumexp(log_components + torch.log(self.weights[active]), dim=1)


def _component_log_density(x: torch.Tensor, means: torch.Tensor,
                           scale_tril: torch.Tensor) -> torch.Tensor:
    """``log N(x | mean_k, L_k L_k^T)`` for every row and component, shape ``(n, k)``."""
    eye = torch.eye(x.shape[1], dtype=scale_tril.dtype, device=x.device).expand_as(scale_tril)
    # whitening maps W_k = (L_k^-1)^T: (x - m) W = x W - m W, one batched product for all k
    whitening = torch.linalg.solve_triangular(scale_tril, eye, upper=False).transpose(1, 2)
    whitening = whitening.to(x.dtype)
    whitened = torch.matmul(x, whitening) - means.to(x.dtype)[:, None, :] @ whitening
    mahalanobis = whitened.square_().sum(dim=2).T  # (n, k)
    log_det = torch.log(torch.diagonal(scale_tril, dim1=-2, dim2=-1)).sum(-1).to(x.dtype)
    return -0.5 * mahalanobis - log_det - 0.5 * x.shape[1] * math.log(2 * math.pi)


def fit_gaussian_mixture(
    x: torch.Tensor, n_components: int, generator: torch.Generator, max_iter: int = 100,
    reg: float = 1e-4, tol: float = 1e-3, max_points: int = 8192,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fit a full-covariance Gaussian mixture by expectation-maximisation.

    The products over all points run in float32 on centred points; the small
    per-component matrices
    (covariances, their Cholesky factors) are kept in float64.

    Parameters
    ----------
    x : torch.Tensor of shape (n, d)
        The points.
    n_components : int
        Components; fewer are used when there are fewer points.
    generator : torch.Generator
        Seeds the initial means (distinct random points) and the subsample.
    max_iter, reg, tol : int, float, float
        EM iterations, ridge added to every covariance, and the stopping
        tolerance on the mean log-likelihood.
    max_points : int
        Points used at most (a random subsample of larger inputs), which bounds
        the fit time on large tables.

    Returns
    -------
    weights : (k,), means : (k, d), scale_tril : (k, d, d)
        The mixture (float64), with Cholesky factors of the covariances.

    Examples
    --------
    >>> import torch
    >>> from toolkit.backends.prior import fit_gaussian_mixture
    >>> points = torch.randn(500, 2, generator=torch.Generator().manual_seed(0),
    ...                      dtype=torch.float64) * 2 + 1
    >>> weights, means, scale_tril = fit_gaussian_mixture(points, 1, torch.Generator())
    >>> weights.round(decimals=4).tolist(), means.round(decimals=1).tolist()
    ([1.0], [[0.9, 1.1]])
    >>> scale_tril.diagonal(dim1=1, dim2=2).round(decimals=1).tolist()  # standard deviations
    [[2.0, 2.0]]
    >>> len(fit_gaussian_mixture(points[:3], 10, torch.Generator())[0])  # fewer points than k
    3
    """
    if len(x) > max_points:
        x = x[torch.randperm(len(x), generator=generator)[:max_points]]
    n, d = x.shape
    k = min(n_components, n)
    x = x.double()
    centre = x.mean(0)
    points = (x - centre).float()
    eye = torch.eye(d, dtype=torch.float64)
    means = points[torch.randperm(n, generator=generator)[:k]].double()
    covariances = (torch.cov(points.T.double()).reshape(d, d) + reg * eye).expand(k, d, d).clone()
    weights = torch.full((k,), 1.0 / k, dtype=torch.float64)
    previous = -math.inf
    for _ in range(max_iter):
        tril = torch.linalg.cholesky(covariances)
        joint = _component_log_density(points, means, tril) + torch.log(weights).float()
        log_likelihood = torch.logsumexp(joint, dim=1, keepdim=True)
        responsibilities = torch.exp(joint - log_likelihood)  # (n, k)
        counts = responsibilities.sum(0).double() + 1e-10
        weights = counts / n
        means = (responsibilities.T @ points).double() / counts[:, None]
        # E_k[x x^T] - m_k m_k^T, from one (k, n, d) product
        weighted = responsibilities.T[:, :, None] * points[None]
        second = (weighted.transpose(1, 2) @ points).double() / counts[:, None, None]
        covariances = second - means[:, :, None] * means[:, None, :] + reg * eye
        covariances = (covariances + covariances.transpose(1, 2)) / 2
        mean_log_likelihood = float(log_likelihood.mean())
        if abs(mean_log_likelihood - previous) < tol:
            break
        previous = mean_log_likelihood
    return weights, means + centre, torch.linalg.cholesky(covariances)


class ConditionalLatents(nn.Module):
    """Where in latent space the rows with each categorical level live: one Gaussian per level.

    After training, the latent codes of the training rows with level ``l`` of a
    categorical column are summarised by a mean and a covariance (shrunk towards
    the covariance of all codes when the level is rare). Sampling from them
    generates rows with that level directly, with the other columns consistent
    with it; several fixed levels combine as a product of their Gaussians.

    Parameters
    ----------
    n_levels : int
        Total number of categorical one-hot slots (the condition vector's width).
    latent_dim : int
        Size of the latent code.

    Examples
    --------
    >>> import torch
    >>> from toolkit.backends.prior import ConditionalLatents
    >>> g = torch.Generator().manual_seed(0)
    >>> codes = torch.cat([torch.randn(100, 2, generator=g) * 0.1 - 3,  # level 0's rows
    ...                    torch.randn(100, 2, generator=g) * 0.1 + 3])  # level 1's rows
    >>> levels = torch.eye(2).repeat_interleave(100, dim=0)  # their one-hots
    >>> latents = ConditionalLatents(n_levels=2, latent_dim=2)
    >>> latents.fit(codes, levels)
    >>> latents.means.round().tolist()
    [[-3.0, -3.0], [3.0, 3.0]]
    >>> latents.sample(500, [1], torch.Generator().manual_seed(0)).mean(0).round().tolist()
    [3.0, 3.0]
    """

    def __init__(self, n_levels: int, latent_dim: int) -> None:
        super().__init__()
        self.register_buffer("means", torch.zeros(n_levels, latent_dim))
        self.register_buffer("scale_tril", torch.eye(latent_dim).repeat(n_levels, 1, 1))

    def fit(self, codes: torch.Tensor, levels: torch.Tensor, reg: float = 1e-4) -> None:
        """Fit one Gaussian per level from ``codes`` (n, d) and level one-hots ``levels`` (n, L)."""
        codes = codes.double()
        d = codes.shape[1]
        eye = torch.eye(d, dtype=codes.dtype, device=codes.device)
        overall = torch.cov(codes.T).reshape(d, d)
        for level in range(levels.shape[1]):
            rows = codes[levels[:, level] > 0.5]
            if len(rows) == 0:
                continue
            mean = rows.mean(0)
            weight = len(rows) / (len(rows) + d)  # shrink rare levels to the overall spread
            spread = torch.cov(rows.T).reshape(d, d) if len(rows) > 1 else overall
            covariance = weight * spread + (1 - weight) * overall + reg * eye
            self.means[level] = mean.float()
            self.scale_tril[level] = torch.linalg.cholesky(covariance).float()

    def sample(self, n: int, levels: list[int], generator: torch.Generator | None) -> torch.Tensor:
        """Draw ``n`` codes from the product of the Gaussians of ``levels``."""
        device = self.means.device
        covariances = [self.scale_tril[lv] @ self.scale_tril[lv].T for lv in levels]
        precisions = [torch.linalg.inv(c.double()) for c in covariances]
        precision = sum(precisions)
        covariance = torch.linalg.inv(precision)
        mean = covariance @ sum(p @ self.means[lv].double() for p, lv in zip(precisions, levels,
                                                                            strict=True))
        tril = torch.linalg.cholesky(covariance).float()
        noise = random_like((n, self.means.shape[1]), generator, device, normal=True)
        return mean.float() + noise @ tril.T
