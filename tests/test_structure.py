"""The import graph of the installed package: no circle, no arrow back up.

Read from the sources with :mod:`ast` (function-level imports included), with the repository's
``adapters/`` folder under its installed name ``toolkit.adapters``.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"toolkit": REPO / "toolkit", "toolkit.adapters": REPO / "adapters"}


def module_files() -> dict[str, Path]:
    modules = {}
    for package, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its source."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target != "toolkit":
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports_of(name, path, set(files)) for name, path in files.items()}


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


def test_exceptions_are_a_leaf():
    assert import_graph()["toolkit.exceptions"] == set()


def test_adapters_import_nothing_of_the_package_but_its_errors():
    for name, targets in import_graph().items():
        if name.startswith("toolkit.adapters"):
            outside = {t for t in targets if not t.startswith("toolkit.adapters")}
            assert outside <= {"toolkit.exceptions"}, (name, outside)


def test_io_builds_on_the_adapters_record_types_and_errors_only():
    """``toolkit.io`` builds on the adapters' record types and errors, nothing else."""
    for name, targets in import_graph().items():
        if name.startswith("toolkit.io"):
            allowed = ("toolkit.io", "toolkit.adapters", "toolkit.exceptions")
            assert all(t.startswith(allowed) for t in targets), (name, targets)


def folder_of(module: str) -> str:
    """``toolkit.models.detector`` -> ``toolkit.models``; a top-level module is its own."""
    return ".".join(module.split(".")[:2])


def test_no_circle_between_folders():
    folders: dict[str, set[str]] = {}
    for name, targets in import_graph().items():
        folders.setdefault(folder_of(name), set()).update(
            folder_of(t) for t in targets if folder_of(t) != folder_of(name))
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(folders.get(node, ())):
            assert state.get(nxt) != "open", " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = "done"

    for node in sorted(folders):
        if node not in state:
            visit(node, [])


def test_the_package_top_holds_at_most_six_modules():
    modules = sorted(path.name for path in (REPO / "toolkit").glob("*.py"))
    assert len(modules) <= 6, modules
    folders = {path.name for path in (REPO / "toolkit").iterdir()
               if path.is_dir() and (path / "__init__.py").exists()}
    assert folders == {"backends", "cli", "engines", "evaluate", "io", "models"}


def test_nothing_imports_the_command_line():
    for name, targets in import_graph().items():
        if not name.startswith("toolkit.cli"):
            assert not any(t.startswith("toolkit.cli") for t in targets), name
