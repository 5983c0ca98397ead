"""What the engines share to sample a dataset model (linked tables) on partitions.

A dataset is split by its **root entities**: partition ``i`` of ``P`` generates its share of
every root table's rows (the patients) from its own stream,
``numpy.random.SeedSequence(seed).spawn(P)[i]``, and everything generated under them (their
admissions, their labs), whole, so each patient's history hangs together inside one partition.
Keys are every ``P``-th of each table's fresh sequence, from ``i``: unique across partitions,
and every foreign key points at a row of its own partition. The root tables others point at by
a lookup or a second key (wards, airlines: :meth:`MultiTableSynthesizer.shared_roots`) are
generated once on the driver, whole, and handed to every partition.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from toolkit.engines.common import PROBE_ROWS, check_count, model_bytes
from toolkit.models.base import MAX_SEED, resolve_seed
from toolkit.models.dataset import Generated, MultiTableSynthesizer, check_scale

#: partitions' tables kept per worker process, so that the jobs of a dataset's tables (one
#: per table) generate a partition once when they run in the same process
CACHE_SIZE = 2
_TABLES: OrderedDict[tuple, dict[str, pd.DataFrame]] = OrderedDict()
_LOCK = threading.Lock()


@dataclass(frozen=True)
class DatasetPlan:
    """How a dataset model's root rows are split over ``num_partitions`` partitions.

    Examples
    --------
    >>> plan = DatasetPlan({"patients": 10}, num_partitions=3, seed=0)
    >>> [plan.root_rows_of(i) for i in range(3)]
    [{'patients': 4}, {'patients': 3}, {'patients': 3}]
    """

    root_rows: dict[str, int]
    num_partitions: int
    seed: int
    conditions: dict[str, Any] | None = None
    given: Generated = field(default_factory=dict)

    def root_rows_of(self, index: int) -> dict[str, int]:
        """Partition ``index``'s rows of each partitioned root (the first get the extra)."""
        return {name: rows // self.num_partitions + (index < rows % self.num_partitions)
                for name, rows in self.root_rows.items()}

    def seed_of(self, index: int) -> int:
        """Partition ``index``'s seed, from ``SeedSequence(seed).spawn(P)[index]``."""
        stream = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(index,)))
        return int(stream.integers(MAX_SEED, endpoint=True))

    def tables(self, model: MultiTableSynthesizer, index: int) -> dict[str, pd.DataFrame]:
        """Partition ``index``'s tables (those under the partitioned roots)."""
        return model.sample_tables(self.root_rows_of(index), self.seed_of(index),
                                   self.conditions, self.given,
                                   (index, self.num_partitions))[0]


def partition_tables(model: MultiTableSynthesizer, plan: DatasetPlan, index: int,
                     key: str) -> dict[str, pd.DataFrame]:
    """:meth:`DatasetPlan.tables`, kept for the next table's job in this process (``key``:
    the model's, so that two models never share an entry)."""
    entry = (key, plan.seed, plan.num_partitions, index)
    with _LOCK:
        if entry in _TABLES:
            _TABLES.move_to_end(entry)
            return _TABLES[entry]
    tables = plan.tables(model, index)
    with _LOCK:
        _TABLES[entry] = tables
        while len(_TABLES) > CACHE_SIZE:
            _TABLES.popitem(last=False)
    return tables


@dataclass(frozen=True)
class DatasetJob:
    """A checked dataset sampling job: the model's bytes, the plan, the tables the driver
    generated whole, and a probe of every table (its dtypes: the output's schema)."""

    data: bytes
    plan: DatasetPlan
    shared: dict[str, pd.DataFrame]
    probes: dict[str, pd.DataFrame]


def plan_dataset(model: Any, scale: float, num_partitions: int | None, seed: int | None,
                 conditions: dict[str, Any] | None, roots_per_partition: int = 10_000
                 ) -> DatasetJob:
    """Check a dataset sampling job on the driver and generate its shared roots
    (``num_partitions`` ``None``: one per ``roots_per_partition`` partitioned root rows).

    Raises
    ------
    DataError
        For a condition the model cannot meet.
    UsageError
        For a bad model, ``scale``, ``num_partitions``, ``seed`` or condition.
    """
    if num_partitions is not None:
        num_partitions = check_count("num_partitions", num_partitions)
    check_scale(scale)
    seed = resolve_seed(seed)
    data, loaded = model_bytes(model, "dataset")
    loaded.root_conditions(conditions)  # bad conditions fail here, before any job
    rows = {name: max(1, round(scale * loaded.n_rows_[name])) for name in loaded.roots()}
    shared_roots = loaded.shared_roots()
    if num_partitions is None:
        num_partitions = max(1, -(-sum(r for n, r in rows.items() if n not in shared_roots)
                                  // roots_per_partition))
    shared, given = loaded.sample_tables({n: rows[n] for n in shared_roots},
                                         int(np.random.SeedSequence(seed).generate_state(1)[0]),
                                         conditions)
    plan = DatasetPlan({n: r for n, r in rows.items() if n not in shared_roots},
                       num_partitions, seed, conditions, given)
    probe_rows = {name: min(r, PROBE_ROWS) for name, r in plan.root_rows.items()}
    probes = loaded.sample_tables(probe_rows, seed, conditions, given)[0]
    for name, table in probes.items():  # an empty probe: the training dtypes
        if table.empty:
            probes[name] = pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                                         loaded.dtypes_[name].items()})[table.columns]
    probes.update(shared)
    return DatasetJob(data, plan, shared,
                      {name: probes[name] for name in loaded.columns_})
