"""Normalizers that turn one numeric column into model space and back.

Three encodings are offered for the scalar of a ``numeric`` block:

:class:`QuantileScaler` (the default)
    maps the column's empirical distribution onto a standard normal. Any
    marginal shape (skew, several modes, point masses) becomes Gaussian, which
    is what a VAE's Gaussian likelihood models best; the inverse maps back
    through the stored quantiles, so generated values keep the real shape and
    never leave the observed range.
:class:`ModeScaler`
    CTGAN's mode-specific normalization: a variational Gaussian mixture per
    column, the value stored as its offset inside one mode (scaled to
    ``[-1, 1]``) plus a one-hot of that mode.
:class:`StandardScaler`
    the z-score ``(x - mean) / std``. It keeps distances: a value far out in a
    tail stays far out, which is what anomaly scores need (the quantile map
    squeezes every tail value to the same few normal scores).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

MAX_QUANTILES = 1000
#: a continuous scaler keeps about this many knots per square root of its rows (at least
#: MIN_KNOTS): knots at every training value would put synthetic values nearer the training
#: values than unseen ones lie (see QuantileScaler)
KNOTS_PER_SQRT_ROW = 2.0
MIN_KNOTS = 20
_EPS = 1e-7


def knot_count(rows: int) -> int:
    """Quantiles a continuous column of ``rows`` values is read at: ``KNOTS_PER_SQRT_ROW``
    per square root of its rows, from ``MIN_KNOTS`` to ``MAX_QUANTILES``.

    >>> from toolkit.adapters.scalers import knot_count
    >>> knot_count(50), knot_count(10_000), knot_count(10**7)
    (20, 200, 1000)
    """
    return min(MAX_QUANTILES, max(MIN_KNOTS, round(KNOTS_PER_SQRT_ROW * np.sqrt(rows))))


def _without_subnormals(values: np.ndarray) -> np.ndarray:
    """``values`` with subnormal numbers (nearer zero than ~2.2e-308) as 0: quantiles that
    close together make a linear interpolation's slope overflow (0 would come back as NaN).

    Examples
    --------
    >>> _without_subnormals(np.array([2e-313, -1.0, 1e-300]))
    array([ 0.e+000, -1.e+000,  1.e-300])
    """
    return np.where(np.abs(values) < np.finfo(float).tiny, 0.0, values)


class QuantileScaler:
    """Map a column onto N(0, 1) through its empirical quantiles.

    Parameters
    ----------
    discrete : bool, default False
        Treat the column as discrete: the inverse returns only values seen in
        training, with their observed frequencies (used for columns of few repeated
        values, see :func:`toolkit.adapters.columns.on_a_grid`, with at most
        ``MAX_QUANTILES`` distinct values). Otherwise the inverse interpolates linearly
        between quantiles.

    Notes
    -----
    A continuous scaler keeps ``KNOTS_PER_SQRT_ROW * sqrt(rows)`` quantiles (at least
    ``MIN_KNOTS``, at most ``MAX_QUANTILES`` and the distinct values), not one per training
    value. Interpolating between every training value makes synthetic values land between
    neighbouring training values, where a value of the table lies nearer than an unseen
    value does (an unseen value falls into a gap chosen in proportion to its width), so a
    membership-inference attack could tell training rows from unseen ones.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.adapters.scalers import QuantileScaler
    >>> rng = np.random.default_rng(0)
    >>> values = np.array([1.0, 2.0, 2.0, 3.0, 10.0])
    >>> scaler = QuantileScaler().fit(values, rng)
    >>> scores = scaler.transform(values, rng)
    >>> scores.shape, scores[:, 0].round(2)  # ties share one score
    ((5, 1), array([-5.2 , -0.43, -0.43,  0.47,  5.2 ]))
    >>> scaler.inverse(scores)
    array([ 1.,  2.,  2.,  3., 10.])
    >>> scaler.inverse(np.array([[-9.0], [9.0]]))  # never outside the observed range
    array([ 1., 10.])

    A discrete scaler gives back only the values it saw:

    >>> counts = QuantileScaler(discrete=True).fit(np.array([1.0, 1.0, 2.0, 5.0]), rng)
    >>> counts.inverse(np.random.default_rng(0).normal(size=(8, 1)))
    array([2., 1., 2., 2., 1., 2., 5., 5.])
    """

    n_modes = 0

    def __init__(self, discrete: bool = False) -> None:
        self.discrete = discrete

    def fit(self, values: np.ndarray, rng: np.random.Generator) -> QuantileScaler:
        """Learn the quantiles of ``values`` (finite floats, no NaN)."""
        values = _without_subnormals(values)
        uniques, counts = np.unique(values, return_counts=True)
        if self.discrete and len(uniques) <= MAX_QUANTILES:
            cdf = np.cumsum(counts) / counts.sum()
            self.knots_ = uniques.astype(float)
            self.cdf_right_ = cdf
        else:
            self.discrete = False
            n_knots = min(len(uniques), knot_count(len(values)))
            positions = np.linspace(0.0, 1.0, n_knots)
            self.knots_ = np.quantile(values, positions)
            self.positions_ = positions
        return self

    def transform(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return the normal scores of ``values`` as an ``(n, 1)`` array."""
        values = _without_subnormals(values)
        if self.discrete:
            index = np.clip(np.searchsorted(self.knots_, values), 0, len(self.knots_) - 1)
            left = np.concatenate([[0.0], self.cdf_right_[:-1]])[index]
            uniform = (left + self.cdf_right_[index]) / 2.0
        elif len(self.knots_) == 1:
            uniform = np.full(len(values), 0.5)
        else:
            # average the forward and backward interpolation so that ties map to
            # the middle of their probability mass
            forward = np.interp(values, self.knots_, self.positions_)
            backward = -np.interp(-values, -self.knots_[::-1], -self.positions_[::-1])
            uniform = (forward + backward) / 2.0
        return ndtri(np.clip(uniform, _EPS, 1.0 - _EPS))[:, None]

    def inverse(self, encoded: np.ndarray) -> np.ndarray:
        """Map normal scores (first column of ``encoded``) back to values."""
        uniform = ndtr(encoded[:, 0].astype(float))
        # undo transform's clipping into (EPS, 1 - EPS): the extremes come back exactly
        uniform = np.where(uniform <= 1.5 * _EPS, 0.0, np.where(uniform >= 1.0 - 1.5 * _EPS,
                                                                   1.0, uniform))
        if self.discrete:
            index = np.searchsorted(self.cdf_right_, uniform, side="left")
            return self.knots_[np.clip(index, 0, len(self.knots_) - 1)]
        if len(self.knots_) == 1:
            return np.full(len(uniform), self.knots_[0])
        return np.interp(uniform, self.positions_, self.knots_)

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted state as JSON-ready data."""
        state: dict[str, Any] = {"type": "quantile", "discrete": self.discrete,
                                 "knots": self.knots_.tolist()}
        if self.discrete:
            state["cdf_right"] = self.cdf_right_.tolist()
        else:
            state["positions"] = self.positions_.tolist()
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> QuantileScaler:
        """Rebuild a scaler written by :meth:`to_dict`."""
        scaler = cls(discrete=state["discrete"])
        scaler.knots_ = np.asarray(state["knots"], dtype=float)
        if scaler.discrete:
            scaler.cdf_right_ = np.asarray(state["cdf_right"], dtype=float)
        else:
            scaler.positions_ = np.asarray(state["positions"], dtype=float)
        return scaler


class ModeScaler:
    """CTGAN-style mode-specific normalization with a variational Gaussian mixture.

    Parameters
    ----------
    max_modes : int, default 10
        Components of the Bayesian Gaussian mixture; modes whose weight falls
        under ``weight_threshold`` are dropped.
    weight_threshold : float, default 0.005
        Minimum weight of a kept mode.
    max_fit_rows : int, default 10000
        Rows subsampled to fit the mixture, which bounds fit time on large tables.

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.adapters.scalers import ModeScaler
    >>> rng = np.random.default_rng(0)
    >>> values = np.r_[rng.normal(-10, 1, 200), rng.normal(10, 1, 200)]
    >>> scaler = ModeScaler().fit(values, rng)
    >>> scaler.n_modes  # one mode per cluster
    2
    >>> encoded = scaler.transform(np.array([-10.0, 10.5]), rng)
    >>> encoded.shape, encoded[:, 1:].sum(axis=1)  # the scalar, then a one-hot of the mode
    ((2, 3), array([1., 1.]))
    >>> bool(np.allclose(scaler.inverse(encoded), [-10.0, 10.5]))
    True
    """

    def __init__(
        self, max_modes: int = 10, weight_threshold: float = 0.005, max_fit_rows: int = 10000
    ) -> None:
        self.max_modes = max_modes
        self.weight_threshold = weight_threshold
        self.max_fit_rows = max_fit_rows

    @property
    def n_modes(self) -> int:
        """Number of kept mixture modes (the width of the mode one-hot)."""
        return len(self.means_)

    def fit(self, values: np.ndarray, rng: np.random.Generator) -> ModeScaler:
        """Fit the mixture on (a subsample of) ``values``."""
        sample = values
        if len(values) > self.max_fit_rows:
            sample = rng.choice(values, self.max_fit_rows, replace=False)
        n_components = int(min(self.max_modes, len(np.unique(sample))))
        # imported here: only fitting needs them (0.1-0.2 s a process that samples skips)
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import BayesianGaussianMixture

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mixture = BayesianGaussianMixture(
                n_components=n_components,
                weight_concentration_prior_type="dirichlet_process",
                weight_concentration_prior=0.001,
                max_iter=100,
                random_state=int(rng.integers(2**31 - 1)),
            ).fit(sample[:, None])
        keep = mixture.weights_ > self.weight_threshold
        if not keep.any():
            keep = mixture.weights_ == mixture.weights_.max()
        self.means_ = mixture.means_[keep, 0]
        self.stds_ = np.sqrt(mixture.covariances_[keep].reshape(-1)) + 1e-6
        self.weights_ = mixture.weights_[keep] / mixture.weights_[keep].sum()
        return self

    def _posterior(self, values: np.ndarray) -> np.ndarray:
        z = (values[:, None] - self.means_) / self.stds_
        log_p = -0.5 * z**2 - np.log(self.stds_) + np.log(self.weights_)
        log_p -= log_p.max(axis=1, keepdims=True)
        p = np.exp(log_p)
        return p / p.sum(axis=1, keepdims=True)

    def transform(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return ``[scalar, mode one-hot]`` with the mode drawn from its posterior."""
        posterior = self._posterior(values)
        draws = rng.random(len(values))[:, None]
        modes = np.minimum((posterior.cumsum(axis=1) < draws).sum(axis=1), self.n_modes - 1)
        scalar = (values - self.means_[modes]) / (4.0 * self.stds_[modes])
        one_hot = np.eye(self.n_modes)[modes]
        return np.column_stack([np.clip(scalar, -0.99, 0.99), one_hot])

    def inverse(self, encoded: np.ndarray) -> np.ndarray:
        """Map ``[scalar, mode scores]`` back to values using the arg-max mode."""
        modes = encoded[:, 1:].argmax(axis=1)
        scalar = np.clip(encoded[:, 0], -1.0, 1.0)
        return scalar * 4.0 * self.stds_[modes] + self.means_[modes]

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted state as JSON-ready data."""
        return {
            "type": "mode",
            "means": self.means_.tolist(),
            "stds": self.stds_.tolist(),
            "weights": self.weights_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ModeScaler:
        """Rebuild a scaler written by :meth:`to_dict`."""
        scaler = cls()
        scaler.means_ = np.asarray(state["means"], dtype=float)
        scaler.stds_ = np.asarray(state["stds"], dtype=float)
        scaler.weights_ = np.asarray(state["weights"], dtype=float)
        return scaler


class StandardScaler:
    """Map a column to its z-score ``(x - mean) / std`` (std 1 for a constant column).

    Examples
    --------
    >>> import numpy as np
    >>> from toolkit.adapters.scalers import StandardScaler
    >>> rng = np.random.default_rng(0)
    >>> scaler = StandardScaler().fit(np.array([2.0, 4.0, 6.0]), rng)
    >>> scaler.transform(np.array([4.0, 10.0]), rng)[:, 0].round(3)  # tails stay far out
    array([0.   , 3.674])
    >>> scaler.inverse(np.array([[0.0], [3.674]])).round(2)
    array([ 4., 10.])
    >>> StandardScaler().fit(np.array([5.0, 5.0]), rng).std_  # a constant column
    1.0
    """

    n_modes = 0

    def fit(self, values: np.ndarray, rng: np.random.Generator) -> StandardScaler:
        """Learn the mean and standard deviation of ``values`` (finite floats, no NaN)."""
        self.mean_ = float(values.mean())
        spread = float(values.std())
        self.std_ = spread if spread > 0 else 1.0
        return self

    def transform(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return the z-scores of ``values`` as an ``(n, 1)`` array."""
        return ((values - self.mean_) / self.std_)[:, None]

    def inverse(self, encoded: np.ndarray) -> np.ndarray:
        """Map z-scores (first column of ``encoded``) back to values."""
        return encoded[:, 0].astype(float) * self.std_ + self.mean_

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted state as JSON-ready data."""
        return {"type": "standard", "mean": self.mean_, "std": self.std_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> StandardScaler:
        """Rebuild a scaler written by :meth:`to_dict`."""
        scaler = cls()
        scaler.mean_, scaler.std_ = float(state["mean"]), float(state["std"])
        return scaler


Scaler = QuantileScaler | ModeScaler | StandardScaler
SCALERS: dict[str, type[Scaler]] = {"quantile": QuantileScaler, "mode": ModeScaler,
                                    "standard": StandardScaler}


def scaler_from_dict(state: dict[str, Any]) -> Scaler:
    """Rebuild whichever scaler ``state`` describes.

    Examples
    --------
    >>> import json
    >>> import numpy as np
    >>> from toolkit.adapters.scalers import StandardScaler, scaler_from_dict
    >>> fitted = StandardScaler().fit(np.array([2.0, 4.0, 6.0]), np.random.default_rng(0))
    >>> state = json.loads(json.dumps(fitted.to_dict()))  # e.g. stored in a model file
    >>> rebuilt = scaler_from_dict(state)
    >>> type(rebuilt).__name__, rebuilt.mean_
    ('StandardScaler', 4.0)
    """
    return SCALERS[state["type"]].from_dict(state)
