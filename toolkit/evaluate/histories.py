"""Patients, not rows: measures of synthetic patient histories.

A longitudinal table has several rows per patient (visits, lab draws, tests), told apart by
a *subject* column and put in time order by an *order* column (a number or a date-time; the
row order without one). A synthetic table can have rows that each look real while its
patients do not: a sex that changes between visits, a lab value that jumps at random, a
visit count that follows nothing. These measures compare whole patients:

* **patient detection** (:func:`patient_detection`): every patient becomes one row of
  features (:func:`patient_features`: visit count; first, last, mean, spread and slope of
  each number; span and gaps of the order; main level and its share of each category) and
  a gradient-boosted classifier, cross-validated over
  :data:`~toolkit.evaluate.realism.DETECTION_FOLDS` folds, tells real from synthetic
  patients. AUROC 0.5: it cannot; real patients the model never saw (a holdout) show what
  indistinguishable patients score;
* **visits per patient** (:func:`visits_tv`): the total-variation distance between the
  distributions of the number of rows per patient (0: the same, 1: disjoint);
* **constant attributes** (:func:`constant_consistency`): for the columns that never change
  within a real patient (sex, date of birth, trial arm), the share of synthetic patients
  with several rows in which they stay constant;
* **serial dependence** (:func:`lag1_autocorrelation_gap`): per numeric column, the lag-1
  autocorrelation of consecutive values within a patient, real against synthetic;
* **time rules** (:func:`time_rule_violations`): order values that go back in time within
  a patient, that leave the real range, and rows after a level that real histories only
  ever end with (death, discharge);
* **membership** (:func:`patient_membership`): training patients against unseen ones, by
  their distance to the closest synthetic patient.

:func:`histories_report` bundles them with plain-language verdicts, as JSON-ready data; the
quality report (:func:`toolkit.evaluate.report.evaluate` with ``subject=``) adds it as its
``patients`` section.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.histories import constant_within
from toolkit.adapters.kinds import UNMODELLED_KINDS, infer_kinds
from toolkit.evaluate.features import model_frame, seconds_of_dates
from toolkit.evaluate.realism import DETECTION_FOLDS
from toolkit.exceptions import DataError, UsageError

#: patients of each side given to the patient classifier at most (a seeded sample beyond)
MAX_DETECTION_PATIENTS = 10_000
#: a level ends histories when real data has it on this many last rows of histories of
#: several rows, and on no other row
MIN_TERMINAL = 3
#: features named in a report as what the patient classifier keys on
TOP_FEATURES = 5
#: shuffles of each feature in the patient classifier's permutation importances
IMPORTANCE_REPEATS = 3
#: draws of the chance level of the visits-per-patient distance
CHANCE_DRAWS = 200
#: visit counts shown one by one in the distribution (larger counts share the last bin)
MAX_VISIT_BINS = 30
#: thresholds of the verdicts (the targets of issue 34), reported with them
THRESHOLDS = {
    "patient_auroc_good": 0.75, "patient_auroc_fair": 0.9,
    "visits_tv_max": 0.10, "lag1_gap_max": 0.10, "constant_share_min": 1.0,
}
#: column kinds measured as numbers (date-times as seconds)
NUMERIC_KINDS = ("continuous", "integer", "datetime")


# tables and columns ---------------------------------------------------------------------
def _kinds(table: pd.DataFrame, kinds: dict[str, str] | None) -> dict[Any, str]:
    """Kind of every column of ``table``: ``kinds`` where given, inferred otherwise."""
    given = {str(c): k for c, k in (kinds or {}).items() if c in table.columns}
    if len(given) < table.shape[1]:
        given = infer_kinds(table, given)[0]
    return {c: given[str(c)] for c in table.columns}


def _check(tables: dict[str, pd.DataFrame | None], subject: Any, order: Any) -> None:
    """Fail with one line for a subject (or order) that the tables lack or leave empty: the
    first table is the reference (a column it lacks is a usage error), the others must
    have its subject and order."""
    if subject is None:
        raise UsageError("patient measures need a subject column: the column naming each "
                         "row's patient")
    for position, (name, table) in enumerate(tables.items()):
        if table is None:
            continue
        where = f"the {name} table" if name else "the table"
        for role, column in (("subject", subject), ("order", order)):
            if column is None or column in table.columns:
                continue
            if position == 0:
                raise UsageError(f"{role} column {column!r} is not in {where}; columns: "
                                 f"{[str(c) for c in table.columns]}")
            raise DataError(f"{where} has no {role} column {column!r}")
        if len(table) == 0:
            raise DataError(f"{where} has no rows")
        if table[subject].isna().any():
            raise DataError(f"subject column {subject!r} has missing values in {where}: "
                            "every row must name its patient")


def _order_numbers(series: pd.Series, kind: str) -> np.ndarray:
    """An order column as floats: numbers, or date-times as seconds (NaN where missing).

    Raises
    ------
    DataError
        When no value present is a number or a date-time.
    """
    values = _numbers(series, kind)
    if np.isnan(values).all() and series.notna().any():
        raise DataError(f"order column {series.name!r} holds neither numbers nor date-times")
    return values


class _Histories:
    """A table's rows in history order: patients one after the other, each patient's rows
    by the order column (ties and tables without one: in row order)."""

    def __init__(self, table: pd.DataFrame, subject: Any, times: np.ndarray | None) -> None:
        codes, uniques = pd.factorize(table[subject], sort=False)
        rows = (np.lexsort([times, codes]) if times is not None
                else np.argsort(codes, kind="stable"))
        self.rows = rows
        self.codes = codes[rows]
        self.subjects = uniques
        self.n = len(uniques)
        self.starts = np.flatnonzero(np.r_[True, self.codes[1:] != self.codes[:-1]])
        self.ends = np.r_[self.starts[1:], len(rows)] - 1
        self.visits = np.bincount(self.codes, minlength=self.n)
        # consecutive rows of one patient: (row, previous row) in history order
        self.follows = np.flatnonzero(self.codes[1:] == self.codes[:-1]) + 1
        if times is None:
            position = np.arange(len(rows)) - np.repeat(self.starts, self.visits)
            self.times = position.astype(float)
        else:
            self.times = times[rows]

    def values(self, series: pd.Series) -> np.ndarray:
        """The column's values in history order."""
        return series.to_numpy()[self.rows]


