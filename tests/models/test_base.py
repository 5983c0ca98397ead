"""toolkit.models.base: what the two estimators share (parameters, config resolver, fitted
check, seeds, devices, threads)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toolkit import AnomalyDetector, Synthesizer
from toolkit.adapters import TabularAdapter
from toolkit.exceptions import NotFittedError, UsageError
from toolkit.models.base import (
    MAX_SEED,
    MODEL_PARAMETERS,
    resolve_device,
    resolve_seed,
    torch_threads,
)


def test_both_estimators_take_the_model_parameters_alike():
    for estimator in (Synthesizer(), AnomalyDetector()):
        assert set(MODEL_PARAMETERS) <= set(estimator.get_params())
    detector = AnomalyDetector(epochs=3, batch_size=64, random_state=5, metadata={"a": "id"})
    assert detector.model_parameters()["epochs"] == 3
    model = detector._new_model(TabularAdapter, {"b": "continuous"})
    assert model.get_params()["epochs"] == 3 and model.get_params()["batch_size"] == 64
    assert model.get_params()["config"] == "detect" and not model.avoid_copies
    assert model.metadata == {"b": "continuous"}


def test_one_config_resolver_with_each_estimators_preset():
    assert Synthesizer(epochs=3).resolve_config().epochs == 3
    assert Synthesizer(epsilon=1.0).preset() == "private"
    assert Synthesizer(epsilon=1.0).resolve_config().prior == "standard"
    assert AnomalyDetector().preset() == "detect"
    with pytest.raises(UsageError, match="cannot score anomalies"):
        AnomalyDetector(backend="gan").resolve_config()
    with pytest.raises(UsageError, match="unknown"):
        Synthesizer(config="no-such-preset").resolve_config()


def test_one_fitted_check():
    for estimator in (Synthesizer(), AnomalyDetector()):
        with pytest.raises(NotFittedError, match="is not fitted yet; call fit first"):
            estimator.check_fitted()


def test_seeds_are_checked_and_drawn():
    assert resolve_seed(7) == 7 and resolve_seed(np.int64(MAX_SEED)) == MAX_SEED
    assert 0 <= resolve_seed(None) <= MAX_SEED
    assert resolve_seed(np.random.default_rng(0)) == resolve_seed(np.random.default_rng(0))
    for bad in (-1, MAX_SEED + 1, 1.5, True, "7"):
        with pytest.raises(UsageError, match="random_state"):
            resolve_seed(bad)


def test_devices_and_threads():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    before = torch.get_num_threads()
    with torch_threads(1, torch.device("cpu")):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
