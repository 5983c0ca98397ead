"""toolkit.engines.common: what Spark and Dask share, tested without either engine: the
sample plan, the driver's checks, batch scoring, the per-process model cache, statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit import AnomalyDetector, Synthesizer
from toolkit.adapters.statistics import ColumnStatistics
from toolkit.engines import common
from toolkit.engines.common import (
    SamplePlan,
    as_read,
    cached_model,
    check_count,
    merged_statistics,
    model_bytes,
    new_estimator,
    partition_statistics,
    plan_sample,
    prepare_scoring,
    require,
    sample_fraction,
    score_batch,
    score_columns,
)
from toolkit.exceptions import DataError, ModelFileError, UsageError


def test_each_partition_streams_from_its_spawned_seed():
    plan = SamplePlan(num_rows=7, num_partitions=3, seed=11)
    assert plan.counts == [3, 2, 2] and plan.starts == [0, 3, 5]
    children = np.random.SeedSequence(11).spawn(3)
    for index, child in enumerate(children):
        assert plan.stream(index).integers(10**9) == np.random.default_rng(child).integers(10**9)


def test_partition_rows_are_numbered_by_their_place_in_the_whole_sample(fitted):
    plan = SamplePlan(num_rows=9, num_partitions=2, seed=3)
    parts = [pd.concat(plan.rows(fitted, index)) for index in range(2)]
    assert [len(part) for part in parts] == [5, 4]
    assert list(parts[1].index) == [5, 6, 7, 8]
    again = pd.concat(SamplePlan(num_rows=9, num_partitions=2, seed=3).rows(fitted, 1))
    pd.testing.assert_frame_equal(parts[1], again)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "4", None])
def test_counts_must_be_positive_integers(bad):
    with pytest.raises(UsageError, match=r"^num_rows must be a positive integer, got "):
        check_count("num_rows", bad)


def test_counts_come_back_as_plain_ints():
    value = check_count("num_partitions", np.int64(4))
    assert value == 4 and type(value) is int


def test_the_sample_fraction_draws_the_bound_all_but_surely():
    assert sample_fraction(1000, 1000) is None and sample_fraction(1000, 900) is None
    fraction = sample_fraction(1000, 1_000_000)
    expected = 1000 + 6 * np.sqrt(1000) + 10
    assert fraction == pytest.approx(expected / 1_000_000)
    assert sample_fraction(100_000, 100_500) is None  # wanted more rows than there are


def test_engine_text_columns_read_as_an_in_process_read_gives_them():
    frame = pd.DataFrame({"name": pd.array(["a", None, "c"], dtype="string"),
                          "age": [1.0, 2.0, np.nan]})
    read = as_read(frame)
    assert read["name"].dtype == object and read["name"].tolist() == ["a", None, "c"]
    assert read["age"].dtype == float and frame["name"].dtype == "string"  # input untouched
    plain = pd.DataFrame({"x": [1, 2]})
    assert as_read(plain) is plain


def test_score_columns_name_their_dtypes():
    assert dict(score_columns(False).dtypes.astype(str)) == {"anomaly_score": "float64",
                                                              "is_outlier": "bool"}
    assert list(score_columns(True).columns)[-1] == "top_columns"


def test_a_batch_is_scored_as_in_process_and_keeps_its_columns(patients_detector, patients):
    batch = patients.head(30).assign(extra="kept")
    scored = score_batch(patients_detector, batch, explain=True, top=2)
    expected = patients_detector.decision_function(patients.head(30))
    np.testing.assert_allclose(scored["anomaly_score"], expected)
    assert scored["is_outlier"].tolist() == list(expected > patients_detector.threshold_)
    assert (scored["extra"] == "kept").all()
    assert scored["top_columns"].str.count(",").max() <= 1  # at most two names


def test_an_empty_batch_gets_the_score_columns_and_no_rows(patients_detector, patients):
    scored = score_batch(patients_detector, patients.head(0), explain=False, top=3)
    assert len(scored) == 0 and list(scored.columns[-2:]) == ["anomaly_score", "is_outlier"]


def test_the_driver_refuses_a_table_that_already_has_a_score_column(detector_file, patients):
    with pytest.raises(DataError, match=r"already has column\(s\) \['anomaly_score'\]"):
        prepare_scoring(detector_file, [*patients.columns, "anomaly_score"], patients.head(5),
                        False, 3, "spark")


@pytest.mark.parametrize(("explain", "top", "message"), [
    ("yes", 3, "explain must be True or False, got 'yes'"),
    (True, 0, "top must be a positive integer, got 0"),
])
def test_bad_score_options_fail_before_loading_the_model(explain, top, message, tmp_path):
    with pytest.raises(UsageError, match=message):
        prepare_scoring(tmp_path / "missing.tkm", [], pd.DataFrame(), explain, top, "dask")


def test_model_bytes_refuse_another_estimator_and_missing_files(fitted, tmp_path):
    with pytest.raises(UsageError, match="model must be the path of a saved detector or a "
                                         "fitted AnomalyDetector, got Synthesizer"):
        model_bytes(fitted, "detector")
    with pytest.raises(ModelFileError):
        model_bytes(tmp_path / "none.tkm", "synthesizer")


def test_the_same_bytes_load_once_per_process_and_old_models_are_dropped(model_file,
                                                                         monkeypatch):
    monkeypatch.setattr(common, "_MODELS", type(common._MODELS)())
    data = model_file.read_bytes()
    first = cached_model(data, "synthesizer")
    assert cached_model(data, "synthesizer") is first
    for index in range(common.CACHE_SIZE):  # other models push the first one out
        common._remember(f"other-{index}", object())
    assert cached_model(data, "synthesizer") is not first
    assert len(common._MODELS) == common.CACHE_SIZE


def test_a_fitted_estimator_travels_as_its_model_file(fitted):
    data, loaded = model_bytes(fitted, "synthesizer")
    assert isinstance(loaded, Synthesizer) and loaded is not fitted
    # the same rows; identifiers continue each model's own numbering
    pd.testing.assert_frame_equal(loaded.sample(5, random_state=1).drop(columns="id"),
                                  fitted.sample(5, random_state=1).drop(columns="id"))
    assert cached_model(data, "synthesizer") is loaded


def test_the_sampling_plan_checks_conditions_and_draws_a_probe(model_file):
    data, plan, probe = plan_sample(model_file, 250, 4, 7, {"sex": "f"}, "dask")
    assert data == model_file.read_bytes() and plan.counts == [63, 63, 62, 62]
    assert len(probe) == common.PROBE_ROWS and (probe["sex"] == "f").all()
    with pytest.raises(UsageError, match="it has 3 rows for 250"):
        plan_sample(model_file, 250, 4, 7, pd.DataFrame({"sex": ["f"] * 3}), "dask")


def test_a_new_estimator_names_unknown_tasks_and_parameters():
    model, limit = new_estimator("detect", 0, {"config": "fast"})
    assert isinstance(model, AnomalyDetector) and isinstance(limit, int) and limit > 0
    with pytest.raises(UsageError, match="unknown task 'cluster'; valid: synthesize, detect"):
        new_estimator("cluster", 0, {})
    with pytest.raises(UsageError, match=r"unknown parameter\(s\) \['layers'\] of Synthesizer"):
        new_estimator("synthesize", 0, {"layers": 3})


def test_partition_statistics_merge_into_the_whole_tables(patients):
    typed = patients.astype({"sex": "string"})
    parts = [partition_statistics(typed.iloc[start:start + 100])
             for start in range(0, len(typed), 100)]
    whole = ColumnStatistics.of(patients)
    assert merged_statistics(parts) == whole


def test_a_missing_engine_names_the_extra_that_installs_it(monkeypatch):
    monkeypatch.setitem(common.EXTRAS, "spark", ("no_such_engine_package", "pyspark"))
    with pytest.raises(UsageError, match=r"toolkit.spark needs pyspark: pip install "
                                         r"'toolkit\[spark\]'"):
        require("spark")
