"""The ``toolkit`` command line, through click's CliRunner and once as the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import toolkit
from toolkit.cli import cli

TRAIN = ["--config", "fast", "--epochs", "2"]

@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty current folder for the command to write into."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def data_csv(workdir, patients_csv) -> Path:
    """A copy of the sample table in the working folder."""
    path = workdir / "patients.csv"
    path.write_bytes(patients_csv.read_bytes())
    return path


def run(*args: str):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def ok(*args: str):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert result.exception is None, result.exception
    return result


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
@pytest.fixture
def model(data_csv) -> Path:
    ok("fit", data_csv, "--model-out", "m.tkm", "--config", "fast", "--epochs", "3", "--seed", "5",
       "-q")
    return Path("m.tkm")


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


def test_info_shows_columns_kinds_and_loss_history(model):
    result = ok("info", model)
    assert "synthesizer (vae backend" in result.stdout
    assert "  age: continuous" in result.stdout
    assert "  id: id" in result.stdout
    assert "  stage: categorical" in result.stdout
    assert "loss history" in result.stdout
    assert "  loss: " in result.stdout and " -> " in result.stdout
    assert "3 epochs" in result.stdout


def test_info_json_is_valid_json(model):
    document = json.loads(ok("info", model, "--json").stdout)
    assert document["kind"] == "synthesizer"
    assert document["adapter"]["kinds"]["age"] == "continuous"
    assert len(document["history"]["loss"]) == 3
    assert {"config", "versions", "fit_seconds", "seed"} <= set(document)


def test_version_prints_the_package_version():
    result = ok("--version")
    assert toolkit.__version__ in result.output


def test_help_lists_the_commands():
    output = ok("--help").output
    for command in ("synth", "fit", "sample", "info"):
        assert command in output


# detection: fit --task detect, score ---------------------------------------------------------
@pytest.fixture
def detector_model(data_csv) -> Path:
    ok("fit", data_csv, "--task", "detect", "--model-out", "d.tkm", *TRAIN, "--seed", "2", "-q")
    return Path("d.tkm")


def test_fit_task_detect_saves_a_detector(detector_model):
    detector = toolkit.AnomalyDetector.load(detector_model)
    assert detector.contamination == 0.1 and detector.anomaly_score == "ensemble"


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
    _table("gaps.csv", patients.head(20).assign(age=float("nan")))  # age never missing
    ok("score", "gaps.csv", "--model", detector_model, "--out", "s.csv", "-q")
    assert pd.read_csv("s.csv")["is_outlier"].eq(1).all()


def test_fit_keeps_unseen_refuse_in_the_model_file(data_csv):
    ok("fit", data_csv, "--task", "detect", "--unseen", "refuse", "--model-out", "d.tkm", *TRAIN,
       "-q")
    assert toolkit.AnomalyDetector.load("d.tkm").unseen == "refuse"


def test_score_keeps_extra_columns_of_the_scored_table(detector_model, patients):
    _table("extra.csv", patients.assign(label=1))
    ok("score", "extra.csv", "--model", detector_model, "--out", "s.csv", "-q")
    assert "label" in pd.read_csv("s.csv").columns


# error table --------------------------------------------------------------------------------
def _write(name: str, text: str | bytes) -> str:
    (Path(name).write_bytes if isinstance(text, bytes) else Path(name).write_text)(text)
    return name


def _table(name: str, frame: pd.DataFrame) -> str:
    frame.to_csv(name, index=False)
    return name


def _fit_model(data: str) -> str:
    ok("fit", data, "--model-out", "synth.tkm", *TRAIN, "-q")
    return "synth.tkm"


def _folder(name: str) -> str:
    Path(name).mkdir()
    return name


def _parquet(name: str, frame: pd.DataFrame) -> str:
    frame.to_parquet(name, index=False)
    return name


def _small() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.5, 2.5, 3.5, 4.5, 5.5] * 4, "b": list("xyzxy") * 4})


# each case: (setup in the working folder returning the arguments, expected exit code)
ERROR_CASES = {
    "missing-input": (lambda: ["synth", "missing.csv", "--out", "out.csv", *TRAIN, "-q"], 1),
    "garbage-csv": (lambda: ["synth", _write("bad.csv", bytes(range(256)) * 8), "--out", "out.csv",
                             *TRAIN, "-q"], 1),
    "ragged-csv": (lambda: ["synth", _write("bad.csv", "a,b\n1,2\n1,2,3,4\n"), "--out", "out.csv",
                            *TRAIN, "-q"], 1),
    "empty-file": (lambda: ["synth", _write("empty.csv", ""), "--out", "out.csv", *TRAIN, "-q"], 1),
    "header-only": (lambda: ["synth", _write("head.csv", "a,b\n"), "--out", "out.csv", *TRAIN,
                             "-q"], 1),
    "one-row": (lambda: ["synth", _write("one.csv", "a,b\n1.5,x\n"), "--out", "out.csv", *TRAIN,
                         "-q"], 1),
    "all-nan-column": (lambda: ["synth", _table("nan.csv", _small().assign(c=float("nan"))),
                                "--out", "out.csv", *TRAIN, "-q"], 1),
    "inf": (lambda: ["synth", _table("inf.csv", _small().assign(a=[float("inf")] + [1.0] * 19)),
                     "--out", "out.csv", *TRAIN, "-q"], 1),
    "unknown-option": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv", "--bogus"],
                       2),
    "unknown-backend": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv",
                                 "--backend", "diffusion"], 2),
    "unknown-config": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv",
                                "--config", "turbo"], 2),
    "unknown-config-key": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv",
                                    "--config", _write("c.yaml", "layers: 3\n")], 2),
    "missing-metadata-file": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv",
                                       "--metadata", "kinds.yaml", *TRAIN, "-q"], 2),
    "rows-zero": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv", "--rows", "0"],
                  2),
    "rows-negative": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv", "--rows",
                               "-5"], 2),
    "epochs-zero": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv", "--epochs",
                             "0"], 2),
    "output-folder-missing": (lambda: ["synth", _table("t.csv", _small()), "--out",
                                       "nowhere/out.csv", *TRAIN], 2),
    "bad-output-extension": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.txt",
                                      *TRAIN], 2),
    "bad-model-out-extension": (lambda: ["synth", _table("t.csv", _small()), "--out", "out.csv",
                                         "--model-out", "m.pkl", *TRAIN], 2),
    "fit-model-folder-missing": (lambda: ["fit", _table("t.csv", _small()), "--model-out",
                                          "nowhere/m.tkm", *TRAIN], 2),
    "sample-rows-zero": (lambda: ["sample", _write("m.tkm", b"x"), "--rows", "0", "--out",
                                  "out.csv"], 2),
    "sample-corrupt-model": (lambda: ["sample", _write("m.tkm", os.urandom(2048)), "--rows", "5",
                                      "--out", "out.csv"], 1),
    "sample-missing-model": (lambda: ["sample", "m.tkm", "--rows", "5", "--out", "out.csv"], 1),
    "info-corrupt-model": (lambda: ["info", _write("m.tkm", b"not a model")], 1),
    "score-no-model": (lambda: ["score", _table("t.csv", _small()), "--out", "s.csv"], 2),
    "score-corrupt-model": (lambda: ["score", _table("t.csv", _small()), "--model",
                                     _write("m.tkm", os.urandom(2048)), "--out", "s.csv"], 1),
    "score-missing-input": (lambda: ["score", "missing.csv", "--fit-on", _table("t.csv", _small()),
                                     "--out", "s.csv", *TRAIN, "-q"], 1),
    "score-wrong-columns": (lambda: ["score", _table("u.csv", _small().rename(columns={"a": "z"})),
                                     "--fit-on", _table("t.csv", _small()), "--out", "s.csv",
                                     *TRAIN, "-q"], 1),
    "score-nan-never-seen-refused": (lambda: ["score",
                                              _table("u.csv", _small().assign(a=float("nan"))),
                                              "--fit-on", _table("t.csv", _small()), "--out",
                                              "s.csv", "--unseen", "refuse", *TRAIN, "-q"], 1),
    "score-unknown-unseen": (lambda: ["score", _table("t.csv", _small()), "--fit-on", "t.csv",
                                      "--out", "s.csv", "--unseen", "ignore"], 2),
    "score-bad-contamination": (lambda: ["score", _table("t.csv", _small()), "--fit-on", "t.csv",
                                         "--out", "s.csv", "--contamination", "0.9"], 2),
    "score-gan-backend": (lambda: ["score", _table("t.csv", _small()), "--fit-on", "t.csv",
                                   "--out", "s.csv", "--backend", "gan"], 2),
    "score-synthesizer-model": (lambda: ["score", _table("t.csv", _small()), "--model",
                                         _fit_model("t.csv"), "--out", "s.csv"], 1),
    "synth-report-bad-extension": (lambda: ["synth", _table("t.csv", _small()), "--out", "o.csv",
                                            "--report", "r.pdf", *TRAIN], 2),
    "synth-report-unknown-target": (lambda: ["synth", _table("t.csv", _small()), "--out", "o.csv",
                                             "--report", "r.html", "--target", "nope", *TRAIN,
                                             "-q"], 1),
    "synth-holdout-frac-too-big": (lambda: ["synth", _table("t.csv", _small()), "--out", "o.csv",
                                            "--report", "r.html", "--holdout-frac", "0.95"], 2),
    "report-json-bad-extension": (lambda: ["report", _table("t.csv", _small()), "t.csv", "--out",
                                           "r.html", "--json", "r.txt"], 2),
    "compare-json-bad-extension": (lambda: ["compare", _table("t.csv", _small()), "--out",
                                            "c.html", "--json", "c.txt"], 2),
    "score-chunk-size-zero": (lambda: ["score", _table("t.csv", _small()), "--fit-on", "t.csv",
                                       "--out", "s.csv", "--chunk-size", "0"], 2),
    "interpolate-one-step": (lambda: ["interpolate", _write("m.tkm", b"x"), "a.csv", "b.csv",
                                      "--steps", "1", "--out", "i.csv"], 2),
    "latent-corrupt-model": (lambda: ["latent", _write("m.tkm", os.urandom(2048)), "--out",
                                      "l.png"], 1),
    "encode-corrupt-model": (lambda: ["encode", _table("t.csv", _small()), "--model",
                                      _write("m.tkm", os.urandom(2048)), "--out", "c.csv"], 1),
    "decode-missing-codes": (lambda: ["decode", "codes.csv", "--model",
                                      _write("m.tkm", os.urandom(2048)), "--out", "d.csv"], 1),
    "score-empty-input": (lambda: ["score", _write("head.csv", "a,b\n"), "--fit-on",
                                   _table("t.csv", _small()), "--out", "s.csv", *TRAIN, "-q"], 1),
    # hostile inputs: one line, the right exit code, nothing written
    "out-is-the-input": (lambda: ["synth", _table("t.csv", _small()), "--out", "t.csv", *TRAIN], 2),
    "score-out-is-the-input": (lambda: ["score", _table("t.csv", _small()), "--fit-on", "t.csv",
                                        "--out", "t.csv", *TRAIN], 2),
    "report-out-is-the-json": (lambda: ["report", _table("t.csv", _small()), "t.csv", "--out",
                                        "r.html", "--json", "r.html"], 2),
    "out-is-a-folder": (lambda: ["synth", _table("t.csv", _small()), "--out", _folder("o.csv"),
                                 *TRAIN], 2),
    "seed-negative": (lambda: ["synth", _table("t.csv", _small()), "--out", "o.csv", "--seed",
                               "-1", *TRAIN], 2),
    "sample-seed-too-big": (lambda: ["sample", _write("m.tkm", b"x"), "--rows", "5", "--out",
                                     "o.csv", "--seed", str(2**40)], 2),
    "synthesize-with-detector-option": (lambda: ["fit", _table("t.csv", _small()), "--model-out",
                                                 "m.tkm", "--contamination", "0.2", *TRAIN], 2),
    "holdout-out-without-report": (lambda: ["synth", _table("t.csv", _small()), "--out", "o.csv",
                                            "--holdout-out", "h.csv", *TRAIN], 2),
    "decode-text-codes": (lambda: ["decode", _table("codes.csv", _small()), "--model",
                                   _fit_model(_table("t.csv", _small())), "--out", "d.csv"], 1),
    "report-target-all-missing": (lambda: ["report", _table("r.csv", _small().assign(c=None)),
                                           _table("s.csv", _small().assign(c="x")), "--out",
                                           "r.html", "--target", "c", "-q"], 1),
    "parquet-list-column": (lambda: ["synth", _parquet("l.parquet", pd.DataFrame(
        {"l": [[1, 2], [3]] * 10, "x": range(20)})), "--out", "o.csv", *TRAIN, "-q"], 1),
    "ambiguous-delimiter": (lambda: ["synth", _write("a.csv", "a,b;c\n1;2,3,4\n5\n6,7;8;9;10\n"),
                                     "--out", "o.csv", *TRAIN, "-q"], 1),
    "metadata-constant-nonsense": (lambda: ["synth", _table("t.csv", _small()), "--out", "o.csv",
                                            "--metadata", _write("m.yaml", "a: constant\n"),
                                            *TRAIN, "-q"], 1),
    "metadata-datetime-nonsense": (lambda: ["synth", _table("t.csv", _small()), "--out", "o.csv",
                                            "--metadata", _write("m.yaml", "a: datetime\n"),
                                            *TRAIN, "-q"], 1),
    "metadata-boolean-nonsense": (lambda: ["synth", _table("t.csv", _small()), "--out", "o.csv",
                                           "--metadata", _write("m.yaml", "b: boolean\n"),
                                           *TRAIN, "-q"], 1),
    "metadata-columns-not-a-mapping": (lambda: ["synth", _table("t.csv", _small()), "--out",
                                                "o.csv", "--metadata",
                                                _write("m.yaml", "columns: [a, b]\n"), *TRAIN,
                                                "-q"], 2),
}
CLICK_CHECKED = {"seed-negative", "sample-seed-too-big",
                 "unknown-option", "unknown-backend", "rows-zero", "rows-negative", "epochs-zero",
                 "sample-rows-zero", "score-bad-contamination", "synth-holdout-frac-too-big",
                 "score-chunk-size-zero", "interpolate-one-step"}


@pytest.mark.parametrize(
    "case",
    [name if name in CLICK_CHECKED else pytest.param(name)
     for name in ERROR_CASES],
)
def test_error_exit_code(workdir, case):
    setup, code = ERROR_CASES[case]
    result = run(*setup())
    assert result.exit_code == code, result.output


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_error_is_one_line_without_traceback_and_leaves_no_files(workdir, case):
    setup, _ = ERROR_CASES[case]
    args = setup()
    before = set(os.listdir(workdir))
    result = run(*args)
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert set(os.listdir(workdir)) == before


def test_error_message_names_the_column_at_fault(workdir):
    result = run(*ERROR_CASES["inf"][0]())
    assert "'a'" in result.output and "inf" in result.output


def test_synthesizer_fit_refuses_detector_options_by_name(workdir):
    data = _table("t.csv", _small())
    result = run("fit", data, "--model-out", "m.tkm", "--score", "latent", "--unseen", "refuse",
                 *TRAIN)
    assert result.exit_code == 2
    assert "--score, --unseen apply to --task detect" in result.output
    assert not os.path.exists("m.tkm")


def test_unknown_config_key_error_lists_valid_keys(workdir):
    result = run(*ERROR_CASES["unknown-config-key"][0]())
    assert "layers" in result.output and "valid keys:" in result.output


# the real console script --------------------------------------------------------------------
def _console_script() -> Path:
    script = Path(sys.executable).parent / "toolkit"
    if not script.exists():
        pytest.skip("the toolkit console script is not installed next to this Python")
    return script


def _run_script(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([str(_console_script()), *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_console_script_synth_end_to_end(tmp_path, patients_csv):
    out = tmp_path / "X.csv"
    done = _run_script("synth", patients_csv, "--rows", "50", "--out", out, "--config", "fast",
                       "--epochs", "2", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    frame = pd.read_csv(out)
    assert frame.shape == (50, 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.csv"]
def test_console_script_exits_1_on_a_data_error(tmp_path):
    done = _run_script("synth", "missing.csv", "--out", "X.csv", cwd=tmp_path)
    assert done.stderr.strip() == "Error: input file not found: missing.csv"
    assert done.returncode == 1


def test_console_script_exits_2_on_a_usage_error(tmp_path):
    done = _run_script("synth", "missing.csv", "--out", "X.csv", "--bogus", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: No such option")
    assert len(done.stderr.splitlines()) == 1
