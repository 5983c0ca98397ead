"""Regenerate the README's report picture and its numbers in one command.

Usage::

    python docs/make_report_picture.py

Runs the README's first report example, the ``toolkit synth ... --report`` command of
"First steps" (read from README.md, so the two cannot differ), in a temporary folder on
the CPU (``--device cpu`` added; one thread: bit-identical on any machine), then writes

* ``sample_data/report_screenshot.json``: the report's summary (every verdict and
  number, without the time it took), which ``tests/test_trust_report.py`` compares
  with a fresh run of the same command;
* ``sample_data/report_screenshot.png``: the top of the report's page rendered by
  headless Chromium (``tests/report_screenshot.py``, Debian's ``chromium``).

Without Chromium the JSON is still written and the script exits with 1, saying that
the picture was not updated. It also exits with 1 when the page logs a console error.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PICTURE = REPO / "sample_data" / "report_screenshot.png"
NUMBERS = PICTURE.with_suffix(".json")
#: height of the rendered window: the page's header, summary and fidelity table
HEIGHT = 1100
#: summary entries that change from run to run (wall-clock time), left out of NUMBERS
UNSTABLE = ("seconds",)


def readme_command(readme: Path = README) -> list[str]:
    """The arguments of the README's first ``toolkit synth ... --report`` command (code
    blocks only; ``\\`` continuations joined, ``#`` comments dropped), without ``toolkit``.

    Raises
    ------
    SystemExit
        When the README holds no such command.
    """
    in_code, command = False, ""
    for line in readme.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code, command = not in_code, ""
            continue
        code = line.split(" #")[0].rstrip()
        if not in_code or not (command or code.startswith("toolkit synth ")):
            continue
        command += " " + code.removesuffix("\\").strip()
        if not code.endswith("\\"):
            arguments = shlex.split(command)
            if "--report" in arguments:
                return arguments[1:]
            command = ""
    raise SystemExit(f"{readme} has no `toolkit synth ... --report` example")


def run_example(folder: Path) -> Any:
    """Run the README's report example in ``folder`` and return its
    :class:`~toolkit.evaluate.report.Report` (the one whose page the command writes).

    The sample data are read from the repository; every output (synthetic table,
    holdout, page) is written in ``folder``.
    """
    from toolkit.cli import cli
    from toolkit.evaluate.report import Report

    arguments = [str(REPO / a) if a.startswith("sample_data/") else a
                 for a in readme_command()] + ["--device", "cpu"]
    written = []
    to_html = Report.to_html

    def keep(report: Report, path: str | Path) -> None:
        written.append(report)
        to_html(report, path)

    here = Path.cwd()
    os.chdir(folder)
    try:
        with mock.patch.object(Report, "to_html", keep):
            cli.main(args=arguments, prog_name="toolkit")
    finally:
        os.chdir(here)
    return written[0]


def summary_numbers(report: Any) -> dict[str, Any]:
    """The report's summary as its JSON file holds it, less :data:`UNSTABLE` entries."""
    with tempfile.TemporaryDirectory() as folder:
        report.to_json(Path(folder) / "report.json")
        summary = json.loads((Path(folder) / "report.json").read_text())["summary"]
    return {key: value for key, value in summary.items() if key not in UNSTABLE}


def _screenshot_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_screenshot",
                                                  REPO / "tests" / "report_screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> int:
    """Write :data:`NUMBERS` and :data:`PICTURE`; 0 when both were written."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = "1"
    import torch

    torch.set_num_threads(1)
    shots = _screenshot_module()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        report = run_example(folder)
        NUMBERS.write_text(json.dumps(summary_numbers(report), indent=2, ensure_ascii=False)
                           + "\n", encoding="utf-8")
        print(f"wrote {NUMBERS.relative_to(REPO)}")
        if shots.find_browser() is None:
            print(f"{PICTURE.relative_to(REPO)} was NOT updated: {shots.NO_BROWSER}",
                  file=sys.stderr)
            return 1
        arguments = readme_command()
        page = folder / arguments[arguments.index("--report") + 1]
        shot = folder / "screenshot.png"
        errors = shots.screenshot(page, shot, height=HEIGHT)
        if errors or not shot.exists():
            print(f"{PICTURE.relative_to(REPO)} was NOT updated: the page logged {errors} "
                  "console error(s) or no screenshot was written", file=sys.stderr)
            return 1
        shutil.copyfile(shot, PICTURE)
    print(f"wrote {PICTURE.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
