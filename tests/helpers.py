"""Helpers shared by several test files: the command line run in-process, bytes that are not
tables, small generated tables.

Import them as ``from helpers import ok, run`` (``tests/`` is on pytest's ``pythonpath``); the
fixtures (``workdir``, the sample table, models fitted once per session) are in ``conftest.py``.
"""

from __future__ import annotations

import gzip
import io
import warnings
import zipfile

import numpy as np
import pandas as pd
import torch
from click.testing import CliRunner, Result
from hypothesis import strategies as st

from toolkit.cli import cli

#: Training options that keep a command-line fit to well under a second.
TRAIN = ["--config", "fast", "--epochs", "2"]


def run(*args: object) -> Result:
    """Run ``toolkit ARGS...`` in-process; arguments are turned into text."""
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def ok(*args: object) -> Result:
    """Run a command that must succeed, failing the test with its output otherwise."""
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.exception is None, result.exception
    return result


def one_line_error(result: Result, code: int) -> str:
    """The single ``Error:`` line of a command that failed with ``code`` (no traceback)."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def check_exits(results: list[tuple[int, str]], cases: list[list[str]]) -> None:
    """Each ``(exit code, output)`` of ``results`` is a clean failure: code 1 or 2 and one
    ``Error:`` line, no traceback and no crash of the interpreter."""
    for (code, output), args in zip(results, cases, strict=True):
        lines = output.strip().splitlines()
        assert code in (1, 2), (args, code, output)
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, output)
        assert "Traceback" not in output and "terminate called" not in output, (args, output)


# files that are not tables ------------------------------------------------------------------
def zip_bytes() -> bytes:
    """A zip archive holding one small CSV file."""
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("sheet.csv", "a,b\n1,2\n")
    return sink.getvalue()


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
RANDOM = np.random.default_rng(0).bytes(5000)
CSV = b"id,age\n1,50\n2,61\n"
#: Bytes a user may hand over by mistake; gzip's time stamp is fixed so that test ids repeat.
BAD_BYTES = {"random": RANDOM, "gzip": gzip.compress(CSV * 50, mtime=0), "zip": zip_bytes(),
             "pdf": PDF}


# small generated tables ---------------------------------------------------------------------
def clinical_table(n: int = 90, seed: int = 0) -> pd.DataFrame:
    """A small clinical table: a measurement, a categorical and an integer column."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.normal(55, 12, n).round(1),
                         "sex": rng.choice(["f", "m"], n),
                         "stage": rng.integers(1, 5, n)})


def patient_visits(patients: int = 60, seed: int = 0) -> pd.DataFrame:
    """Three visits per patient: the patient's sex and birth year repeat, measurements vary."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(rng.choice(np.arange(1000, 9999), patients, replace=False), 3)
    return pd.DataFrame({
        "patient_id": ids,
        "visit": np.tile([1, 2, 3], patients),
        "sex": np.repeat(rng.choice(["f", "m"], patients), 3),
        "birth_year": np.repeat(rng.integers(1930, 1990, patients), 3),
        "sbp": rng.normal(132, 15, 3 * patients).round(),
        "hba1c": rng.normal(6.4, 0.8, 3 * patients).round(1),
    })


def numbers_table(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of a float, an integer, a three-level text column and the row number."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"x": rng.normal(size=n).round(3), "k": rng.integers(0, 50, n),
                         "group": rng.choice(["a", "b", "c"], n), "row": np.arange(n)})


def copied_unnamed_ids(patients: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An integer ID column, copied into synthetic rows whose other columns are shuffled
    (no row is a real row)."""
    real = patients.rename(columns={"id": "ref"})
    rng = np.random.default_rng(0)
    synthetic = real.copy()
    for column in synthetic.columns.drop("ref"):
        synthetic[column] = synthetic[column].to_numpy()[rng.permutation(len(synthetic))]
    return real, synthetic


def real_values(frame: pd.DataFrame, column: str) -> set[str]:
    """The values of ``column`` as text, missing values left out."""
    return set(frame[column].dropna().astype(str))


