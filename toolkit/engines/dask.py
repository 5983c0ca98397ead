"""Saved models on Dask: score, sample and fit partition by partition.

Needs the ``dask`` extra (``pip install 'toolkit[dask]'``: ``dask[dataframe]``). As in
dask-ml's ``ParallelPostFit``, the model is fitted in memory on what fits and applied
with ``map_partitions``; it travels once, as the bytes of its model file in one graph
key, and is loaded once per worker process (once in all for the threaded scheduler).
The logic shared with :mod:`toolkit.engines.spark` is in :mod:`toolkit.engines.common`.

Examples
--------
>>> from toolkit import dask as tkdask  # doctest: +SKIP
>>> scored = tkdask.score("detector.tkm", ddf, explain=True)  # doctest: +SKIP
>>> rows = tkdask.sample("model.tkm", 1_000_000, seed=7)  # doctest: +SKIP
>>> tables = tkdask.sample_dataset("hospital.tkm", scale=10, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import math
import warnings
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolkit.adapters.statistics import ColumnStatistics
from toolkit.engines.common import (
    PROBE_ROWS,
    SamplePlan,
    cached_model,
    check_count,
    fit_on_engine,
    merged_statistics,
    partition_statistics,
    plan_sample,
    prepare_scoring,
    require,
    score_batch,
    score_columns,
)

if TYPE_CHECKING:
    from dask.dataframe import DataFrame

#: rows per partition of :func:`sample` when ``npartitions`` is not given
PARTITION_ROWS = 100_000
#: root rows (patients, each with everything under them) per partition of
#: :func:`sample_dataset` when ``npartitions`` is not given
DATASET_PARTITION_ROOTS = 10_000


def score(model: Any, ddf: DataFrame, explain: bool = False, top: int = 3) -> DataFrame:
    """Score every row of a Dask DataFrame with a saved anomaly detector.

    Parameters
    ----------
    model : str, Path or AnomalyDetector
        A saved detector's path or a fitted :class:`~toolkit.AnomalyDetector`.
    ddf : dask.dataframe.DataFrame
        Rows with (at least) the training columns; other columns are kept as they are.
    explain : bool, default False
        Add ``top_columns``, as :func:`toolkit.engines.spark.score` (``"chol (9.1); bili (4.0)"``).
    top : int, default 3
        Columns listed by ``explain``.

    Returns
    -------
    dask.dataframe.DataFrame
        ``ddf`` with ``anomaly_score`` (float64: the detector's ``decision_function``),
        ``is_outlier`` (bool: above ``threshold_``, as ``predict``) and, with ``explain``,
        ``top_columns``. Lazy, as Dask is.

    Raises
    ------
    DataError
        Before any graph runs, when the first rows (of the first partition) lack a training
        column, hold an unseen level, a wrong type or inf, or when ``ddf`` already has one
        of the added columns. Later rows with such problems fail at ``compute``.
    ModelFileError, UsageError
        For a bad model file or option, or when dask is not installed.
    """
    require("dask")
    from dask import delayed

    data = prepare_scoring(model, list(ddf.columns), _head(ddf), explain, top, "dask")
    added = score_columns(explain)
    meta = ddf._meta.assign(**{name: added[name] for name in added.columns})
    return ddf.map_partitions(_score_partition, delayed(data, pure=True), explain, top,
                              meta=meta)


def _head(ddf: DataFrame) -> pd.DataFrame:
    """The first rows of the first partition (Dask warns when it has fewer)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ddf.head(PROBE_ROWS, npartitions=1, compute=True)


def _score_partition(partition: pd.DataFrame, data: bytes, explain: bool,
                     top: int) -> pd.DataFrame:
    return score_batch(cached_model(data, "detector"), partition, explain, top)


def sample(model: Any, num_rows: int, npartitions: int | None = None, seed: int | None = 0,
           conditions: dict[str, Any] | pd.DataFrame | None = None) -> DataFrame:
    """Generate synthetic rows as a Dask DataFrame, each partition from its own seed stream.

    Parameters
    ----------
    model : str, Path or Synthesizer
        A saved synthesizer's path or a fitted :class:`~toolkit.Synthesizer`.
    num_rows : int
        Rows to generate, split over the partitions as evenly as possible.
    npartitions : int or None, default None
        ``None``: one per :data:`PARTITION_ROWS` rows.
    seed : int or None, default 0
        As for :func:`toolkit.engines.spark.sample`: the same seed and number of partitions give the
        same rows (also the same rows as Spark's). ``None`` draws a fresh seed.
    conditions : dict or pandas.DataFrame, optional
        As for :meth:`Synthesizer.sample`.

    Returns
    -------
    dask.dataframe.DataFrame
        ``num_rows`` rows with the training columns and dtypes (text as Dask's string dtype
        unless ``dataframe.convert-string`` is off), indexed ``0`` to ``num_rows - 1``;
        IDs unique across partitions. Lazy.

    Raises
    ------
    DataError
        For a condition on an unknown column or an unseen value (before any graph runs).
    ModelFileError, UsageError
        For a bad model file or option, or when dask is not installed.
    """
    dd = require("dask")
    from dask import delayed

    if npartitions is None:
        npartitions = math.ceil(check_count("num_rows", num_rows) / PARTITION_ROWS)
    check_count("npartitions", npartitions)
    data, plan, probe = plan_sample(model, num_rows, npartitions, seed, conditions, "dask")
    meta = probe.iloc[:0]
    model_key, plan_key = delayed(data, pure=True), delayed(plan, pure=True)
    parts = [delayed(_sample_partition)(model_key, plan_key, index, meta)
             for index in range(plan.num_partitions)]
    return dd.from_delayed(parts, meta=meta, verify_meta=False)


def sample_dataset(model: Any, scale: float = 1.0, npartitions: int | None = None,
                   seed: int | None = 0, conditions: dict[str, Any] | None = None
                   ) -> dict[str, DataFrame]:
    """Generate a synthetic dataset (linked tables) as Dask DataFrames, split by root
    entities.

    As :func:`toolkit.engines.spark.sample_dataset` (the same seed and number of partitions
    give the same tables on both engines).

    Parameters
    ----------
    model : str, Path or MultiTableSynthesizer
        A saved dataset model's path or a fitted :class:`~toolkit.MultiTableSynthesizer`.
    scale : float, default 1.0
        Root rows as a share of the training rows.
    npartitions : int or None, default None
        ``None``: one per :data:`DATASET_PARTITION_ROOTS` root rows.
    seed : int or None, default 0
        Seed of the plan; ``None`` draws a fresh one.
    conditions : dict, optional
        As for :meth:`MultiTableSynthesizer.sample`.

    Returns
    -------
    dict of str to dask.dataframe.DataFrame
        Every table with its training columns and dtypes, keys unique across partitions,
        each partition's rows indexed from 0. Lazy; computed together
        (``dask.compute(*tables.values())``) each partition is generated once.

    Raises
    ------
    DataError
        For a condition the model cannot meet (before any graph runs).
    ModelFileError, UsageError
        For a bad model file or option, or when dask is not installed.
    """
    dd = require("dask")
    from dask import delayed

    from toolkit.engines.dataset_plan import plan_dataset

    job = plan_dataset(model, scale, npartitions, seed, conditions, DATASET_PARTITION_ROOTS)
    model_key, plan_key = delayed(job.data, pure=True), delayed(job.plan, pure=True)
    parts = [delayed(_dataset_partition)(model_key, plan_key, index)
             for index in range(job.plan.num_partitions)]
    tables = {}
    for name, probe in job.probes.items():
        meta = probe.iloc[:0]
        if name in job.shared:
            tables[name] = dd.from_pandas(job.shared[name], npartitions=1)
            continue
        tables[name] = dd.from_delayed([delayed(_table_of)(part, name, meta) for part in parts],
                                       meta=meta, verify_meta=False)
    return tables


def _dataset_partition(data: bytes, plan: Any, index: int) -> dict[str, pd.DataFrame]:
    from toolkit.engines.dataset_plan import partition_tables

    return partition_tables(cached_model(data, "dataset"), plan, index,
                            hashlib.sha256(data).hexdigest())


def _table_of(tables: dict[str, pd.DataFrame], name: str, meta: pd.DataFrame) -> pd.DataFrame:
    return _as_meta(tables[name], meta)


def _as_meta(rows: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """A partition's rows in the dtypes its ``meta`` declares (``meta`` for no rows)."""
    if rows.empty:
        return meta
    differ = {c: meta[c].dtype for c in meta.columns if rows[c].dtype != meta[c].dtype}
    return rows.astype(differ) if differ else rows


def _sample_partition(data: bytes, plan: SamplePlan, index: int,
                      meta: pd.DataFrame) -> pd.DataFrame:
    frames = list(plan.rows(cached_model(data, "synthesizer"), index))
    return _as_meta(pd.concat(frames), meta) if frames else meta


def fit(ddf: DataFrame, task: str = "synthesize", random_state: int | None = None,
        **params: Any) -> Any:
    """Fit a synthesizer or detector on a bounded uniform sample of a Dask DataFrame.

    As :func:`toolkit.engines.spark.fit`: the rows are counted, a table of more than
    ``max_training_rows`` rows is sampled on Dask (``ddf.sample`` with a seeded
    fraction) and trimmed to the bound with a seeded choice, text comes back as
    ``object``, and the estimator is fitted in this process. A table within the bound is
    fitted whole: the model an in-process fit of the computed rows gives.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The training table.
    task : {"synthesize", "detect"}, default "synthesize"
        Fit a :class:`~toolkit.Synthesizer` or an :class:`~toolkit.AnomalyDetector`.
    random_state : int or None, default None
        Seeds the sample and the estimator.
    **params
        The estimator's other parameters.

    Returns
    -------
    Synthesizer or AnomalyDetector
        Fitted, with ``n_rows_seen_``: the number of rows of ``ddf``.

    Raises
    ------
    UsageError
        For an unknown task or parameter, a bad option, or when dask is not installed.
    DataError
        For a table the estimator cannot learn from (as in-process).
    """
    require("dask")
    return fit_on_engine(task, random_state, params, partial(_statistics, ddf),
                         partial(_draw, ddf))


def _statistics(ddf: DataFrame) -> ColumnStatistics:
    """Column statistics of every partition, merged."""
    import dask

    parts = [dask.delayed(partition_statistics)(part) for part in ddf.to_delayed()]
    return merged_statistics(dask.compute(*parts))


def _draw(ddf: DataFrame, fraction: float | None, seed: int,
          subject: str | None = None) -> pd.DataFrame:
    if fraction is None:
        return ddf.compute()
    if subject is None:
        return ddf.sample(frac=fraction, random_state=seed).compute()
    # whole patients: a seeded hash of the subject, the same on every row of one
    return ddf.map_partitions(_patients_in, subject, fraction, seed).compute()


def _patients_in(partition: pd.DataFrame, subject: str, fraction: float, seed: int
                 ) -> pd.DataFrame:
    values = partition[subject].astype(str).to_numpy(dtype=object)
    keys = pd.util.hash_array(values, hash_key=f"{seed % 10**16:016d}") / 2.0**64
    return partition[keys < fraction]
