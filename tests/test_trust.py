"""Trust on messy hospital tables: identifiers, inputs never overwritten, types as they came,
what was guessed said, honest reports, files and randomness (the defects of issue 15)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit import Synthesizer
from toolkit.cli import cli
from toolkit.evaluate.report import evaluate
from toolkit.io import read_table, write_table

TRAIN = ["--config", "fast", "--epochs", "2"]


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result


def visits(n_patients: int = 100, seed: int = 0) -> pd.DataFrame:
    """Three visit rows per patient: repeated patient_id and mrn."""
    rng = np.random.default_rng(seed)
    patient = np.repeat(np.arange(1000, 1000 + n_patients), 3)
    n = len(patient)
    return pd.DataFrame({
        "patient_id": patient, "mrn": [f"M{p * 7:07d}" for p in patient],
        "visit": np.tile([1, 2, 3], n_patients), "age": rng.normal(60, 10, n).round(1),
        "sex": rng.choice(["m", "f"], n), "zip": rng.choice(["05401", "02134", "10001"], n),
        "flag": rng.choice(["TRUE", "FALSE"], n),
        "chol": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(100, 300, n)),
                         dtype="Int64"),
    })


# identifiers ---------------------------------------------------------------------------------
def test_repeated_identifiers_are_ids_and_never_copied(workdir):
    write_table(visits(), "visits.csv")
    result = ok("synth", "visits.csv", "--out", "out.csv", *TRAIN, "--seed", "0")
    assert "column 'patient_id' is named like an identifier" in result.output
    real, out = read_table("visits.csv"), read_table("out.csv")
    assert not out["patient_id"].isin(real["patient_id"]).any()
    assert not out["mrn"].isin(real["mrn"]).any()
    assert out["patient_id"].is_unique and out["mrn"].is_unique


def test_integer_id_with_a_blank_stays_an_integer_id(workdir):
    ids = [str(i) for i in range(5000, 5300)]
    ids[5] = ""
    values = np.random.default_rng(0).normal(size=300).round(3)
    Path("ids.csv").write_text("patient_id,x\n" + "".join(f"{i},{x}\n" for i, x in
                                                         zip(ids, values, strict=True)))
    ok("synth", "ids.csv", "--out", "out.csv", *TRAIN, "--seed", "0", "-q")
    written = Path("out.csv").read_text().splitlines()[1:]
    generated = [line.split(",")[0] for line in written]
    assert all(g.isdigit() for g in generated), generated[:5]  # 10000, never 10000.0
    assert not set(generated) & set(ids)


@pytest.mark.parametrize("name", ["mrn", "SSN", "record_no", "accession_number", "PatientID",
                                  "subject id"])
def test_columns_named_like_identifiers_are_ids_even_with_repeats(name):
    frame = pd.DataFrame({name: ["A1", "A1", "B2", "B2", "C3"] * 10, "x": np.arange(50) + 0.5})
    model = Synthesizer(config="fast", epochs=1, random_state=0).fit(frame)
    assert model.metadata_[name] == "id"


def test_identifier_formats_are_ids_without_an_id_name():
    codes = [f"S-{i:05d}" for i in range(40)] * 3
    frame = pd.DataFrame({"subject": codes, "x": np.arange(120) + 0.5})
    model = Synthesizer(config="fast", epochs=1, random_state=0).fit(frame)
    assert model.metadata_["subject"] == "id"
    assert not model.sample(50)["subject"].isin(codes).any()


def test_report_counts_real_identifiers_in_the_synthetic_table(patients):
    clean = evaluate(patients, patients.assign(id=np.arange(10**6, 10**6 + len(patients))))
    assert clean.summary["real_identifiers"] == 0
    leaked = evaluate(patients, patients.sample(frac=1.0, random_state=0))
    assert leaked.summary["identifiers"]["id"] == len(patients)
    assert leaked.summary["privacy"] == "at risk"
    assert "carry a real identifier in column 'id'" in leaked.summary["privacy_reason"]


def test_synth_report_finds_no_real_identifier(workdir, patients_csv):
    ok("synth", patients_csv, "--out", "s.csv", "--report", "r.html", *TRAIN, "--seed", "0", "-q")
    assert "carry a real identifier" not in Path("r.html").read_text()


# never overwrite inputs ----------------------------------------------------------------------
def test_output_equal_to_the_input_is_refused_and_the_input_kept(workdir, patients_csv):
    Path("same.csv").write_bytes(patients_csv.read_bytes())
    result = run("synth", "same.csv", "--out", "same.csv", *TRAIN)
    assert result.exit_code == 2
    assert "writing it would destroy the input" in result.output
    assert Path("same.csv").read_bytes() == patients_csv.read_bytes()


def test_output_reaching_the_input_by_another_path_is_refused(workdir, patients_csv):
    Path("data").mkdir()
    Path("data/in.csv").write_bytes(patients_csv.read_bytes())
    result = run("synth", "data/in.csv", "--out", "data/../data/in.csv", *TRAIN)
    assert result.exit_code == 2


# types as they came --------------------------------------------------------------------------
def test_types_come_back_as_they_came_through_the_cli(workdir):
    write_table(visits(), "visits.csv")
    ok("synth", "visits.csv", "--out", "out.csv", *TRAIN, "--seed", "0", "-q")
    text = Path("out.csv").read_text()
    out = pd.read_csv("out.csv", dtype=str, keep_default_na=False)
    assert not any(value.endswith(".0") for value in out["chol"])
    assert set(out["zip"]) <= {"05401", "02134", "10001"}
    assert set(out["flag"]) <= {"TRUE", "FALSE"}
    assert "True" not in text


def test_sample_table_integers_with_missing_values_are_written_as_integers(workdir, patients_csv):
    ok("synth", patients_csv, "--out", "out.csv", *TRAIN, "--seed", "0", "-q")
    out = pd.read_csv("out.csv", dtype=str)
    for column in ("chol", "copper", "trig", "platelet", "stage"):
        assert not out[column].dropna().str.contains(r"\.").any(), column


def test_boolean_conditions_accept_the_files_spelling(workdir):
    write_table(visits(), "visits.csv")
    for spelling in ("TRUE", "true", "True"):
        ok("synth", "visits.csv", "--out", "out.csv", *TRAIN, "--seed", "0", "-q", "--condition",
           f"flag={spelling}")
        assert set(pd.read_csv("out.csv", dtype=str)["flag"]) == {"TRUE"}


def test_ordered_categorical_keeps_its_levels_and_order(workdir):
    grade = pd.Categorical(["low", "mid"] * 50, categories=["low", "mid", "high"], ordered=True)
    frame = pd.DataFrame({"grade": grade, "x": np.arange(100) + 0.5})
    frame.to_parquet("g.parquet", index=False)
    ok("synth", "g.parquet", "--out", "out.parquet", *TRAIN, "--seed", "0", "-q")
    out = pd.read_parquet("out.parquet")["grade"]
    assert out.cat.categories.tolist() == ["low", "mid", "high"] and out.cat.ordered
    direct = Synthesizer(config="fast", epochs=1, random_state=0).fit(frame).sample(10)
    assert direct["grade"].dtype == frame["grade"].dtype


def test_parquet_integers_with_nulls_stay_integers(workdir):
    frame = pd.DataFrame({"n": pd.array([1, None, 3, 4] * 10, dtype="Int64"),
                          "x": np.arange(40) + 0.5})
    frame.to_parquet("n.parquet", index=False)
    ok("synth", "n.parquet", "--out", "out.parquet", *TRAIN, "--seed", "0", "-q")
    assert str(pd.read_parquet("out.parquet", dtype_backend="numpy_nullable")["n"].dtype) == "Int64"
    assert str(read_table("out.parquet")["n"].dtype) == "Int64"


def test_mixed_date_formats_are_dates_written_in_the_common_format(workdir):
    dates = ["2020-01-03", "2020-02-11", "2021-02-01", "03/04/2021"] * 30
    Path("d.csv").write_text("when,x\n" + "".join(f"{d},{i}.5\n" for i, d in enumerate(dates)))
    result = ok("synth", "d.csv", "--out", "out.csv", *TRAIN, "--seed", "0")
    assert "mixes date formats" in result.output
    out = pd.read_csv("out.csv", dtype=str)["when"]
    assert out.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_private_fit_writes_integers_as_integers(workdir, patients_csv):
    ok("metadata", patients_csv, "--out", "meta.yaml")
    ok("synth", patients_csv, "--out", "p.csv", "--metadata", "meta.yaml", "--epsilon", "1",
       *TRAIN, "--seed", "0", "-q")
    out = pd.read_csv("p.csv", dtype=str)
    for column in ("time", "chol", "platelet", "stage"):
        assert not out[column].dropna().str.contains(r"\.").any(), column


def test_metadata_drafts_booleans_as_boolean(workdir, patients_csv):
    import yaml

    ok("metadata", patients_csv, "--out", "meta.yaml")
    drafted = yaml.safe_load(Path("meta.yaml").read_text())["columns"]
    assert drafted["ascites"] == {"kind": "boolean", "values": ["False", "True"]}


# say what was guessed ------------------------------------------------------------------------
def test_semicolon_file_with_decimal_commas_is_read_and_written_in_its_dialect(workdir):
    rows = "".join(f"{i};{'ab'[i % 2]};{i % 7},{i % 10}\n" for i in range(60))
    Path("s.csv").write_text("n;g;x\n" + rows)
    table = read_table("s.csv")
    assert list(table.columns) == ["n", "g", "x"] and table["x"].dtype == float
    ok("synth", "s.csv", "--out", "out.csv", *TRAIN, "--seed", "0", "-q")
    header, first = Path("out.csv").read_text().splitlines()[:2]
    assert header == "n;g;x" and "," in first.split(";")[2]


def test_tiny_table_warns_that_kinds_were_guessed(workdir):
    Path("t.csv").write_text("sex,age\nm,30.5\nf,41.5\n")
    result = ok("synth", "t.csv", "--out", "out.csv", *TRAIN, "--seed", "0")
    assert "Warning: the table has only 2 rows" in result.output
    assert Synthesizer(config="fast", epochs=1, random_state=0).fit(
        read_table("t.csv")).metadata_["sex"] == "categorical"


def test_mostly_numeric_text_is_warned_about(workdir):
    values = [str(v) for v in range(95)] + ["<5"] * 5
    Path("m.csv").write_text("lab\n" + "\n".join(values) + "\n")
    with pytest.warns(UserWarning, match="mostly numbers but also holds text"):
        Synthesizer(config="fast", epochs=1, random_state=0).fit(read_table("m.csv"))


def test_quiet_silences_warnings(workdir):
    Path("t.csv").write_text("sex,age\nm,30.5\nf,41.5\n")
    assert ok("synth", "t.csv", "--out", "out.csv", *TRAIN, "--seed", "0", "-q").output == ""


# honest reports ------------------------------------------------------------------------------
def test_an_empty_synthetic_column_lowers_quality_and_is_named(patients):
    real = patients.drop(columns="id")
    good = evaluate(real, real.sample(frac=1.0, random_state=1).reset_index(drop=True))
    broken = evaluate(real, good.columns["synthetic"].assign(bili=np.nan))
    assert broken.fidelity["per_column"]["bili"]["score"] == 0.0
    assert broken.summary["quality"] < good.summary["quality"] - 0.02
    assert "bili" in broken.summary["fidelity_reason"]
    constant = evaluate(real, real.assign(sex="f"))
    assert "sex" in constant.summary["fidelity_reason"]


def test_pair_trends_are_measured_on_small_tables(patients):
    real = patients.iloc[:300]
    report = evaluate(real, real.sample(frac=1.0, random_state=0))
    assert report.fidelity["column_pair_trends"] is not None


def test_tiny_table_with_report_writes_everything(workdir):
    Path("five.csv").write_text("a,b,c\n1,x,1.5\n2,y,2.5\n3,x,3.5\n4,y,4.5\n5,z,5.5\n")
    ok("synth", "five.csv", "--out", "f.csv", "--report", "f.html", "--target", "b",
       *TRAIN, "--seed", "0", "-q")
    assert Path("f.csv").exists() and Path("f.html").exists()


def test_report_on_degenerate_private_output(workdir, patients_csv):
    real = read_table(patients_csv)
    synthetic = real.assign(trig=pd.NA, sex="f", status="dead")
    write_table(real, "real.csv")
    write_table(synthetic, "syn.csv")
    result = ok("report", "real.csv", "syn.csv", "--out", "r.html", "--target", "status")
    assert "trig" in Path("r.html").read_text()
    assert "utility" in result.output and "wrote r.html in" in result.output


def test_report_says_what_it_is_doing(workdir, patients_csv):
    write_table(read_table(patients_csv), "real.csv")
    result = ok("report", "real.csv", "real.csv", "--out", "r.html", "--target", "status")
    assert "fidelity: sdmetrics" in result.output and "utility: gradient boosting" in result.output


# one line for bad input ---------------------------------------------------------------------
def test_unwritable_output_folder_fails_before_training(workdir, patients_csv, monkeypatch):
    Path("locked").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == "locked"
                        else real_access(p, mode))
    result = run("synth", patients_csv, "--out", "locked/out.csv", *TRAIN)
    assert result.exit_code == 2
    assert result.output.strip() == ("Error: --out locked/out.csv: the folder locked is not "
                                     "writable")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_is_one_line(workdir, patients_csv):
    Path("locked").mkdir()
    os.chmod("locked", 0o555)
    result = run("synth", patients_csv, "--out", "locked/out.csv", *TRAIN)
    assert result.exit_code == 2 and result.output.count("\n") == 1


def test_score_to_parquet_with_a_text_column_missing_in_the_first_chunk(workdir):
    train = pd.DataFrame({"x": np.arange(200) + 0.5, "note": ["a", "b", None, "a"] * 50})
    write_table(train, "train.csv")
    new = pd.DataFrame({"x": np.arange(100) + 0.5, "note": [None] * 60 + ["a", "b"] * 20})
    write_table(new, "new.csv")
    ok("score", "new.csv", "--fit-on", "train.csv", "--out", "s.parquet", "--chunk-size", "50",
       *TRAIN, "--seed", "0", "-q")
    scored = pd.read_parquet("s.parquet")
    assert len(scored) == 100 and scored["note"].iloc[60:].tolist() == ["a", "b"] * 20


# files ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_respect_the_umask(workdir, patients_csv, umask, mode):
    previous = os.umask(umask)
    try:
        ok("synth", patients_csv, "--out", "out.csv", "--model-out", "m.tkm", *TRAIN, "--seed",
           "0", "-q")
    finally:
        os.umask(previous)
    assert Path("out.csv").stat().st_mode & 0o777 == mode
    assert Path("m.tkm").stat().st_mode & 0o777 == mode


SLOW_WRITER = """
import signal, sys, time
from toolkit.cli.app import terminate
from toolkit.io.tables import atomic_write
signal.signal(signal.SIGTERM, terminate)  # what the console script installs
with atomic_write("out.csv") as temporary:
    temporary.write_text("half of a table")
    print("writing", flush=True)
    time.sleep(60)
