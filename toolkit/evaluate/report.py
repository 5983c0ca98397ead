"""Quality and privacy report on a synthetic table: :func:`evaluate`.

Three questions someone approving a release asks, each answered with measured
numbers and a plain-language verdict:

* **Fidelity** — does the synthetic table look like the real one? sdmetrics'
  ``QualityReport`` (column shapes, column-pair trends) and ``DiagnosticReport``
  (validity, structure), per column and overall.
* **Utility** — is it useful for analysis? A gradient-boosting model trained on
  synthetic rows and tested on real rows (TSTR) against one trained on real
  rows (TRTR), macro-F1 for a categorical target and R² for a numeric one.
* **Privacy** — does it reveal the real rows? Needs a *holdout* of real rows
  the model never saw: distances to the closest training record (synthetic vs
  holdout), the share of synthetic rows closer to training than to holdout
  rows, exact copies, and a distance-based membership-inference attack with a
  confidence interval (by patient when a column names the patient of each row,
  :func:`subject_column`). Without a holdout: real identifiers and personal data
  in the synthetic rows, and rare real values (fingerprints) in any column.

Rows are encoded for distances with every numeric column scaled to [0, 1] by
the real data's range (plus a missing indicator) and every other column
one-hot with weight ½, so one differing category counts 1 in the L1
(Manhattan) distance, like one numeric column's full range.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.kinds import (
    IDENTIFYING_KINDS,
    PERSONAL_KINDS,
    UNMODELLED_KINDS,
    infer_kinds,
    utc_instants,
)
from toolkit.adapters.tabular import check_table, load_metadata
from toolkit.evaluate.features import model_frame, seconds_of_dates
from toolkit.evaluate.realism import DETECTION_FOLDS, MAX_SUPPORT_ROWS, realism
from toolkit.exceptions import DataError
from toolkit.io.metadata import read_metadata

#: sdmetrics sdtype of each of our column kinds
SDTYPES = {"continuous": "numerical", "integer": "numerical", "categorical": "categorical",
           "boolean": "boolean", "datetime": "datetime", "id": "id", "constant": "categorical",
           # personal data is never modelled (fresh values are generated): not compared, like IDs
           **dict.fromkeys(PERSONAL_KINDS, "id")}
#: rows of each table (real, synthetic, holdout) a report measures at most by default: a
#: seeded uniform sample beyond, stated in the report (``evaluate(max_rows=...)``,
#: ``toolkit report --max-rows``)
MAX_ROWS = 50_000
#: rows given to sdmetrics at most (a random sample beyond, said in the report's notes)
MAX_FIDELITY_ROWS = 20_000
#: rows compared in the privacy distances at most (a random sample beyond)
MAX_PRIVACY_ROWS = 10_000

#: thresholds of the verdicts, reported with them
THRESHOLDS = {
    "quality_good": 0.8, "quality_fair": 0.7,
    "utility_good": 0.9, "utility_fair": 0.75,
    "closer_to_train_excess_max": 0.1,
    "membership_auc_max": 0.6,
    "exact_copy_excess_max": 0.01,
    "rare_value_holders_max": 2,
    "rare_value_excess_max": 0.05,
    "rare_value_z_min": 3.0,
    "rare_value_key_share_min": 0.99,
}
#: confidence level of the membership-inference AUC's interval
CI_LEVEL = 0.95


@dataclass
class Report:
    """The result of :func:`evaluate`: nested measurements plus verdicts.

    Attributes
    ----------
    fidelity, utility, privacy : dict
        The measurements of each section (``utility`` and ``privacy`` are
        ``None`` when no target / no holdout was given).
    summary : dict
        One verdict per section and the overall quality score.
    notes : list of str
        What was sampled or skipped, and why.
    columns : dict
        Per-column data for plots (kinds; real and synthetic values sampled).
    patients : dict or None
        The patient-level section of a longitudinal table
        (:func:`toolkit.evaluate.histories.histories_report`), ``None`` when no subject
        column was given.
    """

    fidelity: dict[str, Any]
    utility: dict[str, Any] | None
    privacy: dict[str, Any] | None
    summary: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    columns: dict[str, Any] = field(default_factory=dict, repr=False)
    patients: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every measurement as JSON-ready data (plots' raw values left out); the
        ``patients`` section only for a longitudinal table."""
        data = {"summary": self.summary, "fidelity": self.fidelity, "utility": self.utility,
                "privacy": self.privacy, "thresholds": THRESHOLDS, "notes": self.notes}
        if self.patients is not None:
            data["patients"] = self.patients
        return data

    def to_json(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON (atomically)."""
        from toolkit.io.tables import write_text

        write_text(path, json.dumps(self.to_dict(), indent=2, default=_json_default) + "\n")

    def to_html(self, path: str | Path) -> None:
        """Write a self-contained HTML page (inline SVG plots, no scripts, no web fonts)."""
        from toolkit.evaluate.page import render
        from toolkit.io.tables import write_text

        write_text(path, render(self))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# checks ---------------------------------------------------------------------------------
def column_kinds(real: pd.DataFrame, metadata: dict | str | Path | None) -> dict[str, str]:
    """Kind of every real column: the metadata's where given, inferred otherwise (by
    :func:`toolkit.adapters.kinds.infer_kinds`, as the models infer them)."""
    overrides = load_metadata(read_metadata(metadata))
    unknown = sorted(set(overrides) - {str(c) for c in real.columns})
    if unknown:
        raise DataError(f"metadata names columns not in the real table: {unknown}")
    kinds, _ = infer_kinds(real, overrides)
    return {c: kinds[str(c)] for c in real.columns}


def subject_column(table: pd.DataFrame, kinds: dict[str, str]) -> str | None:
    """The column that names the subject (the patient) of each row, or ``None``.

    A table with several rows per patient (visits, admissions, lab draws) has an ID
    column whose values repeat. Among the columns of kind ``id`` (as inferred or
    declared: ``kinds``) whose values repeat, the one with the fewest distinct values,
    at least two, is the subject: the coarsest unit, which the others (a visit number)
    are nested in. Ties go to the earlier column. Holdouts are split by it, and the
    report's membership attack and rare-value counts take whole subjects.

    Parameters
    ----------
    table : pandas.DataFrame
        The real rows.
    kinds : dict
        Kind of every column (:func:`column_kinds`).

    Returns
    -------
    str or None
        The subject column; ``None`` when no ID column repeats (one row per patient).

    Examples
    --------
    >>> visits = pd.DataFrame({"patient_id": [1, 1, 2, 2, 3], "visit_id": [1, 2, 3, 4, 5],
    ...                        "hba1c": [6.1, 6.4, 7.0, 7.2, 5.9]})
    >>> subject_column(visits, {"patient_id": "id", "visit_id": "id", "hba1c": "continuous"})
    'patient_id'
    >>> subject_column(visits, {"patient_id": "integer", "visit_id": "id",
    ...                         "hba1c": "continuous"}) is None
    True
    """
    candidates = []
    for position, (column, kind) in enumerate(kinds.items()):
        if kind != "id":
            continue
        observed = table[column].dropna()
        distinct = observed.nunique()
        if 2 <= distinct < len(observed):
            candidates.append((distinct, position, column))
    return min(candidates)[2] if candidates else None


def subject_groups(table: pd.DataFrame, subject: str | None) -> np.ndarray:
    """Each row's subject as an integer code: equal codes for rows of one subject; a row
    without a subject value (or every row, when ``subject`` is ``None``) is its own."""
    if subject is None:
        return np.arange(len(table))
    codes, uniques = pd.factorize(table[subject])
    alone = codes < 0
    codes[alone] = len(uniques) + np.arange(int(alone.sum()))
    return codes


@dataclass
class HoldoutSplit:
    """Real rows split into training rows and a holdout the model never sees.

    Attributes
    ----------
    train, holdout : pandas.DataFrame
        The two parts (original index kept).
    subject : str or None
        The column the split went by (:func:`subject_column`), ``None`` for rows.
    subjects, held_subjects : int
        Subjects in the table and in the holdout (rows when ``subject`` is ``None``).
    """

    train: pd.DataFrame
    holdout: pd.DataFrame
    subject: str | None
    subjects: int
    held_subjects: int


def split_holdout(table: pd.DataFrame, frac: float, random_state: int,
                  kinds: dict[str, str], subject: str | None = None) -> HoldoutSplit:
    """Hold out a seeded share ``frac`` of the rows, or of the patients.

    With a subject column (``subject``, else :func:`subject_column`: for a longitudinal
    model, the subject of its histories) a share ``frac`` of its distinct
    values is drawn and all their rows are held out, so that no patient is on both
    sides (a patient's other visits in the training rows would make the holdout look
    like training data). Without one, ``table.sample(frac=frac,
    random_state=random_state)`` is the holdout.

    Parameters
    ----------
    table : pandas.DataFrame
        The real rows.
    frac : float
        Share of the rows (or patients) to hold out, in (0, 1).
    random_state : int
        Seed of the draw.
    kinds : dict
        Kind of every column (as the model infers them, with the metadata's overrides).
    subject : str, optional
        The column naming each row's patient [default: :func:`subject_column`].

    Returns
    -------
    HoldoutSplit

    Raises
    ------
    DataError
        When the split leaves nothing to hold out or fewer than 2 rows to train on.

    Examples
    --------
    >>> visits = pd.DataFrame({"patient_id": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
    ...                        "sbp": [120, 131, 118, 142, 150, 139, 110, 115, 117,
    ...                                128, 133, 125]})
    >>> split = split_holdout(visits, 0.25, 0, {"patient_id": "id", "sbp": "integer"})
    >>> split.subject, split.held_subjects, len(split.holdout)
    ('patient_id', 1, 3)
    >>> set(split.train["patient_id"]) & set(split.holdout["patient_id"])
    set()
    """
    subject = subject or subject_column(table, kinds)
    if subject is None:
        holdout = table.sample(frac=frac, random_state=random_state)
        train = table.drop(index=holdout.index)
        subjects, held = len(table), len(holdout)
    else:
        groups = subject_groups(table, subject)
        chosen = pd.Series(np.unique(groups)).sample(frac=frac, random_state=random_state)
        held_rows = np.isin(groups, chosen.to_numpy())
        train, holdout = table[~held_rows], table[held_rows]
        subjects, held = len(np.unique(groups)), len(chosen)
    if len(holdout) == 0 or len(train) < 2:
        unit = "rows" if subject is None else f"patients (distinct {subject!r} values)"
        raise DataError(f"a holdout of {frac} of the {subjects} {unit} leaves no rows to hold "
                        f"out or fewer than 2 to train on in {len(table)} rows")
    return HoldoutSplit(train, holdout, subject, subjects, held)


def check_tables(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str],
                 holdout: pd.DataFrame | None) -> None:
    """Fail with one line when the tables cannot be compared.

    Raises
    ------
    DataError
        Empty tables, tables :func:`~toolkit.adapters.tabular.check_table` refuses
        (MultiIndex columns, dict or complex cells, inf), different columns, a numeric
        real column that is text in another table, or a holdout that shares rows with the
        real table.
    """
    for name, table in (("real", real), ("synthetic", synthetic), ("holdout", holdout)):
        if table is not None and len(table) == 0:
            raise DataError(f"the {name} table has no rows")
        if table is not None:  # labels, cells no kind can hold, inf
            check_table(table, f"the {name} table")
    for name, table in (("synthetic", synthetic), ("holdout", holdout)):
        if table is None:
            continue
        missing = [c for c in real.columns if c not in table.columns]
        extra = [c for c in table.columns if c not in real.columns]
        if missing or extra:
            raise DataError(f"the {name} table has different columns: missing {missing}, "
                            f"extra {extra}")
        for column, kind in kinds.items():
            if kind in ("continuous", "integer"):
                values = table[column].dropna()
                numbers = pd.to_numeric(values, errors="coerce")
                if numbers.isna().any():
                    example = values[numbers.isna()].iloc[0]
                    raise DataError(f"column {column!r} is numeric in the real table but holds "
                                    f"text in the {name} table (e.g. {example!r})")
    if holdout is not None:
        ids = [c for c, k in kinds.items() if k == "id"]
        # with ID columns one shared ID is an overlap; without, real tables can hold
        # duplicate rows, so only a holdout mostly made of real rows is refused
        shared = _row_keys(holdout[ids] if ids else holdout).isin(
            set(_row_keys(real[ids] if ids else real)))
        if (ids and shared.any()) or (not ids and shared.mean() > 0.5):
            raise DataError(f"the holdout overlaps the real (training) table: {int(shared.sum())} "
                            f"of its {len(holdout)} rows are also real rows; the holdout must be "
                            "rows the model never saw")


def _row_keys(table: pd.DataFrame) -> pd.Series:
    return pd.util.hash_pandas_object(table.astype(str), index=False)


# fidelity -------------------------------------------------------------------------------
def _sdmetrics_metadata(kinds: dict[str, str]) -> dict[str, Any]:
    columns = {c: {"sdtype": SDTYPES[k]} for c, k in kinds.items()}
    return {"tables": {"table": {"columns": columns}}}


def _as_sdmetrics_frame(table: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    table = table.copy()
    for column, kind in kinds.items():
        if kind in ("continuous", "integer"):
            table[column] = pd.to_numeric(table[column], errors="coerce")
        elif kind == "datetime":
            table[column] = utc_instants(table[column])
        elif kind in ("categorical", "constant"):
            table[column] = table[column].astype(str).where(table[column].notna(), None)
    return table


def _quality_report(real_sd: pd.DataFrame, synthetic_sd: pd.DataFrame, metadata: dict,
                    every_pair: bool) -> Any:
    from sdmetrics.reports import QualityReport

    quality = QualityReport()
    if every_pair:
        quality.real_correlation_threshold = quality.real_association_threshold = 0
    quality.generate({"table": real_sd}, {"table": synthetic_sd}, metadata, verbose=False)
    return quality


def degenerate_columns(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]
                       ) -> tuple[list[str], list[str]]:
    """Modelled columns that are all missing, and that hold one value, in ``synthetic``
    but not in ``real``."""
    empty, constant = [], []
    for column, kind in kinds.items():
        if kind in UNMODELLED_KINDS:
            continue
        if synthetic[column].isna().all() and not real[column].isna().all():
            empty.append(column)
        elif synthetic[column].nunique(dropna=False) == 1 < real[column].nunique(dropna=False):
            constant.append(column)
    return empty, constant


def fidelity(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]) -> dict[str, Any]:
    """sdmetrics QualityReport and DiagnosticReport, overall and per column.

    Two departures from sdmetrics' own averages, both stated in ``notes``: a column
    that is entirely empty in the synthetic table (but not in the real one) scores 0,
    as do the pairs it is in (sdmetrics leaves it out, which would hide it); and when
    no column pair of the real table reaches sdmetrics' association threshold (0.3),
    which happens on small tables, pair trends are averaged over every pair instead
    of being left out.
    """
    from sdmetrics.reports import DiagnosticReport

    metadata = _sdmetrics_metadata(kinds)
    real_sd, synthetic_sd = _as_sdmetrics_frame(real, kinds), _as_sdmetrics_frame(synthetic, kinds)
    notes = []
    quality = _quality_report(real_sd, synthetic_sd, metadata, every_pair=False)
    pairs = quality.get_details("Column Pair Trends")
    if len(pairs) and pairs["Score"].isna().all():
        quality = _quality_report(real_sd, synthetic_sd, metadata, every_pair=True)
        pairs = quality.get_details("Column Pair Trends")
        notes.append("no column pair of the real table is associated above sdmetrics' "
                     "threshold (0.3), so pair trends average every pair")
    diagnostic = DiagnosticReport()
    diagnostic.generate({"table": real_sd}, {"table": synthetic_sd}, metadata, verbose=False)
    shapes = quality.get_details("Column Shapes")
    validity = diagnostic.get_properties().set_index("Property")["Score"]
    column_validity = {row.Column: _finite(row.Score)
                       for row in diagnostic.get_details("Data Validity").itertuples()
                       if isinstance(row.Column, str)}
    empty, constant = degenerate_columns(real, synthetic, kinds)
    per_column = {row.Column: {"metric": row.Metric, "score": _finite(row.Score),
                               "validity": column_validity.get(row.Column)}
                  for row in shapes.itertuples()}
    for column in empty:
        per_column.setdefault(column, {"metric": "empty", "validity": 0.0})["score"] = 0.0
    pair_list = [{"columns": [row[2], row[3]], "metric": row[4], "score": _finite(row[5])}
                 for row in pairs.itertuples()]
    for pair in pair_list:
        if set(pair["columns"]) & set(empty):
            pair["score"] = 0.0
    if empty:
        notes.append(f"column(s) {empty} are empty in the synthetic table: they score 0")
    if constant:
        notes.append(f"column(s) {constant} hold a single value in the synthetic table but "
                     "vary in the real one")
    column_shapes = _mean(v["score"] for v in per_column.values())
    pair_trends = _mean(p["score"] for p in pair_list)
    scores = [v for v in (column_shapes, pair_trends) if v is not None]
    return {
        "quality": float(np.mean(scores)) if scores else None,
        "column_shapes": column_shapes,
        "column_pair_trends": pair_trends,
        "diagnostic": _finite(diagnostic.get_score()),
        "validity": _finite(validity.get("Data Validity", np.nan)),
        "structure": _finite(validity.get("Data Structure", np.nan)),
        "per_column": per_column,
        "pairs": pair_list,
        "empty_columns": empty,
        "constant_columns": constant,
        "notes": notes,
    }


def _mean(values: Any) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


# utility --------------------------------------------------------------------------------
def _fit_score(task: str, x: pd.DataFrame, y: pd.Series, x_test: pd.DataFrame,
               y_test: pd.Series, random_state: int) -> tuple[float | None, str | None]:
    """Train a gradient-boosting model on ``(x, y)``, score it on the test rows; or say
    why that cannot be done (too few rows or levels)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import f1_score, r2_score
    from threadpoolctl import threadpool_limits

    if len(y) < 2 or y.nunique() < 2:
        return None, "fewer than two distinct target values to learn from"
    if len(y_test) < 2:
        return None, "fewer than two test rows with a target value"
    # a feature with no value in these rows teaches nothing (and gradient boosting's binning
    # fails on it): leave it out of this model
    learnable = x.columns[x.notna().any()]
    if learnable.empty:
        return None, "no feature column has a value"
    x, x_test = x[learnable], x_test[learnable]
    # one thread: these models are small, and several threads on a busy machine (or two
    # cores shared with torch) are many times slower than one
    with threadpool_limits(1):
        if task == "classification":
            model = HistGradientBoostingClassifier(categorical_features="from_dtype",
                                                   random_state=random_state).fit(x, y)
            return float(f1_score(y_test, model.predict(x_test), average="macro")), None
        model = HistGradientBoostingRegressor(categorical_features="from_dtype",
                                              random_state=random_state).fit(x, y)
        return float(r2_score(y_test, model.predict(x_test))), None


def utility(train: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame,
            kinds: dict[str, str], target: str, random_state: int) -> dict[str, Any]:
    """TSTR vs TRTR for ``target``: macro-F1 (categorical) or R² (numeric).

    Raises
    ------
    DataError
        When the target has no values in the real table, or no other column can
        be a feature.
    """
    if train[target].isna().all():
        raise DataError(f"target {target!r} has no values in the real table; choose a column "
                        "with values to predict")
    task = "regression" if kinds[target] in ("continuous", "integer") else "classification"
    features = [c for c, k in kinds.items() if c != target and k not in UNMODELLED_KINDS]
    if not features:
        raise DataError(f"no feature columns besides the target {target!r}")
    scores, reasons = {}, {}
    x_real, x_synthetic, x_test = model_frame([train, synthetic, test], kinds, features)
    test_keep = test[target].notna().to_numpy()
    for name, x, rows in (("trtr", x_real, train), ("tstr", x_synthetic, synthetic)):
        keep = rows[target].notna().to_numpy()
        if task == "classification":
            y, y_test = rows[target][keep].astype(str), test[target][test_keep].astype(str)
        else:
            y = pd.to_numeric(rows[target][keep], errors="coerce").astype(float)
            y_test = pd.to_numeric(test[target][test_keep], errors="coerce").astype(float)
        scores[name], reasons[name] = _fit_score(task, x[keep], y, x_test[test_keep], y_test,
                                                 random_state)
    ratio = (scores["tstr"] / scores["trtr"] if scores["tstr"] is not None and scores["trtr"]
             and scores["trtr"] > 0 else None)
    metric = "macro-F1" if task == "classification" else "R²"
    reason = reasons["tstr"] and f"synthetic rows: {reasons['tstr']}"
    reason = reason or (reasons["trtr"] and f"real rows: {reasons['trtr']}")
    return {"target": target, "task": task, "metric": metric, "train_real": scores["trtr"],
            "train_synthetic": scores["tstr"], "ratio": ratio, "test_rows": int(test_keep.sum()),
            "not_measured_because": reason}


# privacy --------------------------------------------------------------------------------
@dataclass
class EncodedRows:
    """Rows encoded for distances: ``numbers`` (numeric columns scaled, and their missing
    flags) and ``codes`` (each categorical column's level index, -1 for a level the real
    table never had)."""

    numbers: np.ndarray
    codes: np.ndarray

    def __len__(self) -> int:
        return len(self.numbers)

    def take(self, rows: np.ndarray) -> EncodedRows:
        """The rows at the positions ``rows``."""
        return EncodedRows(self.numbers[rows], self.codes[rows])


class RowEncoder:
    """Encode rows for distances: numbers to [0, 1] by the real range (plus a missing flag),
    categories as level codes.

    The distance of two rows (:func:`_nearest`) is the L1 distance of their numbers plus,
    per categorical column, 1 for two different levels: the L1 distance of one-hot blocks
    of weight ½, computed without building them (a column of 4,000 tail numbers is one
    code, not 4,000 columns). A level the real table never had is an all-zero block: ½
    from any real level, 0 from another such level.
    """

    def __init__(self, real: pd.DataFrame, kinds: dict[str, str]) -> None:
        self.kinds = {c: k for c, k in kinds.items() if k not in UNMODELLED_KINDS}
        self.ranges, self.levels = {}, {}
        for column, kind in self.kinds.items():
            if kind in ("continuous", "integer", "datetime"):
                values = self._numbers(real[column], kind)
                low, high = np.nanmin(values), np.nanmax(values)
                self.ranges[column] = (low, high - low if high > low else 1.0)
            else:
                self.levels[column] = sorted({str(v) for v in real[column].dropna().unique()})

    @property
    def width(self) -> int:
        """Columns that distances are measured on."""
        return len(self.kinds)

    @staticmethod
    def _numbers(series: pd.Series, kind: str) -> np.ndarray:
        if kind == "datetime":
            return seconds_of_dates(series).to_numpy(dtype=float)
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)

    def transform(self, table: pd.DataFrame) -> EncodedRows:
        """The encoded rows."""
        numbers, codes = [], []
        for column, kind in self.kinds.items():
            if column in self.ranges:
                low, span = self.ranges[column]
                values = (self._numbers(table[column], kind) - low) / span
                missing = np.isnan(values)
                numbers += [np.where(missing, 0.0, np.clip(values, -1.0, 2.0)), missing * 1.0]
            else:
                values = table[column].astype(str).where(table[column].notna(), "<NA>")
                levels = pd.Index(dict.fromkeys([*self.levels[column], "<NA>"]))
                codes.append(levels.get_indexer(values))
        n = len(table)
        return EncodedRows(np.column_stack(numbers) if numbers else np.zeros((n, 0)),
                           np.column_stack(codes) if codes else np.zeros((n, 0), np.int64))


