"""The ``benchmarks`` package: no import circle, no borrowed private names, one module of report
formatting helpers (:mod:`benchmarks.markdown`) that every report builder uses.

The modules are read with :mod:`ast` (function-level imports included), so that these tests need
neither SDV nor PyOD; only ``benchmarks/markdown.py``, which uses the standard library alone, is
imported (from its file, not through the package).
"""

from __future__ import annotations

import ast
import doctest
import importlib.util
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDER = REPO / "benchmarks"
#: report builders: the modules that write a section of BENCHMARKS.md
BUILDERS = ("ad_vs_pyod", "backend_traits", "big_table_quality", "conditional_sampling",
            "dp_tradeoff", "images", "longitudinal", "one_core", "relational", "scale",
            "small_privacy", "synth_report", "synth_vs_sdv")


def module_files() -> dict[str, Path]:
    files = {"benchmarks": FOLDER / "__init__.py"}
    files.update({f"benchmarks.{p.stem}": p for p in FOLDER.glob("*.py") if p.stem != "__init__"})
    return files


def imported_names(path: Path, known: set[str]) -> list[tuple[str, str | None, str]]:
    """``(module, name, bound)`` for every import of a benchmark module in ``path``: ``name``
    is what ``from module import name`` takes (``None`` for a module), ``bound`` the name it
    gets in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, alias.asname or alias.name) for alias in node.names
                      if alias.name in known]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # every module sits directly in the package
                base = ".".join(filter(None, ["benchmarks", base]))
            if base not in known:
                continue
            for alias in node.names:
                submodule, bound = f"{base}.{alias.name}", alias.asname or alias.name
                found.append((submodule, None, bound) if submodule in known
                             else (base, alias.name, bound))
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: {target for target, _, _ in imported_names(path, set(files))} - {name}
            for name, path in files.items()}


def load_markdown():
    spec = importlib.util.spec_from_file_location("benchmarks_markdown", FOLDER / "markdown.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


md = load_markdown()


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert set(BUILDERS) | {"common", "datasets", "markdown"} <= {
        name.removeprefix("benchmarks.") for name in graph}
    assert {"benchmarks.synth_report", "benchmarks.markdown",
            "benchmarks.common"} <= graph["benchmarks.synth_vs_sdv"]


def test_no_import_circle():
    graph = import_graph()
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph[node]):
            assert state.get(nxt) != "open", " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_no_module_imports_a_private_name_of_another():
    files = module_files()
    borrowed = [(name, module, imported)
                for name, path in files.items()
                for module, imported, _ in imported_names(path, set(files))
                if imported is not None and imported.startswith("_")]
    assert borrowed == []


def dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of attribute reads on a name, else ``None``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def test_no_module_reads_a_private_attribute_of_another():
    files = module_files()
    for name, path in files.items():
        modules = {bound: module for module, imported, bound in imported_names(path, set(files))
                   if imported is None}
        private = []
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                owner = dotted(node.value)
                if owner is not None and modules.get(owner, name) != name:
                    private.append(f"{owner}.{node.attr}")
        assert private == [], name


def test_markdown_helpers_import_no_benchmark_module():
    assert import_graph()["benchmarks.markdown"] == set()


def test_every_builder_formats_with_the_shared_module():
    graph = import_graph()
    for name in BUILDERS:
        assert "benchmarks.markdown" in graph[f"benchmarks.{name}"], name


def test_no_module_defines_a_twin_of_a_shared_helper():
    shared = {node.name for node in ast.parse((FOLDER / "markdown.py").read_text()).body
              if isinstance(node, ast.FunctionDef)}
    assert {"fmt", "pct", "ratio", "verdict", "md_table", "write_section",
            "machine_desc"} <= shared
    twins = {name.lstrip("_") for name in shared}
    for path in FOLDER.glob("*.py"):
        if path.stem == "markdown":
            continue
        defined = {node.name for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.FunctionDef)}
        assert not {d for d in defined if d.lstrip("_") in twins}, path.name


def test_markdown_examples_run():
    assert doctest.testmod(md, raise_on_error=False).failed == 0


@pytest.mark.parametrize(("value", "expected"), [
    (0.1234, "12.3%"), (0.0, "0.0%"), (1.0, "100.0%"), (None, "—"), (float("nan"), "—")])
def test_pct(value, expected):
    assert md.pct(value) == expected


@pytest.mark.parametrize(("numerator", "denominator", "expected"), [
    (3.0, 4.0, 0.75), (0.8, 0.8, 1.0), (1.0, 0.0, None), (None, 2.0, None), (2.0, None, None),
    (float("nan"), 2.0, None), (2.0, float("nan"), None)])
def test_ratio(numerator, denominator, expected):
    assert md.ratio(numerator, denominator) == expected


def test_verdict():
    assert [md.verdict(ok) for ok in (True, False, None)] == ["pass", "**FAIL**", "—"]


@pytest.mark.parametrize(("value", "digits", "expected"), [
    (0.81234, 3, "0.812"), (12.345, 1, "12.3"), (123456.7, 3, "123,457"), (-2500.0, 3, "-2,500"),
    (float("inf"), 3, "inf"), (float("nan"), 3, "—"), (None, 3, "—"), (7, 3, "7"),
    ("tvae", 3, "tvae")])
def test_fmt(value, digits, expected):
    assert md.fmt(value, digits) == expected


def test_md_table():
    table = md.md_table(["model", "quality", "F1"], [["tvae", "0.812", "0.45"],
                                                      ["ctgan", "0.790", "—"]])
    assert table == ("| model | quality | F1 |\n|---|---|---|\n| tvae | 0.812 | 0.45 |\n"
                     "| ctgan | 0.790 | — |")
    assert md.md_table(["a"], []) == "| a |\n|---|"


def test_seed_list_span_and_command():
    assert md.seed_list([0, 1, 2]) == "0,1,2"
    assert md.span(["2026-12-03", "2026-11-25", "2026-12-01"]) == "2026-11-25 to 2026-12-03"
    assert md.span([]) == "—"
    assert (md.module_command("synth_vs_sdv", ["--tables", "a b"])
            == "python -m benchmarks.synth_vs_sdv --tables 'a b'")


def test_machine_desc_names_the_gpu_and_survives_old_records():
    machine = {"nproc": 16, "cpu_model": "AMD EPYC", "gpu": "NVIDIA H100", "torch_threads": 2,
               "python": "3.11.7", "torch": "2.13.0"}
    assert md.machine_desc(machine) == ("16 cores (AMD EPYC), GPU NVIDIA H100; torch threads = 2; "
                                        "Python 3.11.7, torch 2.13.0")
    del machine["gpu"]  # CPU only, or a record from before GPUs were noted
    assert md.machine_desc(machine) == ("16 cores (AMD EPYC); torch threads = 2; "
                                        "Python 3.11.7, torch 2.13.0")


MARKS = ("<!-- images:start -->", "<!-- images:end -->")


def test_write_section_replaces_only_the_marked_section(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    before = "# Benchmarks\n\nIntro stays.\n\n"
    after = "\n\n## Notes\n\nkept, with <!-- other:start --> marks.\n"
    path.write_text(before + f"{MARKS[0]}\nold table\nold text\n{MARKS[1]}" + after)
    md.write_section(path, "## Images\n\nnew table\n", *MARKS)
    assert path.read_text() == before + f"{MARKS[0]}\n## Images\n\nnew table\n{MARKS[1]}" + after
    md.write_section(path, "## Images\n\nnew table\n", *MARKS)  # the same again: no change
    assert path.read_text() == before + f"{MARKS[0]}\n## Images\n\nnew table\n{MARKS[1]}" + after


def test_write_section_appends_a_missing_section_and_creates_a_missing_file(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    md.write_section(path, "body\n", *MARKS)
    assert path.read_text() == f"# Benchmarks\n\n{MARKS[0]}\nbody\n{MARKS[1]}\n"
    md.write_section(path, "dp body\n", "<!-- dp:start -->", "<!-- dp:end -->")
    assert path.read_text() == (f"# Benchmarks\n\n{MARKS[0]}\nbody\n{MARKS[1]}\n\n"
                                "<!-- dp:start -->\ndp body\n<!-- dp:end -->\n")
