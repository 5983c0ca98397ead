"""The diffusion latent prior (``prior: diffusion``): training, sampling, model files."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from toolkit import Synthesizer, load_config
from toolkit.backends.diffusion import DiffusionPrior
from toolkit.exceptions import UsageError

DIFFUSION = {"prior": "diffusion", "diffusion_steps": 40, "diffusion_dims": [32, 32],
             "diffusion_sampling_steps": 4}


@pytest.fixture(scope="module")
def diffusion_model(_patients_frame: pd.DataFrame) -> Synthesizer:
    config = load_config("fast", epochs=3, batch_size=32, **DIFFUSION)
    return Synthesizer(config=config, random_state=0).fit(_patients_frame.copy())


def test_the_sampler_goes_from_sigma_max_to_zero_in_the_configured_steps():
    levels = DiffusionPrior(latent_dim=3, hidden_dims=[8], sampling_steps=5).noise_levels()
    assert len(levels) == 6 and levels[0] == pytest.approx(80.0) and levels[-1] == 0.0
    assert levels[-2] == pytest.approx(0.002) and bool((levels[:-1] > levels[1:]).all())


@pytest.mark.slow
def test_training_moves_samples_onto_the_codes():
    """Codes around (5, -5): an untrained denoiser's samples are far off, a trained one's near."""
    means = torch.tensor([[5.0, -5.0]]).repeat(300, 1)
    stds = torch.full_like(means, 0.2)
    torch.manual_seed(0)
    prior = DiffusionPrior(latent_dim=2, hidden_dims=[32, 32], sampling_steps=8)
    prior.shift.copy_(means.mean(0))  # standardisation alone does not place the samples
    untrained = prior.sample(500, torch.Generator().manual_seed(1))
    prior.fit(means, stds, steps=400, batch_size=128, learning_rate=3e-3,
              generator=torch.Generator().manual_seed(0))
    trained = prior.sample(500, torch.Generator().manual_seed(1))
    error = (trained - means[0]).norm(dim=1).median()
    assert error < 0.6 < (untrained - means[0]).norm(dim=1).median()


def test_a_diffusion_model_samples_the_table_and_meets_conditions(diffusion_model,
                                                                 _patients_frame):
    assert diffusion_model.backend_.diffusion is not None
    rows = diffusion_model.sample(200, random_state=1)
    assert list(rows.columns) == list(_patients_frame.columns) and len(rows) == 200
    assert rows.dtypes.equals(_patients_frame.dtypes)
    level = _patients_frame["sex"].dropna().iloc[0]
    fixed = diffusion_model.sample(50, conditions={"sex": level}, random_state=1)
    assert (fixed["sex"] == level).all()


def test_samples_follow_the_seed_and_survive_the_model_file(diffusion_model, tmp_path):
    def draw(model: Synthesizer) -> pd.DataFrame:  # fresh IDs continue between calls
        return model.sample(100, random_state=3).drop(columns="id")

    first = draw(diffusion_model)
    pd.testing.assert_frame_equal(first, draw(diffusion_model))
    path = tmp_path / "diffusion.tkm"
    diffusion_model.save(path)
    loaded = Synthesizer.load(path)
    assert loaded.config_.prior == "diffusion"
    pd.testing.assert_frame_equal(first, draw(loaded))


def test_only_a_diffusion_model_file_holds_denoiser_weights(diffusion_model, fitted):
    assert any(name.startswith("diffusion.") for name in diffusion_model.tensors())
    assert not any(name.startswith("diffusion.") for name in fitted.tensors())


def test_the_gan_has_no_encoder_codes_and_ignores_the_setting(_patients_frame):
    config = load_config("fast", backend="gan", epochs=1, batch_size=32, **DIFFUSION)
    gan = Synthesizer(config=config, random_state=0).fit(_patients_frame.copy())
    assert gan.backend_.diffusion is None and len(gan.sample(10)) == 10


@pytest.mark.parametrize(("key", "value"), [("diffusion_steps", 0),
                                            ("diffusion_sampling_steps", -1),
                                            ("diffusion_dims", [])])
def test_bad_diffusion_settings_are_refused_by_name(key, value):
    with pytest.raises(UsageError, match=key):
        load_config("fast", **{key: value})
