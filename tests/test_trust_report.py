"""Issue 32, the report: holdouts split by patient, the membership attack's confidence
interval, rare real values (fingerprints) whatever the inferred kinds, personal data as
identifiers, and the README's report picture tied to its numbers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit import Synthesizer
from toolkit.cli import cli
from toolkit.evaluate.report import (
    auc_interval,
    evaluate,
    rare_values,
    real_identifiers,
    split_holdout,
    subject_column,
    verdicts,
)

REPO = Path(__file__).resolve().parents[1]


def _visits(patients: int = 60, seed: int = 0) -> pd.DataFrame:
    """Three visits per patient: the patient's sex and birth year repeat, measurements vary."""
    rng = np.random.default_rng(seed)
    ids = np.repeat(rng.choice(np.arange(1000, 9999), patients, replace=False), 3)
    return pd.DataFrame({
        "patient_id": ids,
        "visit": np.tile([1, 2, 3], patients),
        "sex": np.repeat(rng.choice(["f", "m"], patients), 3),
        "birth_year": np.repeat(rng.integers(1930, 1990, patients), 3),
        "sbp": rng.normal(132, 15, 3 * patients).round(),
        "hba1c": rng.normal(6.4, 0.8, 3 * patients).round(1),
    })


def _run(*args: object):
    return CliRunner().invoke(cli, [str(a) for a in args])


# holdouts split by patient ----------------------------------------------------------------
def test_subject_column_is_the_coarsest_repeated_id():
    table = pd.DataFrame({"site_id": [1, 1, 1, 1, 1, 1], "patient_id": [7, 7, 8, 8, 9, 9],
                          "visit_id": [1, 2, 3, 4, 5, 6], "ward_id": [4, 4, 4, 5, 5, 5],
                          "sbp": [120, 131, 118, 142, 150, 139]})
    kinds = {"site_id": "id", "patient_id": "id", "visit_id": "id", "ward_id": "integer",
             "sbp": "integer"}
    # site_id has one value (no unit), visit_id none repeated, ward_id is not an ID kind
    assert subject_column(table, kinds) == "patient_id"
    assert subject_column(table, {**kinds, "ward_id": "id"}) == "ward_id"
    assert subject_column(table, {**kinds, "patient_id": "categorical"}) is None


def test_split_without_a_repeated_id_is_the_row_sample_it_always_was(_patients_frame):
    split = split_holdout(_patients_frame, 0.2, 7, {"id": "id", "time": "integer"})
    assert split.subject is None and split.held_subjects == len(split.holdout) == 84
    assert split.holdout.index.equals(_patients_frame.sample(frac=0.2, random_state=7).index)


