"""``toolkit synth|fit|sample|metadata`` (toolkit.cli.synthesis): files in and out, seeds,
conditions, backends, types kept through the files, refusals before any work."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import (
    BACKEND_NAMES,
    TRAIN,
    csv_file,
    ok,
    one_line_error,
    run,
    small_table,
)

import toolkit
from toolkit import Synthesizer
from toolkit.backends import VAEBackend
from toolkit.cli import cli
from toolkit.io import read_table, write_table

# from tests/test_backends.py ----------------------------------------------------------------






def test_cli_diverged_training_leaves_no_model_file(monkeypatch, tmp_path, patients_csv):
    monkeypatch.setattr(VAEBackend, "training_step", lambda self, batch: {"loss": float("inf")})
    out = tmp_path / "m.tkm"
    result = CliRunner().invoke(
        cli, ["fit", str(patients_csv), "--model-out", str(out), "--config", "fast", "-q"]
    )
    assert result.exit_code == 1
    assert "diverged" in result.output
    assert not out.exists()


@pytest.mark.parametrize("backend", BACKEND_NAMES)
def test_cli_backend_option_and_condition(backend, tmp_path, patients_csv):
    out = tmp_path / "syn.csv"
    result = CliRunner().invoke(cli, [
        "synth", str(patients_csv), "--out", str(out), "--rows", "30", "--backend", backend,
        "--config", "fast", "--epochs", "2", "--condition", "sex=f", "-q",
    ])
    assert result.exit_code == 0, result.output
    assert (pd.read_csv(out)["sex"] == "f").all()


def test_cli_condition_without_equals_is_a_usage_error(tmp_path, patients_csv):
    result = CliRunner().invoke(cli, [
        "synth", str(patients_csv), "--out", str(tmp_path / "s.csv"), "--condition", "sex", "-q",
    ])
    assert result.exit_code == 2
    assert "COLUMN=VALUE" in result.output


def test_cli_condition_on_unknown_column_is_a_data_error(tmp_path, patients_csv):
    out = tmp_path / "s.csv"
    result = CliRunner().invoke(cli, [
        "synth", str(patients_csv), "--out", str(out), "--config", "fast", "--epochs", "1",
        "--condition", "nope=1", "-q",
    ])
    assert result.exit_code == 1
    assert "unknown column 'nope'" in result.output
    assert not out.exists()


# from tests/test_big_tables.py --------------------------------------------------------------




@pytest.mark.parametrize("out", ["synthetic.csv", "synthetic.parquet", "synthetic"])
def test_sample_streams_chunks_to_a_file_or_a_folder_of_parts(tmp_path, model_file, monkeypatch,
                                                              out):
    from click.testing import CliRunner

    import toolkit.cli.synthesis as synthesis
    from toolkit.cli import cli

    monkeypatch.setattr(synthesis, "CLI_CHUNK_ROWS", 100)
    target = tmp_path / out
    result = CliRunner().invoke(cli, ["sample", str(model_file), "--rows", "250", "--out",
                                      str(target), "--seed", "3", "--quiet"])
    assert result.exit_code == 0, result.output
    table = read_table(target)
    assert table.shape == (250, 20)
    if not target.suffix:
        assert sorted(p.name for p in target.iterdir()) == [
            "part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert [p.name for p in tmp_path.iterdir()] == [out]  # no staging left behind


def test_a_folder_holding_other_files_is_refused_before_sampling(tmp_path, model_file):
    from click.testing import CliRunner

    from toolkit.cli import cli

    (tmp_path / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["sample", str(model_file), "--rows", "10", "--out",
                                      str(tmp_path)])
    assert result.exit_code != 0 and "other files than Parquet parts" in result.output
    assert (tmp_path / "notes.txt").read_text() == "keep me"


# from tests/test_cli.py ---------------------------------------------------------------------




# synth ------------------------------------------------------------------------------------
def test_synth_writes_csv(data_csv, patients):
    ok("synth", data_csv, "--out", "out.csv", "--rows", "25", *TRAIN, "--seed", "1")
    out = pd.read_csv("out.csv")
    assert out.shape == (25, patients.shape[1])
    assert list(out.columns) == list(patients.columns)


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_synth_writes_parquet_by_extension(data_csv, patients, suffix):
    ok("synth", data_csv, "--out", f"out{suffix}", "--rows", "25", *TRAIN, "--seed", "1")
    out = pd.read_parquet(f"out{suffix}")
    assert out.shape == (25, patients.shape[1])
    assert out["time"].dtype == patients["time"].dtype


def test_synth_reads_parquet_input(workdir, patients):
    patients.to_parquet("in.parquet")
    ok("synth", "in.parquet", "--out", "out.csv", "--rows", "10", *TRAIN, "--seed", "1")
    assert len(pd.read_csv("out.csv")) == 10


def test_synth_rows_default_to_input_rows(data_csv, patients):
    ok("synth", data_csv, "--out", "out.csv", *TRAIN, "--seed", "1", "-q")
    assert len(pd.read_csv("out.csv")) == len(patients)


def test_synth_same_seed_gives_identical_output(data_csv):
    for name in ("a.csv", "b.csv"):
        ok("synth", data_csv, "--out", name, "--rows", "40", *TRAIN, "--seed", "11", "-q")
    assert Path("a.csv").read_bytes() == Path("b.csv").read_bytes()


def test_synth_different_seeds_give_different_output(data_csv):
    for name, seed in (("a.csv", "1"), ("b.csv", "2")):
        ok("synth", data_csv, "--out", name, "--rows", "40", *TRAIN, "--seed", seed, "-q")
    assert Path("a.csv").read_bytes() != Path("b.csv").read_bytes()


def test_synth_model_out_saves_a_loadable_model(data_csv):
    ok("synth", data_csv, "--out", "out.csv", "--model-out", "m.tkm", *TRAIN, "--seed", "1")
    model = toolkit.Synthesizer.load("m.tkm")
    assert model.n_rows_ == 418
    assert len(model.history_["loss"]) == 2


def test_synth_reports_progress_lines_on_stderr(data_csv):
    result = ok("synth", data_csv, "--out", "out.csv", "--rows", "5", *TRAIN)
    assert result.stdout == ""
    assert "wrote 5 synthetic rows to out.csv" in result.stderr


def test_synth_quiet_prints_nothing(data_csv):
    result = ok("synth", data_csv, "--out", "out.csv", "--rows", "5", *TRAIN, "-q")
    assert result.output == ""


def test_synth_metadata_file_overrides_kinds(data_csv):
    Path("kinds.yaml").write_text("columns:\n  stage: integer\n")
    ok("synth", data_csv, "--out", "out.csv", "--model-out", "m.tkm", "--metadata", "kinds.yaml",
       *TRAIN, "-q")
    assert toolkit.Synthesizer.load("m.tkm").metadata_["stage"] == "integer"


def test_synth_writes_no_temporary_files(data_csv):
    ok("synth", data_csv, "--out", "out.csv", "--model-out", "m.tkm", "--rows", "5", *TRAIN, "-q")
    assert sorted(p.name for p in data_csv.parent.iterdir()) == ["m.tkm", "out.csv",
                                                                  "patients.csv"]


# fit, sample, info ------------------------------------------------------------------------


def test_fit_saves_a_model_file(model):
    assert toolkit.Synthesizer.load(model).config_.epochs == 3


def test_sample_writes_the_requested_rows(model, patients):
    ok("sample", model, "--rows", "12", "--out", "s.csv", "-q")
    out = pd.read_csv("s.csv")
    assert out.shape == (12, patients.shape[1])


def test_sample_with_seed_is_reproducible(model):
    ok("sample", model, "--rows", "30", "--out", "a.csv", "--seed", "4", "-q")
    ok("sample", model, "--rows", "30", "--out", "b.csv", "--seed", "4", "-q")
    assert Path("a.csv").read_bytes() == Path("b.csv").read_bytes()


def test_sample_matches_synth_with_the_same_seed(data_csv):
    ok("synth", data_csv, "--out", "direct.csv", "--rows", "20", "--model-out", "m.tkm", *TRAIN,
       "--seed", "8", "-q")
    ok("sample", "m.tkm", "--rows", "20", "--out", "later.csv", "--seed", "8", "-q")
    assert Path("direct.csv").read_bytes() == Path("later.csv").read_bytes()


def test_sample_without_seed_is_fresh_and_says_its_seed(data_csv):
    ok("fit", data_csv, "--model-out", "m.tkm", *TRAIN, "--seed", "8", "-q")
    first = ok("sample", "m.tkm", "--rows", "30", "--out", "a.csv")
    ok("sample", "m.tkm", "--rows", "30", "--out", "b.csv")
    assert Path("a.csv").read_bytes() != Path("b.csv").read_bytes()
    seed = first.output.split("pass --seed ")[1].split()[0]
    ok("sample", "m.tkm", "--rows", "30", "--out", "c.csv", "--seed", seed)
    assert Path("a.csv").read_bytes() == Path("c.csv").read_bytes()


# detection: fit --task detect, score ---------------------------------------------------------


def test_fit_task_detect_saves_a_detector(detector_model):
    detector = toolkit.AnomalyDetector.load(detector_model)
    assert detector.contamination == 0.1 and detector.anomaly_score == "ensemble"


def test_fit_keeps_unseen_refuse_in_the_model_file(data_csv):
    ok("fit", data_csv, "--task", "detect", "--unseen", "refuse", "--model-out", "d.tkm", *TRAIN,
       "-q")
    assert toolkit.AnomalyDetector.load("d.tkm").unseen == "refuse"






def test_synthesizer_fit_refuses_detector_options_by_name(workdir):
    data = csv_file("t.csv", small_table())
    result = run("fit", data, "--model-out", "m.tkm", "--score", "latent", "--unseen", "refuse",
                 *TRAIN)
    assert result.exit_code == 2
    assert "--score, --unseen apply to --task detect" in result.output
    assert not os.path.exists("m.tkm")


# from tests/test_trust.py -------------------------------------------------------------------


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
    assert "several rows per patient: modelled as patient histories, subject 'patient_id', " \
           "order 'visit'" in result.output
    real, out = read_table("visits.csv"), read_table("out.csv")
    assert not out["patient_id"].isin(real["patient_id"]).any()
    assert not out["mrn"].isin(real["mrn"]).any()
    # one fresh patient_id and mrn per synthetic patient, on each of the patient's rows
    patients = out.drop_duplicates("patient_id")
    assert patients["mrn"].is_unique and (out.groupby("patient_id")["mrn"].nunique() == 1).all()
    assert (out.groupby("patient_id")["visit"].diff().dropna() >= 0).all()
    refused = run("synth", "visits.csv", "--out", "c.csv", *TRAIN, "--condition", "flag=TRUE")
    assert refused.exit_code == 2 and not Path("c.csv").exists()
    assert "condition on 'flag', which changes within a patient's history" in refused.output


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


@pytest.mark.slow
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
    write_table(visits().drop_duplicates("patient_id"), "visits.csv")  # one row per patient
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


@pytest.mark.slow
def test_private_fit_writes_integers_as_integers(workdir, patients_csv):
    ok("metadata", patients_csv, "--out", "meta.yaml")
    ok("synth", patients_csv, "--out", "p.csv", "--metadata", "meta.yaml", "--epsilon", "1",
       *TRAIN, "--seed", "0", "-q")
    out = pd.read_csv("p.csv", dtype=str)
    for column in ("time", "chol", "platelet", "stage"):
        assert not out[column].dropna().str.contains(r"\.").any(), column


def test_metadata_drafts_a_numeric_order_as_a_number_with_bounds(workdir):
    import yaml

    write_table(visits(), "visits.csv")
    ok("metadata", "visits.csv", "--out", "meta.yaml")
    drafted = yaml.safe_load(Path("meta.yaml").read_text())
    assert drafted["order"] == "visit"  # three values: a category were it not the order
    assert drafted["columns"]["visit"] == {"kind": "integer", "min": 1.0, "max": 3.0}


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


def test_quiet_silences_warnings(workdir):
    Path("t.csv").write_text("sex,age\nm,30.5\nf,41.5\n")
    assert ok("synth", "t.csv", "--out", "out.csv", *TRAIN, "--seed", "0", "-q").output == ""


def test_tiny_table_with_report_writes_everything(workdir):
    Path("five.csv").write_text("a,b,c\n1,x,1.5\n2,y,2.5\n3,x,3.5\n4,y,4.5\n5,z,5.5\n")
    ok("synth", "five.csv", "--out", "f.csv", "--report", "f.html", "--target", "b",
       *TRAIN, "--seed", "0", "-q")
    assert Path("f.csv").exists() and Path("f.html").exists()


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


# from tests/test_trust_api.py ---------------------------------------------------------------


def test_cli_contradicting_conditions_exit_2_before_loading(tmp_path, model_file):
    result = run("sample", model_file, "--rows", "5", "--out", tmp_path / "o.csv",
                 "--condition", "sex=f", "--condition", "sex=m")
    assert "two values, 'f' and 'm'" in one_line_error(result, 2)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("value", ["many", "0", "-5", "2.5"])
def test_a_bad_max_steps_variable_is_one_line_and_writes_nothing(monkeypatch, tmp_path,
                                                                 patients_csv, value):
    monkeypatch.setenv("TOOLKIT_MAX_STEPS", value)
    result = run("synth", patients_csv, "--out", tmp_path / "out.csv", "--seed", 0)
    assert "TOOLKIT_MAX_STEPS must be a positive integer" in one_line_error(result, 2)
    assert not (tmp_path / "out.csv").exists()


def test_the_max_steps_variable_shortens_a_cli_fit(monkeypatch, tmp_path, patients_csv):
    monkeypatch.setenv("TOOLKIT_MAX_STEPS", "20")
    ok("fit", patients_csv, "--model-out", tmp_path / "m.tkm", "--seed", 0, "--quiet")
    config = Synthesizer.load(tmp_path / "m.tkm").config_
    assert config.steps == config.max_steps == 20


def test_a_private_longitudinal_synth_writes_histories_and_says_epsilon_per_patient(workdir):
    write_table(visits(), "visits.csv")
    ok("metadata", "visits.csv", "--out", "meta.yaml")
    result = ok("synth", "visits.csv", "--out", "out.csv", "--metadata", "meta.yaml",
                "--epsilon", "3", "--model-out", "m.tkm", *TRAIN, "--seed", "0")
    assert "differential privacy per patient" in result.output
    out = pd.read_csv("out.csv")
    assert out.groupby("patient_id").size().max() > 1  # histories, not one row per patient
    assert not set(out["patient_id"]) & set(visits()["patient_id"])
    info = ok("info", "m.tkm").output
    assert "per patient" in info and "  patients: noise multipliers" in info
    assert "  histories: noise multipliers" in info
