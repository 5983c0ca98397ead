"""Longitudinal tables as patient histories: several rows per patient (visits, lab draws,
tests), told apart by a *subject* key and put in time order by an *order* column.

A table is split into two that the models learn from:

* the **patients** table, one row per patient: the subject key, the attributes that never
  change within a patient (sex, date of birth, trial arm), the first value of the order
  column (the history's start) and the number of rows (:data:`ROWS`);
* the **events** table, one row per original row, in history order: the columns that
  change within a patient, and, when there is an order column, the time since the
  patient's previous row (:data:`GAP`; 0 for the first row).

:meth:`HistoryLayout.join` puts generated patients and events back into the original
columns, with the order rebuilt as start + cumulated gaps, so that it never decreases
within a patient.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.kinds import name_tokens
from toolkit.exceptions import DataError, UsageError

#: the patients table's column holding each patient's number of rows
ROWS = "__rows__"
#: the events table's column holding the time since the patient's previous row
GAP = "__gap__"
#: words of a column name that say it orders a patient's rows
ORDER_WORDS = {"date", "time", "day", "days", "visit", "week", "weeks", "month", "months",
               "year", "years", "timestamp", "datetime", "seq", "sequence", "order", "step",
               "obstime", "hour", "hours"}
#: words of a column name that say it names the patient
SUBJECT_WORDS = {"patient", "subject", "person", "participant", "member", "individual", "pid",
                 "mrn", "case", "client", "resident"}


def rows_per_subject(data: pd.DataFrame, subject: Any) -> pd.Series:
    """How many rows each value of ``subject`` has (missing values are refused)."""
    if data[subject].isna().any():
        raise DataError(f"subject column {subject!r} has missing values: every row must "
                        "name its patient")
    return data.groupby(subject, sort=False, dropna=False).size()


def find_subject(data: pd.DataFrame, kinds: dict[str, str]) -> str | None:
    """The column that names the patient of each row, when one does: an identifier (kind
    ``id``) whose values repeat, at least a tenth of the rows belonging to patients with
    several rows; a name that says patient or subject comes first.

    Examples
    --------
    >>> table = pd.DataFrame({"patient_id": [1, 1, 2, 2, 3], "x": [1.0, 2, 3, 4, 5]})
    >>> find_subject(table, {"patient_id": "id", "x": "continuous"})
    'patient_id'
    >>> find_subject(table, {"patient_id": "integer", "x": "continuous"}) is None
    True
    """
    candidates = []
    for column, kind in kinds.items():
        if kind != "id" or column not in data.columns or data[column].isna().any():
            continue
        counts = data.groupby(column, sort=False).size()
        if len(counts) < 2 or counts.max() < 2:
            continue
        if counts[counts > 1].sum() >= 0.1 * len(data):
            personal = bool(SUBJECT_WORDS & set(name_tokens(column)))
            candidates.append((not personal, list(kinds).index(column), column))
    return min(candidates)[2] if candidates else None


def _as_float(series: pd.Series) -> np.ndarray | None:
    """Numbers or instants (seconds) of an order column's values; ``None`` when neither."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return None
    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = pd.to_datetime(series, utc=True)
        return np.where(stamps.isna(), np.nan, stamps.astype("int64") / 1e9)
    from toolkit.adapters.kinds import parse_dates, utc_instants

    parsed = parse_dates(series)
    if parsed is None:
        return None
    stamps = utc_instants(series) if parsed[2] else pd.to_datetime(parsed[0], utc=True)
    return np.where(stamps.isna(), np.nan, stamps.astype("int64") / 1e9)


def order_values(series: pd.Series) -> np.ndarray:
    """An order column as floats (numbers, or seconds for date-times).

    Raises
    ------
    DataError
        For a column that is neither numbers nor date-times, or has missing values.
    """
    values = _as_float(series)
    if values is None:
        raise DataError(f"order column {series.name!r} holds neither numbers nor date-times")
    if np.isnan(values).any():
        raise DataError(f"order column {series.name!r} has missing values: every row needs "
                        "its place in the patient's history")
    return values


def find_order(data: pd.DataFrame, subject: Any, kinds: dict[str, str],
               in_row_order: bool = True) -> str | None:
    """The column that orders each patient's rows, when one does: a date-time or a number
    named like a time (date, day, visit, ...) that is never missing, varies within some
    patient and (with ``in_row_order``) never decreases within a patient in the table's row
    order; a date-time comes first (a number of few distinct values, a visit number, counts
    even when it is modelled as a category). ``None``: the row order is the history order.
    """
    candidates = []
    for position, (column, kind) in enumerate(kinds.items()):
        if column == subject or column not in data.columns:
            continue
        numeric = pd.api.types.is_numeric_dtype(data[column].dtype) and not \
            pd.api.types.is_bool_dtype(data[column].dtype)
        if kind != "datetime" and not numeric:
            continue
        if kind != "datetime" and not ORDER_WORDS & set(name_tokens(column)):
            continue
        values = _as_float(data[column])
        if values is None or np.isnan(values).any():
            continue
        steps = pd.Series(values, index=data.index).groupby(data[subject].to_numpy(),
                                                            sort=False).diff()
        if (in_row_order and (steps < 0).any()) or not (steps.abs() > 0).any():
            continue
        candidates.append((kind != "datetime", position, column))
    return min(candidates)[2] if candidates else None


