"""toolkit.backends.vaegan: the VAE whose decoder also plays against a discriminator, fitted
directly on encoded rows."""

from __future__ import annotations

import pytest
import torch
from helpers import encoded_rows

from toolkit.backends.vae import VAEBackend
from toolkit.backends.vaegan import VAEGANBackend
from toolkit.config import load_config


@pytest.fixture(scope="module")
def trained():
    spec, rows = encoded_rows()
    backend = VAEGANBackend(spec, load_config("fast", backend="vaegan", epochs=3))
    history = backend.fit(rows, torch.Generator().manual_seed(0))
    return backend, history, rows


def test_a_vaegan_is_a_vae_with_a_discriminator(trained):
    backend, _, _ = trained
    assert isinstance(backend, VAEBackend) and backend.has_encoder
    assert not backend.trains_privately


def test_training_records_the_vae_and_adversarial_losses(trained):
    _, history, _ = trained
    assert "kl" in history.losses and len(history.losses) > 2
    assert all(torch.isfinite(torch.tensor(values)).all() for values in history.losses.values())


def test_rows_are_scored_by_parts_and_encoded(trained):
    backend, _, rows = trained
    with torch.no_grad():
        parts = backend.anomaly_parts(rows[:5])
        mu, _ = backend.encode(rows[:5])
    assert [tuple(part.shape) for part in parts] == [(5, 3), (5,), (5,)]
    assert mu.shape == (5, backend.config.latent_dim)


def test_samples_are_reproducible_with_a_generator(trained):
    backend, _, _ = trained
    first = backend.sample(8, torch.Generator().manual_seed(3))
    assert torch.equal(first, backend.sample(8, torch.Generator().manual_seed(3)))
    assert not torch.equal(first, backend.sample(8, torch.Generator().manual_seed(4)))
