"""toolkit.models.dataset: MultiTableSynthesizer learns linked tables and generates them
parents first, with fresh keys and every foreign key pointing at a generated parent."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import hospital_dataset

from toolkit import MultiTableSynthesizer
from toolkit.exceptions import InferenceWarning, ModelFileError, NotFittedError, UsageError
from toolkit.models.dataset import nearest_keys


@pytest.fixture(scope="module")
def hospital() -> dict[str, pd.DataFrame]:
    return hospital_dataset(80)


@pytest.fixture(scope="module")
def fitted(hospital) -> MultiTableSynthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        return MultiTableSynthesizer(config="fast", epochs=3, random_state=0).fit(hospital)


def test_keys_are_fresh_and_every_foreign_key_has_its_generated_parent(fitted, hospital):
    synthetic = fitted.sample(random_state=0)
    assert set(synthetic) == set(hospital)
    for name, table in synthetic.items():
        assert list(table.columns) == list(hospital[name].columns), name
    for relation in fitted.metadata_.relationships:
        child = synthetic[relation.child][relation.child_key]
        parent = synthetic[relation.parent][relation.parent_key]
        assert child.isin(parent).all(), relation  # referential integrity 100 %
    for name, table in synthetic.items():
        key = fitted.metadata_.tables[name].primary_key
        assert table[key].is_unique, name
        if name != "wards":  # a lookup table's keys are its codes
            assert not table[key].isin(hospital[name][key]).any(), name  # never a real key
    assert synthetic["patients"]["patient_id"].dtype == hospital["patients"]["patient_id"].dtype
    assert synthetic["admissions"]["admitted"].dtype == "datetime64[ns]"


def test_children_follow_their_parents_in_number_and_order(fitted, hospital):
    synthetic = fitted.sample(random_state=1)
    counts = synthetic["admissions"].groupby("patient_id").size().reindex(
        synthetic["patients"]["patient_id"], fill_value=0)
    real = hospital["admissions"].groupby("patient_id").size().reindex(
        hospital["patients"]["patient_id"], fill_value=0)
    assert (counts == 0).any() and counts.max() <= real.max()  # patients without a stay exist
    assert abs(counts.mean() - real.mean()) < 0.75
    stays = synthetic["admissions"].groupby("patient_id", sort=False)["admitted"]
    assert (stays.diff().dropna() >= pd.Timedelta(0)).all()  # in order within a patient
    labs = synthetic["labs"].groupby("admission_id").size()
    assert labs.min() >= 1 and labs.max() <= 4
    # a column constant within a patient in the real stays is generated once per patient
    assert fitted.constants_["admissions"] == ["insurer"]
    assert (synthetic["admissions"].groupby("patient_id")["insurer"].nunique() == 1).all()


def test_scale_sets_the_root_rows_and_seeds_reproduce(fitted, hospital):
    half = fitted.sample(scale=0.5, random_state=3)
    assert len(half["patients"]) == len(hospital["patients"]) // 2
    again = fitted.sample(scale=0.5, random_state=3)
    for name in half:
        pd.testing.assert_frame_equal(half[name], again[name])
    for bad in (0, -1.0, float("nan"), "1", True):
        with pytest.raises(UsageError, match="scale must be a positive number"):
            fitted.sample(scale=bad)


def test_conditions_on_a_root_table_fix_its_rows_and_children_follow(fitted, hospital):
    women = fitted.sample(scale=0.5, random_state=4, conditions={"sex": "f"})
    assert len(women["patients"]) == len(hospital["patients"]) // 2
    assert (women["patients"]["sex"] == "f").all()
    assert women["admissions"]["patient_id"].isin(women["patients"]["patient_id"]).all()
    assert women["labs"]["admission_id"].isin(women["admissions"]["admission_id"]).all()
    named = fitted.sample(random_state=4, conditions={"patients": {"sex": "m"}})
    assert (named["patients"]["sex"] == "m").all()
    dotted = fitted.sample(random_state=4, conditions={"patients.sex": "m"})
    assert (dotted["patients"]["sex"] == "m").all()
    for conditions, message in [
            ({"hb": 12.0}, "no root table has a column 'hb'"),
            ({"labs": {"hb": 12.0}}, "conditions apply to root tables .*labs is generated "
                                     "from its parent admissions"),
            ({"clinics": {"x": 1}}, "conditions name table 'clinics'"),
            ({"patients": {"height": 1}}, "table patients has no column 'height'"),
            ({"patient_id": 3}, "patients.patient_id is a key"),
            (["sex"], "conditions must be a dict")]:
        with pytest.raises(UsageError, match=message):
            fitted.sample(conditions=conditions)


def test_the_model_file_gives_the_same_dataset(fitted, tmp_path):
    fitted.save(tmp_path / "hospital.tkm")
    loaded = MultiTableSynthesizer.load(tmp_path / "hospital.tkm")
    assert loaded.order_ == fitted.order_
    first, second = fitted.sample(random_state=5), loaded.sample(random_state=5)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name], check_dtype=False)


def test_sdv_metadata_is_taken_as_it_is(hospital):
    tables = {k: hospital[k] for k in ("patients", "admissions")}
    metadata = {"METADATA_SPEC_VERSION": "V1", "tables": {
        "patients": {"primary_key": "patient_id", "columns": {
            "patient_id": {"sdtype": "id"}, "sex": {"sdtype": "categorical"},
            "age": {"sdtype": "numerical"}}},
        "admissions": {"primary_key": "admission_id", "sequence_index": "admitted",
                       "columns": {"ward_code": {"sdtype": "categorical"}}}},
        "relationships": [{"parent_table_name": "patients", "parent_primary_key": "patient_id",
                           "child_table_name": "admissions",
                           "child_foreign_key": "patient_id"}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", InferenceWarning)  # nothing drafted
        model = MultiTableSynthesizer(metadata=metadata, config="fast", epochs=1,
                                      random_state=0).fit(tables)
    synthetic = model.sample(random_state=0)
    assert synthetic["admissions"]["patient_id"].isin(synthetic["patients"]["patient_id"]).all()


def test_bad_input_is_refused_with_one_clear_line(hospital, tmp_path):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        MultiTableSynthesizer().sample()
    with pytest.raises(UsageError, match="at least one table"):
        MultiTableSynthesizer().fit({})
    with pytest.raises(UsageError, match="dataset folder not found"):
        MultiTableSynthesizer().fit(tmp_path / "nowhere")
    (tmp_path / "bad.tkm").write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        MultiTableSynthesizer.load(tmp_path / "bad.tkm")


def test_a_table_model_file_is_not_a_dataset_model(tmp_path):
    from toolkit import Synthesizer

    table = pd.DataFrame({"x": np.arange(40.0), "g": ["a", "b"] * 20})
    Synthesizer(config="fast", epochs=1, random_state=0).fit(table).save(tmp_path / "t.tkm")
    with pytest.raises(ModelFileError, match="not a dataset model"):
        MultiTableSynthesizer.load(tmp_path / "t.tkm")


def test_a_lookup_tables_codes_are_learnt_with_the_rows_that_use_them(tmp_path):
    rng = np.random.default_rng(0)
    airlines = pd.DataFrame({"carrier": ["AA", "BB", "CC", "DD"],
                             "name": ["Alpha", "Beta", "Gamma", "Delta"]})
    carrier = rng.choice(["AA", "BB", "CC"], 4000, p=[0.6, 0.3, 0.1])
    delay = np.where(carrier == "CC", 60.0, 5.0) + rng.normal(0, 3, 4000).round(3)
    flights = pd.DataFrame({"carrier": carrier, "delay": delay,
                            "distance": rng.integers(100, 3000, 4000)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        model = MultiTableSynthesizer(random_state=0).fit(
            {"airlines": airlines, "flights": flights})
    assert model.lookups_ == ["airlines.carrier → flights.carrier"]
    synthetic = model.sample(random_state=0)
    assert len(synthetic["flights"]) == 4000  # a root of its own, not airlines' histories
    codes = synthetic["flights"]["carrier"]
    assert codes.isin(synthetic["airlines"]["carrier"]).all()
    assert not codes.isin(airlines["carrier"]).any()  # every code a generated airline's key
    shares = codes.value_counts(normalize=True).sort_values().to_numpy()
    np.testing.assert_allclose(shares, [0.1, 0.3, 0.6], atol=0.05)
    late = synthetic["flights"].groupby("carrier")["delay"].mean()
    assert late.max() > 40 and late.min() < 15  # the late carrier stays late
    # each code goes to the generated airline nearest its real row: Gamma's flights (CC)
    # to the generated airline named Gamma when there is one
    gamma = synthetic["airlines"].loc[synthetic["airlines"]["name"] == "Gamma", "carrier"]
    if len(gamma) == 1:
        assert late.idxmax() == gamma.iloc[0]
    model.save(tmp_path / "flights.tkm")
    loaded = MultiTableSynthesizer.load(tmp_path / "flights.tkm")
    assert loaded.lookup_rows_.keys() == model.lookup_rows_.keys()
    again, first = loaded.sample(random_state=3), model.sample(random_state=3)
    pd.testing.assert_frame_equal(again["flights"], first["flights"], check_dtype=False)


def test_lookup_codes_go_to_the_nearest_generated_parent_one_each():
    rows = np.array([[0.0, 0.0], [10.0, 10.0]], dtype=np.float32)
    encoded = np.array([[9.0, 9.0], [1.0, 0.0], [0.5, 0.5]])
    keys = np.array(["k0", "k1", "k2"])
    mapping = nearest_keys(["B", "A", "Z"], ["A", "B"], rows, keys, encoded,
                           np.random.default_rng(0))
    assert mapping["B"] == "k0" and mapping["A"] == "k2"  # nearest, then nearest still free
    assert mapping["Z"] in keys  # no known row: one at random


def _stays_with_labs(patients: int = 80, seed: int = 0) -> dict[str, pd.DataFrame]:
    """The hospital with discharge times and lab draws within each stay (their order), each
    lab's units at most its stay's days, and a review time between admission and discharge."""
    rng = np.random.default_rng(seed)
    tables = hospital_dataset(patients, seed)
    stays = tables["admissions"].assign(discharged=lambda t: t["admitted"] + pd.to_timedelta(
        t["days"] * 86_400 - rng.integers(0, 80_000, len(t)), unit="s"))
    labs = tables["labs"]
    stay = stays.set_index("admission_id").loc[labs["admission_id"]]
    span = (stay["discharged"] - stay["admitted"]).to_numpy()
    labs = labs.assign(
        drawn=(stay["admitted"] + span * rng.uniform(0, 1, len(labs))).dt.round("s").to_numpy(),
        reviewed=(stay["admitted"] + span * rng.beta(2, 2, len(labs))).dt.round("s").to_numpy(),
        units=np.minimum(stay["days"].to_numpy(), rng.integers(1, 12, len(labs))))
    labs = labs.sort_values(["admission_id", "drawn"]).reset_index(drop=True)
    return {**tables, "admissions": stays, "labs": labs}


CROSS_RULES = [{"inequality": ["admissions.admitted", "drawn"]},
               {"inequality": ["drawn", "admissions.discharged"]},
               {"inequality": ["admissions.admitted", "reviewed"]},
               {"inequality": ["reviewed", "admissions.discharged"]},
               {"inequality": ["units", "admissions.days"]}]


def _broken(synthetic: dict[str, pd.DataFrame]) -> dict[str, int]:
    labs = synthetic["labs"].merge(synthetic["admissions"], on="admission_id")
    return {"drawn before admission": int((labs["drawn"] < labs["admitted"]).sum()),
            "drawn after discharge": int((labs["drawn"] > labs["discharged"]).sum()),
            "reviewed outside": int(((labs["reviewed"] < labs["admitted"])
                                     | (labs["reviewed"] > labs["discharged"])).sum()),
            "units above days": int((labs["units"] > labs["days"]).sum())}


def test_rules_across_tables_are_drafted_and_kept_by_construction(tmp_path):
    from toolkit.adapters.dataset import draft_dataset

    tables = _stays_with_labs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        drafted, notes = draft_dataset(tables)
    labs = drafted.tables["labs"]
    assert labs.order == "drawn"
    assert [rule["inequality"] for rule in labs.rules] == [
        ["admissions.admitted", "drawn"], ["drawn", "admissions.discharged"],
        ["admissions.admitted", "reviewed"], ["reviewed", "admissions.discharged"],
        ["units", "admissions.days"]]
    assert "labs: rule admissions.admitted < drawn" in notes
    stated = drafted.to_dict()
    stated["tables"]["labs"]["rules"] = CROSS_RULES
    stated["tables"]["admissions"]["rules"] = [{"inequality": ["admitted", "discharged"]}]
    unruled = drafted.to_dict()
    unruled["tables"]["labs"].pop("rules", None)
    kept, free = [MultiTableSynthesizer(metadata=metadata, config="fast", epochs=3,
                                        random_state=0).fit(tables)
                  for metadata in (stated, unruled)]
    synthetic = kept.sample(random_state=1)
    assert len(synthetic["labs"]) > 0.4 * len(tables["labs"])  # some end at discharge
    assert _broken(synthetic) == dict.fromkeys(_broken(synthetic), 0)
    assert sum(_broken(free.sample(random_state=1)).values()) > 0  # without them, broken
    assert synthetic["labs"]["drawn"].dtype == tables["labs"]["drawn"].dtype
    assert synthetic["labs"]["units"].dtype == tables["labs"]["units"].dtype
    assert (synthetic["labs"].groupby("admission_id")["drawn"].diff().dropna()
            >= pd.Timedelta(0)).all()
    from toolkit.evaluate.dataset import dataset_report

    counted = dataset_report(tables, synthetic, kept.metadata_)["tables"]
    assert counted["labs"]["rule_violations"] == {
        "admissions.admitted ≤ drawn": 0, "drawn ≤ admissions.discharged": 0,
        "admissions.admitted ≤ reviewed": 0, "reviewed ≤ admissions.discharged": 0,
        "units ≤ admissions.days": 0}
    assert counted["admissions"]["rule_violations"] == {"admitted ≤ discharged": 0}
    kept.save(tmp_path / "labs.tkm")
    again = MultiTableSynthesizer.load(tmp_path / "labs.tkm").sample(random_state=1)
    pd.testing.assert_frame_equal(again["labs"], synthetic["labs"], check_dtype=False)


@pytest.mark.parametrize(("rule", "message"), [
    ({"inequality": ["wards.beds", "units"]}, "names wards, which is not the parent labs is "
                                              "generated under"),
    ({"combination": ["units", "admissions.ward_code"]}, "a rule across tables is an "
                                                         "inequality"),
    ({"inequality": ["admissions.days", "units"]}, "broken by"),
])
def test_bad_rules_across_tables_are_refused(rule, message):
    from toolkit.exceptions import DataError

    tables = _stays_with_labs(30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        drafted = MultiTableSynthesizer().resolve_metadata(tables).to_dict()
    drafted["tables"]["labs"]["rules"] = [rule]
    with pytest.raises((UsageError, DataError), match=message):
        MultiTableSynthesizer(metadata=drafted, config="fast", epochs=1).fit(tables)


def _people_and_visits(patients: int = 120, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    people = pd.DataFrame({"patient_id": np.arange(1, patients + 1),
                           "sex": rng.choice(["f", "m"], patients),
                           "age": rng.uniform(20, 90, patients).round(1)})
    owners = np.repeat(people["patient_id"].to_numpy(), rng.integers(0, 40, patients))
    visits = pd.DataFrame({"patient_id": owners,
                           "day": rng.integers(0, 1500, len(owners)),
                           "value": rng.gamma(2, 2, len(owners)).clip(0, 19.9).round(2)})
    return {"patients": people, "visits": visits.sort_values(["patient_id", "day"])}


PRIVATE_METADATA = {"tables": {
    "patients": {"primary_key": "patient_id", "columns": {
        "sex": {"kind": "categorical", "values": ["f", "m"]},
        "age": {"kind": "continuous", "min": 18, "max": 100, "decimals": 1}}},
    "visits": {"order": "day", "columns": {
        "day": {"kind": "integer", "min": 0, "max": 2000},
        "value": {"kind": "continuous", "min": 0, "max": 20, "decimals": 2}}}},
    "relationships": [{"parent": "patients", "parent_key": "patient_id", "child": "visits",
                       "child_key": "patient_id"}]}


def test_epsilon_is_spent_per_patient_across_tables(tmp_path):
    from toolkit.exceptions import PrivacyWarning

    tables = _people_and_visits()
    with pytest.warns(PrivacyWarning, match="at most 32 rows of a child table"):
        model = MultiTableSynthesizer(metadata=PRIVATE_METADATA, config="fast", epochs=2,
                                      random_state=0, epsilon=4.0).fit(tables)
    privacy = model.privacy_
    assert privacy["unit"].startswith("root entity")
    assert 0 < privacy["epsilon"] <= 4.0 and privacy["roots"]["patients"]["entities"] == 120
    assert model.constants_ == {"patients": [], "visits": []} and model.lookups_ == []
    synthetic = model.sample(random_state=1)
    assert synthetic["visits"]["patient_id"].isin(synthetic["patients"]["patient_id"]).all()
    assert synthetic["visits"].groupby("patient_id").size().max() <= 32
    assert not synthetic["patients"]["patient_id"].isin(tables["patients"]["patient_id"]).any()
    model.save(tmp_path / "private.tkm")
    loaded = MultiTableSynthesizer.load(tmp_path / "private.tkm")
    assert loaded.privacy_ == privacy and loaded.epsilon == 4.0


@pytest.mark.parametrize(("change", "message"), [
    (lambda m: None, "with epsilon, give the dataset's metadata"),
    (lambda m: {**m, "tables": {**m["tables"], "visits": {
        **m["tables"]["visits"], "rules": [{"positive": "value"}]}}},
     "rules cannot be used with epsilon yet: drop the rules of visits"),
    (lambda m: {**m, "tables": {**m["tables"], "patients": {"primary_key": "patient_id"}}},
     "the metadata must describe every column"),
])
def test_a_private_dataset_fit_refuses_what_would_read_the_data(change, message):
    with pytest.raises(UsageError, match=message):
        MultiTableSynthesizer(metadata=change(PRIVATE_METADATA), config="fast", epochs=1,
                              epsilon=1.0).fit(_people_and_visits(40))
    with pytest.raises(UsageError, match="epsilon must be a positive number"):
        MultiTableSynthesizer(metadata=PRIVATE_METADATA, epsilon=0).fit(_people_and_visits(40))


def test_a_private_dataset_needs_children_directly_under_their_root():
    tables = hospital_dataset(30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        stated = MultiTableSynthesizer().resolve_metadata(tables).to_dict()
    with pytest.raises(UsageError, match="labs is under admissions, which is under patients"):
        MultiTableSynthesizer(metadata=stated, epsilon=1.0).fit(tables)


def test_a_childs_numbers_are_learnt_around_their_parents_mean(fitted):
    rng = np.random.default_rng(0)
    schools = pd.DataFrame({"school_id": np.arange(1, 31), "size": rng.integers(1, 4, 30)})
    level = rng.normal(0, 1, 30)
    owner = np.repeat(np.arange(30), 25)
    students = pd.DataFrame({"student_id": np.arange(len(owner)),
                             "school_id": schools["school_id"].to_numpy()[owner],
                             "ses": (level[owner] + rng.normal(0, 0.3, len(owner))).round(3)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        model = MultiTableSynthesizer(config="fast", epochs=3, random_state=0).fit(
            {"schools": schools, "students": students})
    assert list(model.centred_["students"]) == ["ses"]
    assert fitted.centred_["admissions"] == {}  # a patient's few stays: no mean to learn
    synthetic = model.sample(random_state=0)["students"]
    ses = synthetic["ses"]
    assert ses.between(students["ses"].min(), students["ses"].max()).all()
    assert np.allclose(ses, ses.round(3))  # the training decimals
    between = synthetic.groupby("school_id")["ses"].transform("mean")
    assert between.var() / ses.var() > 0.5  # schools differ, as in the real students (0.9)
