"""Can synthetic rows be told from real ones? Detection (C2ST) and α-precision / β-recall.

* **Detection** (a classifier two-sample test, C2ST): equal numbers of real and synthetic
  rows, labelled by their origin, and a gradient-boosted classifier (scikit-learn's
  ``HistGradientBoostingClassifier``) cross-validated over :data:`DETECTION_FOLDS` folds
  to tell them apart. Its AUROC is 0.5 when it cannot (the rows are indistinguishable) and
  1 when it always can. Real rows the model never saw (a holdout) score about 0.5: that is
  the floor. ``detection_score`` restates it so that higher is better, as sdmetrics'
  detection metrics do: ``1 - 2 * (AUROC - 0.5)``, clipped to [0, 1].
* **α-precision and β-recall** (Alaa et al., "How faithful is your synthetic data?",
  ICML 2022): rows are embedded (numbers and dates scaled by the real rows' spread, one
  column per category level); the α-support of the real rows is the ball around their
  centre that holds a share α of them. α-precision asks whether synthetic rows fall in
  the α-support as often as α says (fidelity: no rows out where real ones never are),
  β-recall whether real rows fall in the synthetic rows' β-support, each covered by a
  synthetic row's k-nearest-neighbour ball (diversity: every kind of real row is
  generated). Each curve over α (β) from 0 to 1 is summarised as ``1 - 2 x`` its mean
  distance to the diagonal: 1 is ideal; a real holdout shows what sampling noise alone
  gives. The embedding is the encoded feature space, not the paper's learned one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.kinds import UNMODELLED_KINDS
from toolkit.evaluate.features import model_frame

#: rows of each side given to the detection classifier at most (a random sample beyond)
MAX_DETECTION_ROWS = 10_000
#: cross-validation folds of the detection classifier
DETECTION_FOLDS = 5
#: rows of each side embedded for α-precision and β-recall at most (a random sample beyond)
MAX_SUPPORT_ROWS = 5_000
#: neighbours whose distance is a synthetic row's ball in β-recall
SUPPORT_NEIGHBOURS = 5
#: levels α and β at which the curves are read
SUPPORT_LEVELS = np.linspace(0.0, 1.0, 21)


def _features(kinds: dict[str, str]) -> list[str]:
    return [column for column, kind in kinds.items() if kind not in UNMODELLED_KINDS]


def _sample(table: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(table) <= n:
        return table
    return table.iloc[np.sort(rng.choice(len(table), n, replace=False))]


def detection_auroc(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str],
                    random_state: int = 0) -> float | None:
    """Cross-validated AUROC of a gradient-boosted classifier telling ``synthetic`` rows
    from ``real`` ones (0.5: indistinguishable); ``None`` with fewer than 10 rows a side.

    Both sides are cut to the same number of rows (at most :data:`MAX_DETECTION_ROWS`,
    a seeded random sample), so that always guessing one side scores 0.5.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = pd.DataFrame({"x": rng.normal(size=400), "g": rng.choice(["a", "b"], 400)})
    >>> same = pd.DataFrame({"x": rng.normal(size=400), "g": rng.choice(["a", "b"], 400)})
    >>> shifted = same.assign(x=same["x"] + 3)
    >>> kinds = {"x": "continuous", "g": "categorical"}
    >>> detection_auroc(real, same, kinds) < 0.6, detection_auroc(real, shifted, kinds) > 0.95
    (True, True)
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(random_state)
    n = min(len(real), len(synthetic), MAX_DETECTION_ROWS)
    features = _features(kinds)
    if n < 2 * DETECTION_FOLDS or not features:
        return None
    x_real, x_synthetic = model_frame([_sample(real, n, rng), _sample(synthetic, n, rng)],
                                      kinds, features)
    x = pd.concat([x_real, x_synthetic], ignore_index=True)
    x = x[x.columns[x.notna().any()]]
    y = np.r_[np.zeros(n), np.ones(n)]
    folds = StratifiedKFold(DETECTION_FOLDS, shuffle=True, random_state=random_state)
    scores = []
    with threadpool_limits(1):  # small models: one thread is fastest on a shared machine
        for train, test in folds.split(x, y):
            model = HistGradientBoostingClassifier(categorical_features="from_dtype",
                                                   random_state=random_state)
            model.fit(x.iloc[train], y[train])
            scores.append(roc_auc_score(y[test], model.predict_proba(x.iloc[test])[:, 1]))
    return float(np.mean(scores))


def detection_score(auroc: float | None) -> float | None:
    """The detection AUROC restated so that higher is better: 1 at 0.5, 0 at 1 (or at 0).

    >>> detection_score(0.5), detection_score(0.75), detection_score(1.0)
    (1.0, 0.5, 0.0)
    """
    if auroc is None:
        return None
    return float(np.clip(1.0 - 2.0 * abs(auroc - 0.5), 0.0, 1.0))