"""


def test_sigterm_leaves_no_temporary_file(tmp_path):
    process = subprocess.Popen([sys.executable, "-c", SLOW_WRITER], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "writing"
    assert list(tmp_path.glob(".out.csv.*.tmp"))
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGTERM
    assert stderr.strip().startswith("Error: terminated")
    assert list(tmp_path.iterdir()) == []


def test_console_script_installs_the_sigterm_clean_up(monkeypatch):
    import toolkit.cli.app as module

    installed = {}
    monkeypatch.setattr(module.signal, "signal", lambda sig, handler: installed.update(
        {sig: handler}))
    monkeypatch.setattr(module, "cli", lambda **kwargs: None)
    module.main()
    assert installed[signal.SIGTERM] is module.terminate


# randomness ----------------------------------------------------------------------------------
def test_fit_without_seed_prints_and_records_the_seed_it_used(workdir, patients_csv):
    result = ok("fit", patients_csv, "--model-out", "m.tkm", *TRAIN)
    seed = result.output.split("pass --seed ")[1].split()[0]
    info = ok("info", "m.tkm")
    assert f"seed {seed}" in info.output
    ok("fit", patients_csv, "--model-out", "again.tkm", *TRAIN, "--seed", seed, "-q")
    a = Synthesizer.load("m.tkm").sample(20, random_state=0)
    b = Synthesizer.load("again.tkm").sample(20, random_state=0)
    assert a.equals(b)


def test_two_unseeded_fits_differ(workdir, patients_csv):
    ok("synth", patients_csv, "--out", "a.csv", *TRAIN, "-q")
    ok("synth", patients_csv, "--out", "b.csv", *TRAIN, "-q")
    assert Path("a.csv").read_bytes() != Path("b.csv").read_bytes()
