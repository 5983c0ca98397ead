"""Saved models on Spark: score, sample and fit on the cluster a table already lives on.

Needs the ``spark`` extra (``pip install 'toolkit[spark]'``: pyspark >= 3.5). The model
file's bytes are broadcast and loaded once per Python worker; batches travel as Arrow
through ``mapInPandas`` with the output schema declared up front (MLflow's
``spark_udf`` way). The logic shared with :mod:`toolkit.engines.dask` is in
:mod:`toolkit.engines.common`.

Examples
--------
>>> from toolkit import spark  # doctest: +SKIP
>>> scored = spark.score("detector.tkm", sdf, explain=True)  # doctest: +SKIP
>>> rows = spark.sample("model.tkm", 1_000_000, seed=7)  # doctest: +SKIP
>>> tables = spark.sample_dataset("hospital.tkm", scale=10, seed=7)  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from toolkit.adapters.statistics import ColumnStatistics
from toolkit.engines.common import (
    PROBE_ROWS,
    SamplePlan,
    cached_model,
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
    from pyspark.broadcast import Broadcast
    from pyspark.sql import DataFrame, SparkSession
    from pyspark.sql.types import StructType

ARROW = "spark.sql.execution.arrow.pyspark.enabled"


def score(model: Any, sdf: DataFrame, explain: bool = False, top: int = 3) -> DataFrame:
    """Score every row of a Spark DataFrame with a saved anomaly detector.

    Parameters
    ----------
    model : str, Path or AnomalyDetector
        A detector saved by ``toolkit fit --task detect`` / :meth:`AnomalyDetector.save`,
        or a fitted detector.
    sdf : pyspark.sql.DataFrame
        Rows with (at least) the training columns; other columns are kept as they are.
    explain : bool, default False
        Add ``top_columns``: each row's ``top`` most anomalous columns with their share of
        the score in nats (``"chol (9.1); bili (4.0)"``), as ``toolkit score --explain``.
    top : int, default 3
        Columns listed by ``explain``.

    Returns
    -------
    pyspark.sql.DataFrame
        ``sdf`` with ``anomaly_score`` (double: the detector's ``decision_function``,
        higher is more anomalous), ``is_outlier`` (boolean: above ``threshold_``, as
        ``predict``) and, with ``explain``, ``top_columns`` (string). Lazy, as Spark is.

    Raises
    ------
    DataError
        On the driver, before any job, when the first rows lack a training column, hold
        an unseen level, a wrong type or inf (the detector's own checks), or when ``sdf``
        already has one of the added columns. Later rows with such problems fail the job.
    ModelFileError, UsageError
        For a bad model file or option, or when pyspark is not installed.
    """
    require("spark")
    from pyspark.sql.types import StructType

    head = sdf.limit(PROBE_ROWS).toPandas()
    data = prepare_scoring(model, sdf.columns, head, explain, top, "spark")
    names = list(sdf.columns)
    schema = StructType([*sdf.schema.fields, *spark_schema(score_columns(explain)).fields])
    shared = sdf.sparkSession.sparkContext.broadcast(data)
    # positional names on the way in: mapInPandas cannot pass columns with dots in their names
    safe = sdf.toDF(*(f"_{index}" for index in range(len(names))))
    return safe.mapInPandas(partial(_score_batches, shared, names, explain, top), schema)


def _score_batches(shared: Broadcast, names: list[str], explain: bool, top: int,
                   batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    detector = cached_model(shared.value, "detector")
    for batch in batches:
        batch.columns = names
        yield score_batch(detector, batch, explain, top)


def sample(model: Any, num_rows: int, spark: SparkSession | None = None,
           num_partitions: int | None = None, seed: int | None = 0,
           conditions: dict[str, Any] | pd.DataFrame | None = None) -> DataFrame:
    """Generate synthetic rows on Spark, each partition from its own seed stream.

    Parameters
    ----------
    model : str, Path or Synthesizer
        A saved synthesizer's path or a fitted :class:`~toolkit.Synthesizer`.
    num_rows : int
        Rows to generate, split over the partitions as evenly as possible.
    spark : SparkSession or None, default None
        ``None``: the active session, else ``SparkSession.builder.getOrCreate()``.
    num_partitions : int or None, default None
        ``None``: the context's ``defaultParallelism``.
    seed : int or None, default 0
        Partition ``i`` draws from ``numpy.random.SeedSequence(seed).spawn(num_partitions)[i]``
        (see :class:`toolkit.engines.common.SamplePlan`): the same ``seed`` and ``num_partitions``
        give the same rows on any cluster. ``None`` draws a fresh seed.
    conditions : dict or pandas.DataFrame, optional
        As for :meth:`Synthesizer.sample`: ``{column: value}`` for every row, or one row of
        conditions per generated row (``num_rows`` rows, sent with the job).

    Returns
    -------
    pyspark.sql.DataFrame
        ``num_rows`` rows with the training columns: integers as ``bigint``, text as
        ``string``, datetimes as ``timestamp``, booleans as ``boolean``. IDs are unique
        across partitions, numbered as one ``Synthesizer.sample(num_rows)`` of the loaded
        model numbers them. Lazy: rows are drawn when an action runs.

    Raises
    ------
    DataError
        On the driver, for a condition on an unknown column or an unseen value.
    ModelFileError, UsageError
        For a bad model file or option, or when pyspark is not installed.
    """
    spark, num_partitions = _session(spark, num_partitions)
    data, plan, probe = plan_sample(model, num_rows, num_partitions, seed, conditions, "spark")
    schema = spark_schema(probe)
    shared = spark.sparkContext.broadcast(data)
    partitions = spark.range(plan.num_partitions, numPartitions=plan.num_partitions)
    return partitions.mapInPandas(partial(_sample_batches, shared, plan, schema), schema)


def sample_dataset(model: Any, scale: float = 1.0, spark: SparkSession | None = None,
                   num_partitions: int | None = None, seed: int | None = 0,
                   conditions: dict[str, Any] | None = None) -> dict[str, DataFrame]:
    """Generate a synthetic dataset (linked tables) on Spark, split by root entities.

    Each partition generates its share of the root rows (the patients) and everything under
    them from its own seed stream (:mod:`toolkit.engines.dataset_plan`); root tables that
    others point at by a lookup or a second key (wards) are generated once on the driver.

    Parameters
    ----------
    model : str, Path or MultiTableSynthesizer
        A saved dataset model's path or a fitted :class:`~toolkit.MultiTableSynthesizer`.
    scale : float, default 1.0
        Root rows as a share of the training rows, as for
        :meth:`MultiTableSynthesizer.sample`.
    spark : SparkSession or None, default None
        ``None``: the active session, else ``SparkSession.builder.getOrCreate()``.
    num_partitions : int or None, default None
        ``None``: the context's ``defaultParallelism``.
    seed : int or None, default 0
        The same seed and ``num_partitions`` give the same tables on any cluster (and as
        :func:`toolkit.engines.dask.sample_dataset`); ``None`` draws a fresh seed.
    conditions : dict, optional
        As for :meth:`MultiTableSynthesizer.sample`: values of root tables' columns.

    Returns
    -------
    dict of str to pyspark.sql.DataFrame
        Every table, with its training columns (types as :func:`sample` gives them), keys
        unique across partitions and every foreign key pointing at a generated row. Lazy:
        each table's job generates its partitions when an action runs (a worker process
        keeps the last partitions it generated for the other tables' jobs).

    Raises
    ------
    DataError
        On the driver, for a condition the model cannot meet.
    ModelFileError, UsageError
        For a bad model file or option, or when pyspark is not installed.
    """
    spark, num_partitions = _session(spark, num_partitions)
    from toolkit.engines.dataset_plan import plan_dataset

    job = plan_dataset(model, scale, num_partitions, seed, conditions)
    shared = spark.sparkContext.broadcast((job.data, job.plan))
    tables = {}
    for name, probe in job.probes.items():
        schema = spark_schema(probe)
        if name in job.shared:
            with _arrow(spark):
                tables[name] = spark.createDataFrame(_for_arrow(job.shared[name].copy(),
                                                                schema), schema)
            continue
        partitions = spark.range(num_partitions, numPartitions=num_partitions)
        tables[name] = partitions.mapInPandas(partial(_dataset_batches, shared, name, schema),
                                              schema)
    return tables


def _session(spark: SparkSession | None, num_partitions: int | None
             ) -> tuple[SparkSession, int]:
    """The session to use (the given, the active or a new one) and the partitions (``None``:
    the context's ``defaultParallelism``)."""
    require("spark")
    from pyspark.sql import SparkSession

    spark = spark or SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    return spark, spark.sparkContext.defaultParallelism if num_partitions is None \
        else num_partitions


def _dataset_batches(shared: Broadcast, name: str, schema: StructType,
                     batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    from toolkit.engines.dataset_plan import partition_tables

    data, plan = shared.value
    model = cached_model(data, "dataset")
    key = hashlib.sha256(data).hexdigest()
    for batch in batches:
        for index in batch["id"]:
            yield _for_arrow(partition_tables(model, plan, int(index), key)[name].copy(),
                             schema)


def _sample_batches(shared: Broadcast, plan: SamplePlan, schema: StructType,
                    batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    synthesizer = cached_model(shared.value, "synthesizer")
    for batch in batches:
        for index in batch["id"]:
            for rows in plan.rows(synthesizer, int(index)):
                yield _for_arrow(rows, schema)


def spark_schema(frame: pd.DataFrame) -> StructType:
    """The Spark schema of rows like ``frame``'s, from their Arrow types: integers of any
    width (nullable ``Int64`` too) as ``bigint``, floats as ``double``, text and categories
    as ``string``, datetimes as ``timestamp``, booleans as ``boolean``; a column whose
    values are all missing or of mixed types as ``string``."""
    import pyarrow as pa
    from pyspark.sql.pandas.types import from_arrow_type
    from pyspark.sql.types import StructField, StructType

    def arrow_type(series: pd.Series) -> pa.DataType:
        try:
            arrow_type = pa.array(series, from_pandas=True).type
        except (pa.ArrowException, TypeError, ValueError):
            return pa.string()
        if pa.types.is_dictionary(arrow_type):
            arrow_type = arrow_type.value_type
        if pa.types.is_integer(arrow_type):
            return pa.int64()
        if pa.types.is_floating(arrow_type):
            return pa.float64()
        if pa.types.is_null(arrow_type) or pa.types.is_large_string(arrow_type):
            return pa.string()
        if pa.types.is_timestamp(arrow_type):  # Spark's timestamp, not timestamp_ntz
            return pa.timestamp("us", tz="UTC")
        return arrow_type

    return StructType([StructField(str(column), from_arrow_type(arrow_type(frame[column])))
                       for column in frame.columns])


def _for_arrow(rows: pd.DataFrame, schema: StructType) -> pd.DataFrame:
    """``rows`` in the values ``schema`` declares: categories as their values, anything in
    a ``string`` column as text."""
    from pyspark.sql.types import StringType

    for field in schema.fields:
        values = rows[field.name]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if isinstance(field.dataType, StringType) and values.dtype == object:
            values = values.map(lambda v: v if v is None or isinstance(v, str)
                                else None if pd.isna(v) else str(v))
        rows[field.name] = values
    return rows


def fit(sdf: DataFrame, task: str = "synthesize", random_state: int | None = None,
        **params: Any) -> Any:
    """Fit a synthesizer or detector on a bounded uniform sample of a Spark DataFrame.

    The rows are counted on Spark; a table of more than ``max_training_rows`` rows (a
    :class:`~toolkit.config.Config` setting, 500,000 by default) is sampled on Spark
    (``sdf.sample`` with a seeded fraction a little over the bound) and trimmed to the
    bound on the driver with a seeded choice; the sample is collected through Arrow in
    the dtypes an in-process read of the table would have (integers as ``int64``, or
    ``Int64`` with missing values; text as ``object``) and the estimator is fitted here.
    A table within the bound is fitted whole: the model an in-process fit of the collected
    rows gives.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        The training table.
    task : {"synthesize", "detect"}, default "synthesize"
        Fit a :class:`~toolkit.Synthesizer` or an :class:`~toolkit.AnomalyDetector`.
    random_state : int or None, default None
        Seeds the sample and the estimator: the same seed, table and partitioning give
        the same model.
    **params
        The estimator's other parameters (``config``, ``epochs``, ``backend`` ...).

    Returns
    -------
    Synthesizer or AnomalyDetector
        Fitted, with ``n_rows_seen_``: the number of rows of ``sdf`` (``n_rows_`` of a
        synthesizer, or of a detector's ``model_``, is the sample's).

    Raises
    ------
    UsageError
        For an unknown task or parameter, a bad option, or when pyspark is not installed.
    DataError
        For a table the estimator cannot learn from (as in-process).
    """
    require("spark")
    return fit_on_engine(task, random_state, params, partial(_statistics, sdf),
                         partial(_draw, sdf))


def _statistics(sdf: DataFrame) -> ColumnStatistics:
    """Column statistics of every partition (one job), merged on the driver."""
    names = list(sdf.columns)
    safe = sdf.toDF(*(f"_{index}" for index in range(len(names))))
    parts = safe.mapInPandas(partial(_partition_statistics, names), "statistics binary")
    return merged_statistics(pickle.loads(row.statistics) for row in parts.collect())


def _partition_statistics(names: list[str], batches: Iterator[pd.DataFrame]
                          ) -> Iterator[pd.DataFrame]:
    whole = ColumnStatistics()
    for batch in batches:
        batch.columns = names
        whole.merge(partition_statistics(batch))
    yield pd.DataFrame({"statistics": [pickle.dumps(whole)]})


#: resolution of the patient hash that samples a longitudinal table
HASH_BINS = 1_000_000_000


def _draw(sdf: DataFrame, fraction: float | None, seed: int,
          subject: str | None = None) -> pd.DataFrame:
    if fraction is None:
        rows = sdf
    elif subject is None:
        rows = sdf.sample(withReplacement=False, fraction=fraction, seed=seed)
    else:  # whole patients: a seeded hash of the subject, the same on every row of one
        from pyspark.sql import functions as F  # noqa: N812

        key = F.abs(F.xxhash64(F.col(subject).cast("string"), F.lit(seed)) % HASH_BINS)
        rows = sdf.where(key < int(fraction * HASH_BINS))
    with _arrow(sdf.sparkSession):
        frame = rows.toPandas()
    return as_read_types(frame, sdf.schema)


@contextmanager
def _arrow(spark: SparkSession) -> Iterator[None]:
    """Collect through Arrow, leaving the session's setting as it was."""
    before = spark.conf.get(ARROW, None)
    spark.conf.set(ARROW, "true")
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(ARROW)
        else:
            spark.conf.set(ARROW, before)


def as_read_types(frame: pd.DataFrame, schema: StructType) -> pd.DataFrame:
    """A collected ``frame`` with the dtypes of an in-process read: integer columns as
    ``int64``, or nullable ``Int64`` when they have missing values (``toPandas`` makes
    those float)."""
    from pyspark.sql.types import IntegralType

    for field in schema.fields:
        if isinstance(field.dataType, IntegralType):
            values = frame[field.name]
            dtype = "Int64" if values.isna().any() else "int64"
            frame[field.name] = values.astype(dtype)
    return frame

