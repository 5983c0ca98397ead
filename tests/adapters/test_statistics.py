"""toolkit.adapters.statistics: column statistics learnt chunk by chunk merge into those of the
whole table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from toolkit.io import read_table, write_table


@pytest.fixture
def rare_rows(tmp_path: Path) -> Path:
    """2,000 rows whose last 10 hold a level and missing values nowhere else."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"ward": rng.choice(["A", "B", "C"], 2000),
                          "dose": rng.normal(5, 1, 2000).round(2),
                          "age": rng.integers(20, 90, 2000)})
    table.loc[1990:, "ward"] = "Z"
    table.loc[1995:, "dose"] = np.nan
    table.loc[1999, "age"] = 130
    path = tmp_path / "rare.parquet"
    write_table(table, path)
    return path


def test_statistics_merge_over_chunks_like_the_whole_table(rare_rows):
    from toolkit.adapters.statistics import ColumnStatistics

    table = read_table(rare_rows)
    merged = ColumnStatistics()
    for chunk in np.array_split(table, 7):
        merged.merge(ColumnStatistics.of(chunk))
    whole = ColumnStatistics.of(table)
    assert (merged.rows, merged.missing, merged.ranges) == (whole.rows, whole.missing,
                                                            whole.ranges)
    assert merged.levels["ward"] == whole.levels["ward"]
