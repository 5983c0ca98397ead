"""What :mod:`toolkit.engines.spark` and :mod:`toolkit.engines.dask` share: the
engine-independent half of scoring, sampling and fitting on partitions.

An engine module only moves data: it hands pandas batches of its partitions to the
functions here and turns what they return back into its own DataFrame. Everything
that decides a result lives here, once:

* **the model travels as bytes** (:func:`model_bytes`) and is loaded once per worker
  process (:func:`cached_model`: a small cache keyed by the bytes' SHA-256, loaded on
  CPU from a temporary file, so a model file never runs code);
* **checks on the driver**: before a job starts, the estimator's own checks run on
  the first rows (:func:`prepare_scoring`, :func:`plan_sample`), so that bad input
  fails with the toolkit's one-line :class:`~toolkit.exceptions.DataError` or
  :class:`~toolkit.exceptions.UsageError` instead of an engine traceback;
* **scores** of a batch (:func:`score_batch`): ``anomaly_score`` is the detector's
  ``decision_function``, ``is_outlier`` the same comparison with ``threshold_`` as
  ``predict``, ``top_columns`` what ``toolkit score --explain`` writes;
* **parallel sampling** (:class:`SamplePlan`): partition ``i`` of ``P`` draws its share
  of the rows from its own stream, ``numpy.random.SeedSequence(seed).spawn(P)[i]``, and
  numbers its IDs after the rows of the partitions before it, so the same seed and
  partition count give the same rows on any cluster, and no two rows share an ID;
* **fitting** (:func:`fit_on_engine`): count the rows, draw a bounded uniform sample of
  at most ``max_training_rows`` on the engine, fit in this process
  (:func:`fit_on_sample`).
"""

from __future__ import annotations

import hashlib
import inspect
import math
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.base import Provenance
from toolkit.adapters.histories import sample_patients
from toolkit.adapters.statistics import ColumnStatistics
from toolkit.config import Config
from toolkit.exceptions import DataError, UsageError
from toolkit.io.metadata import read_metadata
from toolkit.io.records import Records
from toolkit.models.base import MAX_SEED, resolve_seed
from toolkit.models.dataset import MultiTableSynthesizer
from toolkit.models.detector import AnomalyDetector, top_columns
from toolkit.models.synthesizer import SAMPLE_CHUNK, Synthesizer

#: the engines and the package each needs (what ``pip install 'toolkit[extra]'`` brings)
EXTRAS = {"spark": ("pyspark", "pyspark"), "dask": ("dask.dataframe", "dask[dataframe]")}
#: model files by their kind (the ``kind`` of a model file's document)
ESTIMATORS: dict[str, type] = {"synthesizer": Synthesizer, "detector": AnomalyDetector,
                               "dataset": MultiTableSynthesizer}
#: ``fit``'s tasks: the estimator and how it resolves its settings (checked before any work)
TASKS: dict[str, tuple[type, Callable[[Any], Config]]] = {
    "synthesize": (Synthesizer, Synthesizer.resolve_config),
    "detect": (AnomalyDetector, AnomalyDetector.resolve_config),
}
#: rows of the table (or of a sample) that the driver checks before a job starts
PROBE_ROWS = 100
#: models kept loaded per worker process (the least recently used one is dropped)
CACHE_SIZE = 4
#: columns :func:`score_batch` adds, with their pandas dtypes
SCORE_COLUMNS = {"anomaly_score": "float64", "is_outlier": "bool"}
EXPLAIN_COLUMN = "top_columns"


def require(engine: str) -> ModuleType:
    """The engine's package, imported now; ``import toolkit`` never imports one.

    Raises
    ------
    UsageError
        When it is not installed, naming the extra that installs it.
    """
    module, package = EXTRAS[engine]
    try:
        return import_module(module)
    except ImportError:
        raise UsageError(f"toolkit.{engine} needs {package}: "
                         f"pip install 'toolkit[{engine}]'") from None


# the model on every worker -----------------------------------------------------------------
_MODELS: OrderedDict[str, Any] = OrderedDict()
_LOCK = threading.Lock()  # Dask's threads share one process and so one cache