#: reference rows x query rows compared at once by :func:`_nearest` (memory: 8 bytes each)
DISTANCE_BLOCK = 1 << 22


def _nearest(reference: EncodedRows, queries: EncodedRows) -> np.ndarray:
    """Each query row's distance to its closest reference row (see :class:`RowEncoder`)."""
    return _nearest_both(reference, queries)[0]


def _nearest_both(reference: EncodedRows, queries: EncodedRows
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Each query row's distance to its closest reference row, and each reference row's
    to its closest query row (the distance is symmetric: one pass gives both)."""
    from scipy.spatial.distance import cdist

    step = max(1, DISTANCE_BLOCK // max(len(reference), 1))
    unknown_reference = reference.codes < 0
    closest = np.empty(len(queries))
    reverse = np.full(len(reference), np.inf)
    for start in range(0, len(queries), step):
        numbers = queries.numbers[start : start + step]
        codes = queries.codes[start : start + step]
        if numbers.shape[1]:
            distance = cdist(numbers, reference.numbers, "cityblock")
        else:
            distance = np.zeros((len(numbers), len(reference)))
        for j in range(codes.shape[1]):
            query, known = codes[:, j][:, None], reference.codes[:, j][None, :]
            distance += query != known
            unknown_query = query < 0
            if unknown_query.any() or unknown_reference[:, j].any():
                # an unseen level is an all-zero one-hot block: ½ from any real level
                distance -= 0.5 * (unknown_query != unknown_reference[:, j][None, :])
        closest[start : start + step] = distance.min(axis=1)
        if len(distance):
            np.minimum(reverse, distance.min(axis=0), out=reverse)
    return closest, reverse


def auc_interval(members: np.ndarray, others: np.ndarray, level: float = CI_LEVEL
                 ) -> tuple[float, float, float]:
    """The AUROC of scores that should rank ``members`` above ``others``, and its
    confidence interval by DeLong's method.

    The AUROC is the Mann-Whitney statistic (ties count ½). Its variance is DeLong's
    (DeLong, DeLong and Clarke-Pearson, Biometrics 1988): the variance of the members'
    placements (each one's share of others scored below it) over the number of
    members, plus that of the others' placements over the number of others. The
    interval is the normal one, clipped to [0, 1]: deterministic, no resampling.

    Parameters
    ----------
    members, others : numpy.ndarray
        Scores of the two groups (higher: more likely a member).
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    tuple of float
        ``(auc, low, high)``.

    Examples
    --------
    >>> auc, low, high = auc_interval(np.array([0.9, 0.8, 0.4, 0.7]),
    ...                               np.array([0.3, 0.5, 0.6, 0.2]))
    >>> round(auc, 4), round(low, 2), round(high, 2)
    (0.875, 0.59, 1.0)
    """
    from scipy.stats import norm, rankdata

    m, n = len(members), len(others)
    ranks = rankdata(np.concatenate([members, others]))
    member_placements = (ranks[:m] - rankdata(members)) / n
    other_placements = 1.0 - (ranks[m:] - rankdata(others)) / m
    auc = float(member_placements.mean())
    variance = sum(float(np.var(placements, ddof=1)) / len(placements)
                   for placements in (member_placements, other_placements)
                   if len(placements) > 1)
    half = float(norm.ppf(0.5 + level / 2.0)) * math.sqrt(variance)
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def privacy(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame,
            kinds: dict[str, str], random_state: int, subject: str | None = None
            ) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray]]:
    """Distance-to-closest-record statistics, exact copies and a membership-inference AUC.

    Distances are measured on at most :data:`MAX_PRIVACY_ROWS` rows of each table (a
    random sample beyond); exact copies compare every given synthetic and holdout row
    with every given training row.

    The membership-inference attack scores each training row (member) and holdout row
    (non-member) by its closeness to the synthetic table (minus the distance to its
    closest synthetic row); with a ``subject`` column (:func:`subject_column`) the
    candidates are whole patients instead, each scored by its closest row. Its AUROC
    comes with a :data:`CI_LEVEL` confidence interval by DeLong's method
    (:func:`auc_interval`): ``membership_auc_ci``.

    Returns the measurements and the two distance samples (synthetic → train,
    holdout → train) for the report's plot.
    """
    rng = np.random.default_rng(random_state)

    def sample(table: pd.DataFrame, n: int) -> pd.DataFrame:
        return table if len(table) <= n else table.iloc[np.sort(rng.choice(len(table), n, False))]

    encoder = RowEncoder(train, kinds)
    synthetic = sample(synthetic, MAX_PRIVACY_ROWS)
    if encoder.width == 0:
        raise DataError("no modelled column to measure privacy on: every column is an ID or "
                        "constant")
    train_sample, holdout_sample = sample(train, MAX_PRIVACY_ROWS), sample(holdout,
                                                                           MAX_PRIVACY_ROWS)
    train_rows, holdout_rows = encoder.transform(train_sample), encoder.transform(holdout_sample)
    synthetic_rows = encoder.transform(synthetic)
    synthetic_dcr, train_to_synthetic = _nearest_both(train_rows, synthetic_rows)
    holdout_dcr = _nearest(train_rows, holdout_rows)
    # closer to a training row than to a real row the model never saw? The holdout is
    # split in two: one half is the reference, the other half (unseen real rows) gives
    # the share expected without any leak (it depends on the sizes of the two sets)
    order = rng.permutation(len(holdout_rows))
    reference = holdout_rows.take(order[: len(order) // 2])
    probe = order[len(order) // 2:]

    def closer_share(rows: EncodedRows, to_train: np.ndarray) -> float | None:
        if len(reference) == 0:  # a one-row holdout cannot be split into reference and probe
            return None
        to_reference = _nearest(reference, rows)
        return float(np.mean((to_train < to_reference) + 0.5 * (to_train == to_reference)))

    closer = closer_share(synthetic_rows, synthetic_dcr)
    baseline_closer = closer_share(holdout_rows.take(probe), holdout_dcr[probe])
    # membership inference: members (training rows or patients) vs non-members (holdout
    # ones), scored by closeness to the synthetic table; a patient by its closest row
    members = _subject_closeness(-train_to_synthetic, subject_groups(train_sample, subject))
    others = _subject_closeness(-_nearest(synthetic_rows, holdout_rows),
                                subject_groups(holdout_sample, subject))
    auc, low, high = auc_interval(members, others)
    modelled = list(encoder.kinds)
    train_keys = set(_row_keys(train[modelled]))
    copies = float(_row_keys(synthetic[modelled]).isin(train_keys).mean())
    baseline = float(_row_keys(holdout[modelled]).isin(train_keys).mean())
    return {
        "dcr_synthetic_median": float(np.median(synthetic_dcr)),
        "dcr_holdout_median": float(np.median(holdout_dcr)),
        "dcr_synthetic_p05": float(np.quantile(synthetic_dcr, 0.05)),
        "dcr_holdout_p05": float(np.quantile(holdout_dcr, 0.05)),
        "closer_to_train_share": closer,
        "closer_to_train_expected": baseline_closer,
        "exact_copies": copies,
        "holdout_exact_copies": baseline,
        "membership_auc": auc,
        "membership_auc_ci": [low, high],
        "membership_ci_level": CI_LEVEL,
        "membership_unit": "row" if subject is None else "patient",
        "membership_members": len(members),
        "membership_non_members": len(others),
        "subject_column": subject,
        "holdout_rows": len(holdout),
    }, (synthetic_dcr, holdout_dcr)


def _subject_closeness(closeness: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The closeness of each subject: that of its closest row (rows are their own
    subjects when ``groups`` numbers them all apart)."""
    if len(np.unique(groups)) == len(groups):
        return closeness
    return pd.Series(closeness).groupby(groups, sort=True).max().to_numpy()


def copied_rows(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str]) -> int:
    """How many synthetic rows equal a real row on every modelled column (IDs, personal
    data and constants aside), values compared as text. The toolkit redraws such rows when it
    samples (``avoid_copies``), so anything but 0 comes from elsewhere."""
    modelled = [c for c, k in kinds.items() if k not in UNMODELLED_KINDS]
    if not modelled:
        return 0
    return int(_row_keys(synthetic[modelled]).isin(set(_row_keys(real[modelled]))).sum())


def real_identifiers(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str],
                     holdout: pd.DataFrame | None = None) -> dict[str, int]:
    """For every ID or personal-data column (a kind in
    :data:`toolkit.adapters.kinds.IDENTIFYING_KINDS`: IDs, names, e-mail addresses,
    phone numbers, addresses): how many synthetic rows carry a real row's value
    (training or holdout). Anything but 0 is a leak.

    Values are compared as text, with whole numbers written without decimals, so that
    ``5182``, ``5182.0`` and ``"5182"`` are the same identifier.
    """
    counts = {}
    for column, kind in kinds.items():
        if kind not in IDENTIFYING_KINDS:
            continue
        known = set(_identifier_text(real[column]))
        if holdout is not None:
            known |= set(_identifier_text(holdout[column]))
        counts[column] = int(_identifier_text(synthetic[column]).isin(known).sum())
    return counts


