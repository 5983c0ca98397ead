"""toolkit.models.detector: the AnomalyDetector's PyOD and scikit-learn contracts, scores,
explanations, novelty, model files, bounded fits and column labels."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FAST
from helpers import clinical_table
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import toolkit.models.detector as detector_module
from toolkit import AnomalyDetector, Synthesizer
from toolkit.config import ANOMALY_SCORES as SCORES
from toolkit.exceptions import (
    DataError,
    ModelFileError,
    NotFittedError,
    UsageError,
)
from toolkit.io import read_table
from toolkit.io.records import read_records

# from tests/test_big_tables.py --------------------------------------------------------------




def test_a_detector_learns_a_big_file_from_a_bounded_sample(patients_csv, small_bound):
    detector = AnomalyDetector(config=small_bound, epochs=2, random_state=0).fit(patients_csv)
    assert detector.model_.n_rows_ == 150 and len(detector.decision_scores_) == 150
    assert len(detector.decision_function(read_table(patients_csv))) == 418




def test_a_sampled_fit_still_knows_every_level_missing_value_and_range(rare_rows, small_bound):
    detector = AnomalyDetector(config=small_bound, epochs=2, random_state=0).fit(rare_rows)
    assert detector.model_.n_rows_ == 150
    table = read_table(rare_rows)
    scores = detector.decision_function(table)  # no "never seen in training" error
    assert len(scores) == 2000 and np.isfinite(scores).all()
    encoders = {e.name: e for e in detector.model_.adapter_.encoders_}
    assert "Z" in encoders["ward"].slots_ + encoders["ward"].other_levels_
    assert encoders["dose"].has_missing_
    assert encoders["age"].max_ == 130


# from tests/test_detector.py ----------------------------------------------------------------


#: checks that contradict what the issue asks for, each with the reason
PYOD_CONVENTIONS = {
    "check_outliers_train": "predict returns PyOD's 0/1 labels, not scikit-learn's -1/1, and "
                            "decision_function is positive for outliers (PyOD's sign)",
    "check_outliers_fit_predict": "fit_predict returns PyOD's 0/1 labels, not -1/1",
}


def shifted_blob(n: int = 300, n_outliers: int = 15,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Correlated Gaussian rows with a few rows far off; labels 1 for those."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 2))
    X = np.column_stack([base, base @ [[1.0], [0.5]] + 0.1 * rng.normal(size=(n, 1))])  # noqa: N806
    X[:n_outliers] += rng.choice([-6.0, 6.0], size=(n_outliers, 3))
    y = np.zeros(n, dtype=int)
    y[:n_outliers] = 1
    return X, y


@pytest.fixture(scope="module")
def blob():
    return shifted_blob()


@pytest.fixture(scope="module")
def fitted(blob):
    return AnomalyDetector(random_state=0, epochs=30).fit(blob[0])




@parametrize_with_checks([AnomalyDetector(random_state=0, config="fast", epochs=2)],
                         expected_failed_checks=lambda est: PYOD_CONVENTIONS)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


# the PyOD interface -------------------------------------------------------------------
def test_fit_sets_pyod_attributes(fitted, blob):
    n = len(blob[0])
    assert fitted.decision_scores_.shape == (n,)
    assert set(np.unique(fitted.labels_)) == {0, 1}
    assert fitted.labels_.sum() == pytest.approx(0.1 * n, abs=2)
    assert np.array_equal(fitted.labels_, (fitted.decision_scores_ > fitted.threshold_))


def test_decision_function_of_training_rows_is_decision_scores(fitted, blob):
    assert np.array_equal(fitted.decision_function(blob[0]), fitted.decision_scores_)


def test_far_rows_score_higher(fitted, blob):
    assert roc_auc_score(blob[1], fitted.decision_scores_) > 0.95


@pytest.mark.parametrize("score", SCORES)
def test_every_score_finds_the_shifted_rows(blob, score):
    detector = AnomalyDetector(anomaly_score=score, random_state=0, epochs=30).fit(blob[0])
    assert roc_auc_score(blob[1], detector.decision_scores_) > 0.9


def score_of(detector: AnomalyDetector, score: str, X) -> np.ndarray:  # noqa: N803
    """``detector``'s ``score`` of ``X`` (the detector itself unchanged)."""
    return copy.copy(detector).set_params(anomaly_score=score).decision_function(X)