def model_bytes(model: Any, estimator_name: str) -> tuple[bytes, Any]:
    """The model file's bytes (what is broadcast) and the model they load as on the driver.

    Parameters
    ----------
    model : str, Path, Synthesizer, AnomalyDetector or MultiTableSynthesizer
        A saved model's path, or a fitted estimator (saved to bytes; the object itself
        is never changed, the driver works on a loaded copy).
    estimator_name : {"synthesizer", "detector", "dataset"}
        What the model must be.

    Raises
    ------
    ModelFileError
        For a missing, corrupt or model file of the other estimator.
    NotFittedError
        For an estimator that is not fitted.
    UsageError
        For anything else.
    """
    estimator = ESTIMATORS[estimator_name]
    if isinstance(model, (str, Path)):
        loaded = estimator.load(model, device="cpu")  # errors name the user's file
        data = Path(model).read_bytes()
        with _LOCK:
            _remember(hashlib.sha256(data).hexdigest(), loaded)
        return data, loaded
    if not isinstance(model, estimator):
        raise UsageError(f"model must be the path of a saved {estimator_name} or a fitted "
                         f"{estimator.__name__}, got {type(model).__name__}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.tkm"
        model.save(path)
        data = path.read_bytes()
    return data, cached_model(data, estimator_name)


def cached_model(data: bytes, estimator_name: str) -> Any:
    """The model of a model file's ``data``, loaded on CPU once per process."""
    key = hashlib.sha256(data).hexdigest()
    with _LOCK:
        if key not in _MODELS:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "model.tkm"
                path.write_bytes(data)
                _remember(key, ESTIMATORS[estimator_name].load(path, device="cpu"))
        _MODELS.move_to_end(key)
        return _MODELS[key]


def _remember(key: str, model: Any) -> None:
    _MODELS[key] = model
    _MODELS.move_to_end(key)
    while len(_MODELS) > CACHE_SIZE:
        _MODELS.popitem(last=False)


def check_tables(model: Any, engine: str) -> None:
    """Engines hold tables: refuse a model of another domain with one line."""
    adapter = model.model_.adapter_ if isinstance(model, AnomalyDetector) else model.adapter_
    domain = adapter.describe()["domain"]
    if domain != "tables":
        raise UsageError(f"toolkit.{engine} works on tables; this model was trained on {domain}")


def as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the dtypes an in-process read gives: text as ``object`` (not the
    engines' ``string[pyarrow]``), missing text as ``None``."""
    text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.StringDtype)
            or "string" in str(frame[c].dtype)]  # also Arrow's string[pyarrow], large_string
    if not text:
        return frame
    frame = frame.copy()
    for column in text:
        values = frame[column].astype(object)
        frame[column] = values.where(values.notna(), None)
    return frame


# scoring ------------------------------------------------------------------------------------
def score_columns(explain: bool) -> pd.DataFrame:
    """The columns :func:`score_batch` adds, as an empty frame of their dtypes."""
    dtypes = {**SCORE_COLUMNS, **({EXPLAIN_COLUMN: "object"} if explain else {})}
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in dtypes.items()})


def score_batch(detector: AnomalyDetector, batch: pd.DataFrame, explain: bool,
                top: int) -> pd.DataFrame:
    """``batch`` (every column kept) with ``anomaly_score``, ``is_outlier`` and, with
    ``explain``, ``top_columns``; the model reads only its training columns."""
    if len(batch) == 0:
        added = score_columns(explain)
        return batch.assign(**{name: added[name] for name in added.columns})
    features = as_read(detector.model_.adapter_.select_columns(batch)).reset_index(drop=True)
    scores = detector.decision_function(features)
    result = batch.assign(anomaly_score=scores, is_outlier=scores > detector.threshold_)
    if explain:
        result[EXPLAIN_COLUMN] = top_columns(detector.explain(features), top)
    return result


def prepare_scoring(model: Any, columns: list[str], head: pd.DataFrame, explain: bool,
                    top: int, engine: str) -> bytes:
    """Check a scoring job on the driver and return the detector's bytes.

    ``head`` (the table's first rows) is scored here exactly as a batch on a worker will
    be, so that a missing column, a wrong type, an unseen level or inf fails now, with
    the detector's own one-line message.
    """
    if not isinstance(explain, bool):
        raise UsageError(f"explain must be True or False, got {explain!r}")
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise UsageError(f"top must be a positive integer, got {top!r}")
    data, detector = model_bytes(model, "detector")
    check_tables(detector, engine)
    taken = [name for name in score_columns(explain).columns if name in columns]
    if taken:
        raise DataError(f"the table already has column(s) {taken}, which scoring adds; "
                        "rename or drop them first")
    if len(head):
        score_batch(detector, head, explain, top)
    return data


