"""The three backends (vae, gan, vaegan): same API, seeds, files, losses, divergence, conditions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import BACKEND_NAMES, fit_backend

from toolkit import Synthesizer
from toolkit.backends import BACKENDS, VAEBackend
from toolkit.exceptions import DataError, TrainingError

EXPECTED_LOSSES = {
    "vae": {"loss", "reconstruction", "kl"},
    "gan": {"critic", "generator", "condition"},
    "vaegan": {"loss", "reconstruction", "feature", "kl", "discriminator", "adversarial"},
}




@pytest.fixture(scope="module", params=BACKEND_NAMES)
def trained(request, _patients_frame):
    return request.param, fit_backend(request.param, _patients_frame)


def test_every_backend_is_registered():
    assert set(BACKENDS) == set(BACKEND_NAMES)


def test_sample_has_training_columns_and_rows(trained, _patients_frame):
    _, model = trained
    sample = model.sample(50)
    assert list(sample.columns) == list(_patients_frame.columns)
    assert len(sample) == 50


def test_history_records_the_backend_losses_per_epoch(trained):
    name, model = trained
    assert set(model.history_) == EXPECTED_LOSSES[name]
    assert all(len(values) == 3 for values in model.history_.values())
    assert all(np.isfinite(values).all() for values in model.history_.values())


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_same_seed_gives_bit_identical_samples(backend, _patients_frame):
    first = fit_backend(backend, _patients_frame, seed=5).sample(40)
    second = fit_backend(backend, _patients_frame, seed=5).sample(40)
    assert first.equals(second)


def test_save_and_load_keep_backend_and_samples(trained, tmp_path):
    name, model = trained
    path = tmp_path / f"{name}.tkm"
    model.save(path)
    loaded = Synthesizer.load(path)
    assert loaded.config_.backend == name
    # the same rows; IDs continue each model's own numbering (never reused across calls)
    assert loaded.sample(30, random_state=1).drop(columns="id").equals(
        model.sample(30, random_state=1).drop(columns="id"))


def test_categorical_condition_is_met_by_every_row(trained):
    _, model = trained
    sample = model.sample(200, conditions={"status": "transplant", "sex": "m"})
    assert (sample["status"] == "transplant").all()
    assert (sample["sex"] == "m").all()


def test_condition_values_given_as_text_match_numeric_levels(trained):
    _, model = trained
    sample = model.sample(50, conditions={"stage": "1"})
    assert (sample["stage"] == 1.0).all()


def test_per_row_conditions_from_a_dataframe_keep_row_order(trained):
    _, model = trained
    wanted = pd.DataFrame({"sex": ["m", "f", None, "m"] * 5})
    sample = model.sample(20, conditions=wanted)
    given = wanted["sex"].notna()
    assert (sample.loc[given, "sex"] == wanted.loc[given, "sex"]).all()


def test_rare_category_condition_is_generated_without_rejection(_patients_frame):
    data = _patients_frame.copy()
    data.loc[:5, "status"] = "rare"  # 6 of 418 rows, 1.4 %
    model = fit_backend("vae", data)
    sample = model.sample(500, conditions={"status": "rare"})
    assert (sample["status"] == "rare").all()


def test_numeric_condition_is_met_by_checking(mixed):
    data = mixed.assign(visits=np.arange(len(mixed)) % 12)
    model = fit_backend("vae", data, epochs=5)
    sample = model.sample(20, conditions={"visits": 3})
    assert (sample["visits"] == 3).all()


def test_impossible_numeric_condition_fails_naming_it(mixed):
    model = fit_backend("vae", mixed)
    value = float(np.nanmean(mixed["x"])) + 0.001234
    with pytest.raises(DataError, match="x="):
        model.sample(5, conditions={"x": value})


def test_condition_on_unknown_column_names_it(trained):
    _, model = trained
    with pytest.raises(DataError, match="unknown column 'nope'"):
        model.sample(5, conditions={"nope": 1})


def test_condition_with_unseen_category_lists_seen_ones(trained):
    _, model = trained
    with pytest.raises(DataError, match="never had the value 'x'"):
        model.sample(5, conditions={"sex": "x"})


def test_condition_on_id_column_is_refused(trained):
    _, model = trained
    with pytest.raises(DataError, match="id column 'id'"):
        model.sample(5, conditions={"id": 3})


def test_nan_loss_stops_training_with_a_clear_error(monkeypatch, mixed):
    monkeypatch.setattr(VAEBackend, "training_step", lambda self, batch: {"loss": float("nan")})
    with pytest.raises(TrainingError, match="diverged at epoch 1"):
        fit_backend("vae", mixed)


@pytest.mark.parametrize("trim, kept", [(0.0, 10), (0.3, 7), (0.99, 1)])
def test_trimmed_likelihood_keeps_the_lowest_loss_rows(trim, kept):
    from toolkit.adapters.base import Block, TensorSpec
    from toolkit.config import load_config

    spec = TensorSpec((Block("x", "numeric", 1),))
    backend = VAEBackend(spec, load_config("fast", trim_fraction=trim))
    losses = torch.tensor([5.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0, 6.0, 0.0])
    rows = losses[backend.kept_rows(losses)]
    assert len(rows) == kept
    assert sorted(rows.tolist()) == sorted(losses.tolist())[:kept]