def test_combined_is_reconstruction_plus_kl(fitted, blob):
    reconstruction = score_of(fitted, "reconstruction", blob[0])
    assert np.all(score_of(fitted, "combined", blob[0]) > reconstruction)  # KL > 0


def test_ensemble_is_the_standardised_sum_of_its_parts(fitted, blob):
    combined, isolation = (score_of(fitted, part, blob[0]) for part in ("combined", "isolation"))
    assert fitted.anomaly_score == "ensemble"
    assert fitted.part_scales_["combined"] == pytest.approx((combined.mean(), combined.std()))
    assert fitted.part_scales_["isolation"] == pytest.approx((isolation.mean(), isolation.std()))
    expected = ((combined - combined.mean()) / combined.std()
                + (isolation - isolation.mean()) / isolation.std())
    assert fitted.decision_scores_ == pytest.approx(expected)
    assert np.all((isolation > 0) & (isolation <= 1))


def test_isolation_is_scikit_learns_forest_on_the_encoded_rows(fitted, blob):
    from sklearn.ensemble import IsolationForest

    adapter = fitted.model_.adapter_
    encoded = adapter.transform(read_records(blob[0]).data, clip=False)
    forest = IsolationForest(random_state=fitted.model_.seed_).fit(encoded)
    assert score_of(fitted, "isolation", blob[0]) == pytest.approx(-forest.score_samples(encoded))


def test_predict_uses_the_threshold(fitted, blob):
    labels = fitted.predict(blob[0])
    assert labels.dtype.kind == "i"
    assert np.array_equal(labels, fitted.labels_)


def test_score_samples_is_the_negated_decision_function(fitted, blob):
    assert np.array_equal(fitted.score_samples(blob[0]), -fitted.decision_function(blob[0]))


def test_predict_proba_is_min_max_scaled_and_clipped(fitted, blob):
    proba = fitted.predict_proba(np.vstack([blob[0], blob[0][:1] + 100.0]))
    assert proba.shape == (len(blob[0]) + 1, 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert proba.min() >= 0.0 and proba.max() <= 1.0
    assert proba[-1, 1] == 1.0  # far beyond the training scores


def test_fit_predict_returns_the_training_labels(blob):
    detector = AnomalyDetector(random_state=0, **FAST)
    assert np.array_equal(detector.fit_predict(blob[0]), detector.labels_)


@pytest.mark.parametrize("contamination", [0.02, 0.25])
def test_contamination_sets_the_share_flagged(blob, contamination):
    detector = AnomalyDetector(contamination=contamination, random_state=0, **FAST).fit(blob[0])
    assert detector.labels_.mean() == pytest.approx(contamination, abs=0.01)


def test_set_contamination_moves_the_threshold(blob):
    detector = AnomalyDetector(random_state=0, **FAST).fit(blob[0])
    before = detector.threshold_
    detector.set_contamination(0.01)
    assert detector.threshold_ > before
    assert detector.predict(blob[0]).mean() == pytest.approx(0.01, abs=0.005)


def test_same_seed_gives_identical_scores(blob):
    a = AnomalyDetector(random_state=3, **FAST).fit(blob[0])
    b = AnomalyDetector(random_state=3, **FAST).fit(blob[0])
    c = AnomalyDetector(random_state=4, **FAST).fit(blob[0])
    assert np.array_equal(a.decision_scores_, b.decision_scores_)
    assert not np.array_equal(a.decision_scores_, c.decision_scores_)


def test_vaegan_backend_scores(blob):
    detector = AnomalyDetector(backend="vaegan", random_state=0, **FAST).fit(blob[0])
    assert np.isfinite(detector.decision_scores_).all()


def test_gan_backend_is_refused_with_the_reason(blob):
    with pytest.raises(UsageError, match="gan backend cannot score anomalies: it has no encoder"):
        AnomalyDetector(backend="gan").fit(blob[0])


# mixed tables and explanations ---------------------------------------------------------
def test_mixed_table_with_missing_values_is_scored(patients_detector, patients):
    assert patients.isna().any().any()
    scores = patients_detector.decision_function(patients)
    assert scores.shape == (len(patients),) and np.isfinite(scores).all()


def test_explain_sums_to_the_reconstruction_score(patients_detector, patients):
    contributions = patients_detector.explain(patients)
    reconstruction = copy.copy(patients_detector).set_params(anomaly_score="reconstruction")
    assert np.allclose(contributions.sum(axis=1), reconstruction.decision_function(patients),
                       atol=1e-4)


def test_explain_has_one_column_per_modelled_column(patients_detector, patients):
    contributions = patients_detector.explain(patients.head(5))
    kinds = patients_detector.model_.metadata_
    modelled = [c for c in patients.columns if kinds[c] not in ("id", "constant")]
    assert list(contributions.columns) == modelled
    assert len(contributions) == 5


def test_explain_points_at_the_corrupted_column(_patients_frame):
    table = _patients_frame.drop(columns=["id"]).dropna().reset_index(drop=True)
    detector = AnomalyDetector(random_state=0, epochs=20).fit(table)
    corrupted = table.head(3).copy()
    corrupted["chol"] = table["chol"].max() * 20
    top = detector.explain(corrupted).idxmax(axis=1)
    assert (top == "chol").all()


def test_value_beyond_the_training_range_scores_higher(patients_detector, patients):
    far = patients.head(1).copy()
    far["age"] = patients["age"].max() * 10
    assert patients_detector.decision_function(far)[0] > \
        patients_detector.decision_function(patients.head(1))[0]


# scikit-learn compatibility ------------------------------------------------------------
def test_works_in_a_pipeline(blob):
    pipeline = make_pipeline(StandardScaler(), AnomalyDetector(random_state=0, **FAST))
    pipeline.fit(blob[0])
    assert pipeline.decision_function(blob[0]).shape == (len(blob[0]),)
    assert set(np.unique(pipeline.predict(blob[0]))) <= {0, 1}


def test_clone_keeps_parameters_and_drops_the_fit(fitted):
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "model_")


