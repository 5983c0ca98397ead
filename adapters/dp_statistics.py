"""Differentially private column statistics for the tabular adapter.

A :class:`~toolkit.adapters.tabular.TabularAdapter` learns from the real rows (category
lists, ranges, quantiles, missing rates), and those statistics end up in the
model file, so a differentially private fit must not compute them from the data
in the clear. Here they come from two sources only:

* the **schema**, which the user states in the metadata and which is treated as
  public: each column's kind, numeric bounds (``min``/``max``), optionally the
  ``decimals`` continuous values are rounded to, and categorical levels (``values``);
* one **Gaussian-mechanism release** of a histogram per column over that schema
  (numeric columns: equal-width bins between the bounds, more of them when the
  noise is small against the (public) row count, or one bin per integer;
  categorical columns: one bin per level; every column: one bin for missing).
  Each row adds exactly 1 to one bin of every column, so adding or removing a row
  changes the concatenated histograms by ``sqrt(k)`` in L2 norm for ``k`` columns;
  the noise is ``noise_multiplier * sqrt(k)`` per bin, which makes the release a
  sampled-Gaussian step with sampling rate 1 for the privacy accountant.

A surrogate table is then drawn from the noisy histograms and the ordinary
adapter is fitted on it, so every statistic it stores is post-processing of the
release. Noisy counts below ``THRESHOLD`` noise deviations are dropped (free
post-processing; it keeps noise from inventing missing values and empty tails).
Values outside the stated bounds are clipped into the edge bins (and
by the adapter when encoding); a level not listed is refused.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.kinds import IDENTIFYING_KINDS, PERSONAL_KINDS
from toolkit.adapters.personal import PersonalFormat
from toolkit.exceptions import DataError, UsageError

#: equal-width bins per bounded numeric column: as many as keep ``ROWS_PER_NOISE`` noise
#: deviations of expected count per bin, within ``[MIN_BINS, MAX_BINS]`` (integer columns
#: with at most ``INTEGER_BINS`` values get one bin per value)
ROWS_PER_NOISE = 4.0
MIN_BINS, MAX_BINS = 10, 200
INTEGER_BINS = 100
#: noisy counts below this many noise standard deviations are set to 0 (post-processing)
THRESHOLD = 2.0
#: rows of the surrogate table the adapter is fitted on
SURROGATE_ROWS = 5000
NUMERIC_KINDS = ("continuous", "integer")
LEVEL_KINDS = ("categorical", "boolean")


def draft_schema(data: pd.DataFrame, numeric: tuple[str, ...] = ()
                 ) -> dict[str, dict[str, Any]]:
    """A metadata draft for a private fit: each column's inferred kind, with ``min``/``max``
    or ``values`` **read from the data**; the ``numeric`` columns (a longitudinal table's
    order: a day, a visit number) are drafted as numbers even with few values.

    Publishing bounds and levels read from the data is itself a disclosure (the
    largest salary, a rare diagnosis): replace them with public knowledge (a data
    dictionary, plausible ranges) before a private release.

    Raises
    ------
    DataError
        For a table that cannot be learned from (see :func:`~toolkit.adapters.tabular.check_table`).
    """
    from toolkit.adapters.columns import decimals_of
    from toolkit.adapters.tabular import check_table, infer_kind

    data = check_table(data)
    schema: dict[str, dict[str, Any]] = {}
    for column in data.columns:
        kind = infer_kind(data[column])
        values = data[column].dropna()
        if str(column) in numeric and pd.api.types.is_numeric_dtype(values.dtype):
            whole = bool((values == np.round(values)).all())
            kind = "integer" if whole else "continuous"
        if kind in NUMERIC_KINDS:
            schema[str(column)] = {"kind": kind, "min": float(values.min()),
                                   "max": float(values.max())}
            if kind == "continuous":
                schema[str(column)]["decimals"] = decimals_of(values.to_numpy(dtype=float))
        elif kind in LEVEL_KINDS:
            levels = sorted(values.unique().tolist(), key=str)
            schema[str(column)] = {"kind": kind,
                                   "values": [v.item() if hasattr(v, "item") else v
                                              for v in levels]}
        else:
            schema[str(column)] = {"kind": kind}
    return schema


def check_private_schema(columns: list[str], described: dict[str, dict]) -> dict[str, dict]:
    """Check that the metadata states what a private fit needs for every column.

    Parameters
    ----------
    columns : list of str
        The table's columns.
    described : dict
        ``{column: {"kind": ..., "min": ..., "max": ..., "values": [...]}}`` from
        :func:`toolkit.adapters.tabular.load_column_metadata`.

    Returns
    -------
    dict
        The schema per column, booleans given ``values: [false, true]`` when unstated.

    Raises
    ------
    UsageError
        Naming the first column without a kind, bounds or levels, or with a kind a
        private fit does not support.
    """
    missing = [c for c in columns if c not in described]
    if missing:
        raise UsageError(
            f"with epsilon set, the metadata must describe every column (kind, and min/max "
            f"or values); not described: {missing}")
    schema = {}
    for column in columns:
        entry = dict(described[column])
        kind = entry["kind"]
        if kind in NUMERIC_KINDS:
            low, high = entry.get("min"), entry.get("max")
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (low, high)):
                raise UsageError(f"with epsilon set, numeric column {column!r} needs numeric "
                                 "'min' and 'max' bounds in the metadata")
            if not low < high:
                raise UsageError(f"metadata bounds of {column!r}: min {low} must be below "
                                 f"max {high}")
            decimals = entry.get("decimals", 0)
            if not (isinstance(decimals, int) and 0 <= decimals <= 12):
                raise UsageError(f"metadata 'decimals' of {column!r} must be an integer from 0 "
                                 f"to 12, got {decimals!r}")
        elif kind in LEVEL_KINDS:
            if kind == "boolean":
                entry.setdefault("values", [False, True])
            values = entry.get("values")
            if not isinstance(values, list) or not values:
                raise UsageError(f"with epsilon set, {kind} column {column!r} needs its "
                                 "'values' listed in the metadata")
        elif kind not in IDENTIFYING_KINDS:
            raise UsageError(f"with epsilon set, {kind} column {column!r} is not supported; "
                             "describe it as continuous or integer with bounds, or drop it")
        schema[column] = entry
    return schema


def numeric_bins(n_rows: int, scale: float) -> int:
    """Bins per numeric column for a release with noise deviation ``scale`` on ``n_rows``
    rows (both public): finer when the noise is small against the counts."""
    return int(np.clip(n_rows / (ROWS_PER_NOISE * max(scale, 1e-12)), MIN_BINS, MAX_BINS))


def _bins(entry: dict, n_bins: int) -> tuple[str, Any]:
    """How a column is histogrammed: ``("levels", values)`` or ``("edges", edges)``."""
    if entry["kind"] in LEVEL_KINDS:
        return "levels", list(entry["values"])
    low, high = float(entry["min"]), float(entry["max"])
    if entry["kind"] == "integer" and high - low + 1 <= INTEGER_BINS:
        return "edges", np.arange(math.floor(low), math.floor(high) + 2) - 0.5
    return "edges", np.linspace(low, high, n_bins + 1)


def _level_key(value: Any) -> str:
    """A level as text, with whole floats written as integers (``1.0`` and ``1`` match)."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    return str(value)


