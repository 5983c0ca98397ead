"""toolkit.backends.vae: the beta-VAE's posterior, KL term and per-row losses, trained
directly on encoded rows."""

from __future__ import annotations

import pytest
import torch
from helpers import encoded_rows

from toolkit.backends.vae import VAEBackend
from toolkit.config import load_config


@pytest.fixture(scope="module")
def trained():
    spec, rows = encoded_rows()
    backend = VAEBackend(spec, load_config("fast", epochs=5))
    history = backend.fit(rows, torch.Generator().manual_seed(0))
    return backend, history, rows


def test_the_kl_term_is_zero_at_the_prior_and_the_closed_form_elsewhere():
    zero = torch.zeros(3, 4)
    assert torch.equal(VAEBackend.kl_divergence(zero, zero), torch.zeros(3))
    mu, logvar = torch.tensor([[1.0, -2.0]]), torch.tensor([[0.5, -1.0]])
    expected = 0.5 * sum(m**2 + torch.exp(v) - 1 - v for m, v in zip(mu[0], logvar[0],
                                                                       strict=True))
    torch.testing.assert_close(VAEBackend.kl_divergence(mu, logvar), expected.reshape(1))


def test_reparameterized_draws_have_the_posterior_mean_and_spread():
    torch.manual_seed(0)
    mu = torch.full((20000, 1), 3.0)
    draws = VAEBackend.reparameterize(mu, torch.full((20000, 1), 2 * torch.log(torch.tensor(
        0.5)).item()))
    assert draws.mean().item() == pytest.approx(3.0, abs=0.02)
    assert draws.std().item() == pytest.approx(0.5, abs=0.02)


def test_the_posterior_has_one_mean_and_bounded_log_variance_per_latent(trained):
    backend, _, rows = trained
    with torch.no_grad():
        mu, logvar = backend.encode(rows[:10])
    assert mu.shape == logvar.shape == (10, backend.config.latent_dim)
    assert logvar.min() >= -12.0 and logvar.max() <= 8.0


def test_training_records_falling_losses_per_epoch(trained):
    _, history, _ = trained
    assert history.epochs >= 2 and "kl" in history.losses
    losses = next(iter(history.losses.values()))
    assert losses[-1] < losses[0]


def test_each_row_has_its_own_reconstruction_loss_and_kl(trained):
    backend, _, rows = trained
    with torch.no_grad():
        nll, kl = backend.elbo_rows(rows[:8])
    assert nll.shape == kl.shape == (8,)
    assert torch.isfinite(nll).all() and (kl >= 0).all()


def test_samples_follow_the_generator_and_fixed_levels(trained):
    backend, _, _ = trained
    first = backend.sample(6, torch.Generator().manual_seed(1))
    again = backend.sample(6, torch.Generator().manual_seed(1))
    assert first.shape == (6, 5) and torch.equal(first, again)
    fixed = backend.sample(6, torch.Generator().manual_seed(1), {1: 2})
    assert torch.equal(fixed[:, 1:4], torch.tensor([[0.0, 0.0, 1.0]]).repeat(6, 1))
