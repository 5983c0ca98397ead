"""adapters/dp_statistics.py: the private surrogate follows the stated schema, not the rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import dp_metadata, dp_table

from toolkit.adapters.dp_statistics import SURROGATE_ROWS, check_private_schema, private_surrogate
from toolkit.adapters.tabular import load_column_metadata
from toolkit.exceptions import DataError, UsageError


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return dp_table()


@pytest.fixture(scope="module")
def metadata() -> dict:
    return dp_metadata()


# the private adapter statistics --------------------------------------------------------------
def test_the_schema_must_describe_every_column(table, metadata):
    with pytest.raises(UsageError, match=r"not described: \['dose'\]"):
        check_private_schema(list(table.columns), load_column_metadata(
            {k: v for k, v in metadata.items() if k != "dose"}))
    bad = {**metadata, "age": {"kind": "continuous"}}
    with pytest.raises(UsageError, match="'age' needs numeric 'min' and 'max'"):
        check_private_schema(list(table.columns), load_column_metadata(bad))
    bad = {**metadata, "sex": "categorical"}
    with pytest.raises(UsageError, match="'sex' needs its 'values' listed"):
        check_private_schema(list(table.columns), load_column_metadata(bad))


def test_the_surrogate_follows_the_schema_not_the_data(table, metadata):
    schema = check_private_schema(list(table.columns), load_column_metadata(metadata))
    surrogate = private_surrogate(table, schema, 1.0, np.random.default_rng(0))
    assert len(surrogate) == SURROGATE_ROWS
    assert surrogate["age"].between(0, 120).all()
    assert set(surrogate["stage"]) == {1, 2, 3, 4}
    assert surrogate["pid"].tolist() == list(range(SURROGATE_ROWS))  # IDs are not read
    # with little noise the release keeps the real shape (missing share, level shares)
    assert surrogate["dose"].isna().mean() == pytest.approx(table["dose"].isna().mean(), abs=0.03)
    assert (surrogate["sex"] == "F").mean() == pytest.approx((table["sex"] == "F").mean(),
                                                             abs=0.05)


def test_the_surrogate_does_not_depend_on_a_single_row_beyond_the_noise(table, metadata):
    schema = check_private_schema(list(table.columns), load_column_metadata(metadata))
    outlier = table.copy()
    outlier.loc[0, "age"] = 119.9
    # same noise draws: the only difference a row can make is one count per column
    a = private_surrogate(table, schema, 50.0, np.random.default_rng(3))
    b = private_surrogate(outlier, schema, 50.0, np.random.default_rng(3))
    assert a["age"].max() <= 120 and b["age"].max() <= 120
    assert abs(a["age"].mean() - b["age"].mean()) < 5


def test_a_level_not_in_the_metadata_is_refused(table, metadata):
    odd = table.copy()
    odd.loc[0, "sex"] = "X"
    schema = check_private_schema(list(odd.columns), load_column_metadata(metadata))
    with pytest.raises(DataError, match=r"'sex' has values not listed in the metadata: \['X'\]"):
        private_surrogate(odd, schema, 1.0, np.random.default_rng(0))
