"""Tables as pandas, pyarrow and Polars hold them: taken in at the estimators' edge, given back
in the caller's kind.

The models work on pandas; a pyarrow ``Table`` (or ``RecordBatch``) and a Polars
``DataFrame`` are read through Arrow (integer columns with missing values as pandas' nullable
integers, so that they stay integers), and what the estimators return goes back the same way
(``pyarrow.Table.from_pandas``, ``polars.from_arrow``). Polars is an optional extra
(``pip install 'toolkit[polars]'``) and is imported only when a Polars frame is asked for.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from toolkit.exceptions import UsageError

#: the kinds of table the estimators take and give back
KINDS = ("pandas", "pyarrow", "polars")
_NULLABLE = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(),
             pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
             pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
             pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype()}


def frame_kind(data: Any) -> str:
    """``"polars"`` for a Polars DataFrame, ``"pyarrow"`` for an Arrow Table or RecordBatch,
    else ``"pandas"`` (a DataFrame, an array, a path).

    Examples
    --------
    >>> frame_kind(pa.table({"x": [1, 2]})), frame_kind(pd.DataFrame({"x": [1]}))
    ('pyarrow', 'pandas')
    """
    if type(data).__module__.split(".")[0] == "polars" and hasattr(data, "to_arrow"):
        return "polars"
    if isinstance(data, (pa.Table, pa.RecordBatch)):
        return "pyarrow"
    return "pandas"


def to_pandas(data: Any) -> Any:
    """A pyarrow or Polars table as a pandas DataFrame; anything else as it is.

    Examples
    --------
    >>> to_pandas(pa.table({"n": [1, None, 3]}))["n"].dtype
    Int64Dtype()
    """
    kind = frame_kind(data)
    if kind == "pandas":
        return data
    table = data.to_arrow() if kind == "polars" else data
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    frame = table.to_pandas()
    for field in table.schema:  # integers with gaps stay integers
        if pa.types.is_integer(field.type) and table.column(field.name).null_count:
            frame[field.name] = table.column(field.name).to_pandas(
                types_mapper=_NULLABLE.get).array
    return frame


def check_kind(kind: str | None) -> str | None:
    """``kind`` checked against :data:`KINDS` (``None`` passes).

    Raises
    ------
    UsageError
        Naming the kinds there are.
    """
    if kind is not None and kind not in KINDS:
        raise UsageError(f"output must be one of {', '.join(KINDS)}, got {kind!r}")
    return kind


def to_kind(frame: Any, kind: str) -> Any:
    """``frame`` (a table of any of :data:`KINDS`) as a table of ``kind``; anything else
    (images) as it is.

    Raises
    ------
    UsageError
        For an unknown kind, or ``"polars"`` when Polars is not installed.
    """
    check_kind(kind)
    if frame_kind(frame) == kind:
        return frame
    frame = to_pandas(frame)
    if kind == "pandas" or not isinstance(frame, pd.DataFrame):
        return frame
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    if kind == "pyarrow":
        return table
    try:
        import polars
    except ImportError:
        raise UsageError("output 'polars' needs Polars: pip install 'toolkit[polars]'") from None
    return polars.from_arrow(table)
