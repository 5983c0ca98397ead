"""An isolation forest kept as plain arrays: :class:`IsolationForestScore`.

scikit-learn's :class:`~sklearn.ensemble.IsolationForest` grows the trees (Liu, Ting and
Zhou, 2008: a record that random axis-parallel cuts separate from the rest in few steps
is anomalous); this module keeps them as arrays, so that a detector file stays
safetensors + JSON (never a pickle), and walks them with a kernel compiled by Numba
(:func:`mean_path_lengths`: a walk is eight dependent loads per tree and row, which NumPy's
gathers ran ten times slower). Its scores equal scikit-learn's ``-score_samples``.

Each tree is laid out as a complete binary tree of the forest's depth ``D`` (heap order:
the children of slot ``i`` are ``2i + 1`` and ``2i + 2``). A leaf above the bottom level
sends every record left (a cut at +inf) down to one bottom slot, which holds the leaf's
path length; so a record's bottom slot is found with ``D`` steps of arithmetic and no
child lookups.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import torch

#: the arrays a forest is stored as (tensor names under a model file's prefix)
FIELDS = ("feature", "threshold", "path_length", "sample_size")
#: rows walked through every tree before the next rows: they and one tree's arrays stay in
#: the fastest cache
WALK_BLOCK = 256


def _mean_path_lengths(x: np.ndarray, feature: np.ndarray, threshold: np.ndarray,
                       path_length: np.ndarray, depth: int, block: int) -> np.ndarray:
    """Each row's path length averaged over the trees (compiled by :func:`walker`): a block
    of rows goes down each tree one level at a time, so that the rows' independent loads
    overlap."""
    n = x.shape[0]
    n_trees, inner = feature.shape
    total = np.zeros(n)
    slots = np.zeros(block, dtype=np.int64)
    for start in range(0, n, block):
        rows = min(n, start + block) - start
        for tree in range(n_trees):
            slots[:rows] = 0
            for _ in range(depth):
                for row in range(rows):
                    slot = slots[row]
                    slots[row] = 2 * slot + 1 + (x[start + row, feature[tree, slot]]
                                                 > threshold[tree, slot])
            for row in range(rows):
                total[start + row] += path_length[tree, slots[row] - inner]
    return total / n_trees


@cache
def walker() -> Any:
    """:func:`_mean_path_lengths` compiled by Numba (once per process; the machine code is
    cached on disk for the next process)."""
    import numba

    return numba.njit(cache=True, nogil=True)(_mean_path_lengths)


def average_path_length(n: np.ndarray) -> np.ndarray:
    """Mean path length of an unsuccessful search in a binary search tree of ``n`` points,
    ``c(n)`` of the isolation-forest paper: what a leaf holding ``n`` training rows adds
    to the depth at which a record reaches it.

    Examples
    --------
    >>> average_path_length(np.array([1, 2, 256])).round(3)
    array([ 0.   ,  1.   , 10.245])
    """
    n = np.asarray(n, dtype=float)
    larger = np.maximum(n, 3.0)
    deep = 2.0 * (np.log(larger - 1.0) + np.euler_gamma) - 2.0 * (larger - 1.0) / larger
    return np.where(n <= 1, 0.0, np.where(n == 2, 1.0, deep))


def float32_below(values: np.ndarray) -> np.ndarray:
    """The largest float32 at or below each float64 value: for a float32 ``x``, ``x > v``
    exactly when ``x > float32_below(v)``, so cuts compare in float32 as scikit-learn's do
    in float64."""
    rounded = np.asarray(values).astype(np.float32)
    return np.where(rounded > values, np.nextafter(rounded, np.float32(-np.inf)), rounded)


class IsolationForestScore:
    """Isolation-forest anomaly scores in (0, 1] (higher = isolated sooner = more anomalous).

    Build it with :meth:`fit`; :meth:`to_tensors` and :meth:`from_tensors` store and
    restore it.

    Parameters
    ----------
    feature : numpy.ndarray of shape (n_trees, 2**depth - 1), int32
        The column each inner slot cuts.
    threshold : numpy.ndarray of shape (n_trees, 2**depth - 1), float32
        The cut value of each inner slot: a record goes right when its value is above it
        (+inf below a leaf).
    path_length : numpy.ndarray of shape (n_trees, 2**depth), float64
        For each bottom slot a leaf sends records to: the leaf's depth plus ``c(training
        rows in it)``.
    sample_size : numpy.ndarray of shape (1,)
        The rows each tree was grown from.

    Raises
    ------
    ValueError
        When the arrays do not describe a forest.
    """

    def __init__(self, feature: np.ndarray, threshold: np.ndarray, path_length: np.ndarray,
                 sample_size: np.ndarray) -> None:
        n_trees, bottom = path_length.shape if path_length.ndim == 2 else (0, 0)
        self.depth = int(bottom).bit_length() - 1
        if n_trees == 0 or bottom != 2 ** self.depth \
                or feature.shape != (n_trees, bottom - 1) or threshold.shape != feature.shape \
                or sample_size.shape != (1,) or (feature.size and feature.min() < 0):
            raise ValueError("its isolation forest is malformed")
        self.feature, self.threshold = feature, threshold
        self.path_length, self.sample_size = path_length, sample_size
        self.n_columns = int(feature.max()) + 1 if feature.size else 0

    @classmethod
    def fit(cls, x: np.ndarray, n_trees: int, random_state: int) -> IsolationForestScore:
        """Grow ``n_trees`` trees on the encoded rows ``x`` (scikit-learn's defaults: up to
        256 rows per tree, every column) and lay them out as arrays."""
        from sklearn.ensemble import IsolationForest  # only growing needs it (0.2 s to import)

        forest = IsolationForest(n_estimators=n_trees, random_state=random_state).fit(x)
        depth = max(tree.tree_.max_depth for tree in forest.estimators_)
        inner = 2 ** depth - 1
        feature = np.zeros((n_trees, inner), dtype=np.int32)
        threshold = np.full((n_trees, inner), np.inf, dtype=np.float32)
        path_length = np.zeros((n_trees, inner + 1))
        for tree, columns, cuts, cut_values, lengths in zip(
                forest.estimators_, forest.estimators_features_, feature, threshold,
                path_length, strict=True):
            nodes = tree.tree_
            node_cuts = float32_below(nodes.threshold)
            leaf_lengths = average_path_length(nodes.n_node_samples)
            stack = [(0, 0, 0)]  # (node, heap slot, depth)
            while stack:
                node, slot, level = stack.pop()
                left = nodes.children_left[node]
                if left < 0:  # a leaf: records go left from here down to the bottom
                    bottom = (slot + 1) * 2 ** (depth - level) - 1
                    lengths[bottom - inner] = level + leaf_lengths[node]
                    continue
                cuts[slot] = columns[nodes.feature[node]]
                cut_values[slot] = node_cuts[node]
                stack += [(left, 2 * slot + 1, level + 1),
                          (nodes.children_right[node], 2 * slot + 2, level + 1)]
        return cls(feature, threshold, path_length,
                   np.asarray([float(forest.max_samples_)]))

    def score(self, x: np.ndarray) -> np.ndarray:
        """Scores of the encoded rows ``x`` (``(n, columns)``; images flattened): ``2 **
        (-mean path length / c(sample_size))``, float64."""
        x = np.ascontiguousarray(np.asarray(x, dtype=np.float32).reshape(len(x), -1))
        columns = x.shape[1]
        if columns < self.n_columns:
            raise ValueError(f"rows of {columns} columns, the forest cuts column "
                             f"{self.n_columns - 1}")
        mean_length = walker()(x, self.feature, self.threshold, self.path_length, self.depth,
                               WALK_BLOCK)
        norm = float(average_path_length(self.sample_size)[0]) or 1.0  # trees of one row
        return np.power(2.0, -mean_length / norm)

    def to_tensors(self, prefix: str) -> dict[str, torch.Tensor]:
        """The forest as named tensors for a model file (``prefix`` + field name)."""
        return {prefix + name: torch.from_numpy(np.ascontiguousarray(array))
                for name, array in zip(FIELDS, (self.feature, self.threshold, self.path_length,
                                                self.sample_size), strict=True)}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], prefix: str
                     ) -> IsolationForestScore:
        """The forest :meth:`to_tensors` stored (``KeyError`` for a missing field)."""
        feature, threshold, path_length, size = (tensors[prefix + name].cpu().numpy()
                                                 for name in FIELDS)
        return cls(feature.astype(np.int32), threshold.astype(np.float32),
                   path_length.astype(np.float64), size.astype(np.float64))