def _counts(series: pd.Series, how: str, bins: Any, column: str) -> np.ndarray:
    """Exact histogram of ``series`` (last bin: missing)."""
    missing = series.isna().to_numpy()
    if how == "levels":
        lookup = {_level_key(level): i for i, level in enumerate(bins)}
        observed = series[~missing].map(_level_key)
        unknown = sorted(set(observed) - set(lookup))
        if unknown:
            raise DataError(f"column {column!r} has values not listed in the metadata: "
                            f"{unknown[:10]}")
        index = observed.map(lookup).to_numpy(dtype=int)
        width = len(bins)
    else:
        values = pd.to_numeric(series[~missing], errors="coerce").to_numpy(dtype=float)
        if np.isnan(values).any():
            raise DataError(f"numeric column {column!r} holds values that are not numbers")
        index = np.clip(np.searchsorted(bins, values, side="right") - 1, 0, len(bins) - 2)
        width = len(bins) - 1
    return np.bincount(np.r_[index, np.full(missing.sum(), width)], minlength=width + 1)


def _draw(how: str, bins: Any, probs: np.ndarray, entry: dict,
          rng: np.random.Generator) -> pd.Series:
    """``SURROGATE_ROWS`` values from a noisy histogram (NaN for the missing bin)."""
    chosen = rng.choice(len(probs), SURROGATE_ROWS, p=probs)
    if how == "levels":
        chosen[: len(bins)] = np.arange(len(bins))  # every listed level exists in the adapter
        levels = np.array([*bins, None], dtype=object)
        return pd.Series(levels[chosen])
    missing = chosen == len(probs) - 1
    edges = bins
    inner = np.minimum(chosen, len(edges) - 2)
    values = rng.uniform(edges[inner], edges[inner + 1])
    values = np.clip(values, float(entry["min"]), float(entry["max"]))
    if entry["kind"] == "integer":
        values = np.round(values)
    if "decimals" in entry:
        values = np.round(values, int(entry["decimals"]))
    values = np.where(missing, np.nan, values)
    values[:2] = entry["min"], entry["max"]  # the adapter's range is the stated bounds
    return pd.Series(values)