# sampling -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SamplePlan:
    """How ``num_rows`` synthetic rows are split over ``num_partitions`` partitions.

    Partition ``i`` makes rows ``starts[i]`` to ``starts[i] + counts[i] - 1`` (the rows are
    split as evenly as possible, the first partitions get the extra row) from its own
    random stream, ``numpy.random.SeedSequence(seed).spawn(num_partitions)[i]``; it draws
    them :data:`~toolkit.models.synthesizer.SAMPLE_CHUNK` at a time, each chunk with a seed taken
    from that stream, and numbers each chunk's IDs from its first row's position.

    Examples
    --------
    >>> plan = SamplePlan(num_rows=10, num_partitions=3, seed=0)
    >>> plan.counts, plan.starts
    ([4, 3, 3], [0, 4, 7])
    """

    num_rows: int
    num_partitions: int
    seed: int
    conditions: dict[str, Any] | pd.DataFrame | None = None

    @property
    def counts(self) -> list[int]:
        """Rows of each partition."""
        share, extra = divmod(self.num_rows, self.num_partitions)
        return [share + (index < extra) for index in range(self.num_partitions)]

    @property
    def starts(self) -> list[int]:
        """Position of each partition's first row."""
        return [int(start) for start in np.cumsum([0, *self.counts[:-1]])]

    def stream(self, index: int) -> np.random.Generator:
        """Partition ``index``'s generator, seeded by ``SeedSequence(seed).spawn(P)[index]``
        (built directly: a spawned child is the seed sequence with ``spawn_key=(index,)``)."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(index,)))

    def rows(self, model: Synthesizer, index: int) -> Iterator[pd.DataFrame]:
        """Partition ``index``'s rows, chunk by chunk (nothing for an empty partition)."""
        rng = self.stream(index)
        first, count = self.starts[index], self.counts[index]
        for offset in range(0, count, SAMPLE_CHUNK):
            yield self.chunk(model, first + offset, min(SAMPLE_CHUNK, count - offset),
                             int(rng.integers(MAX_SEED, endpoint=True)))

    def chunk(self, model: Synthesizer, first: int, n: int, seed: int) -> pd.DataFrame:
        """Rows ``first`` to ``first + n - 1``: drawn with ``seed``, IDs numbered from
        ``first``, indexed by their position in the whole sample."""
        conditions = self.conditions
        if isinstance(conditions, pd.DataFrame):
            conditions = conditions.iloc[first:first + n].reset_index(drop=True)
        if model.histories_ is not None:  # n patients: their rows, subject IDs from first
            return model.number_ids_from(first).sample(n, conditions=conditions,
                                                       random_state=seed, output="pandas")
        rows = model.sample(n, conditions=conditions, random_state=seed, output="pandas")
        rows = model.adapter_.renumber_ids(rows, first)
        rows.index = pd.RangeIndex(first, first + n)
        return rows


