"""The command line on a dataset: a folder of linked tables in, a folder of tables out."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from helpers import TRAIN, hospital_dataset, ok, one_line_error, run

from toolkit.io.datasets import write_dataset


@pytest.fixture
def hospital_dir(workdir: Path) -> Path:
    write_dataset(hospital_dataset(), workdir / "hospital", {"labs": ".parquet"})
    return workdir / "hospital"


def test_synth_writes_every_table_with_its_keys_and_format(hospital_dir):
    result = ok("synth", hospital_dir, "--out", "synthetic", *TRAIN, "--seed", "0",
                "--scale", "0.5", "--model-out", "h.tkm")
    assert "dataset keys drafted from names and values" in result.output
    assert "generated in the order patients, wards, admissions, labs" in result.output
    files = sorted(p.name for p in Path("synthetic").iterdir())
    assert files == ["admissions.csv", "labs.parquet", "patients.csv", "wards.csv"]
    patients = pd.read_csv("synthetic/patients.csv")
    admissions = pd.read_csv("synthetic/admissions.csv")
    labs = pd.read_parquet("synthetic/labs.parquet")
    assert len(patients) == 30  # --scale 0.5 of 60 patients
    assert admissions["patient_id"].isin(patients["patient_id"]).all()
    assert labs["admission_id"].isin(admissions["admission_id"]).all()
    sampled = ok("sample", "h.tkm", "--out", "again", "--scale", "2", "--seed", "1")
    assert "120 patients rows" in sampled.output
    again = pd.read_csv("again/admissions.csv")
    assert again["patient_id"].isin(pd.read_csv("again/patients.csv")["patient_id"]).all()


def test_metadata_drafts_keys_and_a_confirmed_file_is_used(hospital_dir):
    ok("metadata", hospital_dir, "--out", "keys.yaml")
    text = Path("keys.yaml").read_text()
    assert "#   admissions.patient_id → patients.patient_id" in text
    drafted = yaml.safe_load(text)
    assert drafted["tables"]["admissions"] == {"primary_key": "admission_id",
                                               "order": "admitted"}
    result = ok("synth", hospital_dir, "--out", "synthetic", "--metadata", "keys.yaml",
                *TRAIN, "--seed", "0")
    assert "drafted" not in result.output  # the keys were stated


@pytest.mark.parametrize(("extra", "named"), [
    (["--rows", "10"], "--rows cannot be used when synth works on a dataset: the tables' "
                       "sizes follow"),
    (["--target", "sex"], "--target cannot be used when synth works on a dataset"),
])
def test_what_a_dataset_does_not_take_yet_is_refused(hospital_dir, extra, named):
    line = one_line_error(run("synth", hospital_dir, "--out", "synthetic", *TRAIN, *extra), 2)
    assert named in line
    assert not Path("synthetic").exists()


def test_conditions_fix_a_root_tables_rows(hospital_dir):
    ok("synth", hospital_dir, "--out", "women", *TRAIN, "--seed", "0", "--condition", "sex=f",
       "--model-out", "h.tkm")
    women = pd.read_csv("women/patients.csv")
    assert len(women) == 60 and (women["sex"] == "f").all()
    assert pd.read_csv("women/admissions.csv")["patient_id"].isin(women["patient_id"]).all()
    ok("sample", "h.tkm", "--out", "men", "--condition", "patients.sex=m", "--seed", "1")
    assert (pd.read_csv("men/patients.csv")["sex"] == "m").all()
    line = one_line_error(run("synth", hospital_dir, "--out", "x", *TRAIN,
                              "--condition", "height=2"), 2)
    assert "--condition names column 'height', which no table of" in line
    assert not Path("x").exists()
    line = one_line_error(run("sample", "h.tkm", "--out", "y", "--condition", "hb=2",
                              "--seed", "2"), 2)
    assert "no root table has a column 'hb' to condition on" in line
    assert not Path("y").exists()


def test_epsilon_per_patient_across_tables_is_said_by_info_and_the_report(workdir):
    import numpy as np

    rng = np.random.default_rng(0)
    people = pd.DataFrame({"id": np.arange(1, 81), "sex": rng.choice(["f", "m"], 80)})
    owners = np.repeat(people["id"].to_numpy(), rng.integers(0, 6, 80))
    write_dataset({"people": people, "visits": pd.DataFrame({
        "id": owners, "day": rng.integers(0, 900, len(owners)),
        "value": rng.uniform(0, 10, len(owners)).round(1)})}, workdir / "study")
    Path("keys.yaml").write_text(yaml.safe_dump({"tables": {
        "people": {"primary_key": "id",
                   "columns": {"sex": {"kind": "categorical", "values": ["f", "m"]}}},
        "visits": {"order": "day", "columns": {
            "day": {"kind": "integer", "min": 0, "max": 1000},
            "value": {"kind": "continuous", "min": 0, "max": 10, "decimals": 1}}}},
        "relationships": [{"parent": "people", "parent_key": "id", "child": "visits",
                           "child_key": "id"}]}))
    ok("synth", workdir / "study", "--out", "private", "--metadata", "keys.yaml", *TRAIN,
       "--seed", "0", "--epsilon", "3", "--model-out", "p.tkm", "--report", "p.html")
    assert "per root entity" in Path("p.html").read_text()
    described = ok("info", "p.tkm").output
    assert "differential privacy per root entity" in described
    assert "people: epsilon" in described and "visits: histories under people" in described
    line = one_line_error(run("synth", workdir / "study", "--out", "again", *TRAIN,
                              "--epsilon", "3", "--seed", "0"), 2)
    assert "with epsilon, give the dataset's metadata" in line


def test_bad_outputs_are_refused_before_any_work(hospital_dir):
    Path("full").mkdir()
    Path("full/x.txt").write_text("mine")
    assert "--out folder full is not empty" in one_line_error(
        run("synth", hospital_dir, "--out", "full", *TRAIN), 2)
    assert "must be a folder for a dataset" in one_line_error(
        run("synth", hospital_dir, "--out", "out.csv", *TRAIN), 2)
    assert "--scale applies to a dataset" in one_line_error(
        run("synth", hospital_dir / "patients.csv", "--out", "p.csv", "--scale", "2", *TRAIN), 2)


def test_rules_are_drafted_and_kept_in_a_table_and_in_a_dataset(workdir):
    from helpers import admissions_table

    from toolkit.adapters.rules import Rules
    from toolkit.io import write_table

    write_table(admissions_table(400), "stays.csv")
    ok("metadata", "stays.csv", "--out", "stays.yaml")
    drafted = yaml.safe_load(Path("stays.yaml").read_text())
    assert {"inequality": ["admitted", "discharged"], "strict": True} in drafted["rules"]
    assert {"combination": ["city", "country"]} in drafted["rules"]
    assert "# Rules that hold on every row were found" in Path("stays.yaml").read_text()
    ok("synth", "stays.csv", "--out", "out.csv", "--metadata", "stays.yaml", *TRAIN,
       "--seed", "0", "--report", "r.html")
    out = pd.read_csv("out.csv", parse_dates=["admitted", "discharged"])
    assert (out["discharged"] > out["admitted"]).all()
    tables = hospital_dataset(80)
    stays = tables["admissions"]
    stays["discharged"] = stays["admitted"] + pd.to_timedelta(stays["days"], unit="D")
    write_dataset(tables, Path("h"))
    ok("metadata", "h", "--out", "h.yaml")
    keys = yaml.safe_load(Path("h.yaml").read_text())
    assert keys["tables"]["admissions"]["rules"] == [
        {"inequality": ["admitted", "discharged"], "strict": True}]
    ok("synth", "h", "--out", "hs", "--metadata", "h.yaml", *TRAIN, "--seed", "0")
    generated = pd.read_csv("hs/admissions.csv", parse_dates=["admitted", "discharged"])
    assert Rules.from_metadata(keys["tables"]["admissions"]).violations(generated) == {
        "admitted < discharged": 0}


def test_synth_with_a_report_holds_out_whole_patients_and_writes_the_page(hospital_dir):
    result = ok("synth", hospital_dir, "--out", "synthetic", *TRAIN, "--seed", "0",
                "--report", "report.html", "--holdout-frac", "0.25")
    assert "(whole root entities with their children) to measure the report" in result.output
    assert result.output.count("dataset keys drafted") == 1
    page = Path("report.html").read_text()
    assert "<h1>Synthetic dataset report</h1>" in page
    assert "patients.patient_id → admissions.patient_id" in page
    assert "a classifier tells synthetic parents (with their children) from real ones" in page
    assert len(pd.read_csv("synthetic/patients.csv")) < 60  # trained on 75 % of the patients