def _embed(tables: list[pd.DataFrame], kinds: dict[str, str]) -> list[np.ndarray]:
    """Rows as vectors: numbers and dates standardised by the first table (with a missing
    flag), categories one-hot with weight 1/√2 (two different levels are 1 apart)."""
    features = _features(kinds)
    frames = model_frame(tables, kinds, features)
    parts: list[list[np.ndarray]] = [[] for _ in frames]
    for column in features:
        reference = frames[0][column]
        if isinstance(reference.dtype, pd.CategoricalDtype):
            width = len(reference.cat.categories) + 1  # the last slot: missing
            for part, frame in zip(parts, frames, strict=True):
                codes = frame[column].cat.codes.to_numpy()
                one_hot = np.zeros((len(frame), width))
                one_hot[np.arange(len(frame)), np.where(codes < 0, width - 1, codes)] = 2**-0.5
                part.append(one_hot)
            continue
        values = reference.to_numpy(dtype=float)
        centre = np.nanmedian(values) if np.isfinite(values).any() else 0.0
        spread = np.nanstd(values) if np.isfinite(values).any() else 1.0
        spread = spread if spread > 0 else 1.0
        for part, frame in zip(parts, frames, strict=True):
            scaled = (frame[column].to_numpy(dtype=float) - centre) / spread
            missing = np.isnan(scaled)
            part.append(np.column_stack([np.where(missing, 0.0, scaled), missing]))
    return [np.hstack(part) for part in parts]


def _curve_score(curve: np.ndarray) -> float:
    """``1 - 2 x`` the mean distance of a curve read at :data:`SUPPORT_LEVELS` to the
    diagonal: 1 when it is the diagonal."""
    return float(1.0 - 2.0 * np.mean(np.abs(curve - SUPPORT_LEVELS)))


def alpha_precision_beta_recall(real: pd.DataFrame, synthetic: pd.DataFrame,
                                kinds: dict[str, str], random_state: int = 0
                                ) -> dict[str, float | None]:
    """α-precision and β-recall of ``synthetic`` against ``real`` (1: ideal).

    Returns ``{"alpha_precision": ..., "beta_recall": ...}`` (``None`` for fewer than
    ``SUPPORT_NEIGHBOURS + 2`` rows a side); see the module docstring for what they mean.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> real = pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(size=2000)})
    >>> kinds = {"x": "continuous", "y": "continuous"}
    >>> same = pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(size=2000)})
    >>> collapsed = same * 0.2  # every row near the centre: faithful, not diverse
    >>> good = alpha_precision_beta_recall(real, same, kinds)
    >>> bad = alpha_precision_beta_recall(real, collapsed, kinds)
    >>> good["alpha_precision"] > 0.9, good["beta_recall"] > bad["beta_recall"] + 0.3
    (True, True)
    """
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(random_state)
    real = _sample(real, MAX_SUPPORT_ROWS, rng)
    synthetic = _sample(synthetic, MAX_SUPPORT_ROWS, rng)
    if min(len(real), len(synthetic)) < SUPPORT_NEIGHBOURS + 2 or not _features(kinds):
        return {"alpha_precision": None, "beta_recall": None}
    x_real, x_synthetic = _embed([real, synthetic], kinds)
    # α-precision: synthetic rows inside the real rows' α-balls
    real_centre = x_real.mean(axis=0)
    real_radius = np.linalg.norm(x_real - real_centre, axis=1)
    synthetic_to_real_centre = np.linalg.norm(x_synthetic - real_centre, axis=1)
    radii = np.quantile(real_radius, SUPPORT_LEVELS)
    precision = (synthetic_to_real_centre[None, :] <= radii[:, None]).mean(axis=1)
    # β-recall: real rows inside the k-NN ball of their closest synthetic row, that row
    # being in the synthetic rows' β-ball
    synthetic_radius = np.linalg.norm(x_synthetic - x_synthetic.mean(axis=0), axis=1)
    beta_radii = np.quantile(synthetic_radius, SUPPORT_LEVELS)
    neighbours = NearestNeighbors(n_neighbors=SUPPORT_NEIGHBOURS + 1).fit(x_synthetic)
    ball = neighbours.kneighbors(x_synthetic)[0][:, -1]  # itself is the first neighbour
    distance, closest = neighbours.kneighbors(x_real, n_neighbors=1)
    closest = closest[:, 0]
    covered = distance[:, 0] <= ball[closest]
    recall = (covered[None, :] & (synthetic_radius[closest][None, :] <= beta_radii[:, None])
              ).mean(axis=1)
    return {"alpha_precision": _curve_score(precision), "beta_recall": _curve_score(recall)}


def realism(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: dict[str, str],
            holdout: pd.DataFrame | None = None, random_state: int = 0) -> dict[str, Any]:
    """Detection AUROC and score, α-precision and β-recall of ``synthetic``; with a
    ``holdout`` of unseen real rows, the same of the holdout (what indistinguishable
    rows score) under ``holdout_*``."""
    auroc = detection_auroc(real, synthetic, kinds, random_state)
    result: dict[str, Any] = {"detection_auroc": auroc, "detection_score": detection_score(auroc),
                              **alpha_precision_beta_recall(real, synthetic, kinds,
                                                            random_state)}
    if holdout is not None:
        floor = detection_auroc(real, holdout, kinds, random_state)
        support = alpha_precision_beta_recall(real, holdout, kinds, random_state)
        result.update(holdout_detection_auroc=floor,
                      holdout_alpha_precision=support["alpha_precision"],
                      holdout_beta_recall=support["beta_recall"])
    result["detection_rows"] = min(len(real), len(synthetic), MAX_DETECTION_ROWS)
    return result