def seeded(seed: int = 0) -> torch.Generator:
    """A torch random generator started at ``seed``."""
    return torch.Generator().manual_seed(seed)


def instants(texts: pd.Series) -> pd.Series:
    """ISO 8601 date-time texts as UTC instants."""
    return pd.to_datetime(texts, format="ISO8601", utc=True)


def csv_file(name: str, frame: pd.DataFrame) -> str:
    """Write ``frame`` to the CSV file ``name`` (no index) and return the name."""
    frame.to_csv(name, index=False)
    return name


def small_table() -> pd.DataFrame:
    """20 rows of a float and a text column: the smallest table the commands train on."""
    return pd.DataFrame({"a": [1.5, 2.5, 3.5, 4.5, 5.5] * 4, "b": list("xyzxy") * 4})


#: The backends every test of the three model kinds runs.
BACKEND_NAMES = ["vae", "gan", "vaegan"]


def fit_backend(backend: str, data: pd.DataFrame, seed: int = 0, **kwargs: object):
    """A Synthesizer of ``backend`` fitted briefly on ``data`` (fast preset, 3 epochs)."""
    from toolkit import Synthesizer

    params = {"config": "fast", "epochs": 3, "batch_size": 64, **kwargs}
    return Synthesizer(backend=backend, random_state=seed, **params).fit(data)


def fit_quietly(frame: pd.DataFrame, **params: object):
    """A Synthesizer fitted briefly on ``frame`` (fast preset, 2 epochs, seed 0), without the
    warnings about guessed column kinds."""
    from toolkit import Synthesizer
    from toolkit.exceptions import InferenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        return Synthesizer(**{"config": "fast", "epochs": 2, "random_state": 0, **params}).fit(
            frame)


def dp_table() -> pd.DataFrame:
    """600 patients: an id, age, sex, stage and a dose with missing values (bounded columns)."""
    rng = np.random.default_rng(0)
    n = 600
    age = rng.normal(50, 12, n).clip(18, 90).round(1)
    sex = rng.choice(["F", "M"], n)
    stage = rng.choice([1, 2, 3, 4], n, p=[0.4, 0.3, 0.2, 0.1])
    dose = np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2.0, 10.0, n).clip(0, 150).round(2))
    return pd.DataFrame({"pid": np.arange(n), "age": age, "sex": sex, "stage": stage,
                         "dose": dose})


def dp_metadata() -> dict:
    """The public schema of :func:`dp_table` that a private fit needs."""
    return {"pid": "id",
            "age": {"kind": "continuous", "min": 0, "max": 120},
            "sex": {"kind": "categorical", "values": ["F", "M"]},
            "stage": {"kind": "categorical", "values": [1, 2, 3, 4]},
            "dose": {"kind": "continuous", "min": 0, "max": 150}}


