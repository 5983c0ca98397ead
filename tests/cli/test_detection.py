"""``toolkit score`` (toolkit.cli.detection): scores, flags and explanations written chunk by
chunk as one pass computes them, compressed input, odd bytes and values, no partial output."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import BAD_BYTES, TRAIN, check_exits, csv_file, ok, one_line_error, run

import toolkit
from toolkit.cli import cli
from toolkit.exceptions import UsageError
from toolkit.io import read_table, write_table

# from tests/test_cli.py ---------------------------------------------------------------------




# detection: fit --task detect, score ---------------------------------------------------------


def test_score_with_a_model_writes_rows_scores_and_flags(detector_model, data_csv, patients):
    ok("score", data_csv, "--model", detector_model, "--out", "scores.csv", "-q")
    out = pd.read_csv("scores.csv")
    assert list(out.columns) == [*patients.columns, "anomaly_score", "is_outlier"]
    assert len(out) == len(patients)
    assert set(out["is_outlier"]) == {0, 1}
    expected = toolkit.AnomalyDetector.load(detector_model).decision_function(patients)
    assert out["anomaly_score"].to_numpy() == pytest.approx(expected, rel=1e-6)


def test_score_streams_in_chunks_with_the_same_result(detector_model, data_csv):
    ok("score", data_csv, "--model", detector_model, "--out", "whole.csv", "-q")
    ok("score", data_csv, "--model", detector_model, "--out", "chunked.csv", "--chunk-size", "50",
       "-q")
    pd.testing.assert_frame_equal(pd.read_csv("whole.csv"), pd.read_csv("chunked.csv"))


def test_score_parquet_output(detector_model, data_csv, patients):
    ok("score", data_csv, "--model", detector_model, "--out", "scores.parquet", "--chunk-size",
       "100", "-q")
    assert len(pd.read_parquet("scores.parquet")) == len(patients)


def test_score_contamination_changes_the_flagged_share(detector_model, data_csv):
    ok("score", data_csv, "--model", detector_model, "--out", "s.csv", "--contamination", "0.02",
       "-q")
    assert pd.read_csv("s.csv")["is_outlier"].mean() == pytest.approx(0.02, abs=0.01)


def test_score_explain_lists_top_columns(detector_model, data_csv):
    ok("score", data_csv, "--model", detector_model, "--out", "s.csv", "--explain", "--top", "2",
       "-q")
    top = pd.read_csv("s.csv")["top_columns"]
    assert top.str.count(";").eq(1).all()
    assert top.str.match(r"^[\w.]+ \(-?\d+\.\d\); [\w.]+ \(-?\d+\.\d\)$").all()


def test_score_fit_on_trains_then_scores(data_csv, patients):
    ok("score", data_csv, "--fit-on", data_csv, "--out", "s.csv", *TRAIN, "--seed", "1", "-q")
    assert len(pd.read_csv("s.csv")) == len(patients)


def test_score_flags_a_missing_value_training_never_had(detector_model, patients):
    csv_file("gaps.csv", patients.head(20).assign(age=float("nan")))  # age never missing
    ok("score", "gaps.csv", "--model", detector_model, "--out", "s.csv", "-q")
    assert pd.read_csv("s.csv")["is_outlier"].eq(1).all()


def test_score_keeps_extra_columns_of_the_scored_table(detector_model, patients):
    csv_file("extra.csv", patients.assign(label=1))
    ok("score", "extra.csv", "--model", detector_model, "--out", "s.csv", "-q")
    assert "label" in pd.read_csv("s.csv").columns




# from tests/test_score_throughput.py --------------------------------------------------------


# the detector -------------------------------------------------------------


# the score command ---------------------------------------------------------------------------
@pytest.fixture
def scored_setup(tmp_path, patients_detector, _patients_frame):
    model = tmp_path / "d.tkm"
    patients_detector.save(model)
    data = tmp_path / "patients.csv"
    _patients_frame.to_csv(data, index=False)
    return model, data


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_writes_what_one_pass_computes(scored_setup, patients_detector, _patients_frame,
                                             suffix):
    model, data = scored_setup
    out = data.with_name("scores" + suffix)
    result = CliRunner().invoke(cli, ["score", str(data), "--model", str(model), "--out",
                                      str(out), "--chunk-size", "37", "-q"])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    expected = patients_detector.decision_function(_patients_frame)
    assert np.abs(scores["anomaly_score"].to_numpy() - expected).max() <= 1e-9
    assert scores["id"].tolist() == _patients_frame["id"].tolist()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_chunk_that_fails_to_read_leaves_no_output(scored_setup, _patients_frame, suffix):
    model, data = scored_setup
    broken = _patients_frame.astype({"chol": object})
    broken.loc[300, "chol"] = "high"  # text in a later chunk of a column of numbers
    broken.to_csv(data, index=False)
    out = data.with_name("scores" + suffix)
    result = CliRunner().invoke(cli, ["score", str(data), "--model", str(model), "--out",
                                      str(out), "--chunk-size", "100", "--unseen", "refuse",
                                      "-q"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "column 'chol' holds 'high', which is not a number" in lines[0]
    assert sorted(p.name for p in data.parent.iterdir()) == ["d.tkm", "patients.csv"]


@pytest.mark.slow
def test_sigterm_while_scoring_leaves_no_file(scored_setup, _patients_frame):
    import subprocess
    import sys

    model, data = scored_setup
    pd.concat([_patients_frame] * 300, ignore_index=True).to_csv(data, index=False)
    out = data.with_name("scores.csv")
    code = ("import sys; from toolkit.cli import main; sys.argv = ['toolkit', 'score', "
            f"{str(data)!r}, '--model', {str(model)!r}, '--out', {str(out)!r}, "
            "'--chunk-size', '2000', '-q']; main()")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(data.parent.glob(".scores.csv.*.tmp")) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # a few chunks in: reading, scoring and writing all under way
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().startswith("Error: terminated"), stderr
    assert sorted(p.name for p in data.parent.iterdir()) == ["d.tkm", "patients.csv"]


# from tests/test_trust.py -------------------------------------------------------------------


def test_score_to_parquet_with_a_text_column_missing_in_the_first_chunk(workdir):
    train = pd.DataFrame({"x": np.arange(200) + 0.5, "note": ["a", "b", None, "a"] * 50})
    write_table(train, "train.csv")
    new = pd.DataFrame({"x": np.arange(100) + 0.5, "note": [None] * 60 + ["a", "b"] * 20})
    write_table(new, "new.csv")
    ok("score", "new.csv", "--fit-on", "train.csv", "--out", "s.parquet", "--chunk-size", "50",
       *TRAIN, "--seed", "0", "-q")
    scored = pd.read_parquet("s.parquet")
    assert len(scored) == 100 and scored["note"].iloc[60:].tolist() == ["a", "b"] * 20


# from tests/test_trust_files.py -------------------------------------------------------------




def test_score_reads_a_gzipped_csv_and_refuses_to_write_one(workdir, patients_csv,
                                                            detector_file):
    Path("patients.csv.gz").write_bytes(gzip.compress(patients_csv.read_bytes()))
    for data, out in (("patients.csv.gz", "from_gz.csv"), (patients_csv, "from_csv.csv")):
        result = run("score", data, "--model", detector_file, "--out", out, "-q")
        assert result.exit_code == 0, result.output
    assert Path("from_gz.csv").read_bytes() == Path("from_csv.csv").read_bytes()
    result = run("score", "patients.csv.gz", "--model", detector_file, "--out", "s.csv.gz")
    assert "s.csv.gz" in one_line_error(result, 2)
    with pytest.raises(UsageError, match=r"^cannot write out\.csv\.gz: compressed CSV files are "
                                         "read, not written"):
        write_table(read_table("patients.csv.gz"), "out.csv.gz")
    assert sorted(p.name for p in workdir.iterdir()) == ["from_csv.csv", "from_gz.csv",
                                                         "patients.csv.gz"]


# bytes that are not text ---------------------------------------------------------------------












@pytest.mark.slow
def test_score_of_bytes_that_are_not_text_exits_1_in_a_fresh_process(workdir, detector_file):
    """The command that crashed (exit 134 as Python exited after the error), each in a
    process of its own as a user runs it."""
    cases = []
    for kind, content in BAD_BYTES.items():
        Path(f"{kind}.csv").write_bytes(content)
        cases.append(["score", f"{kind}.csv", "--model", str(detector_file), "--out", "o.csv"])
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    results = []
    for args in cases:
        done = subprocess.run([sys.executable, "-c", "from toolkit.cli import main; main()",
                               *args], capture_output=True, text=True, env=environment,
                              timeout=300)
        results.append([done.returncode, done.stdout + done.stderr])
    check_exits(results, cases)


# scores typed by the model -------------------------------------------------------------------
@pytest.fixture
def odd_tables(workdir, _patients_frame) -> tuple[Path, Path, int, int]:
    """The sample table with ``<5`` in chol at row 5, and the same rows with rows 5 and 400
    swapped (so ``<5`` sits in a later chunk)."""
    table = _patients_frame.astype({"chol": object})
    early, late = 5, 400
    table.loc[early, "chol"] = "<5"
    table.to_csv("early.csv", index=False)
    order = np.arange(len(table))
    order[[early, late]] = order[[late, early]]
    table.iloc[order].to_csv("late.csv", index=False)
    return Path("early.csv"), Path("late.csv"), early, late


@pytest.mark.slow
def test_text_in_a_number_column_is_scored_the_same_whatever_the_chunks(odd_tables,
                                                                        detector_file):
    early, late, row, moved = odd_tables
    scored = {}
    for data in (early, late):
        for size in (7, 100, 1000):
            out = f"{data.stem}-{size}.csv"
            result = run("score", data, "--model", detector_file, "--out", out,
                         "--chunk-size", size, "--explain", "-q")
            assert result.exit_code == 0, result.output
            scored[data.stem, size] = pd.read_csv(out, dtype=str)
    for size in (100, 1000):  # byte for byte the same table
        assert scored["early", size].equals(scored["early", 7])
        assert scored["late", size].equals(scored["late", 7])
    first, second = scored["early", 7], scored["late", 7]
    assert first.iloc[row].equals(second.iloc[moved])  # the same row, wherever it sits
    assert first.loc[row, "chol"] == "<5" and first.loc[row, "is_outlier"] == "1"
    assert first.loc[row, "top_columns"].startswith("chol (")


@pytest.mark.slow
def test_refusing_unseen_values_names_the_column_and_value_whatever_the_chunks(odd_tables,
                                                                               detector_file):
    early, late, _, _ = odd_tables
    for data in (early, late):
        for size in (7, 1000):
            result = run("score", data, "--model", detector_file, "--out", "s.csv",
                         "--chunk-size", size, "--unseen", "refuse")
            assert result.exit_code == 1
            assert one_line_error(result, 1) == (
                "Error: column 'chol' holds '<5', which is not a number; correct or remove it, "
                "or score it as never seen (unseen 'score')")
    assert not Path("s.csv").exists()
