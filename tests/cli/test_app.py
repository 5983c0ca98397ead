"""The ``toolkit`` command group (toolkit.cli.app): version and help, one exit code and one line
per error, the real console script, signals, options documented."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import BAD_BYTES, TRAIN, check_exits, csv_file, ok, one_line_error, run, small_table

import toolkit
from toolkit.cli import cli

# from tests/test_cli.py ---------------------------------------------------------------------


def test_version_prints_the_package_version():
    result = ok("--version")
    assert toolkit.__version__ in result.output


def test_help_lists_the_commands():
    output = ok("--help").output
    for command in ("synth", "fit", "sample", "info"):
        assert command in output


# error table --------------------------------------------------------------------------------
def _write(name: str, text: str | bytes) -> str:
    (Path(name).write_bytes if isinstance(text, bytes) else Path(name).write_text)(text)
    return name




def small_csv() -> str:
    """:func:`helpers.small_table` written to ``t.csv``."""
    return csv_file("t.csv", small_table())


def _fit_model(data: str) -> str:
    ok("fit", data, "--model-out", "synth.tkm", *TRAIN, "-q")
    return "synth.tkm"


def _folder(name: str) -> str:
    Path(name).mkdir()
    return name


def _parquet(name: str, frame: pd.DataFrame) -> str:
    frame.to_parquet(name, index=False)
    return name




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
    "all-nan-column": (lambda: ["synth", csv_file("nan.csv", small_table().assign(c=float("nan"))),
                                "--out", "out.csv", *TRAIN, "-q"], 1),
    "inf": (lambda: ["synth",
                     csv_file("inf.csv", small_table().assign(a=[float("inf")] + [1.0] * 19)),
                     "--out", "out.csv", *TRAIN, "-q"], 1),
    "unknown-option": (lambda: ["synth", small_csv(), "--out", "out.csv", "--bogus"],
                       2),
    "unknown-backend": (lambda: ["synth", small_csv(), "--out", "out.csv",
                                 "--backend", "diffusion"], 2),
    "unknown-config": (lambda: ["synth", small_csv(), "--out", "out.csv",
                                "--config", "turbo"], 2),
    "unknown-config-key": (lambda: ["synth", small_csv(), "--out", "out.csv",
                                    "--config", _write("c.yaml", "layers: 3\n")], 2),
    "missing-metadata-file": (lambda: ["synth", small_csv(), "--out", "out.csv",
                                       "--metadata", "kinds.yaml", *TRAIN, "-q"], 2),
    "rows-zero": (lambda: ["synth", small_csv(), "--out", "out.csv", "--rows", "0"],
                  2),
    "rows-negative": (lambda: ["synth", small_csv(), "--out", "out.csv", "--rows",
                               "-5"], 2),
    "epochs-zero": (lambda: ["synth", small_csv(), "--out", "out.csv", "--epochs",
                             "0"], 2),
    "output-folder-missing": (lambda: ["synth", small_csv(), "--out",
                                       "nowhere/out.csv", *TRAIN], 2),
    "bad-output-extension": (lambda: ["synth", small_csv(), "--out", "out.txt",
                                      *TRAIN], 2),
    "bad-model-out-extension": (lambda: ["synth", small_csv(), "--out", "out.csv",
                                         "--model-out", "m.pkl", *TRAIN], 2),
    "fit-model-folder-missing": (lambda: ["fit", small_csv(), "--model-out",
                                          "nowhere/m.tkm", *TRAIN], 2),
    "sample-rows-zero": (lambda: ["sample", _write("m.tkm", b"x"), "--rows", "0", "--out",
                                  "out.csv"], 2),
    "sample-corrupt-model": (lambda: ["sample", _write("m.tkm", os.urandom(2048)), "--rows", "5",
                                      "--out", "out.csv"], 1),
    "sample-missing-model": (lambda: ["sample", "m.tkm", "--rows", "5", "--out", "out.csv"], 1),
    "info-corrupt-model": (lambda: ["info", _write("m.tkm", b"not a model")], 1),
    "score-no-model": (lambda: ["score", small_csv(), "--out", "s.csv"], 2),
    "score-corrupt-model": (lambda: ["score", small_csv(), "--model",
                                     _write("m.tkm", os.urandom(2048)), "--out", "s.csv"], 1),
    "score-missing-input": (lambda: ["score", "missing.csv", "--fit-on", small_csv(),
                                     "--out", "s.csv", *TRAIN, "-q"], 1),
    "score-wrong-columns": (lambda: ["score",
                                     csv_file("u.csv", small_table().rename(columns={"a": "z"})),
                                     "--fit-on", small_csv(), "--out", "s.csv",
                                     *TRAIN, "-q"], 1),
    "score-nan-never-seen-refused": (lambda: ["score", csv_file(
                                                  "u.csv", small_table().assign(a=float("nan"))),
                                              "--fit-on", small_csv(), "--out",
                                              "s.csv", "--unseen", "refuse", *TRAIN, "-q"], 1),
    "score-unknown-unseen": (lambda: ["score", small_csv(), "--fit-on", "t.csv",
                                      "--out", "s.csv", "--unseen", "ignore"], 2),
    "score-bad-contamination": (lambda: ["score", small_csv(), "--fit-on", "t.csv",
                                         "--out", "s.csv", "--contamination", "0.9"], 2),
    "score-gan-backend": (lambda: ["score", small_csv(), "--fit-on", "t.csv",
                                   "--out", "s.csv", "--backend", "gan"], 2),
    "score-synthesizer-model": (lambda: ["score", small_csv(), "--model",
                                         _fit_model("t.csv"), "--out", "s.csv"], 1),
    "synth-report-bad-extension": (lambda: ["synth", small_csv(), "--out", "o.csv",
                                            "--report", "r.pdf", *TRAIN], 2),
    "synth-report-unknown-target": (lambda: ["synth", small_csv(), "--out", "o.csv",
                                             "--report", "r.html", "--target", "nope", *TRAIN,
                                             "-q"], 1),
    "synth-holdout-frac-too-big": (lambda: ["synth", small_csv(), "--out", "o.csv",
                                            "--report", "r.html", "--holdout-frac", "0.95"], 2),
    "report-json-bad-extension": (lambda: ["report", small_csv(), "t.csv", "--out",
                                           "r.html", "--json", "r.txt"], 2),
    "compare-json-bad-extension": (lambda: ["compare", small_csv(), "--out",
                                            "c.html", "--json", "c.txt"], 2),
    "score-chunk-size-zero": (lambda: ["score", small_csv(), "--fit-on", "t.csv",
                                       "--out", "s.csv", "--chunk-size", "0"], 2),
    "interpolate-one-step": (lambda: ["interpolate", _write("m.tkm", b"x"), "a.csv", "b.csv",
                                      "--steps", "1", "--out", "i.csv"], 2),
    "latent-corrupt-model": (lambda: ["latent", _write("m.tkm", os.urandom(2048)), "--out",
                                      "l.png"], 1),
    "encode-corrupt-model": (lambda: ["encode", small_csv(), "--model",
                                      _write("m.tkm", os.urandom(2048)), "--out", "c.csv"], 1),
    "decode-missing-codes": (lambda: ["decode", "codes.csv", "--model",
                                      _write("m.tkm", os.urandom(2048)), "--out", "d.csv"], 1),
    "score-empty-input": (lambda: ["score", _write("head.csv", "a,b\n"), "--fit-on",
                                   small_csv(), "--out", "s.csv", *TRAIN, "-q"], 1),
    # hostile inputs: one line, the right exit code, nothing written
    "out-is-the-input": (lambda: ["synth", small_csv(), "--out", "t.csv", *TRAIN], 2),
    "score-out-is-the-input": (lambda: ["score", small_csv(), "--fit-on", "t.csv",
                                        "--out", "t.csv", *TRAIN], 2),
    "report-out-is-the-json": (lambda: ["report", small_csv(), "t.csv", "--out",
                                        "r.html", "--json", "r.html"], 2),
    "out-is-a-folder": (lambda: ["synth", small_csv(), "--out", _folder("o.csv"),
                                 *TRAIN], 2),
    "seed-negative": (lambda: ["synth", small_csv(), "--out", "o.csv", "--seed",
                               "-1", *TRAIN], 2),
    "sample-seed-too-big": (lambda: ["sample", _write("m.tkm", b"x"), "--rows", "5", "--out",
                                     "o.csv", "--seed", str(2**40)], 2),
    "synthesize-with-detector-option": (lambda: ["fit", small_csv(), "--model-out",
                                                 "m.tkm", "--contamination", "0.2", *TRAIN], 2),
    "holdout-out-without-report": (lambda: ["synth", small_csv(), "--out", "o.csv",
                                            "--holdout-out", "h.csv", *TRAIN], 2),
    "decode-text-codes": (lambda: ["decode", csv_file("codes.csv", small_table()), "--model",
                                   _fit_model(small_csv()), "--out", "d.csv"], 1),
    "report-target-all-missing": (lambda: ["report",
                                           csv_file("r.csv", small_table().assign(c=None)),
                                           csv_file("s.csv", small_table().assign(c="x")), "--out",
                                           "r.html", "--target", "c", "-q"], 1),
    "parquet-list-column": (lambda: ["synth", _parquet("l.parquet", pd.DataFrame(
        {"l": [[1, 2], [3]] * 10, "x": range(20)})), "--out", "o.csv", *TRAIN, "-q"], 1),
    "ambiguous-delimiter": (lambda: ["synth", _write("a.csv", "a,b;c\n1;2,3,4\n5\n6,7;8;9;10\n"),
                                     "--out", "o.csv", *TRAIN, "-q"], 1),
    "metadata-constant-nonsense": (lambda: ["synth", small_csv(), "--out", "o.csv",
                                            "--metadata", _write("m.yaml", "a: constant\n"),
                                            *TRAIN, "-q"], 1),
    "metadata-datetime-nonsense": (lambda: ["synth", small_csv(), "--out", "o.csv",
                                            "--metadata", _write("m.yaml", "a: datetime\n"),
                                            *TRAIN, "-q"], 1),
    "metadata-boolean-nonsense": (lambda: ["synth", small_csv(), "--out", "o.csv",
                                           "--metadata", _write("m.yaml", "b: boolean\n"),
                                           *TRAIN, "-q"], 1),
    "metadata-columns-not-a-mapping": (lambda: ["synth", small_csv(), "--out",
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


@pytest.mark.slow
def test_console_script_synth_end_to_end(tmp_path, patients_csv):
    out = tmp_path / "X.csv"
    done = _run_script("synth", patients_csv, "--rows", "50", "--out", out, "--config", "fast",
                       "--epochs", "2", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    frame = pd.read_csv(out)
    assert frame.shape == (50, 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["X.csv"]


@pytest.mark.slow
def test_console_script_exits_1_on_a_data_error(tmp_path):
    done = _run_script("synth", "missing.csv", "--out", "X.csv", cwd=tmp_path)
    assert done.stderr.strip() == "Error: input file not found: missing.csv"
    assert done.returncode == 1


@pytest.mark.slow
def test_console_script_exits_2_on_a_usage_error(tmp_path):
    done = _run_script("synth", "missing.csv", "--out", "X.csv", "--bogus", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("Error: No such option")
    assert len(done.stderr.splitlines()) == 1


# from tests/test_trust.py -------------------------------------------------------------------


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


@pytest.mark.slow
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


# from tests/test_trust_api.py ---------------------------------------------------------------


# a folder where a model file belongs ----------------------------------------------------------
@pytest.mark.parametrize("command", [
    ["sample", "{model}", "--rows", "5", "--out", "o.csv"],
    ["info", "{model}"],
    ["score", "{data}", "--model", "{model}", "--out", "s.csv"],
    ["encode", "{data}", "--model", "{model}", "--out", "e.csv"],
    ["decode", "{data}", "--model", "{model}", "--out", "d.csv"],
    ["reconstruct", "{data}", "--model", "{model}", "--out", "r.csv"],
    ["interpolate", "{model}", "{data}", "{data}", "--out", "i.csv"],
    ["latent", "{model}", "--out", "l.png"],
])
def test_a_folder_is_not_a_model_file(command, tmp_path, monkeypatch, patients_csv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somefolder").mkdir()
    args = [part.format(model="somefolder", data=patients_csv) for part in command]
    line = one_line_error(run(*args), 1)
    assert line == "Error: somefolder is a folder, not a model file (.tkm)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somefolder"]


# help texts ------------------------------------------------------------------------------------
def _commands() -> list[tuple[str, click.Command]]:
    return sorted(cli.commands.items())


@pytest.mark.parametrize(("name", "command"), _commands())
def test_every_option_has_help(name, command):
    undocumented = [param.opts for param in command.params
                    if isinstance(param, click.Option) and not (param.help or "").strip()]
    assert not undocumented, f"toolkit {name}: {undocumented}"


def _help(command: str) -> str:
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_help_says_which_options_need_which_mode():
    fit = _help("fit")
    for option in ("--score", "--contamination", "--unseen"):
        assert re.search(re.escape(option) + r" [^.]*? With --task detect: [a-z]", fit), option
    score = _help("score")
    assert re.search(r"--config TEXT With --fit-on: .*\[default: 'detect'; 'detect-images' on "
                     r"images\]", score)
    assert "[default: 'default'" not in score
    assert re.search(r"--steps INTEGER RANGE Records decoded along the latent line",
                     _help("interpolate"))


# from tests/test_trust_files.py -------------------------------------------------------------




# bytes that are not text ---------------------------------------------------------------------








# no command ends by a signal -----------------------------------------------------------------
#: runs each command line of argv[1] (JSON) in a child forked from one interpreter that has
#: imported the toolkit once, so that each child exits through Python's own shutdown (where
#: a background thread still at work would abort it) at a fraction of a fresh start's cost
#: (frozen, the imported objects are not collected again by every child)
FORK_RUNNER = textwrap.dedent("""
    import gc, json, os, sys
    import pandas, pyarrow.csv, sklearn.ensemble, torch  # imported once, shared by the children
    import toolkit.cli, toolkit.models.detector, toolkit.models.synthesizer, toolkit.evaluate.report
    gc.freeze()
    results = []
    for number, args in enumerate(json.loads(sys.argv[1])):
        log = f"case-{number}.log"
        sys.stdout.flush(); sys.stderr.flush()
        child = os.fork()
        if child == 0:
            output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(output, 1); os.dup2(output, 2)
            sys.argv = ["toolkit", *args]
            toolkit.cli.main()
            sys.exit(0)
        _, status = os.waitpid(child, 0)
        with open(log) as text:
            results.append([os.waitstatus_to_exitcode(status), text.read()])
    print(json.dumps(results))
