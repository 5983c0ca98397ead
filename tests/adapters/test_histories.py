"""toolkit.adapters.histories: finding the subject and the order, splitting a longitudinal
table into patients and events, and joining them back."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from toolkit.adapters.histories import (
    GAP,
    ROWS,
    HistoryLayout,
    constant_within,
    find_order,
    find_subject,
    sample_patients,
)
from toolkit.exceptions import DataError, UsageError


@pytest.fixture
def visits() -> pd.DataFrame:
    """Three patients, rows shuffled across patients, days out of order within one."""
    return pd.DataFrame({
        "patient_id": [7, 3, 7, 3, 9, 7],
        "sex": ["f", "m", "f", "m", "f", "f"],
        "visit_date": ["2020-01-10", "2021-03-01", "2020-01-01", "2021-03-05", "2019-05-05",
                       "2020-02-01"],
        "bili": [1.0, 2.0, 0.5, np.nan, 3.0, 1.5],
    })


def test_the_subject_is_a_repeating_identifier_named_for_the_patient(visits):
    kinds = {"patient_id": "id", "sex": "categorical", "visit_date": "datetime",
             "bili": "continuous"}
    assert find_subject(visits, kinds) == "patient_id"
    unique = visits.assign(patient_id=range(6))
    assert find_subject(unique, kinds) is None  # one row per patient: a flat table
    record = visits.assign(record_id=[1, 1, 2, 2, 3, 3])
    assert find_subject(record, {**kinds, "record_id": "id"}) == "patient_id"


def test_the_order_never_decreases_within_a_patient_and_varies(visits):
    kinds = {"patient_id": "id", "sex": "categorical", "visit_date": "datetime",
             "bili": "continuous"}
    assert find_order(visits, "patient_id", kinds) is None  # out of order in the rows
    ordered = visits.sort_values(["patient_id", "visit_date"])
    assert find_order(ordered, "patient_id", kinds) == "visit_date"
    days = ordered.assign(day=[0, 4, 0, 9, 31, 0]).drop(columns="visit_date")
    assert find_order(days, "patient_id", {**kinds, "day": "integer"}) == "day"
    assert find_order(days.assign(day=0), "patient_id", {**kinds, "day": "integer"}) is None


def test_constant_columns_hold_one_value_per_patient_missing_included():
    table = pd.DataFrame({"id": [1, 1, 2, 2, 3], "a": [1, 1, 2, 2, 9],
                          "b": [np.nan, np.nan, 1.0, 1.0, 5.0], "c": [np.nan, 1.0, 1, 1, 1]})
    assert constant_within(table, "id") == ["a", "b"]


def test_split_orders_each_history_and_join_gives_the_table_back(visits):
    layout = HistoryLayout.of(visits, "patient_id", "visit_date")
    assert layout.patient_columns == ["patient_id", "sex", "visit_date"]
    assert layout.event_columns == ["bili"]
    patients, events = layout.split(visits)
    assert patients["patient_id"].tolist() == [7, 3, 9]  # first appearance
    assert patients[ROWS].tolist() == [3, 2, 1]
    assert patients["visit_date"].tolist() == ["2020-01-01", "2021-03-01", "2019-05-05"]
    assert events["bili"].tolist()[:3] == [0.5, 1.0, 1.5]
    assert events[GAP].tolist()[:3] == [0.0, 9 * 86400.0, 22 * 86400.0]
    assert events[GAP].tolist()[3:] == [0.0, 4 * 86400.0, 0.0]
    rebuilt = pd.Series(["2020-01-01", "2020-01-10", "2020-02-01", "2021-03-01", "2021-03-05",
                         "2019-05-05"])
    joined = layout.join(patients, events, rebuilt)
    expected = visits.iloc[[2, 0, 5, 1, 3, 4]].reset_index(drop=True)
    pd.testing.assert_frame_equal(joined, expected)
    assert HistoryLayout.from_dict(layout.to_dict()) == layout


def test_bad_layouts_are_one_line(visits):
    with pytest.raises(UsageError, match="subject column 'who' is not in the table"):
        HistoryLayout.of(visits, "who", None)
    with pytest.raises(UsageError, match="cannot also be the order"):
        HistoryLayout.of(visits, "patient_id", "patient_id")
    with pytest.raises(DataError, match="holds neither numbers nor date-times"):
        HistoryLayout.of(visits, "patient_id", "sex")
    with pytest.raises(DataError, match="subject column 'patient_id' has missing values"):
        HistoryLayout.of(visits.astype({"patient_id": float}).assign(
            patient_id=[1, np.nan, 1, 2, 2, 3]), "patient_id", None)


def test_patients_are_sampled_whole():
    table = pd.DataFrame({"id": np.repeat(np.arange(100), 5), "x": np.arange(500)})
    sample = sample_patients(table, "id", 120, seed=1)
    assert len(sample) == 120 and (sample.groupby("id").size() == 5).all()
    assert sample["x"].is_monotonic_increasing
    assert sample_patients(table, "id", 1000, seed=1) is table