def constant_within(data: pd.DataFrame, subject: Any) -> list[str]:
    """The columns whose value (missing included) never changes within a patient: every
    patient with several rows has one value. The subject itself is left out.

    Examples
    --------
    >>> table = pd.DataFrame({"id": [1, 1, 2, 2], "sex": ["f", "f", "m", "m"],
    ...                       "bili": [1.0, 1.4, 0.5, 0.7]})
    >>> constant_within(table, "id")
    ['sex']
    """
    repeated = data[data.groupby(subject, sort=False)[subject].transform("size") > 1]
    if repeated.empty:
        return []
    groups = repeated.groupby(subject, sort=False)
    return [column for column in data.columns if column != subject
            and groups[column].nunique(dropna=False).max() <= 1]


@dataclass(frozen=True)
class HistoryLayout:
    """Which columns of a longitudinal table are the subject, the order, the patient
    attributes and the events, and how to split and join the table.

    Parameters
    ----------
    subject : str
        The column naming each row's patient.
    order : str or None
        The column ordering each patient's rows; ``None``: the row order.
    patient_columns : list of str
        The subject, the columns constant within every patient and the order column (whose
        first value starts the history), in table order.
    event_columns : list of str
        The columns that change within a patient, the order column left out.
    columns : list of str
        Every column of the table, in its order.
    """

    subject: str
    order: str | None
    patient_columns: list[str]
    event_columns: list[str]
    columns: list[str]

    @classmethod
    def of(cls, data: pd.DataFrame, subject: str, order: str | None) -> HistoryLayout:
        """The layout of ``data`` with the given subject and order columns.

        Raises
        ------
        UsageError
            For a subject or order column the table does not have.
        DataError
            For a subject with missing values, or an order column that is neither numbers
            nor date-times or has missing values.
        """
        columns = [str(c) for c in data.columns]
        for role, column in (("subject", subject), ("order", order)):
            if column is not None and column not in columns:
                raise UsageError(f"{role} column {column!r} is not in the table; columns: "
                                 f"{columns}")
        if order == subject:
            raise UsageError(f"the subject column {subject!r} cannot also be the order")
        rows_per_subject(data, subject)
        if order is not None:
            order_values(data[order])
        constant = set(constant_within(data, subject)) - {order}
        patient = [c for c in columns if c in (subject, order) or c in constant]
        events = [c for c in columns if c not in patient]
        return cls(subject, order, patient, events, columns)

    def row_order(self, data: pd.DataFrame) -> np.ndarray:
        """The positions of ``data``'s rows grouped by patient (in order of first
        appearance) and, within a patient, in history order (ties keep the row order):
        the order of :meth:`split`'s events.

        Examples
        --------
        >>> table = pd.DataFrame({"id": [2, 1, 2, 1], "day": [5, 3, 1, 0]})
        >>> HistoryLayout.of(table, "id", "day").row_order(table).tolist()
        [2, 0, 3, 1]
        """
        codes = pd.factorize(data[self.subject], sort=False)[0]
        if self.order is None:
            return np.argsort(codes, kind="stable")
        return np.lexsort([order_values(data[self.order]), codes])  # codes first

    def split(self, data: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The patients table (one row per patient, in order of first appearance, with
        :data:`ROWS`) and the events table (every row, grouped by patient in history
        order, with :data:`GAP` when there is an order column)."""
        sorted_rows = self.row_order(data)
        ordered = data.iloc[sorted_rows].reset_index(drop=True)
        codes = pd.factorize(data[self.subject], sort=False)[0][sorted_rows]
        first = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        lengths = np.diff(np.r_[first, len(ordered)])
        patients = ordered.iloc[first][self.patient_columns].reset_index(drop=True)
        patients[ROWS] = lengths
        events = ordered[self.event_columns].copy()
        if self.order is not None:
            times = order_values(ordered[self.order])
            gaps = np.diff(times, prepend=times[0])
            gaps[first] = 0.0
            events[GAP] = gaps
        return patients, events

    def join(self, patients: pd.DataFrame, events: pd.DataFrame,
             order: pd.Series | None) -> pd.DataFrame:
        """Generated ``patients`` (with :data:`ROWS`) and their ``events`` (as many rows as
        the patients' :data:`ROWS` add up to, grouped by patient) as a table of the original
        columns; ``order`` holds each row's order value, already rebuilt."""
        repeat = np.repeat(np.arange(len(patients)), patients[ROWS].to_numpy(dtype=int))
        table = patients[[c for c in self.patient_columns if c != self.order]].iloc[repeat]
        table = table.reset_index(drop=True)
        for column in self.event_columns:
            table[column] = events[column].reset_index(drop=True)
        if self.order is not None:
            table[self.order] = order.reset_index(drop=True)
        return table[self.columns]

    def to_dict(self) -> dict[str, Any]:
        """The layout as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> HistoryLayout:
        """Rebuild a layout written by :meth:`to_dict`."""
        return cls(**state)


def sample_patients(data: pd.DataFrame, subject: str, max_rows: int, seed: int
                    ) -> pd.DataFrame:
    """Whole patients drawn uniformly (seeded) until ``max_rows`` rows, in table order: a
    history is never cut. At least one patient is kept.

    Examples
    --------
    >>> table = pd.DataFrame({"id": [1, 1, 2, 3, 3, 3], "x": range(6)})
    >>> sample_patients(table, "id", 3, seed=0)["id"].tolist()  # patient 3, whole
    [3, 3, 3]
    """
    if len(data) <= max_rows:
        return data
    codes, uniques = pd.factorize(data[subject], sort=False)
    order = np.random.default_rng(seed).permutation(len(uniques))
    sizes = np.bincount(codes, minlength=len(uniques))[order]
    fitting = max(1, int(np.searchsorted(np.cumsum(sizes), max_rows, side="right")))
    chosen = np.zeros(len(uniques), dtype=bool)
    chosen[order[:fitting]] = True
    return data[chosen[codes]]
