"""The tests that toolkit.spark and toolkit.dask share, run by test_spark.py and test_dask.py.

Each of those modules defines an ``engine`` fixture (an :class:`Engine`: the toolkit module,
how a pandas table becomes an engine table and how a result comes back) and imports these
tests, so both engines pass the same checks against the in-process API.
"""

from __future__ import annotations

import copy
import re
import shutil
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import PATIENTS_CSV
from helpers import hospital_dataset, patient_visits
from test_docs_examples import GUIDE, page_blocks

from toolkit import AnomalyDetector, MultiTableSynthesizer, Synthesizer
from toolkit.config import load_config
from toolkit.engines.common import SamplePlan
from toolkit.engines.dataset_plan import plan_dataset
from toolkit.exceptions import DataError, InferenceWarning, ModelFileError, UsageError
from toolkit.io import read_table
from toolkit.models.base import MAX_SEED
from toolkit.models.detector import top_columns

#: small models: a fit takes well under a second
QUICK = {"config": "fast", "epochs": 2}
#: fresh IDs of a model trained on IDs up to 418 start here (see adapters.columns.fresh_start)
FIRST_ID = 10_000


@dataclass
class Engine:
    """What the shared tests need to know about one engine."""

    module: ModuleType
    table: Callable[[pd.DataFrame], Any]  # a pandas table as an engine table (partitioned)
    collect: Callable[[Any], pd.DataFrame]  # an engine table back as pandas, in row order
    partitions: str  # the name of sample()'s partition count argument
    extra: str  # the package whose absence the missing-extra test simulates

    def sample(self, model: Any, num_rows: int, partitions: int, **kwargs: Any) -> pd.DataFrame:
        rows = self.module.sample(model, num_rows, **{self.partitions: partitions}, **kwargs)
        return self.collect(rows).reset_index(drop=True)

    def sample_dataset(self, model: Any, partitions: int, **kwargs: Any
                       ) -> dict[str, pd.DataFrame]:
        tables = self.module.sample_dataset(model, **{self.partitions: partitions}, **kwargs)
        return {name: self.collect(table).reset_index(drop=True)
                for name, table in tables.items()}


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    return read_table(PATIENTS_CSV)


@pytest.fixture(scope="module")
def detector(patients) -> AnomalyDetector:
    return AnomalyDetector(random_state=0, **QUICK).fit(patients)


@pytest.fixture(scope="module")
def synthesizer(patients) -> Synthesizer:
    return Synthesizer(random_state=0, **QUICK).fit(patients)


@pytest.fixture(scope="module")
def files(tmp_path_factory, detector, synthesizer) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("engine-models")
    detector.save(folder / "detector.tkm")
    synthesizer.save(folder / "synthesizer.tkm")
    return {"detector": folder / "detector.tkm", "synthesizer": folder / "synthesizer.tkm"}


@pytest.fixture(scope="module")
def table(engine, patients) -> Any:
    return engine.table(patients)


# scoring ------------------------------------------------------------------------------------
def test_scores_equal_in_process_scores_and_labels(engine, table, files, detector):
    scored = engine.collect(engine.module.score(files["detector"], table))
    rows = engine.collect(table)
    assert list(scored.columns) == [*rows.columns, "anomaly_score", "is_outlier"]
    expected = detector.decision_function(rows)
    assert np.abs(scored["anomaly_score"].to_numpy() - expected).max() <= 1e-4
    assert scored["is_outlier"].dtype == bool
    assert scored["is_outlier"].tolist() == (detector.predict(rows) == 1).tolist()


def test_a_fitted_detector_explains_its_top_columns(engine, table, detector):
    scored = engine.collect(engine.module.score(detector, table, explain=True, top=2))
    rows = engine.collect(table)
    # what `toolkit score --explain` writes (tests may read the CLI; the library may not)
    assert scored["top_columns"].tolist() == top_columns(detector.explain(rows), 2)
    assert re.fullmatch(r"[\w.]+ \(-?\d+\.\d\); [\w.]+ \(-?\d+\.\d\)", scored["top_columns"][0])
    assert np.abs(scored["anomaly_score"].to_numpy()
                  - detector.decision_function(rows)).max() <= 1e-4


def test_columns_the_model_does_not_know_are_kept(engine, patients, detector):
    scored = engine.collect(engine.module.score(detector, engine.table(
        patients.assign(batch="b7"))))
    assert (scored["batch"] == "b7").all() and scored["anomaly_score"].notna().all()


