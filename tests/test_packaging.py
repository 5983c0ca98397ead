"""Only the name ``toolkit`` is installed, and it works from a project with its own
``configs/``, ``adapters/`` and ``benchmarks/`` packages (a common layout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: what a user's script does first; run from inside the user's project
USER_SCRIPT = """
import numpy as np, pandas as pd
import adapters, configs, benchmarks           # the user's own packages still import
import toolkit
from toolkit import Synthesizer
from toolkit.adapters import TabularAdapter
from toolkit.config import preset_names
assert adapters.MINE and configs.MINE and benchmarks.MINE
assert "default" in preset_names(), preset_names()
rng = np.random.default_rng(0)
df = pd.DataFrame({"age": rng.integers(20, 90, 60), "sex": rng.choice(["F", "M"], 60)})
print(toolkit.__file__)
print(len(Synthesizer(epochs=1, random_state=0).fit(df).sample(5)))
"""


@pytest.fixture(scope="module")
def user_project(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("user_project")
    for name in ("adapters", "configs", "benchmarks"):
        (project / name).mkdir()
        (project / name / "__init__.py").write_text("MINE = True\n")
    return project


def run_user_script(project: Path, extra_path: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return subprocess.run([sys.executable, "-c", USER_SCRIPT], cwd=project, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.slow
def test_the_installed_toolkit_works_beside_a_users_own_packages(user_project):
    done = run_user_script(user_project)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "5"


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory) -> Path:
    """``pip install .`` (no dependencies, into a folder) from a copy of the sources."""
    source = tmp_path_factory.mktemp("source")
    for name in ("toolkit", "adapters", "configs"):
        shutil.copytree(REPO / name, source / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    target = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps",
                           "--no-build-isolation", "--no-index", "--quiet", "--target",
                           str(target), str(source)],
                          capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        pytest.fail(f"pip install . failed:\n{done.stderr[-2000:]}")
    return target


def test_a_plain_install_puts_only_toolkit_on_the_path(plain_install):
    importable = {p.name for p in plain_install.iterdir()
                  if (p / "__init__.py").exists() or p.suffix == ".py"}
    assert importable == {"toolkit"}
    assert (plain_install / "toolkit" / "adapters" / "tabular.py").exists()
    assert (plain_install / "toolkit" / "presets" / "default.yaml").exists()
    # every sub-package of the source tree is installed (the command line included)
    for package in ("backends", "cli", "adapters", "presets"):
        assert (plain_install / "toolkit" / package / "__init__.py").exists(), package


@pytest.mark.slow
def test_a_plain_install_works_beside_a_users_own_packages(plain_install, user_project):
    done = run_user_script(user_project, extra_path=plain_install)
    assert done.returncode == 0, done.stderr[-2000:]
    where, rows = done.stdout.split()[-2:]
    assert Path(where).is_relative_to(plain_install) and rows == "5"