def test_synth_report_on_visits_holds_out_whole_patients(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    visits = _visits()
    visits.to_csv("visits.csv", index=False)
    result = _run("synth", "visits.csv", "--out", "s.csv", "--report", "r.html",
                  "--holdout-out", "held.csv", "--config", "fast", "--epochs", "2",
                  "--seed", "3", "-q")
    assert result.exit_code == 0, result.output
    held = pd.read_csv("held.csv")
    train = visits[~visits["patient_id"].isin(held["patient_id"])]
    assert set(held["patient_id"]).isdisjoint(train["patient_id"])
    assert len(held) == 3 * held["patient_id"].nunique() == 3 * 12
    assert len(pd.read_csv("s.csv")) == len(train)
    page = Path("r.html").read_text()
    assert "12 holdout patients" in page


def test_synth_says_how_many_patients_and_rows_were_held_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _visits().to_csv("visits.csv", index=False)
    result = _run("synth", "visits.csv", "--out", "s.csv", "--report", "r.html",
                  "--config", "fast", "--epochs", "2", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert ("holding out 36 of 180 rows (--holdout-frac): every row of 12 of 60 patients "
            "(distinct 'patient_id' values), so no patient is on both sides") in result.output


def test_a_holdout_of_no_patient_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _visits(patients=30).to_csv("visits.csv", index=False)
    result = _run("synth", "visits.csv", "--out", "s.csv", "--report", "r.html",
                  "--holdout-frac", "0.01", "--config", "fast", "--epochs", "2", "--seed", "0")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: --holdout-frac: a holdout of 0.01 of the 30 patients (distinct 'patient_id' "
        "values) leaves no rows to hold out or fewer than 2 to train on in 90 rows"]
    assert not Path("s.csv").exists() and not Path("r.html").exists()


# the membership attack ----------------------------------------------------------------------
def test_auc_interval_is_the_auc_with_delongs_variance():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    members, others = rng.normal(0.3, 1, 50).round(1), rng.normal(0, 1, 70).round(1)
    auc, low, high = auc_interval(members, others)
    assert auc == pytest.approx(roc_auc_score(np.r_[np.ones(50), np.zeros(70)],
                                              np.r_[members, others]))
    # DeLong's structural components, pair by pair (ties count ½)
    wins = (members[:, None] > others) + 0.5 * (members[:, None] == others)
    variance = wins.mean(1).var(ddof=1) / 50 + wins.mean(0).var(ddof=1) / 70
    assert (high - low) / 2 == pytest.approx(1.959964 * np.sqrt(variance), rel=1e-5)
    assert low < auc < high


def _privacy_part(auc: float, low: float, high: float) -> dict:
    return {"closer_to_train_share": 0.5, "closer_to_train_expected": 0.5,
            "exact_copies": 0.0, "holdout_exact_copies": 0.0, "membership_auc": auc,
            "membership_auc_ci": [low, high], "membership_unit": "row",
            "membership_non_members": 84}


@pytest.mark.parametrize("auc, low, high, verdict", [
    (0.61, 0.52, 0.70, "inconclusive"),
    (0.75, 0.66, 0.84, "at risk"),
    (0.55, 0.46, 0.64, "no leak detected"),
])
def test_the_membership_verdict_follows_the_interval(auc, low, high, verdict):
    summary = verdicts({"quality": 0.9}, None, _privacy_part(auc, low, high))
    assert summary["privacy"] == verdict
    if verdict == "inconclusive":
        assert summary["privacy_reason"].startswith(
            "inconclusive: membership-inference AUC 0.61, 95 % CI 0.52–0.70 with 84 holdout "
            "rows; a larger holdout would tell")
    if verdict == "at risk":
        assert "AUC 0.75 (95% CI 0.66–0.84, above 0.6)" in summary["privacy_reason"]


def test_copied_training_rows_put_the_interval_above_the_threshold(_patients_frame):
    holdout = _patients_frame.sample(frac=0.25, random_state=0)
    train = _patients_frame.drop(index=holdout.index)
    leaked = evaluate(train, train.sample(200, random_state=1), holdout=holdout)
    low, high = leaked.privacy["membership_auc_ci"]
    assert 0.6 < low < leaked.privacy["membership_auc"] < high
    assert leaked.privacy["membership_unit"] == "row"
    assert leaked.privacy["membership_non_members"] == len(holdout)
    assert leaked.summary["privacy"] == "at risk"


def test_the_attack_compares_whole_patients_when_rows_share_a_patient():
    visits = _visits()
    kinds = {"patient_id": "id", "visit": "categorical", "sex": "categorical",
             "birth_year": "integer", "sbp": "integer", "hba1c": "continuous"}
    split = split_holdout(visits, 0.25, 0, kinds)
    copied = split.train.assign(patient_id=np.arange(len(split.train)) + 50_000)
    result = evaluate(split.train, copied, holdout=split.holdout, metadata=kinds)
    part = result.privacy
    assert part["membership_unit"] == "patient" and part["subject_column"] == "patient_id"
    assert part["membership_members"] == split.train["patient_id"].nunique() == 45
    assert part["membership_non_members"] == split.held_subjects == 15
    assert part["membership_auc"] == 1.0 and result.summary["privacy"] == "at risk"
    assert "15 holdout patients" in Path(_page(result)).read_text()


def _page(result) -> str:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "r.html"
    result.to_html(path)
    return str(path)


# rare real values and identifiers -----------------------------------------------------------
#: the kind inference might give an ID column it does not recognise (stated as metadata, so
#: that the test does not depend on how good inference is)
MISSED = {"ref": "integer"}


def _copied_unnamed_ids(patients: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An integer ID column, copied into synthetic rows whose other columns are shuffled
    (no row is a real row)."""
    real = patients.rename(columns={"id": "ref"})
    rng = np.random.default_rng(0)
    synthetic = real.copy()
    for column in synthetic.columns.drop("ref"):
        synthetic[column] = synthetic[column].to_numpy()[rng.permutation(len(synthetic))]
    return real, synthetic


def test_a_copied_integer_id_column_is_flagged_whatever_its_kind(patients):
    real, synthetic = _copied_unnamed_ids(patients)
    result = evaluate(real, synthetic, metadata=MISSED)
    assert result.summary["real_identifiers"] == 0  # not an ID kind: no identifier counted
    rare = result.summary["rare_values"]
    assert rare["flagged"] == ["ref"] and rare["baseline"] == "leave-one-out"
    assert rare["columns"]["ref"] == {"rows": 418, "share": 1.0, "expected": 0.0,
                                      "judged": True}
    assert result.summary["privacy"] == "at risk"
    assert ("418 synthetic row(s) (100%) carry a value of column 'ref' that at most 2 real "
            "rows hold") in result.summary["privacy_reason"]
    assert "Real values in the synthetic rows" in Path(_page(result)).read_text()


def test_toolkit_report_names_rare_values_and_identifiers_on_its_summary_line(
        patients, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real, synthetic = _copied_unnamed_ids(patients)
    synthetic["id"] = real["ref"].to_numpy()[::-1]  # and a real ID in a column named like one
    real["id"] = real["ref"]
    real.to_csv("real.csv", index=False)
    synthetic.to_csv("syn.csv", index=False)
    Path("meta.yaml").write_text("ref: integer\n")
    result = _run("report", "real.csv", "syn.csv", "--out", "r.html", "--json", "r.json",
                  "--metadata", "meta.yaml")
    assert result.exit_code == 0, result.output
    assert ("privacy at risk (418 synthetic row(s) carry a real identifier or personal data; "
            "rare real values (fingerprints) beyond chance in column(s) ['ref', 'id'])"
            ) in result.output
    saved = json.loads(Path("r.json").read_text())["summary"]
    assert saved["rare_value_columns"] == ["ref", "id"] and saved["identifiers"] == {"id": 418}


def test_a_default_synth_of_the_sample_table_raises_no_rare_value_alarm(_patients_frame):
    synthetic = Synthesizer(random_state=0).fit(_patients_frame).sample(len(_patients_frame))
    result = rare_values(_patients_frame, synthetic)
    assert result["flagged"] == []
    # only the key-like column is judged without a holdout: the ID, generated fresh
    assert [c for c, e in result["columns"].items() if e["judged"]] == ["id"]
    assert result["columns"]["id"]["rows"] == 0


def test_unseen_real_rows_hit_rare_values_only_by_chance(_patients_frame):
    shuffled = _patients_frame.sample(frac=1.0, random_state=3)
    train, fresh, holdout = shuffled.iloc[:209], shuffled.iloc[209:313], shuffled.iloc[313:]
    with_holdout = rare_values(train, fresh, holdout)
    assert with_holdout["flagged"] == [] and with_holdout["baseline"] == "holdout"
    assert with_holdout["columns"]["platelet"]["rows"] > 10  # chance is not zero on a grid
    assert rare_values(train, fresh)["flagged"] == []


def test_with_a_holdout_replayed_measurement_values_are_flagged(_patients_frame):
    shuffled = _patients_frame.sample(frac=1.0, random_state=3)
    train, fresh, holdout = shuffled.iloc[:209], shuffled.iloc[209:313], shuffled.iloc[313:]
    # a generator that draws `time` (follow-up days, nearly one value per patient) from
    # the training values: every synthetic row then carries a fingerprint
    replayed = fresh.assign(time=train["time"].sample(len(fresh), replace=True,
                                                      random_state=0).to_numpy())
    result = rare_values(train, replayed, holdout)
    assert result["flagged"] == ["time"]
    entry = result["columns"]["time"]
    assert entry["share"] > 0.9 and entry["expected"] < 0.15
    assert not rare_values(train, replayed)["columns"]["time"]["judged"]  # a measurement


def test_rare_values_count_patients_not_rows():
    visits = _visits()
    copied = visits.assign(sbp=visits["sbp"] + 0.5, hba1c=visits["hba1c"] + 0.05)
    by_row = rare_values(visits, copied)
    by_patient = rare_values(visits, copied, subject="patient_id")
    # a patient's ID is on their 3 rows: common by rows, a fingerprint by patient
    assert by_row["columns"]["patient_id"]["rows"] == 0
    assert by_patient["columns"]["patient_id"]["rows"] == 180
    assert by_patient["flagged"] == ["patient_id"]


def test_real_identifiers_cover_personal_data(_patients_frame):
    rng = np.random.default_rng(0)
    names = np.array(["Anna", "Peter", "Maria", "John", "Laura", "David", "Sofia", "James"])
    real = _patients_frame.assign(name=rng.choice(names, len(_patients_frame)))
    synthetic = real.sample(frac=1.0, random_state=1).assign(id=np.arange(418) + 10_000)
    counts = real_identifiers(real, synthetic, {"id": "id", "name": "first_name",
                                                "age": "continuous"})
    assert counts == {"id": 0, "name": 418}
    result = evaluate(real, synthetic, metadata={"name": "first_name"})
    assert result.summary["identifiers"]["name"] == 418
    assert result.summary["privacy"] == "at risk"
    assert "name" not in result.fidelity["per_column"]  # never modelled: not compared


# the README's picture and its numbers -------------------------------------------------------
def _picture_script():
    spec = importlib.util.spec_from_file_location("make_report_picture",
                                                  REPO / "docs" / "make_report_picture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_picture_script_runs_the_readmes_first_report_example():
    assert _picture_script().readme_command() == [
        "synth", "sample_data/patients.csv", "--out", "synthetic.csv", "--seed", "7",
        "--report", "report.html", "--target", "status", "--holdout-out", "holdout.csv"]


def test_the_readme_report_example_gives_the_numbers_beside_its_picture(tmp_path):
    script = _picture_script()
    report = script.run_example(tmp_path)
    assert (tmp_path / "report.html").exists() and (tmp_path / "holdout.csv").exists()
    assert script.summary_numbers(report) == json.loads(script.NUMBERS.read_text()), (
        "the README's report example no longer gives the numbers of its picture: run "
        "`python docs/make_report_picture.py` and commit sample_data/report_screenshot.*")