def _numbers(series: pd.Series, kind: str) -> np.ndarray:
    """A column as floats: numbers, or date-times as seconds (NaN where neither)."""
    if kind == "datetime":
        return seconds_of_dates(series).to_numpy(dtype=float)
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _texts(series: pd.Series) -> pd.Series:
    return series.astype(str).where(series.notna())


def _group_mean(values: np.ndarray, codes: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per patient: the mean of the values that are not missing, and how many there are."""
    present = ~np.isnan(values)
    count = np.bincount(codes[present], minlength=n)
    total = np.bincount(codes[present], values[present], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count, count


def _slopes(times: np.ndarray, values: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Per patient, the least-squares slope of the values against the times (NaN with fewer
    than two distinct times among the values present)."""
    present = ~(np.isnan(times) | np.isnan(values))
    codes, times, values = codes[present], times[present], values[present]
    time_mean, _ = _group_mean(times, codes, n)
    value_mean, _ = _group_mean(values, codes, n)
    dt, dv = times - time_mean[codes], values - value_mean[codes]
    spread = np.bincount(codes, dt * dt, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(spread > 0, np.bincount(codes, dt * dv, minlength=n) / spread, np.nan)


def _feature_columns(kinds: dict[Any, str], subject: Any, order: Any) -> dict[Any, str]:
    return {c: k for c, k in kinds.items()
            if c not in (subject, order) and k not in UNMODELLED_KINDS}


# the measures ---------------------------------------------------------------------------
def patient_features(table: pd.DataFrame, subject: Any, order: Any = None,
                     columns: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per patient describing the patient's whole history.

    * ``visits``: the patient's number of rows;
    * per numeric column (numbers, and date-times as seconds): ``first`` and ``last`` (the
      values of the first and last rows, missing or not), ``mean``, ``std`` (population
      spread) and ``slope`` (least squares against the order, or against the row number
      within the patient without an order);
    * for the order column: ``start`` (first value), ``span`` (last - first), ``mean_gap``
      and ``max_gap`` (between consecutive rows; missing for one row);
    * per categorical column: ``main`` (the most frequent level present, ties to the first
      in text order, as text) and ``share`` (its share of the patient's rows).

    Identifiers, personal data and constant columns are left out.

    Parameters
    ----------
    table : pandas.DataFrame
        Rows of patients.
    subject : str
        The column naming each row's patient.
    order : str, optional
        The column ordering each patient's rows; ``None``: the row order.
    columns : dict, optional
        Kind of every column (as :func:`toolkit.evaluate.report.column_kinds` gives them);
        inferred when not given.

    Returns
    -------
    pandas.DataFrame
        Indexed by the subject values, in order of first appearance; columns named
        ``"<column>:<feature>"`` and ``visits``.

    Raises
    ------
    UsageError
        For a subject or order column the table does not have.
    DataError
        For a subject with missing values, or an order that is neither numbers nor dates.

    Examples
    --------
    >>> visits = pd.DataFrame({"id": [1, 1, 1, 2, 2], "day": [0, 30, 60, 0, 10],
    ...                        "hb": [10.0, 11.0, 12.0, 9.0, 8.5],
    ...                        "sex": ["f", "f", "f", "m", "m"]})
    >>> kinds = {"id": "id", "day": "integer", "hb": "continuous", "sex": "categorical"}
    >>> features = patient_features(visits, "id", "day", kinds)
    >>> features[["visits", "hb:first", "hb:last", "hb:slope", "day:span", "sex:main"]]
        visits  hb:first  hb:last  hb:slope  day:span sex:main
    id
    1        3      10.0     12.0  0.033333      60.0        f
    2        2       9.0      8.5 -0.050000      10.0        m
    """
    _check({"": table}, subject, order)
    kinds = _kinds(table, columns)
    times = None if order is None else _order_numbers(table[order], kinds[order])
    histories = _Histories(table, subject, times)
    n, codes = histories.n, histories.codes
    features: dict[str, Any] = {"visits": histories.visits}
    if order is not None:
        start, end = histories.times[histories.starts], histories.times[histories.ends]
        gaps = np.full(len(codes), np.nan)
        gaps[histories.follows] = np.diff(histories.times)[histories.follows - 1]
        mean_gap, _ = _group_mean(gaps, codes, n)
        max_gap = pd.Series(gaps).groupby(codes).max().reindex(range(n)).to_numpy()
        features.update({f"{order}:start": start, f"{order}:span": end - start,
                         f"{order}:mean_gap": mean_gap, f"{order}:max_gap": max_gap})
    for column, kind in _feature_columns(kinds, subject, order).items():
        if kind in NUMERIC_KINDS:
            values = _numbers(table[column], kind)[histories.rows]
            mean, count = _group_mean(values, codes, n)
            deviation = np.where(np.isnan(values), 0.0, values - mean[codes]) ** 2
            with np.errstate(invalid="ignore", divide="ignore"):
                spread = np.sqrt(np.bincount(codes, deviation, minlength=n) / count)
            features.update({
                f"{column}:first": values[histories.starts],
                f"{column}:last": values[histories.ends], f"{column}:mean": mean,
                f"{column}:std": spread,
                f"{column}:slope": _slopes(histories.times, values, codes, n)})
        else:
            texts = pd.DataFrame({"patient": codes,
                                  "level": histories.values(_texts(table[column]))}).dropna()
            counts = texts.groupby(["patient", "level"]).size().rename("rows").reset_index()
            main = counts.sort_values(["patient", "rows", "level"],
                                      ascending=[True, False, True]).drop_duplicates("patient")
            main = main.set_index("patient").reindex(range(n))
            features.update({f"{column}:main": main["level"].to_numpy(dtype=object),
                             f"{column}:share": main["rows"].fillna(0).to_numpy()
                             / histories.visits})
    frame = pd.DataFrame(features, index=pd.Index(histories.subjects, name=subject))
    return frame


def _feature_kinds(features: pd.DataFrame) -> dict[str, str]:
    return {c: "categorical" if c.endswith(":main") else "continuous" for c in features}


def patient_detection(real: pd.DataFrame, synthetic: pd.DataFrame, subject: Any,
                      order: Any = None, random_state: int = 0,
                      kinds: dict[str, str] | None = None,
                      importances: bool = True) -> dict[str, Any]:
    """Can a classifier tell synthetic patients from real ones? Cross-validated AUROC.

    Every patient of both tables becomes one row of :func:`patient_features`; both sides
    are cut to the same number of patients (at most :data:`MAX_DETECTION_PATIENTS`, a
    seeded sample), so that always guessing one side scores 0.5, and a
    ``HistGradientBoostingClassifier`` (categorical main levels as categories shared
    between the tables) is cross-validated over
    :data:`~toolkit.evaluate.realism.DETECTION_FOLDS` stratified folds. With
    ``importances``, the first fold's held-out patients also give every feature's
    permutation importance (the AUROC lost when its values are shuffled, mean of
    :data:`IMPORTANCE_REPEATS` shuffles): what gives the synthetic patients away.

    Parameters
    ----------
    real, synthetic : pandas.DataFrame
        Rows of real and synthetic patients (same columns).
    subject : str
        The column naming each row's patient.
    order : str, optional
        The column ordering each patient's rows; ``None``: the row order.
    random_state : int, default 0
        Seed of the sample, the folds and the classifier.
    kinds : dict, optional
        Kind of every column; inferred from ``real`` when not given.
    importances : bool, default True
        Also measure the features' permutation importances.

    Returns
    -------
    dict
        ``auroc`` (``None`` with fewer than ``2 * DETECTION_FOLDS`` patients a side),
        ``patients`` (per side) and ``top_features`` (up to :data:`TOP_FEATURES`
        ``{"feature", "importance"}`` with a positive importance, largest first).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> def visits(shift):
    ...     ids = np.repeat(np.arange(60), 4)
    ...     return pd.DataFrame({"id": ids, "week": np.tile([0, 1, 2, 3], 60),
    ...                          "hb": 10 + shift * np.tile([0, 1, 2, 3], 60)
    ...                          + rng.normal(0, 0.3, 240)})
    >>> kinds = {"id": "id", "week": "integer", "hb": "continuous"}
    >>> same = patient_detection(visits(0.0), visits(0.0), "id", "week", kinds=kinds)
    >>> rising = patient_detection(visits(0.0), visits(1.0), "id", "week", kinds=kinds)
    >>> same["auroc"] < 0.7, rising["auroc"] > 0.95, rising["top_features"][0]["feature"]
    (True, True, 'hb:last')
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.inspection import permutation_importance
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    _check({"real": real, "synthetic": synthetic}, subject, order)
    kinds = _kinds(real, kinds)
    sides = [patient_features(table, subject, order, kinds) for table in (real, synthetic)]
    n = min(len(sides[0]), len(sides[1]), MAX_DETECTION_PATIENTS)
    result: dict[str, Any] = {"auroc": None, "patients": n, "top_features": []}
    if n < 2 * DETECTION_FOLDS:
        return result
    rng = np.random.default_rng(random_state)
    sides = [side.iloc[np.sort(rng.choice(len(side), n, replace=False))] for side in sides]
    frame = pd.concat(model_frame(sides, _feature_kinds(sides[0]), list(sides[0].columns)),
                      ignore_index=True)
    frame = frame[frame.columns[frame.notna().any()]]
    # a plain array (category codes, NaN for missing) predicts many times faster than a
    # frame, which the permutations need
    categorical = np.array([isinstance(frame[c].dtype, pd.CategoricalDtype) for c in frame])
    x = np.column_stack([frame[c].cat.codes.replace(-1, np.nan).to_numpy(dtype=float)
                         if is_category else frame[c].to_numpy(dtype=float)
                         for c, is_category in zip(frame, categorical, strict=True)])
    y = np.r_[np.zeros(n), np.ones(n)]
    folds = StratifiedKFold(DETECTION_FOLDS, shuffle=True, random_state=random_state)
    scores, lost = [], np.zeros(x.shape[1])
    with threadpool_limits(1):  # small models: one thread is fastest on a shared machine
        for fold, (train, test) in enumerate(folds.split(x, y)):
            model = HistGradientBoostingClassifier(
                categorical_features=categorical if categorical.any() else None,
                random_state=random_state)
            model.fit(x[train], y[train])
            scores.append(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1]))
            if importances and fold == 0:  # the first fold's held-out patients
                lost = permutation_importance(
                    model, x[test], y[test], scoring="roc_auc", n_repeats=IMPORTANCE_REPEATS,
                    random_state=random_state).importances_mean
    result["auroc"] = float(np.mean(scores))
    ranked = sorted(zip(frame.columns, lost, strict=True),
                    key=lambda item: -item[1])
    result["top_features"] = [{"feature": str(name), "importance": float(value)}
                              for name, value in ranked[:TOP_FEATURES] if value > 0]
    return result


def visits_per_patient(table: pd.DataFrame, subject: Any) -> pd.Series:
    """How many patients have each number of rows (index: rows per patient, sorted)."""
    return table.groupby(subject, sort=False).size().value_counts().sort_index()


def visits_tv(real: pd.DataFrame, synthetic: pd.DataFrame, subject: Any) -> float:
    """Total-variation distance between the distributions of rows per patient.

    Half the sum, over every number of rows k, of the difference between the share of real
    and of synthetic patients with k rows: 0 when the distributions are the same, 1 when
    they share no count.

    Examples
    --------
    >>> real = pd.DataFrame({"id": [1, 1, 2, 2, 3]})
    >>> visits_tv(real, real, "id")
    0.0
    >>> round(visits_tv(real, pd.DataFrame({"id": [7, 8, 9]}), "id"), 3)  # one row each
    0.667
    """
    _check({"real": real, "synthetic": synthetic}, subject, None)
    shares = [visits_per_patient(table, subject) for table in (real, synthetic)]
    shares = [s / s.sum() for s in shares]
    both = shares[0].index.union(shares[1].index)
    difference = shares[0].reindex(both, fill_value=0.0) - shares[1].reindex(both,
                                                                              fill_value=0.0)
    return float(0.5 * difference.abs().sum())


def visits_tv_chance(real: pd.DataFrame, patients: int, subject: Any,
                     random_state: int = 0) -> float:
    """The visits-per-patient TV distance that chance alone reaches: the 95th percentile,
    over :data:`CHANCE_DRAWS` seeded draws, of the distance between two samples of the real
    distribution, one as large as the real table and one of ``patients`` patients.

    A small table has few patients per visit count, so even two sets of real patients
    differ by more than a fixed threshold; a synthetic table within this distance differs
    no more than another sample of patients of its size would.

    Examples
    --------
    >>> real = pd.DataFrame({"id": np.repeat(np.arange(100), np.arange(100) % 5 + 1)})
    >>> 0.1 < visits_tv_chance(real, 100, "id") < 0.3
    True
    """
    counts = visits_per_patient(real, subject)
    shares = (counts / counts.sum()).to_numpy()
    rng = np.random.default_rng(random_state)
    first = rng.multinomial(counts.sum(), shares, CHANCE_DRAWS) / counts.sum()
    second = rng.multinomial(patients, shares, CHANCE_DRAWS) / patients
    distances = 0.5 * np.abs(first - second).sum(axis=1)
    return float(np.quantile(distances, 0.95))


def constant_consistency(real: pd.DataFrame, synthetic: pd.DataFrame, subject: Any
                         ) -> dict[str, Any]:
    """For the columns constant within every real patient, the share of synthetic patients
    (with at least two rows) in which each stays constant (a missing value counts as a
    value).

    Returns
    -------
    dict
        ``columns`` (per column: its share, ``None`` when no synthetic patient has two
        rows), ``minimum`` (the smallest share; ``None`` without such columns or
        patients) and ``patients`` (synthetic patients with at least two rows).

    Examples
    --------
    >>> real = pd.DataFrame({"id": [1, 1, 2, 2], "sex": ["f", "f", "m", "m"],
    ...                      "hb": [9.0, 9.5, 11.0, 10.0]})
    >>> synthetic = pd.DataFrame({"id": [5, 5, 6, 6], "sex": ["f", "m", "m", "m"],
    ...                           "hb": [9.0, 9.1, 10.0, 10.0]})
    >>> constant_consistency(real, synthetic, "id")
    {'columns': {'sex': 0.5}, 'minimum': 0.5, 'patients': 2}
    """
    _check({"real": real, "synthetic": synthetic}, subject, None)
    columns = constant_within(real, subject)
    sizes = synthetic.groupby(subject, sort=False)[subject].transform("size")
    repeated = synthetic[sizes > 1]
    patients = int(repeated[subject].nunique())
    shares: dict[str, float | None] = {}
    for column in columns:
        shares[str(column)] = (None if patients == 0 else float(
            (repeated.groupby(subject, sort=False)[column].nunique(dropna=False) <= 1).mean()))
    present = [share for share in shares.values() if share is not None]
    return {"columns": shares, "minimum": min(present) if present else None,
            "patients": patients}


def _lag1(histories: _Histories, values: np.ndarray) -> float | None:
    """Pooled Pearson correlation of consecutive values within patients (``None`` with
    fewer than 3 pairs or no spread)."""
    current, previous = values[histories.follows], values[histories.follows - 1]
    present = ~(np.isnan(current) | np.isnan(previous))
    current, previous = current[present], previous[present]
    if len(current) < 3 or np.std(current) == 0 or np.std(previous) == 0:
        return None
    return float(np.corrcoef(current, previous)[0, 1])


def lag1_autocorrelation_gap(real: pd.DataFrame, synthetic: pd.DataFrame, subject: Any,
                             order: Any = None, kinds: dict[str, str] | None = None
                             ) -> dict[str, Any]:
    """Per numeric column that changes within real patients, the lag-1 autocorrelation of
    its values within patients, real against synthetic.

    The rows of each patient are put in order (by ``order``, else the row order); every
    pair of consecutive values of one patient, both present, is a pair (x_t, x_t-1); the
    autocorrelation is the Pearson correlation of all pairs of all patients together. A
    column the real patients keep constant is measured by :func:`constant_consistency`
    instead. Where the synthetic correlation is undefined (no patient with two values, or
    no spread) the synthetic rows carry no serial dependence: it counts as 0.

    Returns
    -------
    dict
        ``columns`` (per column: ``real``, ``synthetic`` and ``gap`` = |real - synthetic|)
        and ``mean_gap`` (over the columns; ``None`` without any).

    Examples
    --------
    >>> real = pd.DataFrame({"id": [1, 1, 1, 2, 2, 2], "hb": [9.0, 9.2, 9.4, 12.0, 12.1, 12.3]})
    >>> shuffled = pd.DataFrame({"id": [1, 1, 1, 2, 2, 2],
    ...                          "hb": [9.0, 12.1, 9.4, 12.0, 9.2, 12.3]})
    >>> kinds = {"id": "id", "hb": "continuous"}
    >>> lag1_autocorrelation_gap(real, real, "id", kinds=kinds)["mean_gap"]
    0.0
    >>> round(lag1_autocorrelation_gap(real, shuffled, "id", kinds=kinds)["mean_gap"], 2)
    1.99
    """
    _check({"real": real, "synthetic": synthetic}, subject, order)
    kinds = _kinds(real, kinds)
    constant = set(constant_within(real, subject))
    sides = []
    for table in (real, synthetic):
        times = None if order is None else _order_numbers(table[order], kinds[order])
        sides.append(_Histories(table, subject, times))
    columns: dict[str, dict[str, float | None]] = {}
    for column, kind in _feature_columns(kinds, subject, order).items():
        if kind not in NUMERIC_KINDS or column in constant:
            continue
        real_r = _lag1(sides[0], _numbers(real[column], kind)[sides[0].rows])
        if real_r is None:
            continue
        synthetic_r = _lag1(sides[1], _numbers(synthetic[column], kind)[sides[1].rows])
        synthetic_r = 0.0 if synthetic_r is None else synthetic_r
        columns[str(column)] = {"real": real_r, "synthetic": synthetic_r,
                                "gap": abs(real_r - synthetic_r)}
    gaps = [entry["gap"] for entry in columns.values()]
    return {"columns": columns, "mean_gap": float(np.mean(gaps)) if gaps else None}


def terminal_levels(real: pd.DataFrame, subject: Any, order: Any = None,
                    kinds: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Per categorical column, the levels (as text) that real histories only ever end with:
    found on at least :data:`MIN_TERMINAL` last rows of histories of several rows, and on
    no other row of such a history (death, discharge).

    Examples
    --------
    >>> visits = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3, 4, 4], "day": [0, 5] * 4,
    ...                        "state": ["ill", "dead", "ill", "dead", "ill", "dead",
    ...                                  "ill", "well"]})
    >>> terminal_levels(visits, "id", "day")
    {'state': ['dead']}
    """
    _check({"real": real}, subject, order)
    kinds = _kinds(real, kinds)
    times = None if order is None else _order_numbers(real[order], kinds[order])
    histories = _Histories(real, subject, times)
    long = histories.visits[histories.codes] > 1
    last = np.zeros(len(histories.rows), dtype=bool)
    last[histories.ends] = True
    found = {}
    for column, kind in _feature_columns(kinds, subject, order).items():
        if kind in NUMERIC_KINDS:
            continue
        texts = pd.Series(histories.values(_texts(real[column])))
        at_end = texts[last & long].value_counts()
        levels = set(at_end.index[at_end >= MIN_TERMINAL]) - set(texts[~last & long].dropna())
        if levels:
            found[str(column)] = sorted(levels)
    return found


def time_rule_violations(synthetic: pd.DataFrame, subject: Any, order: Any,
                         real: pd.DataFrame, kinds: dict[str, str] | None = None
                         ) -> dict[str, Any]:
    """Rows of ``synthetic`` that break the time rules of real histories, counted.

    * ``order_decreasing``: rows whose order value is below that of the patient's previous
      row, in the table's row order (a history read top to bottom);
    * ``order_repeated``: rows whose order value equals that of the patient's previous row
      (two visits at one time), when no real patient has such a repeat;
    * ``order_outside_range``: order values below the real minimum or above the real
      maximum;
    * ``order_missing``: rows without an order value (when every real row has one);
    * ``after_terminal``: rows that come, in history order, after a row with a level that
      real histories only end with (:func:`terminal_levels`).

    The order counts are ``None`` without an order column. A real table stored in history
    order has none of them.

    Returns
    -------
    dict
        The five counts, ``terminal_levels`` and ``total``.

    Examples
    --------
    >>> real = pd.DataFrame({"id": [1, 1, 2, 2, 3, 3], "day": [0, 5, 0, 9, 0, 7],
    ...                      "state": ["ill", "dead"] * 3})
    >>> synthetic = pd.DataFrame({"id": [8, 8, 8, 9, 9, 9], "day": [0, 4, 2, 0, 0, 12],
    ...                           "state": ["ill", "dead", "ill", "ill", "dead", "ill"]})
    >>> counts = time_rule_violations(synthetic, "id", "day", real)
    >>> counts["order_decreasing"], counts["order_repeated"], counts["order_outside_range"]
    (1, 1, 1)
    >>> counts["after_terminal"]
    1
    >>> time_rule_violations(real, "id", "day", real)["total"]
    0
    """
    _check({"real": real, "synthetic": synthetic}, subject, order)
    kinds = _kinds(real, kinds)
    terminal = terminal_levels(real, subject, order, kinds)
    counts: dict[str, Any] = dict.fromkeys(("order_decreasing", "order_repeated",
                                            "order_outside_range", "order_missing"))
    times = None
    if order is not None:
        real_times = _order_numbers(real[order], kinds[order])
        times = _order_numbers(synthetic[order], kinds[order])
        steps = pd.Series(times).groupby(synthetic[subject].to_numpy(), sort=False).diff()
        low, high = np.nanmin(real_times), np.nanmax(real_times)
        present = ~np.isnan(times)
        in_order = _Histories(real, subject, real_times)
        repeats = (np.diff(in_order.times)[in_order.follows - 1] == 0).any()
        counts.update(
            order_decreasing=int((steps < 0).sum()),
            order_repeated=0 if repeats else int((steps == 0).sum()),
            order_outside_range=int(((times[present] < low) | (times[present] > high)).sum()),
            order_missing=0 if np.isnan(real_times).any() else int((~present).sum()))
        times = np.where(present, times, np.inf)  # a row without a time ends its history
    histories = _Histories(synthetic, subject, times)
    ended = np.zeros(len(histories.rows), dtype=bool)
    for column, levels in terminal.items():
        ended |= pd.Series(histories.values(_texts(synthetic[column]))).isin(levels).to_numpy()
    before = pd.Series(ended).groupby(histories.codes).cumsum().to_numpy() - ended
    counts["after_terminal"] = int((before > 0).sum())
    counts["terminal_levels"] = terminal
    counts["total"] = sum(counts[key] or 0 for key in (
        "order_decreasing", "order_repeated", "order_outside_range", "order_missing",
        "after_terminal"))
    return counts


def patient_membership(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame,
                       subject: Any, order: Any = None, kinds: dict[str, str] | None = None,
                       random_state: int = 0) -> dict[str, Any]:
    """A membership-inference attack on whole patients: training patients against unseen
    (holdout) ones, each scored by its distance to the closest synthetic patient.

    Patients are rows of :func:`patient_features`, embedded as the α-precision /
    β-recall rows are (:mod:`toolkit.evaluate.realism`: numbers standardised by the
    training patients, with missing flags; main levels one-hot). AUROC 0.5: the synthetic
    patients are no closer to the patients the model learnt from than to unseen ones. At
    most :data:`MAX_DETECTION_PATIENTS` patients of each table (a seeded sample).

    Returns
    -------
    dict
        ``auc`` (``None`` with fewer than 2 patients on a side), ``members`` and
        ``non_members`` (patients attacked).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.neighbors import NearestNeighbors

    from toolkit.evaluate.realism import _embed

    _check({"real": train, "synthetic": synthetic, "holdout": holdout}, subject, order)
    kinds = _kinds(train, kinds)
    rng = np.random.default_rng(random_state)
    sides = []
    for table in (train, holdout, synthetic):
        features = patient_features(table, subject, order, kinds)
        if len(features) > MAX_DETECTION_PATIENTS:
            features = features.iloc[np.sort(rng.choice(len(features), MAX_DETECTION_PATIENTS,
                                                        replace=False))]
        sides.append(features)
    members, others = len(sides[0]), len(sides[1])
    if min(members, others, len(sides[2])) < 2:
        return {"auc": None, "members": members, "non_members": others}
    embedded = _embed(sides, _feature_kinds(sides[0]))
    nearest = NearestNeighbors(n_neighbors=1).fit(embedded[2])
    distance = [nearest.kneighbors(part)[0][:, 0] for part in embedded[:2]]
    auc = roc_auc_score(np.r_[np.ones(members), np.zeros(others)],
                        -np.concatenate(distance))
    return {"auc": float(auc), "members": members, "non_members": others}


