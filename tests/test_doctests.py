"""The ``Examples`` sections of the docstrings run: every module of the installed package,
imported by its installed name, passes ``doctest.testmod``; and the examples stay."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

#: Packages installed from folders outside ``toolkit/`` (pyproject's ``package-dir``). An
#: editable install does not put them on ``toolkit.__path__``, so ``walk_packages`` over
#: ``toolkit`` alone would miss them: each is walked from its own ``__path__`` as well.
MAPPED_PACKAGES = ("toolkit.adapters", "toolkit.presets")

#: Modules given numpydoc Examples for issue 16; each must keep at least one.
WITH_EXAMPLES = (
    "toolkit.adapters.kinds",
    "toolkit.adapters.scalers",
    "toolkit.backends.prior",
    "toolkit.config",
    "toolkit.io.csvfiles",
    "toolkit.io.tables",
    "toolkit.backends.training",
)
MIN_MODULES_WITH_EXAMPLES = len(WITH_EXAMPLES)


def _raise(name: str) -> None:
    """``walk_packages`` ignores a subpackage that fails to import unless told otherwise."""
    raise  # the import error walk_packages is handling


def installed_modules() -> list[str]:
    """Every module and package of ``toolkit``, by its installed name."""
    names = set()
    for package in ("toolkit", *MAPPED_PACKAGES):
        module = importlib.import_module(package)
        names.add(package)
        names.update(info.name for info in
                     pkgutil.walk_packages(module.__path__, f"{package}.", onerror=_raise))
    return sorted(names)


MODULES = installed_modules()


def _examples(name: str) -> int:
    module = importlib.import_module(name)
    return sum(len(test.examples) for test in doctest.DocTestFinder().find(module))


#: modules whose examples train a model (seconds each): run with the slow tests
SLOW_EXAMPLES = {"toolkit.backends.diffusion", "toolkit.evaluate.report",
                 "toolkit.evaluate.realism"}


@pytest.mark.parametrize("name", [pytest.param(name, marks=pytest.mark.slow)
                                  if name in SLOW_EXAMPLES else name for name in MODULES])
def test_doctests_pass(name, monkeypatch):
    # examples name the sample data by its path from the repository root, as the README does
    monkeypatch.chdir(REPO)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=FLAGS)  # failures go to the captured stdout
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed"


def test_every_source_file_is_a_walked_module():
    """No module is left out: the walk finds every Python file the install maps."""
    walked = {Path(importlib.import_module(name).__file__).resolve() for name in MODULES}
    sources = {path.resolve() for folder in ("toolkit", "adapters", "configs")
               for path in (REPO / folder).rglob("*.py") if "__pycache__" not in path.parts}
    assert sources - walked == set()
    assert {"toolkit.adapters.scalers", "toolkit.backends.prior", "toolkit.presets"} <= set(MODULES)


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_module_keeps_its_examples(name):
    assert _examples(name) > 0, f"{name} has no doctest examples"


def test_enough_modules_have_examples():
    exampled = [name for name in MODULES if _examples(name) > 0]
    assert len(exampled) >= MIN_MODULES_WITH_EXAMPLES, exampled
