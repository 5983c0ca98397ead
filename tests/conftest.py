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
#: The sample images: 300 8x8 grey digits in one folder per label.
DIGITS = REPO / "sample_data" / "digits"

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
def holdout_split(_patients_frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sample table split once into training rows and a 25 % holdout (seed 0)."""
    holdout = _patients_frame.sample(frac=0.25, random_state=0)
    return _patients_frame.drop(index=holdout.index), holdout


@pytest.fixture(scope="session")
def split_synthetic(holdout_split: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame:
    """300 rows sampled from a model fitted once on the training rows of :func:`holdout_split`."""
    from toolkit import Synthesizer

    model = Synthesizer(config="fast", epochs=20, random_state=0).fit(holdout_split[0])
    return model.sample(300)


@pytest.fixture(scope="session")
def model_file(fitted, tmp_path_factory) -> Path:
    """:func:`fitted` saved to a model file, shared read-only by the tests."""
    path = tmp_path_factory.mktemp("model") / "patients.tkm"
    fitted.save(path)
    return path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current folder for a command to write into."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def digits():
    """The sample digits read once (an ``ImageSet`` of 300 8x8 grey images with labels)."""
    from toolkit.io.images import read_image_folder

    return read_image_folder(DIGITS)


@pytest.fixture(scope="session")
def digits_model(digits):
    """A Synthesizer fitted once on :func:`digits`; tests must not refit or mutate it."""
    from toolkit import Synthesizer

    return Synthesizer(config="fast", epochs=2, random_state=0).fit(digits)


@pytest.fixture(scope="session")
def patients_detector(_patients_frame: pd.DataFrame):
    """An AnomalyDetector fitted once on the sample table; tests must not refit or mutate it."""
    from toolkit import AnomalyDetector

    return AnomalyDetector(random_state=0, **FAST).fit(_patients_frame)


@pytest.fixture(scope="session")
def detector_file(patients_detector, tmp_path_factory) -> Path:
    """:func:`patients_detector` saved to a model file, shared read-only by the tests."""
    path = tmp_path_factory.mktemp("detector") / "d.tkm"
    patients_detector.save(path)
    return path


@pytest.fixture
def small_bound(tmp_path: Path) -> Path:
    """A preset that learns from at most 150 rows."""
    preset = tmp_path / "bounded.yaml"
    preset.write_text("steps: 20\nmin_epochs: 1\nhidden_dims: [32]\nlatent_dim: 4\n"
                      "prior_components: 2\nmax_training_rows: 150\n")
    return preset


@pytest.fixture
def rare_rows(tmp_path: Path) -> Path:
    """A Parquet file of 2,000 rows whose last 10 hold a level and missing values nowhere else."""
    from toolkit.io import write_table

    rng = np.random.default_rng(0)
    table = pd.DataFrame({"ward": rng.choice(["A", "B", "C"], 2000),
                          "dose": rng.normal(5, 1, 2000).round(2),
                          "age": rng.integers(20, 90, 2000)})
    table.loc[1990:, "ward"] = "Z"
    table.loc[1995:, "dose"] = np.nan
    table.loc[1999, "age"] = 130
    path = tmp_path / "rare.parquet"
    write_table(table, path)
    return path


@pytest.fixture(scope="session")
def numbered() -> pd.DataFrame:
    """:func:`helpers.clinical_table` with integer column labels, as ``pd.DataFrame(array)``
    gives them."""
    from helpers import clinical_table

    return clinical_table().set_axis([0, 1, 2], axis=1)


@pytest.fixture
def data_csv(workdir: Path, patients_csv: Path) -> Path:
    """A copy of the sample table in the working folder."""
    path = workdir / "patients.csv"
    path.write_bytes(patients_csv.read_bytes())
    return path


@pytest.fixture
def model(data_csv: Path) -> Path:
    """``toolkit fit`` of :func:`data_csv` into ``m.tkm`` (fast preset, 3 epochs, seed 5)."""
    from helpers import ok

    ok("fit", data_csv, "--model-out", "m.tkm", "--config", "fast", "--epochs", "3", "--seed", "5",
       "-q")
    return Path("m.tkm")


@pytest.fixture
def detector_model(data_csv: Path) -> Path:
    """``toolkit fit --task detect`` of :func:`data_csv` into ``d.tkm`` (seed 2)."""
    from helpers import TRAIN, ok

    ok("fit", data_csv, "--task", "detect", "--model-out", "d.tkm", *TRAIN, "--seed", "2", "-q")
    return Path("d.tkm")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the examples of the documentation first: they are the longest tests, and started
    first on a worker each, the short ones fill the other workers around them instead of
    one worker finishing a long page alone at the end."""
    items.sort(key=lambda item: "test_examples_run_in_order" not in item.nodeid)
