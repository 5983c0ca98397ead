"""toolkit.evaluate.features: table columns as gradient-boosting features, one encoding shared
by every table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from toolkit.evaluate.features import (
    MAX_FEATURE_LEVELS,
    OTHER_LEVEL,
    model_frame,
    seconds_of_dates,
)


def test_dates_in_any_format_and_offset_are_utc_seconds_and_missing_stays_nan():
    dates = pd.Series(["2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", None])
    seconds = seconds_of_dates(dates)
    assert seconds.tolist()[:2] == [1704067200.0, 1704067200.0]
    assert np.isnan(seconds.iloc[2])


def test_datetime64_values_are_seconds_too():
    stamps = pd.Series(pd.to_datetime(["1970-01-02", "2000-01-01"]))
    assert seconds_of_dates(stamps).tolist() == [86400.0, 946684800.0]


def test_tables_share_one_category_list_whatever_each_holds():
    real = pd.DataFrame({"ward": ["a", "b", None], "age": ["41", "x", "63"]})
    synthetic = pd.DataFrame({"ward": ["c", "a", "a"], "age": [50.5, 61.0, None]})
    kinds = {"ward": "categorical", "age": "continuous"}
    first, second = model_frame([real, synthetic], kinds, ["ward", "age"])
    assert list(first["ward"].cat.categories) == list(second["ward"].cat.categories) \
        == ["a", "b", "c"]
    assert first["ward"].isna().tolist() == [False, False, True]
    # text in a number column becomes missing, not an error
    assert first["age"].tolist()[::2] == [41.0, 63.0] and np.isnan(first["age"].iloc[1])
    assert second["age"].dtype == float


def test_only_the_named_features_are_kept_and_the_inputs_are_left_alone():
    table = pd.DataFrame({"x": ["1", "2"], "g": ["a", "b"], "target": [0, 1]})
    before = table.copy()
    frame, = model_frame([table], {"x": "integer", "g": "categorical"}, ["g", "x"])
    assert list(frame.columns) == ["g", "x"]
    pd.testing.assert_frame_equal(table, before)


def test_rare_levels_beyond_the_bound_share_the_other_category():
    levels = [f"code{i:04d}" for i in range(MAX_FEATURE_LEVELS + 50)]
    # the first 100 levels are frequent, the rest appear once
    values = [level for level in levels[:100] for _ in range(5)] + levels[100:]
    frame, = model_frame([pd.DataFrame({"code": values})], {"code": "categorical"}, ["code"])
    categories = list(frame["code"].cat.categories)
    assert len(categories) == MAX_FEATURE_LEVELS and categories[-1] == OTHER_LEVEL
    assert set(levels[:100]) <= set(categories)
    kept = frame["code"].astype(str)
    assert (kept == OTHER_LEVEL).sum() == len(levels) - MAX_FEATURE_LEVELS + 1
