"""pyarrow and Polars tables in and out: the estimators take them and give back the caller's
kind, with the same columns, types and values as through pandas."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from toolkit import AnomalyDetector, MultiTableSynthesizer, Synthesizer
from toolkit.exceptions import InferenceWarning, UsageError
from toolkit.io.frames import frame_kind, to_kind, to_pandas

pl = pytest.importorskip("polars", reason="polars is not installed (pip install 'toolkit[polars]')")


def visits(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    counts = pd.array(rng.integers(0, 9, n), dtype="Int64")
    counts[rng.random(n) < 0.1] = pd.NA
    return pd.DataFrame({
        "age": rng.normal(60, 9, n).round(1), "ward": rng.choice(["ICU", "MED", "SUR"], n),
        "visits": counts, "admitted": pd.Timestamp("2024-01-01")
        + pd.to_timedelta(rng.integers(0, 86_400 * 300, n), unit="s")})


def test_arrow_and_polars_tables_read_as_pandas_with_integers_kept():
    frame = visits()
    for table in (pa.Table.from_pandas(frame), pl.from_pandas(frame)):
        back = to_pandas(table)
        assert back["visits"].dtype == "Int64"
        assert back["visits"].isna().sum() == frame["visits"].isna().sum() > 0
        pd.testing.assert_series_equal(back["age"], frame["age"])
        assert list(back["ward"]) == list(frame["ward"])
    assert [frame_kind(t) for t in (frame, pa.table({"x": [1]}), pl.DataFrame({"x": [1]}))] \
        == ["pandas", "pyarrow", "polars"]
    with pytest.raises(UsageError, match="output must be one of pandas, pyarrow, polars"):
        to_kind(frame, "spark")


@pytest.mark.parametrize("kind", ["pyarrow", "polars"])
def test_a_synthesizer_fitted_on_arrow_or_polars_samples_the_same_kind(kind, tmp_path):
    frame = visits()
    given = to_kind(frame, kind)
    model = Synthesizer(config="fast", epochs=2, random_state=0).fit(given)
    from_pandas = Synthesizer(config="fast", epochs=2, random_state=0).fit(frame)
    rows = model.sample(50, random_state=1)
    assert frame_kind(rows) == kind and model.output_ == kind
    assert to_kind(rows, "pyarrow").schema.types == to_kind(frame, "pyarrow").schema.types
    # the same model as from pandas: the same rows, only the kind differs
    pd.testing.assert_frame_equal(to_pandas(rows), from_pandas.sample(50, random_state=1))
    assert isinstance(model.sample(5, output="pandas"), pd.DataFrame)
    with pytest.raises(UsageError, match="output must be one of pandas, pyarrow, polars"):
        model.sample(5, output="spark")
    conditions = to_kind(pd.DataFrame({"ward": ["ICU"] * 5}), kind)
    assert set(to_pandas(model.sample(5, conditions=conditions))["ward"]) == {"ICU"}
    model.save(tmp_path / "m.tkm")
    assert frame_kind(Synthesizer.load(tmp_path / "m.tkm").sample(3)) == kind


@pytest.mark.parametrize("kind", ["pyarrow", "polars"])
def test_a_detector_scores_arrow_and_polars_as_pandas(kind):
    frame = visits()
    detector = AnomalyDetector(config="fast", epochs=2, random_state=0).fit(to_kind(frame, kind))
    same = AnomalyDetector(config="fast", epochs=2, random_state=0).fit(frame)
    np.testing.assert_allclose(detector.decision_function(to_kind(frame, kind)),
                               same.decision_function(frame), rtol=1e-6)
    shares = detector.explain(to_kind(frame.head(7), kind))
    assert frame_kind(shares) == kind and len(shares) == 7


def test_a_dataset_of_polars_tables_comes_back_as_polars():
    rng = np.random.default_rng(0)
    people = pd.DataFrame({"patient_id": np.arange(1, 41), "sex": rng.choice(["f", "m"], 40)})
    stays = pd.DataFrame({"patient_id": np.repeat(people["patient_id"], 2).to_numpy(),
                          "days": rng.integers(1, 9, 80)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        model = MultiTableSynthesizer(config="fast", epochs=1, random_state=0).fit(
            {"people": pl.from_pandas(people), "stays": pl.from_pandas(stays)})
    synthetic = model.sample(random_state=0)
    assert {name: frame_kind(t) for name, t in synthetic.items()} == {
        "people": "polars", "stays": "polars"}
    stays, people = (to_pandas(synthetic[name]) for name in ("stays", "people"))
    assert stays["patient_id"].isin(people["patient_id"]).all()
    assert frame_kind(model.sample(random_state=0, output="pyarrow")["people"]) == "pyarrow"