# the bundle -----------------------------------------------------------------------------
def _distribution(real: pd.DataFrame, synthetic: pd.DataFrame, subject: Any
                  ) -> dict[str, list[float]]:
    """Share of patients per number of rows, up to :data:`MAX_VISIT_BINS` (the last bin
    holds every larger count)."""
    counts = [visits_per_patient(table, subject) for table in (real, synthetic)]
    top = int(min(MAX_VISIT_BINS, max(c.index.max() for c in counts)))
    shares = []
    for series in counts:
        binned = series.groupby(np.minimum(series.index, top)).sum()
        shares.append((binned.reindex(range(1, top + 1), fill_value=0) / series.sum())
                      .tolist())
    return {"visits": list(range(1, top + 1)), "real": shares[0], "synthetic": shares[1]}


def histories_verdicts(part: dict[str, Any]) -> dict[str, str]:
    """Plain-language verdicts of a :func:`histories_report`: do the patients look real
    (``patients``: ``look real``, ``partly told apart``, ``told apart`` or ``not
    measured``, graded ``good``/``fair``/``poor`` by :data:`THRESHOLDS`), and are the
    history rules kept (``history_rules``: ``kept`` or ``broken``), each with its reason.

    The rules are broken by any time-rule violation, a constant attribute that changes
    within a synthetic patient, a real subject ID, a visits TV above both its threshold
    and chance (:func:`visits_tv_chance`), or a lag-1 gap above both its threshold and
    what unseen real patients show (the holdout's, when measured)."""
    t = THRESHOLDS
    auroc, floor = part["detection_auroc"], part.get("holdout_detection_auroc")
    if auroc is None:
        verdict, grade = "not measured", "not-measured"
        reason = "too few patients to train the patient classifier"
    else:
        verdict, grade = (("look real", "good") if auroc <= t["patient_auroc_good"] else
                          ("partly told apart", "fair") if auroc <= t["patient_auroc_fair"]
                          else ("told apart", "poor"))
        reason = (f"a classifier tells synthetic from real patients (visit count; first, last, "
                  f"mean, spread and slope of each number; time span and gaps; main "
                  f"category) with AUROC {auroc:.2f} (0.5: it cannot"
                  + (f"; unseen real patients: {floor:.2f}" if floor is not None else "")
                  + f"; patients look real ≤ {t['patient_auroc_good']})")
        keys = [entry["feature"] for entry in part["detection_top_features"][:3]]
        if keys and auroc > t["patient_auroc_good"]:
            reason += f"; it keys most on {', '.join(keys)}"
    problems = []
    violations = part["violations"]
    for key, words in (("order_decreasing", "go back in time within a patient"),
                       ("order_repeated", "repeat the time of the patient's previous row"),
                       ("order_outside_range", "have an order value outside the real range"),
                       ("order_missing", "have no order value"),
                       ("after_terminal", "come after a level that real histories end with")):
        if violations.get(key):
            problems.append(f"{violations[key]} row(s) {words}")
    constant = part["constant"]
    for column, share in constant["columns"].items():
        if share is not None and share < t["constant_share_min"]:
            problems.append(f"{column!r} changes within {1 - share:.0%} of synthetic patients "
                            "(constant in every real one)")
    if part["real_subject_ids"]:
        problems.append(f"{part['real_subject_ids']} synthetic patient(s) carry a real "
                        "subject ID")
    # a difference within what unseen real patients show is sampling noise
    limit = max(t["visits_tv_max"], part["visits_tv_chance"])
    if part["visits_tv"] > limit:
        problems.append(f"visits per patient differ (total-variation distance "
                        f"{part['visits_tv']:.2f} > {limit:.2f})")
    gap = part["lag1"]["mean_gap"]
    limit = max(t["lag1_gap_max"], part.get("holdout_lag1_gap") or 0.0)
    if gap is not None and gap > limit:
        problems.append(f"values follow each other unlike real ones (mean lag-1 "
                        f"autocorrelation gap {gap:.2f} > {limit:.2f})")
    kept = ("visits per patient, constant attributes, serial dependence and time order as in "
            f"the real histories (visits TV ≤ {t['visits_tv_max']} or within chance, lag-1 "
            f"gap ≤ {t['lag1_gap_max']} or within what unseen real patients show; constant "
            "in every patient; no time-rule violation; no real subject ID)")
    return {"patients": verdict, "patients_grade": grade, "patients_reason": reason,
            "history_rules": "broken" if problems else "kept",
            "history_rules_reason": "; ".join(problems) if problems else kept}