# a hypothesis strategy -------------------------------------------------------------------
@st.composite
def every_kind_tables(draw) -> pd.DataFrame:
    """A table with one column of every kind, each with some missing values."""
    n = draw(st.integers(min_value=25, max_value=60))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    missing = lambda: rng.random(n) < draw(st.floats(0.0, 0.3))  # noqa: E731
    decimals = draw(st.integers(1, 4))
    continuous = np.round(rng.normal(0, 10 ** draw(st.integers(1, 4)), n), decimals)
    continuous[missing()] = np.nan
    continuous[:2] = [continuous[2] + 1.5, continuous[2] - 2.5]  # not whole numbers
    integers = pd.array(rng.integers(-500, 5000, n), dtype="Int64")
    integers[missing()] = pd.NA
    integers[0] = pd.NA  # a blank: nullable Int64 in the file round trip too
    levels = ["".join(rng.choice(list("abcdefghij"), 3)) for _ in range(draw(st.integers(2, 6)))]
    categories = pd.Series(rng.choice(levels, n), dtype=object)
    categories[missing()] = np.nan
    codes = pd.Series(rng.choice(["00123", "04567", "08910"], n), dtype=object)
    spelling = draw(st.sampled_from([("TRUE", "FALSE"), ("true", "false"), ("True", "False")]))
    flags = pd.Series(rng.choice(spelling, n), dtype=object)
    flags[missing()] = np.nan
    days = pd.Series(pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"))
    dates = days.dt.strftime(draw(st.sampled_from(["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y"])))
    dates = dates.astype(object).where(~missing(), np.nan)
    return pd.DataFrame({
        "measure": continuous, "count": integers, "group": categories, "zip": codes,
        "flag": flags, "seen": dates, "site": "clinic-1",
        "patient_id": np.arange(1000, 1000 + n),
    })


# encoded rows for the backends ---------------------------------------------------------------
def encoded_rows(n: int = 200, seed: int = 0):
    """A TensorSpec of a numeric column, a three-level column and a missing flag, and ``n``
    encoded rows of it in which level 2 goes with high numbers."""
    from toolkit.adapters.base import Block, TensorSpec

    spec = TensorSpec((Block("x", "numeric", 1), Block("g", "categorical", 3),
                       Block("x", "missing", 1)))
    generator = torch.Generator().manual_seed(seed)
    level = torch.randint(3, (n,), generator=generator)
    x = (0.4 * level - 0.4 + 0.1 * torch.randn(n, generator=generator)).clamp(-1, 1)
    missing = (torch.rand(n, generator=generator) < 0.2).float()
    rows = torch.cat([x[:, None], torch.nn.functional.one_hot(level, 3).float(),
                      missing[:, None]], dim=1)
    return spec, rows


def hospital_dataset(patients: int = 60, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Three linked tables: patients → admissions (0 to 3 each, dated, with the patient's
    insurer) → labs (1 to 4 per admission, text keys); a ward table that admissions also
    point at."""
    rng = np.random.default_rng(seed)
    people = pd.DataFrame({"patient_id": np.arange(1, patients + 1),
                           "sex": rng.choice(["f", "m"], patients),
                           "age": rng.normal(60, 12, patients).round(1)})
    owners = np.repeat(people["patient_id"].to_numpy(), rng.integers(0, 4, patients))
    stays = len(owners)
    admissions = pd.DataFrame({
        "admission_id": np.arange(5001, 5001 + stays), "patient_id": owners,
        "admitted": pd.Timestamp("2021-01-01")
        + pd.to_timedelta(rng.integers(0, 700, stays), unit="D"),
        "ward_code": rng.choice(["ICU", "MED", "SUR"], stays),
        "days": rng.integers(1, 20, stays),
        # the patient's insurer, written on each stay: constant within a patient
        "insurer": pd.Series(rng.choice(["public", "private"], patients),
                             index=people["patient_id"]).loc[owners].to_numpy()})
    draws = np.repeat(admissions["admission_id"].to_numpy(), rng.integers(1, 5, stays))
    labs = pd.DataFrame({"lab_id": [f"L{i:05d}" for i in range(len(draws))],
                         "admission_id": draws,
                         "hb": rng.normal(13, 2, len(draws)).round(1)})
    wards = pd.DataFrame({"ward_code": ["ICU", "MED", "SUR"], "beds": [12, 40, 30]})
    return {"patients": people, "admissions": admissions, "labs": labs, "wards": wards}


def admissions_table(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """Stays with an admission and a discharge time (seconds kept), a city and its country,
    and blood pressures (systolic above diastolic)."""
    rng = np.random.default_rng(seed)
    admitted = (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
                + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s"))
    cities = {"Lyon": "France", "Paris": "France", "Nice": "France", "Milan": "Italy",
              "Rome": "Italy", "Bern": "Switzerland", "Geneva": "Switzerland"}
    city = rng.choice(list(cities), n)
    diastolic = rng.normal(80, 10, n).round()
    return pd.DataFrame({
        "admitted": admitted,
        "discharged": admitted + pd.to_timedelta((rng.gamma(2, 3, n) * 86_400).round(),
                                                 unit="s"),
        "city": city, "country": [cities[c] for c in city], "diastolic": diastolic,
        "systolic": (diastolic + 1 + rng.gamma(4, 10, n)).round()})