def _identifier_text(series: pd.Series) -> pd.Series:
    def text(value: Any) -> str:
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return str(int(value))
        return str(value).strip()

    return series.dropna().map(text)


def rare_values(real: pd.DataFrame, synthetic: pd.DataFrame,
                holdout: pd.DataFrame | None = None, subject: str | None = None
                ) -> dict[str, Any]:
    """For every column, whatever its kind: how many synthetic rows carry a *rare* real
    value, a fingerprint of the few real rows that hold it, against what chance gives.

    This check does not depend on inferring which columns are identifiers: a model that
    copies an unnamed ID column, or replays the exact values of a measurement that
    nearly every patient has their own of, is caught by it. A real value is rare when
    at most ``THRESHOLDS["rare_value_holders_max"]`` (2) real rows hold it (patients,
    when a ``subject`` column names them: :func:`subject_column`). Values are compared
    as text, as :func:`real_identifiers` does.

    Even a generator that copies nothing hits rare values by chance on a column of
    measurements (values on a grid such as whole mg/dl, 2-decimal lab values). That
    rate (``expected``) is measured:

    * with a ``holdout``: the share of holdout rows, real rows the model never saw,
      whose value is rare in the training rows. Every column is judged against it.
    * without: each real row taken as unseen in turn (leave one out), the share of real
      rows whose value 1 or 2 *other* real rows (patients) hold. It is shown, but only
      key-like columns are judged against it: those where at least
      ``THRESHOLDS["rare_value_key_share_min"]`` (99 %) of the real rows with a value
      hold one that no other row (patient) holds, an identifier whatever its name or
      kind. A column of measurements is not judged without unseen real rows to say what
      chance gives.

    A judged column is ``flagged`` when the synthetic share exceeds the expected one by
    more than ``THRESHOLDS["rare_value_excess_max"]`` (5 points) and by more than
    ``THRESHOLDS["rare_value_z_min"]`` (3) standard errors of the difference of two
    shares (pooled): clearly beyond chance, even over many columns.

    Parameters
    ----------
    real : pandas.DataFrame
        The training rows.
    synthetic : pandas.DataFrame
        The synthetic rows (same columns).
    holdout : pandas.DataFrame, optional
        Real rows the model never saw.
    subject : str, optional
        The column naming each row's patient.

    Returns
    -------
    dict
        ``columns`` (per column: ``rows``, ``share``, ``expected``, ``judged``),
        ``flagged`` (the judged columns beyond chance), ``baseline`` (``"holdout"`` or
        ``"leave-one-out"``) and ``holders_max``.

    Examples
    --------
    >>> real = pd.DataFrame({"ref": range(100, 140), "sex": ["f", "m"] * 20})
    >>> copied = real.assign(sex=real["sex"].sample(frac=1.0, random_state=0).to_numpy())
    >>> result = rare_values(real, copied)
    >>> result["flagged"], result["columns"]["ref"]["share"]
    (['ref'], 1.0)
    """
    limit = THRESHOLDS["rare_value_holders_max"]
    groups = subject_groups(real, subject)
    columns, flagged = {}, []
    for column in real.columns:
        text = _identifier_text(real[column])
        holders = pd.DataFrame({"value": text.to_numpy(),
                                "holder": groups[real[column].notna().to_numpy()]}
                               ).drop_duplicates()["value"].value_counts()
        rare = holders.index[holders <= limit]
        hits = int(_identifier_text(synthetic[column]).isin(rare).sum())
        if holdout is not None:
            chance_hits = int(_identifier_text(holdout[column]).isin(rare).sum())
            chance_rows, judged = len(holdout), True
        else:
            held_by = text.map(holders)
            chance_hits = int(held_by.between(2, limit + 1).sum())
            chance_rows = len(real)
            judged = bool(len(text)) and float(held_by.eq(1).mean()) >= THRESHOLDS[
                "rare_value_key_share_min"]
        share, expected = hits / len(synthetic), chance_hits / chance_rows
        columns[str(column)] = {"rows": hits, "share": share, "expected": expected,
                                "judged": judged}
        pooled = (hits + chance_hits) / (len(synthetic) + chance_rows)
        error = math.sqrt(pooled * (1.0 - pooled) * (1.0 / len(synthetic) + 1.0 / chance_rows))
        if judged and share - expected > max(THRESHOLDS["rare_value_excess_max"],
                                             THRESHOLDS["rare_value_z_min"] * error):
            flagged.append(str(column))
    return {"columns": columns, "flagged": flagged, "holders_max": limit,
            "baseline": "holdout" if holdout is not None else "leave-one-out"}


