"""Shared fixtures: the sample table, small generated tables and one fitted model per session.

Every model here uses ``config="fast"`` and a handful of epochs so that the whole suite
runs in a few minutes on two cores. Threads are limited before torch is imported.
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

torch.set_num_threads(1)

settings.register_profile(
    "toolkit", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("toolkit")

REPO = Path(__file__).resolve().parents[1]
PATIENTS_CSV = REPO / "sample_data" / "patients.csv"

#: Settings that keep every fit in the suite to well under a second.
FAST = {"config": "fast", "epochs": 3}


@pytest.fixture(scope="session")
def patients_csv() -> Path:
    """Path of the sample table (418 rows, 20 mixed columns with missing values)."""
    return PATIENTS_CSV


@pytest.fixture(scope="session")
def _patients_frame() -> pd.DataFrame:
    return pd.read_csv(PATIENTS_CSV)


@pytest.fixture
def patients(_patients_frame: pd.DataFrame) -> pd.DataFrame:
    """A fresh copy of the sample table for each test."""
    return _patients_frame.copy()


def make_mixed(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A small mixed-type table: continuous, integer, categorical, boolean, constant, NaNs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(50.0, 10.0, n).round(2)
    x[rng.random(n) < 0.2] = np.nan
    return pd.DataFrame(
        {
            "x": x,
            "count": rng.integers(0, 500, n),
            "group": rng.choice(["a", "b", "c"], n),
            "flag": rng.random(n) < 0.4,
            "site": "clinic-1",
        }
    )


@pytest.fixture
def mixed() -> pd.DataFrame:
    """A small generated mixed-type table (120 rows)."""
    return make_mixed()


@pytest.fixture(scope="session")
def fitted(_patients_frame: pd.DataFrame):
    """A Synthesizer fitted once on the sample table; tests must not refit or mutate it."""
    from toolkit import Synthesizer

    return Synthesizer(config="fast", epochs=10, batch_size=32, random_state=0).fit(
        _patients_frame.copy()
    )


@pytest.fixture(scope="session")
def synthetic(fitted) -> pd.DataFrame:
    """1,000 rows sampled (with a fixed seed) from :func:`fitted`."""
    return fitted.sample(1000, random_state=0)


@pytest.fixture(scope="session")
def model_file(fitted, tmp_path_factory) -> Path:
    """:func:`fitted` saved to a model file, shared read-only by the tests."""
    path = tmp_path_factory.mktemp("model") / "patients.tkm"
    fitted.save(path)
    return path