def histories_report(real: pd.DataFrame, synthetic: pd.DataFrame, subject: Any,
                     order: Any = None, holdout: pd.DataFrame | None = None,
                     random_state: int = 0, kinds: dict[str, str] | None = None
                     ) -> dict[str, Any]:
    """Every patient-level measure of ``synthetic`` against ``real``, with verdicts.

    With a ``holdout`` of real patients the model never saw, the same measures of the
    holdout against ``real`` show what indistinguishable patients score (the floors:
    ``holdout_detection_auroc``, ``holdout_visits_tv``, ``holdout_lag1_gap``) and a
    membership attack on whole patients is run (:func:`patient_membership`).

    Parameters
    ----------
    real : pandas.DataFrame
        The real (training) rows.
    synthetic : pandas.DataFrame
        The synthetic rows (same columns).
    subject : str
        The column naming each row's patient.
    order : str, optional
        The column ordering each patient's rows; ``None``: the row order.
    holdout : pandas.DataFrame, optional
        Real rows of patients the model never saw (no patient on both sides).
    random_state : int, default 0
        Seed of the samples, folds and classifiers.
    kinds : dict, optional
        Kind of every column; inferred from ``real`` when not given.

    Returns
    -------
    dict
        JSON-ready: ``subject``, ``order``, ``patients`` (per table), the measures
        (``detection_auroc``, ``detection_top_features``, ``visits_tv``,
        ``visits_distribution``, ``constant``, ``lag1``, ``violations`` and
        ``real_violations`` (the real table's own, 0 when it is stored in history order),
        ``visits_tv_chance`` (:func:`visits_tv_chance`),
        ``real_subject_ids``), the floors and ``membership`` with a holdout, the
        ``summary`` of :func:`histories_verdicts` and the ``thresholds``.

    Raises
    ------
    UsageError
        For a subject or order column the real table does not have.
    DataError
        For a table without that column, or a subject with missing values.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ids = np.repeat(np.arange(40), 3)
    >>> real = pd.DataFrame({"id": ids, "week": np.tile([0, 4, 8], 40),
    ...                      "sex": np.repeat(rng.choice(["f", "m"], 40), 3),
    ...                      "hb": np.repeat(rng.normal(12, 1, 40), 3) + rng.normal(0, .2, 120)})
    >>> same = histories_report(real, real, "id", "week")
    >>> same["visits_tv"], same["lag1"]["mean_gap"], same["violations"]["total"]
    (0.0, 0.0, 0)
    >>> same["summary"]["history_rules"], same["real_subject_ids"]
    ('broken', 40)
    """
    _check({"real": real, "synthetic": synthetic, "holdout": holdout}, subject, order)
    kinds = _kinds(real, kinds)
    detection = patient_detection(real, synthetic, subject, order, random_state, kinds)
    known = set(_texts(real[subject]))
    if holdout is not None:
        known |= set(_texts(holdout[subject]))
    fresh = _texts(synthetic[subject]).drop_duplicates()
    part: dict[str, Any] = {
        "subject": str(subject), "order": None if order is None else str(order),
        "patients": {"real": int(real[subject].nunique()),
                     "synthetic": int(synthetic[subject].nunique()),
                     "holdout": None if holdout is None else int(holdout[subject].nunique())},
        "rows_per_patient": {"real": len(real) / real[subject].nunique(),
                             "synthetic": len(synthetic) / synthetic[subject].nunique()},
        "detection_auroc": detection["auroc"],
        "detection_patients": detection["patients"],
        "detection_top_features": detection["top_features"],
        "visits_tv": visits_tv(real, synthetic, subject),
        "visits_tv_chance": visits_tv_chance(real, int(synthetic[subject].nunique()), subject,
                                             random_state),
        "visits_distribution": _distribution(real, synthetic, subject),
        "constant": constant_consistency(real, synthetic, subject),
        "lag1": lag1_autocorrelation_gap(real, synthetic, subject, order, kinds),
        "violations": time_rule_violations(synthetic, subject, order, real, kinds),
        "real_violations": time_rule_violations(real, subject, order, real, kinds)["total"],
        "real_subject_ids": int(fresh.isin(known).sum()),
        "holdout_detection_auroc": None, "holdout_visits_tv": None, "holdout_lag1_gap": None,
        "membership": None,
    }
    if holdout is not None:
        part.update(
            holdout_detection_auroc=patient_detection(real, holdout, subject, order,
                                                      random_state, kinds,
                                                      importances=False)["auroc"],
            holdout_visits_tv=visits_tv(real, holdout, subject),
            holdout_lag1_gap=lag1_autocorrelation_gap(real, holdout, subject, order,
                                                      kinds)["mean_gap"],
            membership=patient_membership(real, synthetic, holdout, subject, order, kinds,
                                          random_state))
    part["summary"] = histories_verdicts(part)
    part["thresholds"] = THRESHOLDS
    return part