# verdicts -------------------------------------------------------------------------------
def _grade(value: float | None, good: float, fair: float) -> str:
    if value is None:
        return "not measured"
    return "good" if value >= good else "fair" if value >= fair else "poor"


def _privacy_problems(privacy_part: dict | None, identifiers: dict[str, int],
                      rare: dict[str, Any] | None = None) -> list[str]:
    """What puts the real rows at risk, in words (empty when nothing does)."""
    t = THRESHOLDS
    problems = [f"{count} synthetic row(s) carry a real identifier in column {column!r}"
                for column, count in identifiers.items() if count]
    for column in (rare or {}).get("flagged", []):
        entry = rare["columns"][column]
        chance = ("holdout rows" if rare["baseline"] == "holdout"
                  else "real rows, each left out in turn")
        problems.append(f"{entry['rows']} synthetic row(s) ({entry['share']:.0%}) carry a "
                        f"value of column {column!r} that at most {rare['holders_max']} real "
                        f"rows hold (a fingerprint; {chance}: {entry['expected']:.0%})")
    if privacy_part is None:
        return problems
    closer, expected = (privacy_part["closer_to_train_share"],
                        privacy_part["closer_to_train_expected"])
    if closer is not None and closer - expected > t["closer_to_train_excess_max"]:
        problems.append(f"{closer:.0%} of synthetic rows are closer to a training row than "
                        f"to an unseen real row (unseen real rows: {expected:.0%})")
    low, high = privacy_part["membership_auc_ci"]
    if low > t["membership_auc_max"]:
        problems.append(f"a membership-inference attack reaches AUC "
                        f"{privacy_part['membership_auc']:.2f} ({CI_LEVEL:.0%} CI "
                        f"{low:.2f}–{high:.2f}, above {t['membership_auc_max']})")
    excess = privacy_part["exact_copies"] - privacy_part["holdout_exact_copies"]
    if excess > t["exact_copy_excess_max"]:
        baseline = privacy_part["holdout_exact_copies"]
        problems.append(f"{privacy_part['exact_copies']:.1%} of synthetic rows copy a "
                        f"training row (holdout rows: {baseline:.1%})")
    return problems