def _with_bad_age(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(age=["old", *frame["age"].astype(str)[1:]])


def _with_unseen_status(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(status=["unknown", *frame["status"][1:]])


@pytest.mark.parametrize(("change", "error", "message"), [
    (lambda f: f.drop(columns="chol"), DataError, r"table lacks column\(s\) \['chol'\]"),
    (lambda f: f.assign(anomaly_score=1.0), DataError, r"already has column\(s\) "
                                                       r"\['anomaly_score'\]"),
], ids=["missing column", "output column taken"])
def test_bad_tables_fail_on_the_driver_with_one_line(engine, patients, files, change, error,
                                                     message):
    with pytest.raises(error, match=message) as raised:
        engine.module.score(files["detector"], engine.table(change(patients)))
    assert "\n" not in str(raised.value)


def test_values_training_never_had_are_scored_as_in_memory(engine, patients, detector):
    changed = _with_unseen_status(_with_bad_age(patients))
    scored = engine.collect(engine.module.score(detector, engine.table(changed)))
    expected = detector.decision_function(changed)
    assert np.abs(scored["anomaly_score"].to_numpy() - expected).max() <= 1e-4
    assert scored["anomaly_score"][0] > detector.decision_scores_.max() + detector.novelty_score_


@pytest.mark.parametrize(("change", "message"), [
    (_with_bad_age, r"column 'age' holds 'old', which is not a number"),
    (_with_unseen_status, r"column 'status' has value\(s\) never seen in training: "
                          r"\['unknown'\]"),
], ids=["text in a number column", "unseen level"])
def test_a_refusing_detector_fails_on_the_driver_with_one_line(engine, patients, detector,
                                                               change, message):
    refusing = copy.deepcopy(detector).set_params(unseen="refuse")
    with pytest.raises(DataError, match=message) as raised:
        engine.module.score(refusing, engine.table(change(patients)))
    assert "\n" not in str(raised.value)


def test_bad_score_options_and_models_fail_with_one_line(engine, table, files, synthesizer):
    with pytest.raises(UsageError, match="top must be a positive integer, got 0"):
        engine.module.score(files["detector"], table, explain=True, top=0)
    with pytest.raises(ModelFileError, match="holds a 'synthesizer' model, not a detector"):
        engine.module.score(files["synthesizer"], table)
    with pytest.raises(ModelFileError, match="model file not found"):
        engine.module.score(files["detector"].with_name("nothing.tkm"), table)
    with pytest.raises(UsageError, match="fitted AnomalyDetector, got Synthesizer"):
        engine.module.score(synthesizer, table)


# sampling -----------------------------------------------------------------------------------
def test_samples_have_the_training_columns_and_types(engine, files, synthesizer, patients):
    rows = engine.sample(files["synthesizer"], 300, 3, seed=5)
    assert rows.shape == (300, patients.shape[1]) and list(rows.columns) == list(patients)
    kinds = {"id": "i", "time": "i", "age": "f", "status": "O", "ascites": "O"}
    assert {c: rows[c].dtype.kind for c in kinds} == kinds
    assert set(rows["status"]) <= set(patients["status"])
    assert rows["chol"].dropna().mod(1).eq(0).all()  # whole numbers, with missing values


def test_the_same_seed_and_partitions_give_the_same_rows(engine, files, synthesizer):
    first = engine.sample(files["synthesizer"], 250, 4, seed=11)
    again = engine.sample(synthesizer, 250, 4, seed=11)  # the file's model, as an object
    pd.testing.assert_frame_equal(first, again)
    other = engine.sample(files["synthesizer"], 250, 4, seed=12)
    assert not first.drop(columns="id").equals(other.drop(columns="id"))
    assert not first.equals(engine.sample(files["synthesizer"], 250, 5, seed=11))


def spawned_rows(model_file: Path, num_rows: int, partitions: int, seed: int) -> pd.DataFrame:
    """The rows the documented streams give, drawn in-process: partition ``i`` samples its
    share with a seed drawn from ``SeedSequence(seed).spawn(partitions)[i]`` and numbers
    its IDs after the partitions before it."""
    model, parts, first = Synthesizer.load(model_file), [], 0
    for index, stream in enumerate(np.random.SeedSequence(seed).spawn(partitions)):
        count = num_rows // partitions + (index < num_rows % partitions)
        part_seed = int(np.random.default_rng(stream).integers(MAX_SEED, endpoint=True))
        parts.append(model.adapter_.renumber_ids(model.sample(count, random_state=part_seed),
                                                 first))
        first += count
    return pd.concat(parts, ignore_index=True)


def test_each_partition_draws_from_its_spawned_seed_stream(engine, files):
    rows = engine.sample(files["synthesizer"], 7, 2, seed=3)
    expected = spawned_rows(files["synthesizer"], 7, 2, seed=3)
    pd.testing.assert_frame_equal(_values(rows), _values(expected), check_dtype=False)
    assert rows["id"].tolist() == list(range(FIRST_ID, FIRST_ID + 7))


@pytest.fixture(scope="module")
def typed_file(tmp_path_factory) -> Path:
    """A model of a table with a column of every type an engine must carry."""
    rng = np.random.default_rng(0)
    n = 200
    counts = pd.array(rng.integers(0, 50, n), dtype="Int64")
    counts[rng.random(n) < 0.2] = pd.NA
    frame = pd.DataFrame({
        "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "flag": rng.random(n) < 0.3, "count": counts, "code": rng.choice(["a", "b", "c"], n),
        "x": rng.normal(size=n).round(3)})
    path = tmp_path_factory.mktemp("typed") / "typed.tkm"
    Synthesizer(random_state=0, **QUICK).fit(frame).save(path)
    return path


def test_every_column_type_comes_back_with_its_values(engine, typed_file):
    rows = engine.sample(typed_file, 60, 3, seed=8)
    expected = spawned_rows(typed_file, 60, 3, seed=8)
    assert rows["when"].dtype.kind == "M" and rows["flag"].dtype == bool
    pd.testing.assert_frame_equal(_values(rows), _values(expected), check_dtype=False)


def _values(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s values whatever their dtypes (engines turn Int64 into float or bigint)."""
    return frame.astype(object).where(frame.notna(), np.nan)


def test_ids_are_unique_across_partitions_and_never_real(engine, files, patients):
    rows = engine.sample(files["synthesizer"], 1000, 7, seed=0)
    assert sorted(rows["id"]) == list(range(FIRST_ID, FIRST_ID + 1000))
    assert not rows["id"].isin(patients["id"]).any()


def test_more_partitions_than_rows_leave_some_empty(engine, files):
    rows = engine.sample(files["synthesizer"], 3, 5, seed=0)
    assert rows["id"].tolist() == [FIRST_ID, FIRST_ID + 1, FIRST_ID + 2]


def test_conditions_hold_on_every_partition(engine, files):
    rows = engine.sample(files["synthesizer"], 200, 3, seed=1, conditions={"status": "dead"})
    assert (rows["status"] == "dead").all()
    wanted = pd.DataFrame({"sex": ["m", "f"] * 50})
    rows = engine.sample(files["synthesizer"], 100, 3, seed=1, conditions=wanted)
    assert rows["sex"].tolist() == wanted["sex"].tolist()


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"conditions": {"colour": "red"}}, DataError, r"condition names unknown column 'colour'"),
    ({"conditions": {"status": "alive"}}, DataError, r"column 'status' never had the value "
                                                     r"'alive'"),
    ({"conditions": pd.DataFrame({"sex": ["m"]})}, UsageError, r"a DataFrame with num_rows rows"),
    ({"seed": -1}, UsageError, r"must be between 0 and"),
], ids=["unknown column", "unknown value", "conditions of another length", "bad seed"])
def test_bad_conditions_and_seeds_fail_on_the_driver(engine, files, kwargs, error, message):
    with pytest.raises(error, match=message) as raised:
        engine.module.sample(files["synthesizer"], 10, **{engine.partitions: 2}, **kwargs)
    assert "\n" not in str(raised.value)


def test_bad_counts_and_models_fail_with_one_line(engine, files, detector):
    with pytest.raises(UsageError, match="num_rows must be a positive integer, got 0"):
        engine.module.sample(files["synthesizer"], 0)
    with pytest.raises(UsageError, match=f"{engine.partitions} must be a positive integer"):
        engine.module.sample(files["synthesizer"], 10, **{engine.partitions: 0})
    with pytest.raises(ModelFileError, match="holds a 'detector' model, not a synthesizer"):
        engine.module.sample(files["detector"], 10)
    with pytest.raises(UsageError, match="fitted Synthesizer, got AnomalyDetector"):
        engine.module.sample(detector, 10)


# fitting ------------------------------------------------------------------------------------
def test_fit_on_a_table_within_the_bound_is_the_in_process_fit(engine, table, synthesizer):
    fitted = engine.module.fit(table, random_state=0, **QUICK)
    assert isinstance(fitted, Synthesizer) and fitted.n_rows_seen_ == fitted.n_rows_ == 418
    pd.testing.assert_frame_equal(fitted.sample(20, random_state=1),
                                  synthesizer.sample(20, random_state=1))


def test_fit_detects_on_a_sample_capped_by_max_training_rows(engine, table):
    config = load_config("fast", epochs=2, max_training_rows=50)
    detector = engine.module.fit(table, task="detect", random_state=4, config=config)
    assert isinstance(detector, AnomalyDetector) and len(detector.decision_scores_) == 50
    assert detector.n_rows_seen_ == 418 and detector.model_.n_rows_ == 50
    again = engine.module.fit(table, task="detect", random_state=4, config=config)
    np.testing.assert_array_equal(detector.decision_scores_, again.decision_scores_)
    synthesizer = engine.module.fit(table, random_state=4, config=config)
    assert synthesizer.n_rows_ == 50 and synthesizer.n_rows_seen_ == 418


def test_a_fit_on_a_sample_knows_the_whole_tables_levels(engine, table):
    config = load_config("fast", epochs=2, max_training_rows=50)
    detector = engine.module.fit(table, task="detect", random_state=4, config=config)
    rows = read_table(PATIENTS_CSV)
    scores = detector.decision_function(rows)  # every level of the table is known
    assert len(scores) == 418 and np.isfinite(scores).all()
    for encoder in detector.model_.adapter_.encoders_:
        if encoder.kind == "categorical":
            known = {str(level) for level in [*encoder.slots_, *encoder.other_levels_]}
            assert {str(v) for v in rows[encoder.name].dropna().unique()} <= known


def test_fit_refuses_unknown_tasks_and_parameters(engine, table):
    with pytest.raises(UsageError, match="unknown task 'generate'; valid: synthesize, detect"):
        engine.module.fit(table, task="generate")
    with pytest.raises(UsageError, match=r"unknown parameter\(s\) \['epoch'\] of Synthesizer"):
        engine.module.fit(table, epoch=3)
    with pytest.raises(UsageError, match="unknown config 'quick'"):
        engine.module.fit(table, task="detect", config="quick")


def test_a_missing_extra_is_named(engine, monkeypatch, table, files):
    monkeypatch.setitem(sys.modules, engine.extra, None)  # `import extra` now fails
    name = engine.module.__name__
    for call in (lambda: engine.module.score(files["detector"], table),
                 lambda: engine.module.sample(files["synthesizer"], 10),
                 lambda: engine.module.fit(table)):
        with pytest.raises(UsageError, match=rf"^{name} needs .+: pip install 'toolkit\["):
            call()


def test_the_plan_splits_rows_evenly_first_partitions_first():
    plan = SamplePlan(num_rows=11, num_partitions=4, seed=0)
    assert plan.counts == [3, 3, 3, 2] and plan.starts == [0, 3, 6, 9]
    spawned = np.random.SeedSequence(0).spawn(4)[2]
    assert plan.stream(2).integers(1 << 30) == np.random.default_rng(spawned).integers(1 << 30)


#: the guide page whose Spark and Dask examples these tests run as written
BIG_TABLES = GUIDE / "big-tables.md"


def guide_example(marker: str) -> str:
    """The block of the guide's big-tables page that uses ``marker``."""
    blocks = [code for _, language, code, _ in page_blocks(BIG_TABLES)
              if language == "python" and marker in code]
    assert len(blocks) == 1, f"one block of {BIG_TABLES.name} uses {marker}"
    return blocks[0]


def run_guide_example(marker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Run that guide block as written, in a folder holding sample_data/ (as
    test_docs_examples runs the others); return its namespace."""
    shutil.copytree(PATIENTS_CSV.parent, tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(guide_example(marker), BIG_TABLES.name, "exec"), namespace)  # noqa: S102
    return namespace


# patients ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def visits() -> pd.DataFrame:
    return patient_visits(120, seed=5)


def test_a_fit_of_a_longitudinal_table_samples_whole_patients(engine, visits):
    config = load_config("fast", epochs=2, max_training_rows=150)
    fitted = engine.module.fit(engine.table(visits), random_state=3, config=config,
                               subject="patient_id", order="visit")
    assert fitted.histories_ is not None and fitted.n_rows_seen_ == 360
    # whole patients only: three rows each, at most the bound
    assert fitted.n_rows_ == 3 * fitted.n_patients_ and 0 < fitted.n_rows_ <= 150
    again = engine.module.fit(engine.table(visits), random_state=3, config=config,
                              subject="patient_id", order="visit")
    pd.testing.assert_frame_equal(fitted.sample(5, random_state=1), again.sample(5, random_state=1))


def test_partitions_draw_whole_patients_with_ids_unique_across_them(engine, visits, tmp_path):
    model = Synthesizer(random_state=0, subject="patient_id", order="visit", **QUICK).fit(visits)
    model.save(tmp_path / "visits.tkm")
    rows = engine.sample(tmp_path / "visits.tkm", 40, 4, seed=2)
    per_patient = rows.groupby("patient_id", sort=False)
    assert per_patient.ngroups == 40                     # n patients, not n rows
    assert (per_patient["sex"].nunique() == 1).all()     # one patient, one sex
    assert not rows["patient_id"].isin(visits["patient_id"]).any()
    assert (per_patient["visit"].diff().dropna() >= 0).all()


@pytest.fixture(scope="module")
def hospital(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    tables = hospital_dataset(60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        model = MultiTableSynthesizer(random_state=0, **QUICK).fit(tables)
    path = tmp_path_factory.mktemp("dataset-model") / "hospital.tkm"
    model.save(path)
    return path, tables


def _by_key(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    keys = {"patients": "patient_id", "admissions": "admission_id", "labs": "lab_id",
            "wards": "ward_code"}
    return {name: table.astype({c: "datetime64[ns]" for c in table.columns
                                if "datetime" in str(table[c].dtype)})
            .sort_values(keys[name]).reset_index(drop=True) for name, table in tables.items()}


def test_a_dataset_is_sampled_by_patients_with_keys_unique_and_linked(engine, hospital):
    path, real = hospital
    tables = engine.sample_dataset(path, 3, scale=2.0, seed=5)
    assert {n: list(t.columns) for n, t in tables.items()} == {
        n: list(t.columns) for n, t in real.items()}
    assert len(tables["patients"]) == 120 and len(tables["wards"]) == 6  # wards once, whole
    for name, key in (("patients", "patient_id"), ("admissions", "admission_id"),
                      ("labs", "lab_id")):
        assert tables[name][key].is_unique, name
        assert not tables[name][key].isin(real[name][key]).any(), name
    assert tables["admissions"]["patient_id"].isin(tables["patients"]["patient_id"]).all()
    assert tables["labs"]["admission_id"].isin(tables["admissions"]["admission_id"]).all()
    assert tables["admissions"]["ward_code"].isin(tables["wards"]["ward_code"]).all()
    # a patient's stays come from one partition: its insurer is one
    assert (tables["admissions"].groupby("patient_id")["insurer"].nunique() == 1).all()
    # each partition is what the plan generates in this process, for either engine
    job = plan_dataset(path, 2.0, 3, 5, None)
    model = MultiTableSynthesizer.load(path)
    expected = {name: pd.concat([job.plan.tables(model, i)[name] for i in range(3)])
                for name in ("patients", "admissions", "labs")}
    got = _by_key({n: tables[n] for n in expected})
    for name, table in _by_key(expected).items():
        pd.testing.assert_frame_equal(got[name], table, check_dtype=False)
    again = _by_key(engine.sample_dataset(path, 3, scale=2.0, seed=5))
    for name, table in _by_key(tables).items():
        pd.testing.assert_frame_equal(again[name], table)


def test_dataset_conditions_and_bad_options_are_checked_on_the_driver(engine, hospital):
    path, _ = hospital
    women = engine.sample_dataset(path, 2, scale=0.5, seed=1, conditions={"sex": "f"})
    assert len(women["patients"]) == 30 and (women["patients"]["sex"] == "f").all()
    with pytest.raises(UsageError, match="no root table has a column 'hb'"):
        engine.module.sample_dataset(path, conditions={"hb": 1.0})
    with pytest.raises(UsageError, match="scale must be a positive number"):
        engine.module.sample_dataset(path, scale=0)
    with pytest.raises(UsageError, match="must be the path of a saved dataset"):
        engine.module.sample_dataset(object())