@pytest.mark.slow
def test_grid_search_with_an_auroc_scorer(blob):
    def auroc(estimator, X, y):  # noqa: N803
        return roc_auc_score(y, estimator.decision_function(X))

    search = GridSearchCV(AnomalyDetector(random_state=0, **FAST),
                          {"anomaly_score": ["reconstruction", "combined"]}, scoring=auroc,
                          cv=StratifiedKFold(2, shuffle=True, random_state=0))
    search.fit(blob[0], blob[1])
    assert search.best_params_["anomaly_score"] in ("reconstruction", "combined")
    assert 0.0 <= search.best_score_ <= 1.0


def test_score_is_the_mean_log_likelihood_bound(fitted, blob):
    normal = blob[0][15:]
    assert fitted.score(normal) == pytest.approx(-np.mean(score_of(fitted, "combined", normal)))
    assert fitted.score(normal) > fitted.score(blob[0][:15])  # outliers are less likely
    latent = copy.copy(fitted).set_params(anomaly_score="latent")
    assert latent.score(normal) == pytest.approx(np.mean(latent.score_samples(normal)))


@pytest.mark.slow
def test_pipeline_score_and_a_grid_search_without_a_scorer(blob):
    pipeline = make_pipeline(StandardScaler(), AnomalyDetector(random_state=0, **FAST))
    assert np.isfinite(pipeline.fit(blob[0]).score(blob[0]))
    search = GridSearchCV(AnomalyDetector(random_state=0, **FAST),
                          {"anomaly_score": ["reconstruction", "combined"]}, cv=2)
    search.fit(blob[0])
    assert search.best_params_["anomaly_score"] in ("reconstruction", "combined")
    assert np.isfinite(search.best_score_)


# model files ----------------------------------------------------------------------------
def test_save_and_load_round_trip(patients_detector, patients, tmp_path):
    path = tmp_path / "detector.tkm"
    patients_detector.save(path)
    loaded = AnomalyDetector.load(path)
    assert np.array_equal(loaded.decision_function(patients),
                          patients_detector.decision_function(patients))
    assert loaded.threshold_ == pytest.approx(patients_detector.threshold_)
    assert loaded.get_params() == patients_detector.get_params()
    assert loaded.part_scales_ == patients_detector.part_scales_
    assert np.array_equal(score_of(loaded, "isolation", patients),
                          score_of(patients_detector, "isolation", patients))


def test_synthesizer_file_is_not_a_detector(tmp_path, patients):

    path = tmp_path / "synth.tkm"
    Synthesizer(random_state=0, **FAST).fit(patients).save(path)
    with pytest.raises(ModelFileError, match="holds a 'synthesizer' model, not a detector"):
        AnomalyDetector.load(path)


