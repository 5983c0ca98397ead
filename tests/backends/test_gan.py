"""toolkit.backends.gan: the conditional WGAN-GP trained by sampling, fitted directly on
encoded rows."""

from __future__ import annotations

import pytest
import torch
from helpers import encoded_rows

from toolkit.backends.gan import GANBackend
from toolkit.config import load_config


@pytest.fixture(scope="module")
def trained():
    spec, rows = encoded_rows()
    backend = GANBackend(spec, load_config("fast", backend="gan", epochs=3))
    history = backend.fit(rows, torch.Generator().manual_seed(0))
    return backend, history


def test_the_condition_vector_covers_the_categorical_columns():
    spec, _ = encoded_rows(10)
    backend = GANBackend(spec, load_config("fast", backend="gan"))
    assert backend.condition_dim == 3 and backend.condition_columns == [1, 2, 3]
    assert not backend.has_encoder


def test_training_records_the_critic_generator_and_condition_losses(trained):
    _, history = trained
    assert set(history.losses) == {"critic", "generator", "condition"}
    assert history.epochs >= 1
    assert all(torch.isfinite(torch.tensor(values)).all() for values in history.losses.values())


def test_unconditional_conditions_are_one_level_per_row_at_the_real_frequencies(trained):
    backend, _ = trained
    vector = backend.condition_vector({}, 4000, torch.Generator().manual_seed(0))
    assert vector.shape == (4000, 3) and torch.equal(vector.sum(dim=1), torch.ones(4000))
    _, rows = encoded_rows()
    real = rows[:, 1:4].mean(dim=0)
    torch.testing.assert_close(vector.mean(dim=0), real, atol=0.03, rtol=0)


def test_a_fixed_level_is_in_every_sampled_row(trained):
    backend, _ = trained
    rows = backend.sample(20, torch.Generator().manual_seed(2), {1: 0})
    assert torch.equal(rows[:, 1:4], torch.tensor([[1.0, 0.0, 0.0]]).repeat(20, 1))
    again = backend.sample(20, torch.Generator().manual_seed(2), {1: 0})
    assert torch.equal(rows, again)


def test_the_critic_loss_of_each_row_is_its_own():
    spec, rows = encoded_rows(6, seed=1)
    backend = GANBackend(spec, load_config("fast", backend="gan", pac=1))  # as DP-SGD trains it
    backend.before_fit(rows)
    backend.eval()  # no dropout: a row's loss is a function of that row alone
    torch.manual_seed(0)
    inputs = backend.private_inputs(rows)
    together = backend.private_row_loss(rows, *inputs)
    alone = torch.cat([backend.private_row_loss(rows[i:i + 1], *(x[i:i + 1] for x in inputs))
                       for i in range(6)])
    assert together.shape == (6,)
    torch.testing.assert_close(together, alone)