def membership_doubt(privacy_part: dict | None) -> str | None:
    """The sentence for a membership attack whose AUC is above the threshold while its
    confidence interval still includes the threshold (too few holdout rows to tell),
    else ``None``.

    Examples
    --------
    >>> print(membership_doubt({"membership_auc": 0.61, "membership_auc_ci": [0.52, 0.70],
    ...                         "membership_non_members": 84, "membership_unit": "row"}))
    inconclusive: membership-inference AUC 0.61, 95 % CI 0.52–0.70 with 84 holdout rows; a
    larger holdout would tell
    """
    if privacy_part is None:
        return None
    auc, (low, high) = privacy_part["membership_auc"], privacy_part["membership_auc_ci"]
    threshold = THRESHOLDS["membership_auc_max"]
    if not low <= threshold < auc:
        return None
    unit = "rows" if privacy_part["membership_unit"] == "row" else "patients"
    return (f"inconclusive: membership-inference AUC {auc:.2f}, {CI_LEVEL * 100:.0f} % CI "
            f"{low:.2f}–{high:.2f} with {privacy_part['membership_non_members']} holdout "
            f"{unit}; a larger holdout would tell")


def verdicts(fidelity_part: dict, utility_part: dict | None, privacy_part: dict | None,
             identifiers: dict[str, int] | None = None, rare: dict[str, Any] | None = None
             ) -> dict[str, Any]:
    """Plain-language verdicts of each section, with the reason.

    Privacy is "at risk" when a check finds a leak (the membership attack when the low
    end of its AUC's confidence interval is above the threshold), "inconclusive" when
    nothing does but the attack's AUC is above the threshold within the interval, "no
    leak detected" otherwise, and "not measured" without a holdout unless real
    identifiers or rare values already show a leak.
    """
    t = THRESHOLDS
    quality = fidelity_part["quality"]
    reason = (f"overall quality {quality:.3f} (good ≥ {t['quality_good']}, fair ≥ "
              f"{t['quality_fair']})" if quality is not None else "no column could be compared")
    auroc = fidelity_part.get("detection_auroc")
    if auroc is not None:
        floor = fidelity_part.get("holdout_detection_auroc")
        reason += (f"; a classifier tells synthetic from real rows with AUROC {auroc:.2f} (0.5: "
                   "it cannot" + (f"; unseen real rows: {floor:.2f})" if floor is not None
                                  else ")"))
    if fidelity_part.get("empty_columns"):
        reason += f"; empty in the synthetic table: {fidelity_part['empty_columns']}"
    if fidelity_part.get("constant_columns"):
        reason += f"; a single value in the synthetic table: {fidelity_part['constant_columns']}"
    summary: dict[str, Any] = {
        "quality": quality,
        **{key: fidelity_part.get(key) for key in ("detection_auroc", "detection_score",
                                                   "alpha_precision", "beta_recall")},
        "fidelity": _grade(quality, t["quality_good"], t["quality_fair"]),
        "fidelity_reason": reason,
    }
    if utility_part is None:
        summary["utility"], summary["utility_reason"] = "not measured", "no --target given"
    else:
        ratio = summary["utility_ratio"] = utility_part["ratio"]
        summary["utility"] = _grade(ratio, t["utility_good"], t["utility_fair"])
        summary["utility_reason"] = (
            f"{utility_part['metric']} of a model trained on synthetic rows is "
            f"{ratio:.0%} of one trained on real rows (good ≥ {t['utility_good']:.0%})"
            if ratio is not None else
            (utility_part.get("not_measured_because") or "the real-trained model scores 0"))
    identifiers = identifiers or {}
    summary["real_identifiers"] = int(sum(identifiers.values()))
    summary["rare_value_columns"] = list((rare or {}).get("flagged", []))
    problems = _privacy_problems(privacy_part, identifiers, rare)
    doubt = membership_doubt(privacy_part)
    clean = ("no real identifier or personal data in the synthetic rows, no column carries "
             "rare real values beyond chance" + ("" if privacy_part else
                                                 " (without a holdout: key-like columns only)"))
    if problems:
        summary["privacy"] = "at risk"
        summary["privacy_reason"] = "; ".join(problems + ([f"membership attack {doubt}"]
                                                          if doubt else []))
    elif doubt:
        summary["privacy"] = "inconclusive"
        summary["privacy_reason"] = f"{doubt}; {clean}"
    elif privacy_part is None:
        summary["privacy"] = "not measured"
        summary["privacy_reason"] = (f"{clean}; the rest needs a holdout of real rows the "
                                     "model never saw")
    else:
        summary["privacy"] = "no leak detected"
        summary["privacy_reason"] = (
            f"{clean}, and the synthetic rows are no closer to training rows than unseen real "
            "rows are (closer-to-train share ≤ unseen rows' + "
            f"{t['closer_to_train_excess_max']:.0%}, attack AUC ≤ {t['membership_auc_max']}, "
            f"copies ≤ holdout's + {t['exact_copy_excess_max']:.0%})")
    return summary


