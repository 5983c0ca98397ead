"""Synthetic rows that copy a training row: fingerprinted at fit, redrawn when sampled.

A row copies a training row when every modelled column (IDs, personal data and constants
aside) holds the same value. Such a match is evidence of memorisation only when the row is
rare: on a table of a few low-cardinality columns (age in years and sex) most generated
rows equal some training row by chance, exactly as unseen real rows do, and redrawing
them would skew the table (the female share of one such table fell from .446 to .42).
So a training row is guarded only when fewer than :data:`CHANCE_COPIES` copies of it are
expected among as many fresh rows drawn from the columns' own frequencies
(:func:`chance_copies`): every row of a table with a few continuous columns, only the
rare combinations of a low-cardinality one.

:class:`CopyGuard` keeps one 64-bit fingerprint per distinct guarded training row
(pandas' ``hash_pandas_object`` of the row's typed values; decoded rows have the training
dtypes, so equal rows hash equal) and tells which generated rows match one. What still
copies after :data:`MAX_REDRAWS` rounds is kept and counted. The fingerprints identify
training rows to whoever holds the model file (anyone can check whether a row they know
was in the training data), so a model file is as sensitive as its training data: share
synthetic rows, not model files.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from toolkit.adapters.kinds import UNMODELLED_KINDS

#: rounds of redrawing the rows that still copy a training row, at most
MAX_REDRAWS = 10
#: a training row is guarded when fewer copies of it than this are expected by chance
CHANCE_COPIES = 1.0


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


def chance_copies(rows: pd.DataFrame, columns: list[Any]) -> np.ndarray:
    """For each row, how many rows equal to it are expected among ``len(rows)`` fresh rows
    whose columns are drawn independently with the table's own frequencies of each value.

    Examples
    --------
    >>> rows = pd.DataFrame({"sex": ["f", "m", "f", "m"] * 25,
    ...                      "bili": np.arange(100) / 10})
    >>> chance_copies(rows, ["sex"])[:2].tolist()  # half the rows are "f": 50 expected
    [50.0, 50.0]
    >>> chance_copies(rows, ["sex", "bili"])[:2].round(3).tolist()  # one value of 100: rare
    [0.5, 0.5]
    """
    n = len(rows)
    log_share = np.zeros(n)
    for column in columns:
        codes, _ = pd.factorize(rows[column], use_na_sentinel=False)
        log_share += np.log(np.bincount(codes)[codes] / n)
    return n * np.exp(log_share)


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
    >>> train = pd.DataFrame({"x": [1.5, 2.5, 3.5, 4.5], "g": ["a", "b", "a", "a"]})
    >>> guard = CopyGuard.from_rows(train, ["x", "g"])
    >>> guard.copies(pd.DataFrame({"x": [2.5, 2.5, 3.5], "g": ["b", "a", "a"]})).tolist()
    [True, False, True]
    >>> len(guard.fingerprints), CopyGuard.from_tensor(["x", "g"], guard.to_tensor()).copies(
    ...     train).tolist()
    (4, [True, True, True, True])
    >>> CopyGuard.from_rows(train, ["g"]).copies(train).tolist()  # common levels: chance
    [False, False, False, False]
    """

    def __init__(self, columns: list[Any], fingerprints: np.ndarray) -> None:
        self.columns = list(columns)
        self.fingerprints = fingerprints

    @classmethod
    def from_rows(cls, rows: pd.DataFrame, columns: list[Any]) -> CopyGuard:
        """The guard of the training rows ``rows``: their rare rows (see the module notes)."""
        rare = chance_copies(rows, columns) < CHANCE_COPIES
        return cls(columns, np.unique(row_fingerprints(rows[rare], columns)))

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
