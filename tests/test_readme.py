"""The README's examples run as written, top to bottom, in a fresh folder holding sample_data/.

Every ```bash block runs in a shell and every ```python block in one shared interpreter
namespace, in the order they appear, so an example may use only what an earlier one made.
A block preceded by ``<!-- readme-test: skip (reason) -->`` is not run; the reason must say
what proves it instead (the quick start's install commands, which CI runs itself).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"(?:<!--\s*readme-test:\s*(?P<directive>[^>]*?)\s*-->\s*\n)?"
                   r"^```(?P<lang>bash|python)\n(?P<code>.*?)^```", re.S | re.M)


def readme_blocks() -> list[tuple[int, str, str, str | None]]:
    """``(line, language, code, directive)`` of every bash and python block, in order."""
    text = (REPO / "README.md").read_text()
    return [(text[: match.start("code")].count("\n") + 1, match["lang"], match["code"],
             match["directive"]) for match in BLOCK.finditer(text)]


def test_skipped_blocks_say_why():
    for line, _, _, directive in readme_blocks():
        if directive is not None:
            assert re.fullmatch(r"skip \(.{20,}\)", directive), (line, directive)


def test_readme_examples_run_in_order(tmp_path, monkeypatch):
    shutil.copytree(REPO / "sample_data", tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    namespace: dict = {"__name__": "__readme__"}
    for line, language, code, directive in readme_blocks():
        if directive is not None:
            continue
        if language == "bash":
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=tmp_path,
                                  env=env, capture_output=True, text=True, timeout=600,
                                  check=False)
            assert done.returncode == 0, (f"README.md line {line}: exit {done.returncode}\n"
                                          f"{code}\n{done.stderr[-3000:]}")
        else:
            try:
                exec(compile(code, f"README.md:{line}", "exec"), namespace)  # noqa: S102
            except Exception as error:  # noqa: BLE001 - report which block failed
                pytest.fail(f"README.md line {line}: {type(error).__name__}: {error}\n{code}")