def test_corrupt_detector_file_is_refused(patients_detector, tmp_path):
    path = tmp_path / "detector.tkm"
    patients_detector.save(path)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        AnomalyDetector.load(path)


# bad input ------------------------------------------------------------------------------
def test_unfitted_detector_raises_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        AnomalyDetector().decision_function(np.zeros((2, 2)))


def test_wrong_number_of_features_is_named(fitted, blob):
    with pytest.raises(DataError, match="X has 2 features, but AnomalyDetector is expecting 3"):
        fitted.decision_function(blob[0][:, :2])


def test_missing_column_at_score_time_is_named(patients_detector, patients):
    with pytest.raises(DataError, match="chol"):
        patients_detector.decision_function(patients.drop(columns=["chol"]))


def test_nan_where_training_had_none_is_refused_on_request(patients_detector, patients):
    assert not patients["age"].isna().any()
    bad = patients.head(4).copy()
    bad.loc[1, "age"] = np.nan
    refusing = copy.deepcopy(patients_detector).set_params(unseen="refuse")
    with pytest.raises(DataError, match="column 'age' has 1 missing or non-numeric value"):
        refusing.decision_function(bad)


def test_unseen_category_is_refused_on_request(patients_detector, patients):
    bad = patients.head(4).copy()
    bad.loc[0, "sex"] = "x"
    refusing = copy.deepcopy(patients_detector).set_params(unseen="refuse")
    with pytest.raises(DataError, match="column 'sex' has value\\(s\\) never seen"):
        refusing.decision_function(bad)
    with pytest.raises(DataError, match="column 'sex'"):
        refusing.explain(bad)


@pytest.mark.parametrize("column, value", [("sex", "x"), ("age", np.nan), ("age", "old")])
def test_never_seen_values_are_scored_above_every_training_row(patients_detector, patients,
                                                               column, value):
    rows = patients.head(20).copy()
    before = patients_detector.decision_function(rows)
    rows[column] = rows[column].astype(object)
    rows.loc[3, column] = value
    after = patients_detector.decision_function(rows)
    typical = np.median(patients_detector.decision_scores_)
    assert after[3] - before[3] == pytest.approx(patients_detector.novelty_score_, abs=50)
    assert patients_detector.novelty_score_ > (patients_detector.decision_scores_.max()
                                               - typical)
    assert patients_detector.predict(rows)[3] == 1
    others = np.arange(len(rows)) != 3
    np.testing.assert_allclose(after[others], before[others])
    shares = patients_detector.explain(rows)
    assert shares.iloc[3].idxmax() == column
    assert shares.loc[3, column] >= patients_detector.novelty_score_


def test_novelty_score_survives_the_model_file(patients_detector, patients, tmp_path):
    patients_detector.save(tmp_path / "det.toolkit")
    loaded = AnomalyDetector.load(tmp_path / "det.toolkit")
    assert loaded.novelty_score_ == pytest.approx(patients_detector.novelty_score_)
    rows = patients.head(5).copy()
    rows.loc[0, "sex"] = "x"
    np.testing.assert_allclose(loaded.decision_function(rows),
                               patients_detector.decision_function(rows), rtol=1e-6)


def test_numeric_array_columns_are_numeric_and_new_values_scored():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=300), rng.integers(0, 3, 300),  # noqa: N806
                         np.ones(300)]).astype(float)
    detector = AnomalyDetector(random_state=0, epochs=3).fit(X)
    kinds = detector.model_.adapter_.describe()["columns"]
    assert [kinds[name] for name in ("x0", "x1", "x2")] == \
        ["continuous", "continuous", "constant"]
    new = X[:3].copy()
    new[0, 1] = 2.5  # between levels: a number, not an unknown category
    new[1, 1] = 30.0  # far outside the training range
    scores = detector.decision_function(new)
    assert np.isfinite(scores).all()
    assert scores[1] > detector.decision_scores_.max()
    assert scores[1] > scores[0]