def private_surrogate(data: pd.DataFrame, schema: dict[str, dict], noise_multiplier: float,
                      rng: np.random.Generator) -> pd.DataFrame:
    """A surrogate table drawn from a Gaussian-mechanism release of per-column histograms.

    Parameters
    ----------
    data : pandas.DataFrame
        The real rows (read once, to count).
    schema : dict
        From :func:`check_private_schema`.
    noise_multiplier : float
        Noise standard deviation per bin, in units of the release's L2 sensitivity
        ``sqrt(k)`` (``k``: columns with a histogram, i.e. all but IDs).
    rng : numpy.random.Generator
        Source of the noise and of the surrogate draws.

    Returns
    -------
    pandas.DataFrame
        ``SURROGATE_ROWS`` rows with the table's columns; ID columns hold fresh
        sequential IDs (their format is not learned from the data).
    """
    histogrammed = [c for c in data.columns if schema[str(c)]["kind"] not in IDENTIFYING_KINDS]
    scale = noise_multiplier * math.sqrt(max(1, len(histogrammed)))
    n_bins = numeric_bins(len(data), scale)
    surrogate = {}
    for original in data.columns:
        column = str(original)
        entry = schema[column]
        if entry["kind"] == "id":
            surrogate[column] = pd.Series(np.arange(SURROGATE_ROWS))
            continue
        if entry["kind"] in PERSONAL_KINDS:  # generated in a default format: nothing read
            people = PersonalFormat(entry["kind"]).fit(pd.Series([], dtype=object), rng)
            surrogate[column] = pd.Series(people.generate(SURROGATE_ROWS, rng), dtype=object)
            continue
        how, bins = _bins(entry, n_bins)
        counts = _counts(data[original], how, bins, column)
        noisy = counts + rng.normal(0.0, scale, counts.shape)
        noisy[noisy < THRESHOLD * scale] = 0.0  # mostly noise: e.g. missing values that never were
        probs = noisy / noisy.sum() if noisy.sum() > 0 else np.full(len(noisy), 1 / len(noisy))
        surrogate[column] = _draw(how, bins, probs, entry, rng)
    return pd.DataFrame(surrogate)
