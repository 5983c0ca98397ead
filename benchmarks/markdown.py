"""How the benchmark reports write numbers and Markdown: numbers, percentages, ratios, pass/fail
verdicts, seed lists, tables, the command that reproduces a section, a machine's description,
and the marked sections of ``BENCHMARKS.md``.

Every report builder formats with these helpers, so that the same value reads the same in every
section. This module uses the standard library only and imports no other benchmark module.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def fmt(value: Any, digits: int = 3) -> str:
    """A number for a report: ``—`` for missing/NaN, ``inf``, thousands separated at and
    above 1,000, else ``digits`` decimals; anything else as ``str``.

    Parameters
    ----------
    value : object
        The value to show.
    digits : int, default 3
        Decimals below 1,000.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt(0.12345), fmt(12345.6), fmt(None), fmt(7)
    ('0.123', '12,346', '—', '7')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        if math.isinf(value):
            return "inf"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def pct(value: float | None) -> str:
    """A share as a percentage with one decimal (``—`` for missing/NaN).

    Parameters
    ----------
    value : float or None
        A share between 0 and 1.

    Returns
    -------
    str

    Examples
    --------
    >>> pct(0.1234), pct(0.0), pct(None)
    ('12.3%', '0.0%', '—')
    """
    return "—" if value is None or math.isnan(value) else f"{value:.1%}"


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing/NaN or the
    denominator is 0.

    Parameters
    ----------
    numerator, denominator : float or None
        E.g. our mean and an anchor's.

    Returns
    -------
    float or None

    Examples
    --------
    >>> ratio(1.0, 4.0), ratio(1.0, 0.0), ratio(None, 2.0)
    (0.25, None, None)
    """
    if (numerator is None or denominator is None or denominator == 0
            or math.isnan(numerator) or math.isnan(denominator)):
        return None
    return numerator / denominator


def verdict(ok: bool | None) -> str:
    """A target's verdict for a table cell: ``pass``, ``**FAIL**`` or ``—`` (not measured).

    Parameters
    ----------
    ok : bool or None
        Whether the target is met; ``None`` when it could not be judged.

    Returns
    -------
    str

    Examples
    --------
    >>> verdict(True), verdict(False), verdict(None)
    ('pass', '**FAIL**', '—')
    """
    return "—" if ok is None else ("pass" if ok else "**FAIL**")


def seed_list(seeds: Iterable[int]) -> str:
    """Seeds as a report (and the ``--seeds`` option) writes them.

    Parameters
    ----------
    seeds : iterable of int

    Returns
    -------
    str
        Comma-separated, no spaces.

    Examples
    --------
    >>> seed_list([0, 1, 2])
    '0,1,2'
    """
    return ",".join(str(s) for s in seeds)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table.

    Parameters
    ----------
    header : list of str
        Column titles.
    rows : list of list of str
        Cells, already formatted.

    Returns
    -------
    str
        The table's lines, without a trailing newline.

    Examples
    --------
    >>> print(md_table(["model", "quality"], [["tvae", "0.812"]]))
    | model | quality |
    |---|---|
    | tvae | 0.812 |
    """
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def span(values: Iterable[str]) -> str:
    """``first to last`` of sorted values (one value as is, ``—`` if none).

    Parameters
    ----------
    values : iterable of str
        E.g. the ISO dates of some results.

    Returns
    -------
    str

    Examples
    --------
    >>> span(["2026-12-02", "2026-11-25", "2026-12-02"]), span(["2026-12-02"]), span([])
    ('2026-11-25 to 2026-12-02', '2026-12-02', '—')
    """
    ordered = sorted(set(values))
    return " to ".join(dict.fromkeys(ordered[:1] + ordered[-1:])) or "—"


def module_command(module: str, options: Iterable[str] = ()) -> str:
    """The command line that runs a benchmark, as the reports state it.

    Parameters
    ----------
    module : str
        The script's name in this package (``synth_vs_sdv``, ``images``, ...).
    options : iterable of str
        Its arguments.

    Returns
    -------
    str
        ``python -m benchmarks.<module> <options>``, quoted for a POSIX shell.

    Examples
    --------
    >>> module_command("synth_vs_sdv", ["--seeds", "0"])
    'python -m benchmarks.synth_vs_sdv --seeds 0'
    """
    return shlex.join(["python", "-m", f"benchmarks.{module}", *options])


def machine_desc(machine: dict[str, Any]) -> str:
    """One line about a machine, for a report.

    Parameters
    ----------
    machine : dict
        As returned by :func:`benchmarks.common.machine_info` (keys may be missing in old
        records).

    Returns
    -------
    str
        Cores, CPU, GPU if any, torch threads, Python and torch versions.

    Examples
    --------
    >>> machine_desc({"nproc": 2, "cpu_model": "AMD EPYC", "torch_threads": 2,
    ...               "python": "3.11.7", "torch": "2.13.0+cpu"})
    '2 cores (AMD EPYC); torch threads = 2; Python 3.11.7, torch 2.13.0+cpu'
    """
    text = f"{machine.get('nproc')} cores ({machine.get('cpu_model')})"
    if machine.get("gpu"):
        text += f", GPU {machine['gpu']}"
    return (
        f"{text}; torch threads = {machine.get('torch_threads')}; "
        f"Python {machine.get('python')}, torch {machine.get('torch')}"
    )


def write_section(path: Path, body: str, start_mark: str, end_mark: str) -> None:
    """Replace (or append) the section between two markers in a markdown file, keeping
    other content.

    Parameters
    ----------
    path : pathlib.Path
        The markdown file (created with a ``# Benchmarks`` title if missing).
    body : str
        The section's text, ending with a newline.
    start_mark, end_mark : str
        The HTML comments around the section (e.g. ``<!-- images:start -->``).
    """
    section = f"{start_mark}\n{body}{end_mark}"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = text.find(start_mark), text.find(end_mark)
    if start != -1 and end > start:
        text = text[:start] + section + text[end + len(end_mark) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
