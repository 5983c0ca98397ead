"""toolkit.models.histories: a longitudinal table learnt and sampled as patient histories."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from toolkit import Synthesizer
from toolkit.exceptions import InferenceWarning, UsageError


def visits_table(patients: int = 60, seed: int = 0) -> pd.DataFrame:
    """Patients with a sex, an arm and a birth year; 1-8 visits each, days apart, a lab
    value drifting per patient, and a status that ends some histories with 'died'."""
    rng = np.random.default_rng(seed)
    rows = []
    for patient in range(patients):
        sex, arm = rng.choice(["f", "m"]), rng.choice(["drug", "placebo"])
        born, level = int(rng.integers(1930, 1980)), rng.normal(2.0, 0.5)
        n = int(rng.integers(1, 9))
        day = 0
        for visit in range(n):
            level += rng.normal(0.1, 0.05)
            died = visit == n - 1 and patient % 4 == 0
            rows.append({"patient_id": f"P{1000 + patient}", "sex": sex, "arm": arm,
                         "born": born, "day": day, "bili": round(level, 2),
                         "status": "died" if died else "alive"})
            day += int(rng.integers(20, 200))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def visits() -> pd.DataFrame:
    return visits_table()


@pytest.fixture(scope="module")
def fitted(visits) -> Synthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        return Synthesizer(config="fast", epochs=3, random_state=0).fit(visits)


def test_a_repeating_identifier_makes_a_longitudinal_model_and_says_so(visits):
    with pytest.warns(InferenceWarning, match="modelled as patient histories, subject "
                                              "'patient_id', order 'day'"):
        model = Synthesizer(config="fast", epochs=1, random_state=0).fit(visits)
    assert model.n_patients_ == 60 and model.n_rows_ == len(visits)
    layout = model.histories_.layout
    assert layout.patient_columns == ["patient_id", "sex", "arm", "born", "day"]
    assert layout.event_columns == ["bili", "status"]


def test_samples_are_whole_patients_with_fresh_ids_and_coherent_histories(fitted, visits):
    sample = fitted.sample(40, random_state=1)
    assert list(sample.columns) == list(visits.columns)
    groups = sample.groupby("patient_id", sort=False)
    assert groups.ngroups == 40
    assert not sample["patient_id"].isin(visits["patient_id"]).any()
    for column in ("sex", "arm", "born"):
        assert (groups[column].nunique() == 1).all()
    assert (groups["day"].diff().dropna() >= 0).all()
    assert sample["day"].between(visits["day"].min(), visits["day"].max()).all()
    assert groups.size().max() <= visits.groupby("patient_id").size().max()
    # "died" only ever ends a history
    ended = sample.groupby("patient_id", sort=False)["status"].apply(
        lambda s: (s == "died").to_numpy()[:-1].any())
    assert not ended.any()
    assert sample["bili"].dtype == visits["bili"].dtype
    assert sample["born"].dtype == visits["born"].dtype


def test_conditions_on_patient_attributes_give_whole_histories(fitted):
    sample = fitted.sample(10, conditions={"sex": "f"}, random_state=2)
    assert sample.groupby("patient_id").ngroups == 10 and (sample["sex"] == "f").all()


def test_seeds_and_model_files_reproduce_histories(fitted, tmp_path):
    # identifiers are numbered on across calls (no two samples share one): compare the rest
    first = fitted.sample(15, random_state=3).drop(columns="patient_id")
    pd.testing.assert_frame_equal(first, fitted.sample(15, random_state=3).drop(
        columns="patient_id"))
    fitted.save(tmp_path / "histories.tkm")
    loaded = Synthesizer.load(tmp_path / "histories.tkm")
    pd.testing.assert_frame_equal(loaded.sample(15, random_state=3).drop(
        columns="patient_id"), first)
    assert loaded.histories_.layout == fitted.histories_.layout


def test_date_time_orders_keep_their_format_and_never_go_back():
    visits = visits_table(40, seed=1)
    start = pd.Timestamp("2020-01-01")
    visits["seen"] = (start + pd.to_timedelta(visits["day"], unit="D")).dt.strftime("%Y-%m-%d")
    visits = visits.drop(columns="day")
    model = Synthesizer(config="fast", epochs=2, random_state=0, subject="patient_id",
                        order="seen").fit(visits)
    sample = model.sample(20, random_state=0)
    assert sample["seen"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    dates = pd.to_datetime(sample["seen"])
    assert (dates.groupby(sample["patient_id"]).diff().dropna() >= pd.Timedelta(0)).all()
    assert dates.min() >= pd.Timestamp(visits["seen"].min())
    assert dates.max() <= pd.Timestamp(visits["seen"].max())


def test_subject_and_order_can_be_stated_and_are_checked(visits):
    with pytest.raises(UsageError, match="subject column 'nobody' is not in the table"):
        Synthesizer(config="fast", epochs=1, subject="nobody").fit(visits)
    with pytest.raises(UsageError, match="needs a subject column"):
        Synthesizer(config="fast", epochs=1, order="day",
                    metadata={"bili": "continuous"}).fit(visits.assign(patient_id=range(
                        len(visits))))
    stated = Synthesizer(config="fast", epochs=1, random_state=0,
                         metadata={"subject": "patient_id", "order": "day"})
    with warnings.catch_warnings():
        warnings.simplefilter("error", InferenceWarning)  # stated: nothing to say
        assert stated.fit(visits).histories_.layout.order == "day"


def test_flat_tables_stay_flat(patients):
    model = Synthesizer(config="fast", epochs=1, random_state=0).fit(patients)
    assert model.histories_ is None and model.n_patients_ is None


def test_a_big_file_is_learnt_from_whole_patients(tmp_path):
    import dataclasses

    from toolkit import load_config

    visits = visits_table(200, seed=2)
    visits.to_csv(tmp_path / "visits.csv", index=False)
    config = dataclasses.replace(load_config("fast"), max_training_rows=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        model = Synthesizer(config=config, epochs=1, random_state=0).fit(tmp_path / "visits.csv")
    assert model.histories_ is not None and model.n_rows_seen_ == len(visits)
    assert model.n_rows_ <= 300
    kept = visits.groupby("patient_id").size()
    # every learnt patient was learnt whole: the patients table's row counts are real ones
    assert model.n_patients_ < kept.size and model.n_rows_ > 250


def test_a_detector_scores_rows_in_the_context_of_their_patient(visits):
    from toolkit import AnomalyDetector

    odd = visits.copy()
    # a bilirubin ordinary in the population but far from this patient's own course
    many = odd.groupby("patient_id")["bili"].transform("size") >= 4
    target = odd.index[many][5]
    patient = odd.loc[target, "patient_id"]
    own = odd.loc[odd["patient_id"] == patient, "bili"]
    low, high = visits["bili"].quantile([0.02, 0.98])
    odd.loc[target, "bili"] = round(high if own.mean() < visits["bili"].median() else low, 2)
    assert abs(odd.loc[target, "bili"] - own.mean()) > 4 * max(own.std(), 0.1)
    detector = AnomalyDetector(config="fast", epochs=30, random_state=0,
                               subject="patient_id", order="day").fit(visits)
    assert detector.forest_ is None and detector.model_.histories_ is not None
    scores = detector.decision_function(odd)
    assert scores.shape == (len(odd),)
    assert scores[target] > np.quantile(detector.decision_scores_, 0.9)
    shares = detector.explain(odd.iloc[[target]])
    assert shares.columns.tolist() == ["bili", "status", "day"]
    assert shares.iloc[0].idxmax() == "bili"
    assert detector.predict(odd).shape == (len(odd),)


def test_two_codings_of_one_value_stay_together_within_a_row():
    # a diagnosis written twice (text and code) on every visit, changing between visits:
    # the row's mixture keeps the two columns agreeing
    rng = np.random.default_rng(3)
    ids = np.repeat(np.arange(150), 3)
    obese = rng.random(len(ids)) < 0.4
    table = pd.DataFrame({"id": ids, "visit": np.tile([1, 2, 3], 150),
                          "obese": np.where(obese, "yes", "no"), "code": obese.astype(int)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Synthesizer(config="fast", random_state=0, subject="id",
                            order="visit").fit(table)
    fake = model.sample(300)
    agree = ((fake["obese"] == "yes") == (fake["code"] == 1)).mean()
    assert agree > 0.9, agree


def test_rows_of_a_history_never_share_a_time_when_training_rows_never_do(visits):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Synthesizer(config="fast", random_state=0, subject="patient_id",
                            order="day").fit(visits)
    assert model.histories_.min_gap >= 20
    fake = model.sample(200)
    steps = fake.groupby("patient_id", sort=False)["day"].diff().dropna()
    assert len(steps) and (steps >= 20).all()


def test_a_small_table_s_histories_train_at_most_80_passes():
    # 20 patients: the step budget alone would make ~400 passes over them (learning each
    # patient's history by heart); the history model stops at 80
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Synthesizer(random_state=0, subject="patient_id", order="day").fit(
            visits_table(20, seed=1))
    assert len(model.history_["history_loss"]) == 80