# the uniform subsample -------------------------------------------------------------------
#: which stream of ``random_state`` draws each table's subsample
_TABLE_STREAMS = {"real": 0, "synthetic": 1, "holdout": 2}


def _sample_seed(random_state: int, table: str) -> int:
    """The seed of one table's subsample: its own stream of ``random_state``."""
    return int(np.random.SeedSequence([random_state, _TABLE_STREAMS[table]]).generate_state(1)[0])


def bounded_sample(source: pd.DataFrame | str | Path, max_rows: int | None, seed: int
                   ) -> tuple[pd.DataFrame, int]:
    """A uniform random sample of at most ``max_rows`` rows of ``source`` (in its row order)
    and the number of rows ``source`` holds.

    Every row gets a random key from ``numpy.random.default_rng(seed)`` and the rows with
    the ``max_rows`` smallest keys are kept (a bottom-k sample: uniform, without
    replacement). A file (CSV or Parquet) is read in one streamed pass that holds a few
    times ``max_rows`` rows at most, and gives the same rows as the table read whole
    (:func:`toolkit.io.tables.sample_table`). ``max_rows=None`` keeps every row.

    Examples
    --------
    >>> table = pd.DataFrame({"x": range(10)})
    >>> sample, rows = bounded_sample(table, 4, seed=0)
    >>> sample["x"].tolist(), rows
    ([1, 2, 3, 8], 10)
    >>> len(bounded_sample(table, None, seed=0)[0])
    10
    """
    if isinstance(source, (str, Path)):
        from toolkit.io.tables import read_table, sample_table

        if max_rows is None:
            table = read_table(source)
            return table, len(table)
        return sample_table(source, max_rows, seed)
    if max_rows is None or len(source) <= max_rows:
        return source, len(source)
    keys = np.random.default_rng(seed).random(len(source))
    kept = np.sort(np.argsort(keys, kind="stable")[:max_rows])
    return source.iloc[kept], len(source)


