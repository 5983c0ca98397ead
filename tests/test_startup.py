"""Start-up: the command line imports what a command needs when it runs, not before.

Each check runs in a fresh interpreter (a subprocess) and looks at ``sys.modules``: it asserts
which modules are loaded, not how long loading took, so it holds on a busy machine too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: modules of the report (sdmetrics, matplotlib) and of private training (opacus): seconds
#: of start-up that only ``report``, ``compare``, image maps and ``--epsilon`` fits need
HEAVY = ("sdmetrics", "matplotlib", "opacus")


def loaded_after(statements: str, watched: tuple[str, ...]) -> list[str]:
    """The ``watched`` modules loaded once ``statements`` ran in a fresh interpreter (a
    ``SystemExit`` of the command line is the normal end of a command)."""
    code = (f"import json, sys\ntry:\n    {statements}\nexcept SystemExit:\n    pass\n"
            f"print(json.dumps(sorted(m for m in {watched!r} if m in sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def cli_call(*args: str) -> str:
    return f"from toolkit.cli import cli; cli.main({list(args)!r}, prog_name='toolkit')"


@pytest.mark.slow
def test_importing_the_command_line_loads_no_heavy_module():
    assert loaded_after("import toolkit.cli", HEAVY + ("torch",)) == []


@pytest.mark.slow
def test_the_brief_check_prints_an_empty_list():
    # the one-liner of issue 17, as written there
    code = ("import toolkit.cli, sys; print(sorted(m for m in ('sdmetrics','matplotlib','opacus')"
            " if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert done.stdout.strip() == "[]", done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("args", [("--version",), ("--help",), ("sample", "--help"),
                                  ("score", "--help"), ("report", "--help")])
def test_version_and_help_load_neither_torch_nor_heavy_modules(args):
    assert loaded_after(cli_call(*args), HEAVY + ("torch",)) == []


@pytest.mark.slow
@pytest.mark.parametrize("args", [("--version",), ("--help",), ("synth", "--help")])
def test_version_and_help_load_not_even_pandas_or_scikit_learn(args):
    # a second of numpy, pandas, scipy and scikit-learn imports would dwarf the 0.3 s budget
    light = ("numpy", "pandas", "scipy", "sklearn", "pyarrow", "torch")
    assert loaded_after(cli_call(*args), light) == []


@pytest.mark.slow
def test_sample_loads_no_heavy_module(fitted, tmp_path):
    model = tmp_path / "model.tkm"
    fitted.save(model)
    out = tmp_path / "rows.csv"
    column, value = "sex", str(fitted.sample(1, random_state=0)["sex"].iloc[0])
    statements = cli_call("sample", str(model), "--rows", "50", "--out", str(out), "--seed",
                          "0", "--condition", f"{column}={value}", "--quiet")
    assert loaded_after(statements, HEAVY) == []
    assert out.exists()


@pytest.mark.slow
def test_score_loads_no_heavy_module(tmp_path, patients):
    data = tmp_path / "table.csv"
    patients.to_csv(data, index=False)
    statements = cli_call("score", str(data), "--fit-on", str(data), "--out",
                          str(tmp_path / "scores.csv"), "--config", "fast", "--epochs", "1",
                          "--seed", "0", "--quiet")
    assert loaded_after(statements, HEAVY) == []


@pytest.mark.slow
def test_sample_and_score_with_a_saved_model_import_no_fitting_machinery(fitted, tmp_path):
    # scikit-learn's mixtures and forests grow what a model file already holds
    model, detector = tmp_path / "model.tkm", tmp_path / "detector.tkm"
    fitted.save(model)
    table = tmp_path / "rows.csv"
    statements = cli_call("sample", str(model), "--rows", "50", "--out", str(table),
                          "--seed", "0", "--quiet")
    fitting = ("sklearn.mixture", "sklearn.ensemble")
    assert loaded_after(statements, fitting) == []
    subprocess.run([sys.executable, "-c", cli_call(
        "fit", str(table), "--task", "detect", "--model-out", str(detector), "--config", "fast",
        "--epochs", "1", "--seed", "0", "--quiet")], check=True, cwd=REPO, timeout=300)
    statements = cli_call("score", str(table), "--model", str(detector), "--out",
                          str(tmp_path / "scores.csv"), "--quiet")
    assert loaded_after(statements, fitting) == []