def test_out_of_range_under_the_quantile_map_is_novel():
    X = np.random.default_rng(0).normal(size=(200, 2))  # noqa: N806
    detector = AnomalyDetector(random_state=0, **FAST).fit(X)  # fast: quantile-mapped
    new = X[:2].copy()
    new[0, 0] = 40.0
    scores = detector.decision_function(new)
    assert scores[0] > detector.decision_scores_.max()
    assert detector.explain(new).iloc[0].idxmax() == "x0"
    with pytest.raises(DataError, match="column 'x0' has 1 value\\(s\\) outside the training"):
        detector.set_params(unseen="refuse").decision_function(new)


@pytest.mark.parametrize("params, message", [
    ({"anomaly_score": "likelihood"}, "unknown anomaly score 'likelihood'"),
    ({"contamination": 0.7}, "contamination must be a float in \\(0, 0.5\\]"),
    ({"contamination": 0.0}, "contamination must be a float"),
    ({"unseen": "ignore"}, "unknown unseen 'ignore'; valid: score, refuse"),
    ({"config": "turbo"}, "unknown config 'turbo'"),
])
def test_bad_parameters_raise_usage_error(blob, params, message):
    with pytest.raises(UsageError, match=message):
        AnomalyDetector(**params).fit(blob[0])


def test_empty_table_is_refused():
    with pytest.raises(DataError):
        AnomalyDetector(**FAST).fit(pd.DataFrame({"a": []}))


def test_inf_in_training_data_is_refused(blob):
    X = blob[0].copy()  # noqa: N806
    X[0, 0] = np.inf
    with pytest.raises(DataError, match="inf"):
        AnomalyDetector(**FAST).fit(X)


def test_identifier_columns_stay_identifiers_and_are_not_scored(_patients_frame):
    detector = AnomalyDetector(random_state=0, **FAST).fit(_patients_frame)
    assert detector.model_.adapter_.kinds_["id"] == "id"
    assert detector.model_.adapter_.kinds_["stage"] == "continuous"
    renumbered = _patients_frame.assign(id=_patients_frame["id"] + 10**6)
    assert np.array_equal(detector.decision_function(renumbered),
                          detector.decision_function(_patients_frame))


# from tests/test_score_throughput.py --------------------------------------------------------


# the detector --------------------------------------------------------------------------------


def test_forward_passes_in_sub_batches_give_the_same_scores_bit_for_bit(patients_detector,
                                                                        _patients_frame,
                                                                        monkeypatch):
    one_pass = patients_detector.decision_function(_patients_frame)
    explained = patients_detector.explain(_patients_frame).to_numpy()
    monkeypatch.setattr(detector_module, "FORWARD_ROWS", 7)
    assert np.array_equal(patients_detector.decision_function(_patients_frame), one_pass)
    assert np.array_equal(patients_detector.explain(_patients_frame).to_numpy(), explained)


# from tests/test_trust_api.py ---------------------------------------------------------------






def test_detector_keeps_integer_labels(numbered):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detector = AnomalyDetector(**FAST, random_state=0).fit(numbered)
    assert detector.decision_function(numbered.head(5)).shape == (5,)
    assert detector.explain(numbered.head(3)).columns.tolist() == [0, 1, 2]
    with pytest.raises(DataError, match=r"lacks column\(s\) \[0\]"):
        detector.model_.adapter_.check_columns(numbered.drop(columns=[0]))


def test_detector_refuses_labels_mixing_text_and_numbers():
    table = clinical_table().set_axis(["age", 1, 2], axis=1)
    with pytest.raises(DataError, match="all input features have string names") as error:
        AnomalyDetector(**FAST, random_state=0).fit(table)
    assert "\n" not in str(error.value)


# from tests/test_trust_files.py -------------------------------------------------------------




def test_text_in_a_number_column_is_novel_even_where_training_had_missing_values(
        _patients_frame, detector_file):
    detector = AnomalyDetector.load(detector_file)
    adapter = detector.model_.adapter_
    assert next(e for e in adapter.encoders_ if e.name == "chol").has_missing_
    rows = _patients_frame.head(3).astype({"chol": object})
    rows.loc[1, "chol"], rows.loc[2, "chol"] = "<5", np.nan
    novel = adapter.novel_cells(rows)["chol"].tolist()
    assert novel == [False, True, False]  # text is novel, a missing value is not
    plain = detector.decision_function(rows.assign(chol=np.nan))
    scores = detector.decision_function(rows)
    assert scores[1] == pytest.approx(plain[1] + detector.novelty_score_)
    assert scores[2] == plain[2]