""")




def command_lines(table: str, model: str, good_csv: str, synthesizer: str,
                  detector: str) -> list[list[str]]:
    """Every command that reads a table or a model, once with ``table`` or ``model`` bad."""
    train = ["--config", "fast", "--epochs", "1", "--seed", "0", "-q"]
    return [
        ["synth", table, "--out", "o.csv", *train],
        ["fit", table, "--model-out", "m.tkm", *train],
        ["fit", table, "--task", "detect", "--model-out", "m.tkm", *train],
        ["score", table, "--model", detector, "--out", "o.csv"],
        ["score", good_csv, "--model", model, "--out", "o.csv"],
        ["sample", model, "--rows", "5", "--out", "o.csv"],
        ["report", table, good_csv, "--out", "r.html"],
        ["report", good_csv, table, "--out", "r.html"],
        ["compare", table, "--out", "c.html"],
        ["info", model],
        ["metadata", table, "--out", "m.yaml"],
        ["encode", table, "--model", synthesizer, "--out", "e.csv"],
        ["encode", good_csv, "--model", model, "--out", "e.csv"],
        ["decode", table, "--model", synthesizer, "--out", "d.csv"],
        ["reconstruct", table, "--model", synthesizer, "--out", "r.csv"],
        ["reconstruct", good_csv, "--model", model, "--out", "r.csv"],
        ["interpolate", synthesizer, table, table, "--out", "i.csv"],
        ["interpolate", model, good_csv, good_csv, "--out", "i.csv"],
        ["latent", model, "--out", "l.png"],
    ]




@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a child per command")
def test_no_command_is_ended_by_a_signal_on_bytes_that_are_not_a_table_or_a_model(
        workdir, patients_csv, model_file, detector_file):
    cases = []
    for kind, content in BAD_BYTES.items():
        Path(f"{kind}.csv").write_bytes(content)
        Path(f"{kind}.tkm").write_bytes(content)
        cases += command_lines(f"{kind}.csv", f"{kind}.tkm", str(patients_csv),
                               str(model_file), str(detector_file))
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", FORK_RUNNER, json.dumps(cases)],
                          capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr
    check_exits(json.loads(done.stdout.strip().splitlines()[-1]), cases)
    assert sorted(p.name for p in workdir.iterdir() if not p.name.startswith("case-")) == sorted(
        f"{kind}{suffix}" for kind in BAD_BYTES for suffix in (".csv", ".tkm"))
