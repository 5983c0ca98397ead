"""The examples of README.md and of every user-guide page (docs/guide/*.md) run as written.

Each page runs in a fresh folder holding sample_data/, top to bottom: every ```bash block in
a shell and every ```python block in one interpreter namespace of that page, in the order they
appear, so an example may use only what an earlier example of the same page made. A block
preceded by ``<!-- readme-test: skip (reason) -->`` is not run; the reason must say what proves
it instead (the quick start's install commands, which CI runs itself; the Spark and Dask
examples, which tests/test_spark.py and tests/test_dask.py run). The models train with a
small step budget (:data:`EXAMPLE_STEPS`, through ``TOOLKIT_MAX_STEPS``).
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
GUIDE = REPO / "docs" / "guide"
PAGES = [REPO / "README.md", *sorted(GUIDE.glob("*.md"))]
#: the examples train with at most this many optimizer steps (TOOLKIT_MAX_STEPS): they show
#: that every command and call runs as written; quality is measured by the benchmarks
EXAMPLE_STEPS = "100"
BLOCK = re.compile(r"(?:<!--\s*readme-test:\s*(?P<directive>[^>]*?)\s*-->\s*\n)?"
                   r"^```(?P<lang>bash|python)\n(?P<code>.*?)^```", re.S | re.M)


def page_name(page: Path) -> str:
    """The page's path from the repository root, as failures name it."""
    return page.relative_to(REPO).as_posix()


def page_blocks(page: Path) -> list[tuple[int, str, str, str | None]]:
    """``(line, language, code, directive)`` of every bash and python block of ``page``, in
    order; ``line`` is the block's first line of code."""
    text = page.read_text(encoding="utf-8")
    return [(text[: match.start("code")].count("\n") + 1, match["lang"], match["code"],
             match["directive"]) for match in BLOCK.finditer(text)]


def test_every_guide_page_is_collected():
    assert len(PAGES) > 10 and REPO / "docs" / "guide" / "first-steps.md" in PAGES


@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_skipped_blocks_say_why(page):
    for line, _, _, directive in page_blocks(page):
        if directive is not None:
            assert re.fullmatch(r"skip \(.{20,}\)", directive), (page_name(page), line, directive)


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=page_name)
def test_examples_run_in_order(page, tmp_path, monkeypatch):
    blocks = [block for block in page_blocks(page) if block[3] is None]
    if not blocks:
        pytest.skip(f"{page_name(page)} has no example to run")
    shutil.copytree(REPO / "sample_data", tmp_path / "sample_data")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOOLKIT_MAX_STEPS", EXAMPLE_STEPS)
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    namespace: dict = {"__name__": "__docs_example__"}
    for line, language, code, _ in blocks:
        where = f"{page_name(page)} line {line}"
        if language == "bash":
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", code], cwd=tmp_path,
                                  env=env, capture_output=True, text=True, timeout=600,
                                  check=False)
            assert done.returncode == 0, (f"{where}: exit {done.returncode}\n"
                                          f"{code}\n{done.stderr[-3000:]}")
        else:
            try:
                exec(compile(code, f"{page_name(page)}:{line}", "exec"), namespace)  # noqa: S102
            except Exception as error:  # noqa: BLE001 - report which block failed
                pytest.fail(f"{where}: {type(error).__name__}: {error}\n{code}")
