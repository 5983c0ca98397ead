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


#: what adapters may use besides each other: errors and file reading/writing, no models
FILE_UTILITIES = {"toolkit.exceptions", "toolkit.io", "toolkit.io.csvfiles"}


def test_adapters_import_only_adapters_and_file_utilities():
    for name, targets in import_graph().items():
        if name.startswith("toolkit.adapters"):
            outside = {t for t in targets if not t.startswith("toolkit.adapters")}
            assert outside <= FILE_UTILITIES, (name, outside)


def test_file_utilities_import_only_each_other():
    graph = import_graph()
    for name in FILE_UTILITIES:
        assert graph[name] <= FILE_UTILITIES, (name, graph[name])


def test_nothing_imports_the_command_line():
    for name, targets in import_graph().items():
        if not name.startswith("toolkit.cli"):
            assert not any(t.startswith("toolkit.cli") for t in targets), name
