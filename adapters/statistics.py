"""Whole-table column statistics, gathered chunk by chunk while a big table is sampled.

A table larger than ``max_training_rows`` is learnt from a uniform sample, but what a
model must know about *every* row comes from these statistics, merged over all chunks
(or engine partitions): how many values each column misses, each numeric column's
range and each text or categorical column's level counts. With them a detector fitted
on a sample still knows every level and every missing value of its training file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: distinct values counted per column at most; a column with more is not a set of levels
MAX_COUNTED = 100_000


@dataclass
class ColumnStatistics:
    """Missing counts, numeric ranges and level counts of a table's columns.

    A sampled table's :class:`~toolkit.adapters.base.Provenance` carries those of the whole
    table, which a fit on the sample adopts.

    Examples
    --------
    >>> stats = ColumnStatistics.of(pd.DataFrame({"x": [1.0, None], "g": ["a", "b"]}))
    >>> stats.merge(ColumnStatistics.of(pd.DataFrame({"x": [5.0, 2.0], "g": ["a", "a"]})))
    >>> stats.rows, stats.missing, stats.ranges["x"], stats.levels["g"]
    (4, {'x': 1, 'g': 0}, (1.0, 5.0), {'a': 3, 'b': 1})
    """

    rows: int = 0
    missing: dict[str, int] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    levels: dict[str, dict[Any, int] | None] = field(default_factory=dict)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> ColumnStatistics:
        """The statistics of one chunk."""
        stats = cls(rows=len(frame))
        for original in frame.columns:
            column, series = str(original), frame[original]
            stats.missing[column] = int(series.isna().sum())
            numeric = (pd.api.types.is_numeric_dtype(series.dtype)
                       and not pd.api.types.is_bool_dtype(series.dtype))
            if numeric:
                values = series.to_numpy(dtype=float, na_value=np.nan)
                observed = values[~np.isnan(values)]
                if len(observed):
                    stats.ranges[column] = (float(observed.min()), float(observed.max()))
            counts = series.value_counts(dropna=True)
            stats.levels[column] = (None if len(counts) > MAX_COUNTED else
                                    {_plain(level): int(n) for level, n in counts.items()})
        return stats

    def merge(self, other: ColumnStatistics) -> None:
        """Add the statistics of further rows (another chunk or partition)."""
        self.rows += other.rows
        for column, count in other.missing.items():
            self.missing[column] = self.missing.get(column, 0) + count
        for column, (low, high) in other.ranges.items():
            old = self.ranges.get(column, (low, high))
            self.ranges[column] = (min(old[0], low), max(old[1], high))
        for column, counts in other.levels.items():
            mine = self.levels.get(column, {})
            if mine is None or counts is None:
                self.levels[column] = None
                continue
            for level, n in counts.items():
                mine[level] = mine.get(level, 0) + n
            self.levels[column] = mine if len(mine) <= MAX_COUNTED else None


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
