"""Table columns as features of scikit-learn's gradient boosting (the report's utility and
detection models): numbers and dates as floats, everything else as pandas categories."""

from __future__ import annotations

import pandas as pd

from toolkit.adapters.kinds import utc_instants

#: categories a model's feature keeps at most (gradient boosting bins a categorical feature
#: into at most 255 levels); the rarer levels share one "other" category
MAX_FEATURE_LEVELS = 255
OTHER_LEVEL = "<other>"


def seconds_of_dates(series: pd.Series) -> pd.Series:
    """Dates (any format, offsets, datetime64) as float seconds since 1970 in UTC, NaN where
    missing."""
    parsed = utc_instants(series)
    return parsed.astype("int64").where(parsed.notna()).astype(float) / 1e9


def model_frame(tables: list[pd.DataFrame], kinds: dict[str, str],
                features: list[str]) -> list[pd.DataFrame]:
    """``features`` of every table as model inputs with one shared encoding per column.

    Numeric columns become floats, dates seconds since 1970, and the other columns
    pandas categories with one category list for all tables: the
    :data:`MAX_FEATURE_LEVELS` - 1 most frequent levels of the tables together, the rarer
    ones as one :data:`OTHER_LEVEL` category (a tail number among thousands).

    Examples
    --------
    >>> real = pd.DataFrame({"x": ["1", "2"], "day": ["2024-01-01", "2024-01-02"],
    ...                      "g": ["a", "b"]})
    >>> kinds = {"x": "integer", "day": "datetime", "g": "categorical"}
    >>> frame, = model_frame([real], kinds, ["x", "day", "g"])
    >>> frame["x"].tolist(), frame["day"].tolist(), list(frame["g"].cat.categories)
    ([1, 2], [1704067200.0, 1704153600.0], ['a', 'b'])
    """
    out = [t[features].copy() for t in tables]
    for column in features:
        if kinds[column] in ("continuous", "integer"):
            for frame in out:
                frame[column] = pd.to_numeric(frame[column], errors="coerce")
        elif kinds[column] == "datetime":
            for frame in out:
                frame[column] = seconds_of_dates(frame[column])
        else:
            texts = [frame[column].astype(str).where(frame[column].notna()) for frame in out]
            counts = pd.concat(texts).value_counts()
            levels = sorted(counts.index)
            if len(levels) > MAX_FEATURE_LEVELS:
                order = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
                levels = sorted(level for level, _ in order[: MAX_FEATURE_LEVELS - 1])
                known = set(levels)
                texts = [text.where(text.isin(known) | text.isna(), OTHER_LEVEL)
                         for text in texts]
                levels.append(OTHER_LEVEL)
            for frame, values in zip(out, texts, strict=True):
                frame[column] = pd.Categorical(values, categories=levels)
    return out