def check_count(name: str, value: Any) -> int:
    """``value`` as an int; a one-line :class:`UsageError` naming ``name`` unless it is a
    positive integer."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def plan_sample(model: Any, num_rows: int, num_partitions: int, seed: int | None,
                conditions: dict[str, Any] | pd.DataFrame | None, engine: str
                ) -> tuple[bytes, SamplePlan, pd.DataFrame]:
    """Check a sampling job on the driver: the synthesizer's bytes, the plan, and a few
    rows drawn as a partition draws them (their dtypes are the output's schema).

    Raises
    ------
    DataError
        For a condition on an unknown column or an unseen value, or one that cannot be met.
    UsageError
        For a bad ``num_rows``, ``num_partitions``, ``seed`` or ``conditions``.
    """
    num_rows = check_count("num_rows", num_rows)
    num_partitions = check_count("num_partitions", num_partitions)
    seed = resolve_seed(seed)
    if conditions is not None and not isinstance(conditions, (dict, pd.DataFrame)):
        raise UsageError("conditions must be a dict or a DataFrame with num_rows rows")
    if isinstance(conditions, pd.DataFrame) and len(conditions) != num_rows:
        raise UsageError(f"conditions must be a dict or a DataFrame with num_rows rows; "
                         f"it has {len(conditions)} rows for {num_rows}")
    data, synthesizer = model_bytes(model, "synthesizer")
    check_tables(synthesizer, engine)
    plan = SamplePlan(num_rows, num_partitions, seed, conditions)
    probe = plan.chunk(synthesizer, 0, min(num_rows, PROBE_ROWS), seed)
    return data, plan, probe


# fitting ------------------------------------------------------------------------------------
def new_estimator(task: str, random_state: int | None, params: dict[str, Any]
                  ) -> tuple[Any, int]:
    """The unfitted estimator of ``task`` and its ``max_training_rows``, checked first.

    Raises
    ------
    UsageError
        For an unknown task, parameter, preset or option.
    """
    if task not in TASKS:
        raise UsageError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    estimator, resolve = TASKS[task]
    valid = [name for name in inspect.signature(estimator).parameters if name != "random_state"]
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise UsageError(f"unknown parameter(s) {unknown} of {estimator.__name__}; "
                         f"valid: random_state, {', '.join(valid)}")
    resolve_seed(random_state)  # a bad seed fails before the engine works
    model = estimator(random_state=random_state, **params)
    return model, resolve(model).max_training_rows


def sample_fraction(limit: int, n_rows: int) -> float | None:
    """The Bernoulli fraction that draws at least ``limit`` of ``n_rows`` rows all but
    surely (10 % or six standard deviations over); ``None``: take every row."""
    if n_rows <= limit:
        return None
    wanted = max(1.1 * limit, limit + 6 * math.sqrt(limit) + 10)
    return wanted / n_rows if wanted < n_rows else None


def fit_on_engine(task: str, random_state: int | None, params: dict[str, Any],
                  statistics: Callable[[], ColumnStatistics],
                  draw: Callable[[float | None, int, str | None], pd.DataFrame]) -> Any:
    """Fit ``task``'s estimator on a bounded uniform sample drawn by an engine.

    Parameters
    ----------
    task, random_state, params
        As for :func:`toolkit.engines.spark.fit`.
    statistics : callable
        The whole table's column statistics (rows, missing counts, ranges, level counts),
        aggregated over the partitions by the engine (one job).
    draw : callable
        ``draw(fraction, seed, subject)``: the engine's seeded Bernoulli sample of that
        fraction of the rows (``None``: every row) as pandas, in the dtypes of an
        in-process read; with a ``subject`` column, of that fraction of its values (whole
        patients, by a seeded hash of the value).
    """
    model, limit = new_estimator(task, random_state, params)
    subject = stated_subject(model)
    engine_seed, trim_seed = np.random.SeedSequence(resolve_seed(random_state)).generate_state(2)
    whole = statistics()
    sample = draw(sample_fraction(limit, whole.rows), int(engine_seed), subject)
    if len(sample) > limit and subject is not None:  # whole patients, in table order
        sample = sample_patients(sample, subject, limit, int(trim_seed))
    elif len(sample) > limit:  # trimmed to the bound with a seeded choice, in table order
        chosen = np.random.default_rng(trim_seed).choice(len(sample), limit, replace=False)
        sample = sample.iloc[np.sort(chosen)]
    return fit_on_sample(model, as_read(sample.reset_index(drop=True)), whole)


def stated_subject(model: Any) -> str | None:
    """The subject column a synthesizer was told (parameter or metadata), which an engine
    samples patients by; ``None`` for a detector or when none was stated."""
    if not isinstance(model, Synthesizer):
        return None
    metadata = read_metadata(model.metadata)
    return model.subject or (metadata or {}).get("subject")


def fit_on_sample(model: Any, sample: pd.DataFrame, whole: ColumnStatistics) -> Any:
    """Fit ``model`` on an engine's ``sample`` of a table whose column statistics are
    ``whole``; return it with ``n_rows_seen_`` the table's rows.

    The one place where the in-process fit meets the engine's table: a sampled fit adopts
    the whole table's levels, missing values and ranges, as an in-process fit from a big
    file does (:mod:`toolkit.adapters.statistics`).
    """
    provenance = Provenance(rows=whole.rows,
                            statistics=whole if whole.rows > len(sample) else None)
    return model.fit(Records(sample, provenance))  # n_rows_seen_: the table's rows


def partition_statistics(partition: pd.DataFrame) -> ColumnStatistics:
    """One partition's column statistics, in the dtypes an in-process read gives."""
    return ColumnStatistics.of(as_read(partition))


def merged_statistics(parts: Iterable[ColumnStatistics]) -> ColumnStatistics:
    """The statistics of a table from those of its partitions."""
    whole = ColumnStatistics()
    for part in parts:
        whole.merge(part)
    return whole