def _bounded_patients(source: pd.DataFrame | str | Path, max_rows: int | None, seed: int,
                      subject: str, name: str) -> tuple[pd.DataFrame, int]:
    """Whole patients of ``source`` (a seeded draw, :func:`~toolkit.adapters.histories.
    sample_patients`) up to ``max_rows`` rows, and the rows ``source`` holds.

    Raises
    ------
    UsageError
        For a ``subject`` the real table does not have.
    DataError
        For another table without it, or a subject with missing values.
    """
    from toolkit.adapters.histories import sample_patients
    from toolkit.exceptions import UsageError

    if isinstance(source, (str, Path)):
        from toolkit.io.tables import read_table

        source = read_table(source)
    if subject not in source.columns:
        message = (f"subject column {subject!r} is not in the {name} table; columns: "
                   f"{[str(c) for c in source.columns]}")
        raise UsageError(message) if name == "real" else DataError(message)
    if source[subject].isna().any():
        raise DataError(f"subject column {subject!r} has missing values in the {name} table: "
                        "every row must name its patient")
    if max_rows is None:
        return source, len(source)
    return sample_patients(source, subject, max_rows, seed), len(source)


def _sample_note(sizes: dict[str, tuple[int, int]], max_rows: int | None,
                 random_state: int) -> str | None:
    """The sentence that states the subsample, or ``None`` when every row was measured."""
    if not any(used < total for used, total in sizes.values()):
        return None
    parts = [f"{used:,} of the {total:,} {name} rows" if used < total else
             f"all {total:,} {name} rows" for name, (used, total) in sizes.items()]
    return (f"measured on a seeded uniform sample of at most {max_rows:,} rows per table "
            f"(max_rows={max_rows}, random_state={random_state}): {', '.join(parts)}; every "
            "measurement below, including exact copies, distances and real identifiers, is "
            "of these rows")


def rule_verdicts(real: pd.DataFrame, synthetic: pd.DataFrame,
                  metadata: dict | str | Path | None) -> dict[str, Any]:
    """The metadata's rules (:mod:`toolkit.adapters.rules`) counted on the synthetic rows:
    ``rules`` (``kept`` or ``broken``), ``rules_reason`` and ``rule_violations`` (rows
    breaking each rule); nothing without rules. The real rows keep every rule (checked)."""
    from toolkit.adapters.rules import Rules
    from toolkit.io.metadata import read_metadata

    rules = Rules.from_metadata(read_metadata(metadata))
    if not rules:
        return {}
    rules.forward(real)  # checks the real rows and learns the seen combinations
    counts = rules.violations(synthetic)
    broken = {rule: count for rule, count in counts.items() if count}
    reason = ("; ".join(f"{count:,} of {len(synthetic):,} synthetic rows break '{rule}'"
                        for rule, count in broken.items()) if broken else
              f"every synthetic row keeps the {len(counts)} rules (as every real row does)")
    return {"rules": "broken" if broken else "kept", "rules_reason": reason,
            "rule_violations": counts}


# the entry point ------------------------------------------------------------------------
def guarantee_text(guarantee: dict | None) -> str:
    """One line stating the formal privacy guarantee of a model's ``privacy_`` (or its absence)."""
    if not guarantee:
        return ("none: trained without differential privacy (the measurements below are "
                "empirical checks, not a guarantee)")
    unit = guarantee.get("unit", "row")
    bounded = f"; {guarantee['contribution']}" if "contribution" in guarantee else ""
    return (f"({guarantee['epsilon']:.3g}, {guarantee['delta']:.2g})-differential privacy per "
            f"{unit}, whole pipeline (schema from metadata, noisy histograms, DP-SGD; "
            f"{guarantee['accountant']} accountant{bounded})")


