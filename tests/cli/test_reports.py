"""``toolkit report|compare`` and ``synth --report`` (toolkit.cli.reports): pages and JSON
written, holdouts kept out, row bounds, gates and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import copied_unnamed_ids, numbers_table, ok, patient_visits, run

from toolkit.cli import cli
from toolkit.cli import reports as report_command
from toolkit.evaluate.report import (
    MAX_ROWS,
)
from toolkit.io import read_table, write_table

# from tests/test_report.py ------------------------------------------------------------------


@pytest.fixture
def tables(tmp_path, monkeypatch, holdout_split, split_synthetic):
    monkeypatch.chdir(tmp_path)
    holdout_split[0].to_csv("real.csv", index=False)
    holdout_split[1].to_csv("holdout.csv", index=False)
    split_synthetic.to_csv("synthetic.csv", index=False)
    return tmp_path


@pytest.mark.slow
def test_cli_report_writes_html_and_json(tables):
    result = run("report", "real.csv", "synthetic.csv", "--out", "r.html", "--json", "r.json",
                 "--holdout", "holdout.csv", "--target", "status")
    assert result.exit_code == 0, result.output
    assert Path("r.html").stat().st_size > 0
    assert json.loads(Path("r.json").read_text())["privacy"] is not None


@pytest.mark.slow
def test_cli_fail_under_exits_1_and_still_writes_the_report(tables):
    result = run("report", "real.csv", "synthetic.csv", "--out", "r.html", "--fail-under", "0.999")
    assert result.exit_code == 1
    assert "is below --fail-under 0.999" in result.output
    assert Path("r.html").exists()


@pytest.mark.parametrize("args, code", [
    (["report", "real.csv", "missing.csv", "--out", "r.html"], 1),
    (["report", "real.csv", "synthetic.csv", "--out", "r.html", "--target", "nope"], 1),
    (["report", "real.csv", "synthetic.csv", "--out", "r.html", "--holdout", "real.csv"], 1),
    (["report", "real.csv", "synthetic.csv", "--out", "r.pdf"], 2),
    (["report", "real.csv", "synthetic.csv", "--out", "r.html", "--fail-under", "2"], 2),
])
def test_cli_report_bad_input_is_one_line_and_no_file(tables, args, code):
    result = run(*args)
    assert result.exit_code == code, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not Path("r.html").exists()


@pytest.mark.slow
def test_synth_report_keeps_a_holdout_and_says_so(tables, _patients_frame):
    result = run("synth", "real.csv", "--out", "s.csv", "--report", "r.html", "--config", "fast",
                 "--epochs", "2", "--seed", "0", "--target", "status")
    assert result.exit_code == 0, result.output
    real_rows = len(pd.read_csv("real.csv"))
    held = round(0.2 * real_rows)
    assert f"holding out {held} of {real_rows} rows" in result.output
    assert "save them with --holdout-out" in result.output
    assert len(pd.read_csv("s.csv")) == real_rows - held
    assert "Privacy" in Path("r.html").read_text()


@pytest.mark.slow
def test_synth_holdout_out_writes_the_held_out_rows(tables):
    result = run("synth", "real.csv", "--out", "s.csv", "--report", "r.html", "--config", "fast",
                 "--epochs", "2", "--seed", "0", "--holdout-out", "held.csv")
    assert result.exit_code == 0, result.output
    real, held = pd.read_csv("real.csv"), pd.read_csv("held.csv")
    assert len(held) == round(0.2 * len(real))
    assert set(held["id"]) <= set(real["id"])
    assert "they are written to held.csv" in result.output


@pytest.mark.slow
def test_cli_compare_writes_html_and_json(tables):
    result = run("compare", "real.csv", "--backends", "vae,vaegan", "--out", "c.html", "--json",
                 "c.json", "--epochs", "2", "--target", "status")
    assert result.exit_code == 0, result.output
    data = json.loads(Path("c.json").read_text())
    assert set(data["backends"]) == {"vae", "vaegan"}
    page = Path("c.html").read_text()
    assert "<script" not in page and page.count("<svg") == 1


@pytest.mark.parametrize("args, code", [
    (["compare", "real.csv", "--backends", "vae,diffusion", "--out", "c.html"], 2),
    (["compare", "real.csv", "--target", "nope", "--out", "c.html", "--epochs", "1"], 1),
    (["compare", "missing.csv", "--out", "c.html"], 1),
])
def test_cli_compare_bad_input(tables, args, code):
    result = run(*args)
    assert result.exit_code == code, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not Path("c.html").exists()


# from tests/test_report_subsample.py --------------------------------------------------------




def test_the_cli_default_is_the_library_default():
    assert report_command.MAX_ROWS == MAX_ROWS == 50_000


@pytest.mark.slow
def test_cli_report_max_rows(tmp_path):
    numbers_table(1200, 0).to_csv(tmp_path / "real.csv", index=False)
    numbers_table(1000, 1).to_parquet(tmp_path / "synthetic.parquet", index=False)
    page, measurements = tmp_path / "r.html", tmp_path / "r.json"
    result = CliRunner().invoke(cli, [
        "report", str(tmp_path / "real.csv"), str(tmp_path / "synthetic.parquet"),
        "--out", str(page), "--json", str(measurements), "--max-rows", "500"])
    assert result.exit_code == 0, result.output
    assert "measured on a seeded uniform sample of 500 real rows and 500 synthetic rows " \
           "(at most 500 per table)" in result.output
    summary = json.loads(measurements.read_text())["summary"]
    assert (summary["real_rows"], summary["real_rows_measured"]) == (1200, 500)
    assert "seeded uniform sample" in page.read_text()


def test_cli_report_refuses_a_bad_max_rows(tmp_path):
    numbers_table(100).to_csv(tmp_path / "real.csv", index=False)
    result = CliRunner().invoke(cli, ["report", str(tmp_path / "real.csv"),
                                      str(tmp_path / "real.csv"), "--out",
                                      str(tmp_path / "r.html"), "--max-rows", "0"])
    assert result.exit_code == 2
    assert not (tmp_path / "r.html").exists()


def test_the_help_documents_the_sample():
    text = CliRunner().invoke(cli, ["report", "--help"]).output
    assert "--max-rows" in text and "uniform random sample" in text and "50000" in text


# from tests/test_trust.py -------------------------------------------------------------------


@pytest.mark.slow
def test_report_on_degenerate_private_output(workdir, patients_csv):
    real = read_table(patients_csv)
    synthetic = real.assign(trig=pd.NA, sex="f", status="dead")
    write_table(real, "real.csv")
    write_table(synthetic, "syn.csv")
    result = ok("report", "real.csv", "syn.csv", "--out", "r.html", "--target", "status")
    assert "trig" in Path("r.html").read_text()
    assert "utility" in result.output and "wrote r.html in" in result.output


@pytest.mark.slow
def test_report_says_what_it_is_doing(workdir, patients_csv):
    write_table(read_table(patients_csv), "real.csv")
    result = ok("report", "real.csv", "real.csv", "--out", "r.html", "--target", "status")
    assert "fidelity: sdmetrics" in result.output and "utility: gradient boosting" in result.output


# from tests/test_trust_report.py ------------------------------------------------------------




@pytest.mark.slow
def test_synth_report_on_visits_holds_out_whole_patients(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    visits = patient_visits()
    visits.to_csv("visits.csv", index=False)
    result = run("synth", "visits.csv", "--out", "s.csv", "--report", "r.html",
                 "--holdout-out", "held.csv", "--config", "fast", "--epochs", "2",
                 "--seed", "3", "-q")
    assert result.exit_code == 0, result.output
    held = pd.read_csv("held.csv")
    train = visits[~visits["patient_id"].isin(held["patient_id"])]
    assert set(held["patient_id"]).isdisjoint(train["patient_id"])
    assert len(held) == 3 * held["patient_id"].nunique() == 3 * 12
    # as many synthetic patients as training patients (a longitudinal table)
    assert pd.read_csv("s.csv")["patient_id"].nunique() == train["patient_id"].nunique()
    page = Path("r.html").read_text()
    assert "12 holdout patients" in page


@pytest.mark.slow
def test_synth_says_how_many_patients_and_rows_were_held_out(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    patient_visits().to_csv("visits.csv", index=False)
    result = run("synth", "visits.csv", "--out", "s.csv", "--report", "r.html",
                 "--config", "fast", "--epochs", "2", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert ("holding out 36 of 180 rows (--holdout-frac): every row of 12 of 60 patients "
            "(distinct 'patient_id' values), so no patient is on both sides") in result.output


def test_a_holdout_of_no_patient_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    patient_visits(patients=30).to_csv("visits.csv", index=False)
    result = run("synth", "visits.csv", "--out", "s.csv", "--report", "r.html",
                 "--holdout-frac", "0.01", "--config", "fast", "--epochs", "2", "--seed", "0")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: --holdout-frac: a holdout of 0.01 of the 30 patients (distinct 'patient_id' "
        "values) leaves no rows to hold out or fewer than 2 to train on in 90 rows"]
    assert not Path("s.csv").exists() and not Path("r.html").exists()




@pytest.mark.slow
def test_toolkit_report_names_rare_values_and_identifiers_on_its_summary_line(
        patients, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    real, synthetic = copied_unnamed_ids(patients)
    synthetic["id"] = real["ref"].to_numpy()[::-1]  # and a real ID in a column named like one
    real["id"] = real["ref"]
    real.to_csv("real.csv", index=False)
    synthetic.to_csv("syn.csv", index=False)
    Path("meta.yaml").write_text("ref: integer\n")
    result = run("report", "real.csv", "syn.csv", "--out", "r.html", "--json", "r.json",
                 "--metadata", "meta.yaml")
    assert result.exit_code == 0, result.output
    assert ("privacy at risk (418 synthetic row(s) carry a real identifier or personal data; "
            "rare real values (fingerprints) beyond chance in column(s) ['ref', 'id'])"
            ) in result.output
    saved = json.loads(Path("r.json").read_text())["summary"]
    assert saved["rare_value_columns"] == ["ref", "id"] and saved["identifiers"] == {"id": 418}
