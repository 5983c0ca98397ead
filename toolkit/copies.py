"""Synthetic rows that copy a training row: fingerprinted at fit, redrawn when sampled.

A row copies a training row when every modelled column (IDs and constants aside) holds
the same value. :class:`CopyGuard` keeps one 64-bit fingerprint per distinct training
row (pandas' ``hash_pandas_object`` of the row's typed values; decoded rows have the
training dtypes, so equal rows hash equal) and tells which generated rows match one.
Rows that several training rows share are guarded too: each is still a real person's
record. On a table of a few categorical columns, whose every combination may occur in
training, what still copies after :data:`MAX_REDRAWS` rounds is kept (and counted).
The fingerprints identify training rows to whoever holds the model file (anyone can
check whether a row they know was in the training data), so a model file is as
sensitive as its training data: share synthetic rows, not model files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from toolkit.adapters.kinds import UNMODELLED_KINDS

#: rounds of redrawing the rows that still copy a training row, at most
MAX_REDRAWS = 10


def modelled_columns(adapter: Any) -> list[Any]:
    """The columns a tabular adapter models (rows are compared on these)."""
    return [column for column, kind in adapter.kinds_.items() if kind not in UNMODELLED_KINDS]


def row_fingerprints(rows: pd.DataFrame, columns: list[Any]) -> np.ndarray:
    """One 64-bit fingerprint (``uint64``) per row of ``rows[columns]``.

    Missing values hash alike whatever their spelling (``None``, ``NaN``, ``pd.NA``),
    and ``-0.0`` like ``0.0``.

    Examples
    --------
    >>> rows = pd.DataFrame({"x": [1.0, -0.0, 0.0], "g": ["a", None, float("nan")]})
    >>> prints = row_fingerprints(rows, ["x", "g"])
    >>> prints.dtype, bool(prints[1] == prints[2]), bool(prints[0] == prints[1])
    (dtype('uint64'), True, False)
    """
    part = rows[columns].copy()
    for column in part.columns[[pd.api.types.is_float_dtype(t) for t in part.dtypes]]:
        part[column] = part[column] + 0.0  # -0.0 + 0.0 is 0.0
    return pd.util.hash_pandas_object(part, index=False).to_numpy(dtype=np.uint64)


class CopyGuard:
    """The fingerprints of a table's distinct training rows, and a test against them.

    Parameters
    ----------
    columns : list
        The modelled columns rows are compared on.
    fingerprints : numpy.ndarray of uint64
        Sorted fingerprints of the distinct training rows.

    Examples
    --------
    >>> train = pd.DataFrame({"x": [1.5, 2.5, 3.5, 3.5], "g": ["a", "b", "a", "a"]})
    >>> guard = CopyGuard.from_rows(train, ["x", "g"])
    >>> guard.copies(pd.DataFrame({"x": [2.5, 2.5, 3.5], "g": ["b", "a", "a"]})).tolist()
    [True, False, True]
    >>> len(guard.fingerprints), CopyGuard.from_tensor(["x", "g"], guard.to_tensor()).copies(
    ...     train).tolist()
    (3, [True, True, True, True])
    """

    def __init__(self, columns: list[Any], fingerprints: np.ndarray) -> None:
        self.columns = list(columns)
        self.fingerprints = fingerprints

    @classmethod
    def from_rows(cls, rows: pd.DataFrame, columns: list[Any]) -> CopyGuard:
        """The guard of the training rows ``rows``."""
        return cls(columns, np.unique(row_fingerprints(rows, columns)))

    def copies(self, rows: pd.DataFrame) -> np.ndarray:
        """Which of ``rows`` equal a training row on every guarded column."""
        if not len(self.fingerprints) or not len(rows):
            return np.zeros(len(rows), dtype=bool)
        prints = row_fingerprints(rows, self.columns)
        where = np.minimum(np.searchsorted(self.fingerprints, prints), len(self.fingerprints) - 1)
        return self.fingerprints[where] == prints

    def to_tensor(self) -> torch.Tensor:
        """The fingerprints as an int64 tensor (the model file's type), bit for bit."""
        return torch.from_numpy(self.fingerprints.view(np.int64).copy())

    @classmethod
    def from_tensor(cls, columns: list[Any], tensor: torch.Tensor) -> CopyGuard:
        """The guard stored by :meth:`to_tensor`."""
        fingerprints = tensor.cpu().numpy().astype(np.int64, copy=False).view(np.uint64)
        return cls(columns, np.sort(fingerprints))