def evaluate(real: pd.DataFrame | str | Path, synthetic: pd.DataFrame | str | Path,
             holdout: pd.DataFrame | str | Path | None = None,
             target: str | None = None, metadata: dict | str | Path | None = None,
             random_state: int = 0, guarantee: dict | None = None,
             progress: Callable[[str], None] | None = None,
             max_rows: int | None = MAX_ROWS, subject: str | None = None,
             order: str | None = None) -> Report:
    """Measure fidelity, utility and privacy of ``synthetic`` against ``real``.

    Tables of any size are measured on a documented uniform subsample: when a table
    has more than ``max_rows`` rows (default :data:`MAX_ROWS`, 50,000), a seeded
    uniform sample of ``max_rows`` of its rows (each of real, synthetic and holdout
    drawn from its own stream of ``random_state``; see :func:`bounded_sample`) is
    what every section measures. The report states the sample: the summary's
    ``real_rows_measured`` (and ``synthetic_``, ``holdout_``) beside ``real_rows``
    (the table's size), a note, the page's header and the CLI's summary line. A
    table given as a file path is sampled while it is read, in one streamed pass, so
    memory stays bounded whatever its size. Fidelity then uses at most
    :data:`MAX_FIDELITY_ROWS` of the sampled rows and the privacy distances at most
    :data:`MAX_PRIVACY_ROWS` synthetic rows (also stated in the notes).

    Parameters
    ----------
    real : pandas.DataFrame, str or Path
        The real rows the synthetic table was generated from (the training rows), or
        the CSV/Parquet file that holds them.
    synthetic : pandas.DataFrame, str or Path
        The synthetic rows, with the same columns (or their file).
    holdout : pandas.DataFrame, str or Path, optional
        Real rows the model never saw. Needed for the privacy section; also the
        test set of the utility section (otherwise 20 % of ``real`` is held out
        for the TRTR/TSTR test).
    target : str, optional
        Column to predict in the utility section.
    metadata : dict, str or Path, optional
        Column kinds that override inference (as for :class:`~toolkit.Synthesizer`).
    random_state : int, default 0
        Seed of the samples, splits and models.
    guarantee : dict, optional
        The generating model's ``privacy_`` (a differentially private fit): its
        (ε, δ) is stated in the summary. Without it the summary says that no formal
        guarantee was given.
    progress : callable, optional
        Called with a line of text as each section starts (the CLI prints them).
    max_rows : int or None, default 50,000
        Rows of each table measured at most (a seeded uniform sample beyond); ``None``
        measures every row (time and memory then grow with the tables).
    subject : str, optional
        For a longitudinal table (several rows per patient), the column naming each
        row's patient: the report then has a ``patients`` section measuring whole
        patients (:func:`toolkit.evaluate.histories.histories_report`: patient-level
        detection, visits per patient, constant attributes, lag-1 autocorrelation, time
        rules), its verdicts join the summary (``patients``, ``history_rules``), the
        membership attack takes whole patients, and a table beyond ``max_rows`` is
        sampled by whole patients (:func:`toolkit.adapters.histories.sample_patients`;
        a file is then read whole first). The holdout must hold other patients.
    order : str, optional
        With ``subject``, the column ordering each patient's rows (a number or a
        date-time); ``None``: the row order.

    Returns
    -------
    Report

    Raises
    ------
    DataError
        For tables that cannot be compared (see :func:`check_tables`) or a
        target that is not a column.
    UsageError
        For a ``max_rows`` below 1, or a ``subject`` or ``order`` that is not a column of
        the real table (or an ``order`` without a ``subject``).

    Examples
    --------
    >>> from toolkit.evaluate.report import evaluate
    >>> real = pd.read_csv("sample_data/patients.csv")
    >>> result = evaluate(real, real.sample(frac=1.0, random_state=1), max_rows=200)
    >>> result.summary["real_rows"], result.summary["real_rows_measured"]
    (418, 200)
    """
    started = time.perf_counter()
    say = progress or (lambda message: None)
    if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(
            max_rows, (int, np.integer)) or max_rows < 1):
        from toolkit.exceptions import UsageError

        raise UsageError(f"max_rows must be a whole number >= 1 or None, got {max_rows!r}")
    if subject is None and order is not None:
        from toolkit.exceptions import UsageError

        raise UsageError(f"order {order!r} needs a subject column (whose rows it orders)")
    sizes = {}
    tables = {"real": real, "synthetic": synthetic, "holdout": holdout}
    for name, source in tables.items():
        if source is not None:
            tables[name], total = (
                bounded_sample(source, max_rows, _sample_seed(random_state, name))
                if subject is None else
                _bounded_patients(source, max_rows, _sample_seed(random_state, name), subject,
                                  name))
            sizes[name] = (len(tables[name]), total)
    real, synthetic, holdout = tables["real"], tables["synthetic"], tables["holdout"]
    if any(used < total for used, total in sizes.values()):
        say("measuring a seeded uniform sample: " + ", ".join(
            f"{used:,} of {total:,} {name} rows" for name, (used, total) in sizes.items()))
    kinds = column_kinds(real, metadata)
    check_tables(real, synthetic, kinds, holdout)
    if order is not None and order not in real.columns:
        from toolkit.exceptions import UsageError

        raise UsageError(f"order column {order!r} is not in the real table; columns: "
                         f"{[str(c) for c in real.columns]}")
    if target is not None and target not in real.columns:
        raise DataError(f"target {target!r} is not a column; columns: {list(real.columns)}")
    synthetic = synthetic[list(real.columns)]
    notes = [note] if (note := _sample_note(sizes, max_rows, random_state)) else []
    if notes and subject is not None:
        notes.append(f"the sample is of whole patients (column {subject!r}): each patient "
                     "with all of their rows or none")
    rng = np.random.default_rng(random_state)
    fidelity_real, fidelity_synthetic = real, synthetic
    for name in ("real", "synthetic"):
        table = fidelity_real if name == "real" else fidelity_synthetic
        if len(table) > MAX_FIDELITY_ROWS:
            sampled = table.iloc[np.sort(rng.choice(len(table), MAX_FIDELITY_ROWS, False))]
            notes.append(f"fidelity used a random sample of {MAX_FIDELITY_ROWS:,} of the "
                         f"{len(table):,} {name} rows")
            if name == "real":
                fidelity_real = sampled
            else:
                fidelity_synthetic = sampled
    say(f"fidelity: sdmetrics quality and diagnostic reports on {len(fidelity_real):,} real and "
        f"{len(fidelity_synthetic):,} synthetic rows")
    fidelity_part = fidelity(fidelity_real, fidelity_synthetic, kinds)
    notes += fidelity_part.pop("notes")
    say("detection: can a gradient-boosted classifier tell synthetic rows from real ones? "
        "(and α-precision / β-recall)")
    fidelity_part.update(realism(real, synthetic, kinds, holdout, random_state))
    notes.append(f"detection used {fidelity_part['detection_rows']:,} rows of each side "
                 f"({DETECTION_FOLDS}-fold cross-validated gradient boosting); α-precision "
                 f"and β-recall at most {MAX_SUPPORT_ROWS:,} rows of each")
    utility_part = None
    if target is not None:
        if holdout is not None:
            train, test = real, holdout
        else:
            test_index = rng.choice(len(real), max(1, len(real) // 5), replace=False)
            test_mask = np.zeros(len(real), dtype=bool)
            test_mask[test_index] = True
            train, test = real[~test_mask], real[test_mask]
            notes.append("utility: no holdout, so a random 20 % of the real rows is the test set "
                         "and the real-trained model learns from the other 80 %")
        say(f"utility: gradient boosting on real and on synthetic rows, predicting {target!r}")
        utility_part = utility(train, synthetic, test, kinds, target, random_state)
    privacy_part, distances = None, None
    identifiers = real_identifiers(real, synthetic, kinds, holdout)
    patients_part = None
    if subject is not None:
        from toolkit.evaluate.histories import histories_report

        say("patients: can a classifier tell synthetic patients from real ones? visits, "
            "constant attributes, serial dependence and time rules")
        patients_part = histories_report(real, synthetic, subject, order, holdout,
                                         random_state, kinds)
    subject = subject or subject_column(real, kinds)
    say("privacy: real identifiers and rare real values (fingerprints) in the synthetic rows")
    rare = rare_values(real, synthetic, holdout, subject)
    if holdout is not None:
        sampled = [name for name, rows in (("synthetic", synthetic), ("training", real),
                                           ("holdout", holdout)) if len(rows) > MAX_PRIVACY_ROWS]
        measured = min(len(holdout), MAX_PRIVACY_ROWS)
        say(f"privacy: distances to the closest record against {measured:,} holdout rows")
        privacy_part, distances = privacy(real, synthetic, holdout, kinds, random_state,
                                          subject)
        if sampled:
            notes.append(f"privacy distances used a random sample of {MAX_PRIVACY_ROWS:,} rows "
                         f"of each of the {', '.join(sampled)} tables (exact copies compare "
                         "every measured row)")
    else:
        notes.append("privacy not measured: it needs a holdout of real rows the model never saw")
    summary = verdicts(fidelity_part, utility_part, privacy_part, identifiers, rare)
    summary["identifiers"] = identifiers
    summary["rare_values"] = rare
    summary["subject_column"] = subject
    summary["copied_rows"] = copied_rows(real, synthetic, kinds)
    summary["guarantee"] = guarantee_text(guarantee)
    if patients_part is not None:
        summary.update(patients_part["summary"])
    summary.update(rule_verdicts(real, synthetic, metadata))
    summary.update(real_rows=sizes["real"][1], synthetic_rows=sizes["synthetic"][1],
                   holdout_rows=sizes["holdout"][1] if "holdout" in sizes else None,
                   real_rows_measured=len(real), synthetic_rows_measured=len(synthetic),
                   holdout_rows_measured=None if holdout is None else len(holdout),
                   max_rows=max_rows, seconds=round(time.perf_counter() - started, 2))
    columns = {"kinds": kinds, "real": fidelity_real, "synthetic": fidelity_synthetic,
               "distances": distances}
    return Report(fidelity_part, utility_part, privacy_part, summary, notes, columns,
                  patients_part)
