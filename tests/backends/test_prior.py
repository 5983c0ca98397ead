"""The latent prior (toolkit.backends.prior): N(0, I), the fitted mixture, per-level latents."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import seeded
from torch.distributions import Categorical as CategoricalDistribution
from torch.distributions import MixtureSameFamily, MultivariateNormal

from toolkit.backends.prior import ConditionalLatents, LatentPrior, fit_gaussian_mixture

CENTRES = torch.tensor([[-3.0, -3.0], [3.0, 3.0]])




def clusters(n: int = 100, spread: float = 0.1, seed: int = 0) -> torch.Tensor:
    """``n`` codes around each of CENTRES (first the -3 cluster, then the +3 one)."""
    g = seeded(seed)
    return torch.cat([torch.randn(n, 2, generator=g) * spread + centre for centre in CENTRES])


# before fitting: N(0, I) ------------------------------------------------------------------
def test_an_unfitted_prior_is_the_standard_normal():
    prior = LatentPrior(latent_dim=3, n_components=5)
    assert prior.weights.tolist() == [1.0, 0.0, 0.0, 0.0, 0.0] and prior.problem() is None
    z = torch.randn(7, 3, generator=seeded())
    reference = MultivariateNormal(torch.zeros(3), torch.eye(3)).log_prob(z)
    assert torch.allclose(prior.log_prob(z), reference, atol=1e-5)
    samples = prior.sample(4000, seeded(1))
    assert samples.shape == (4000, 3)
    assert torch.allclose(samples.mean(0), torch.zeros(3), atol=0.08)
    assert torch.allclose(samples.std(0), torch.ones(3), atol=0.08)


def test_sampling_follows_the_generator():
    prior = LatentPrior(2, 3).fit(clusters(), seeded())
    assert torch.equal(prior.sample(10, seeded(4)), prior.sample(10, seeded(4)))
    assert not torch.equal(prior.sample(10, seeded(4)), prior.sample(10, seeded(5)))


# the fitted mixture -----------------------------------------------------------------------
def test_fitted_prior_puts_its_mass_on_the_clusters():
    prior = LatentPrior(latent_dim=2, n_components=4).fit(clusters(), seeded())
    assert prior.problem() is None
    assert float(prior.weights.sum()) == pytest.approx(1.0, abs=1e-6)
    samples = prior.sample(2000, seeded(1))
    near = torch.cdist(samples, CENTRES).min(dim=1).values
    assert (near < 1.0).float().mean() > 0.99  # no samples in the "hole" between them
    side = (samples[:, 0] > 0).float().mean()
    assert 0.45 < float(side) < 0.55
    log_p = prior.log_prob(torch.tensor([[3.0, 3.0], [-3.0, -3.0], [0.0, 0.0]]))
    assert log_p[0] > 0 and log_p[1] > 0 and log_p[2] < -100


def test_fitted_log_prob_is_the_mixture_density():
    prior = LatentPrior(latent_dim=2, n_components=3).fit(clusters(spread=0.5), seeded())
    active = prior.weights > 0
    mixture = MixtureSameFamily(
        CategoricalDistribution(probs=prior.weights[active]),
        MultivariateNormal(prior.means[active], scale_tril=prior.scale_tril[active]))
    z = torch.randn(20, 2, generator=seeded(2)) * 3
    assert torch.allclose(prior.log_prob(z), mixture.log_prob(z), atol=1e-4)


def test_the_same_codes_and_seed_give_the_same_prior():
    a = LatentPrior(2, 4).fit(clusters(), seeded(7))
    b = LatentPrior(2, 4).fit(clusters(), seeded(7))
    for name in ("weights", "means", "scale_tril"):
        assert torch.equal(getattr(a, name), getattr(b, name))


def test_fewer_codes_than_components_leaves_the_rest_unused():
    prior = LatentPrior(latent_dim=2, n_components=6).fit(clusters(n=1), seeded())
    assert (prior.weights[:2] > 0).all() and (prior.weights[2:] == 0).all()
    assert prior.problem() is None
    assert prior.sample(50, seeded()).isfinite().all()


@pytest.mark.parametrize("broken, message", [
    (lambda p: p.weights.copy_(torch.tensor([1.5, -0.5])),
     "the latent prior has negative or non-finite weights"),
    (lambda p: p.weights.copy_(torch.tensor([float("nan"), 1.0])),
     "the latent prior has negative or non-finite weights"),
    (lambda p: p.weights.copy_(torch.tensor([0.5, 0.4])),
     "the latent prior's weights do not sum to 1"),
    (lambda p: p.scale_tril[1].zero_(),
     "the latent prior has a component without a positive scale"),
    (lambda p: p.scale_tril[0, 1, 1].fill_(-1.0),
     "the latent prior has a component without a positive scale"),
])
def test_problem_names_what_makes_a_loaded_prior_unusable(broken, message):
    prior = LatentPrior(latent_dim=2, n_components=2)
    prior.weights.copy_(torch.tensor([0.5, 0.5]))
    assert prior.problem() is None
    broken(prior)
    assert prior.problem() == message


def test_a_zero_scale_on_an_unused_component_is_no_problem():
    prior = LatentPrior(latent_dim=2, n_components=2)
    prior.scale_tril[1].zero_()  # weight 0: never sampled
    assert prior.problem() is None


def test_the_prior_is_saved_with_the_model_state():
    prior = LatentPrior(2, 3).fit(clusters(), seeded())
    loaded = LatentPrior(2, 3)
    loaded.load_state_dict(prior.state_dict())
    assert set(prior.state_dict()) == {"weights", "means", "scale_tril"}
    assert torch.equal(loaded.sample(5, seeded(1)), prior.sample(5, seeded(1)))


# expectation-maximisation -----------------------------------------------------------------
def test_em_recovers_a_single_gaussian():
    g = seeded(3)
    cov = torch.tensor([[4.0, 1.2], [1.2, 1.0]], dtype=torch.float64)
    points = torch.randn(3000, 2, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(
        cov).T + torch.tensor([1.0, -2.0], dtype=torch.float64)
    weights, means, tril = fit_gaussian_mixture(points, 1, seeded())
    assert weights.tolist() == [pytest.approx(1.0)]
    assert torch.allclose(means[0], torch.tensor([1.0, -2.0], dtype=torch.float64), atol=0.1)
    assert torch.allclose(tril[0] @ tril[0].T, cov, atol=0.2)
    assert torch.equal(tril[0], torch.tril(tril[0]))  # lower-triangular Cholesky factor


def test_em_subsamples_large_inputs():
    points = clusters(n=60).double()
    full = fit_gaussian_mixture(points, 2, seeded(1), max_points=1000)
    sub = fit_gaussian_mixture(points, 2, seeded(1), max_points=30)
    assert not torch.allclose(full[1], sub[1])  # fitted on a different (random) 30 points
    assert float(sub[0].sum()) == pytest.approx(1.0)


def test_em_keeps_covariances_positive_definite_on_duplicated_points():
    points = torch.ones(10, 3, dtype=torch.float64)  # no spread at all: the ridge saves it
    weights, means, tril = fit_gaussian_mixture(points, 2, seeded())
    assert torch.isfinite(tril).all() and (torch.diagonal(tril, dim1=1, dim2=2) > 0).all()
    assert torch.allclose(means, torch.ones(2, 3, dtype=torch.float64))
    assert math.isclose(float(weights.sum()), 1.0, rel_tol=1e-6)


# per-level latents ------------------------------------------------------------------------
def levels_for(n: int = 100) -> torch.Tensor:
    """One-hots of three levels: the first cluster is level 0, the second level 1, none 2."""
    return torch.cat([torch.eye(3)[[0] * n], torch.eye(3)[[1] * n]])


def test_each_level_gets_the_mean_and_spread_of_its_rows():
    latents = ConditionalLatents(n_levels=3, latent_dim=2)
    codes = clusters()
    latents.fit(codes, levels_for())
    assert torch.allclose(latents.means[:2], codes.reshape(2, 100, 2).mean(1), atol=1e-5)
    covariance = latents.scale_tril[0] @ latents.scale_tril[0].T
    # shrunk towards the spread of all codes: 100 / (100 + 2) of its own, 2 / 102 of the rest
    overall = torch.cov(codes.T)
    own = torch.cov(codes[:100].T)
    assert torch.allclose(covariance, 100 / 102 * own + 2 / 102 * overall, atol=1e-3)
    # a level without rows keeps N(0, I)
    assert latents.means[2].tolist() == [0.0, 0.0]
    assert torch.equal(latents.scale_tril[2], torch.eye(2))


def test_sampling_a_level_draws_around_its_rows():
    latents = ConditionalLatents(n_levels=3, latent_dim=2)
    latents.fit(clusters(), levels_for())
    samples = latents.sample(1000, [1], seeded())
    assert samples.shape == (1000, 2)
    assert torch.allclose(samples.mean(0), CENTRES[1], atol=0.1)
    assert torch.equal(samples, latents.sample(1000, [1], seeded()))


def test_several_levels_combine_as_a_product_of_gaussians():
    latents = ConditionalLatents(n_levels=2, latent_dim=2)
    latents.means.copy_(torch.tensor([[0.0, 0.0], [4.0, 2.0]]))
    latents.scale_tril.copy_(torch.eye(2).repeat(2, 1, 1) * 2.0)  # both covariances 4 I
    samples = latents.sample(6000, [0, 1], seeded())
    # equal precisions: the mean is the average and the covariance halves (2 I)
    assert torch.allclose(samples.mean(0), torch.tensor([2.0, 1.0]), atol=0.08)
    assert torch.allclose(torch.cov(samples.T), 2.0 * torch.eye(2), atol=0.15)


def test_a_level_with_one_row_borrows_the_overall_spread():
    codes = clusters()
    levels = torch.zeros(200, 2)
    levels[:, 0] = 1.0
    levels[0] = torch.tensor([0.0, 1.0])  # level 1 has a single row
    latents = ConditionalLatents(n_levels=2, latent_dim=2)
    latents.fit(codes, levels)
    covariance = latents.scale_tril[1] @ latents.scale_tril[1].T
    assert torch.allclose(latents.means[1], codes[0])
    assert torch.allclose(covariance, torch.cov(codes.T) + 1e-4 * torch.eye(2), atol=1e-3)
