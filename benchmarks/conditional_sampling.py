"""Conditional sampling of a rare category: ``toolkit.Synthesizer`` vs SDV's CTGAN and TVAE.

For every benchmark table (``benchmarks.datasets``; the seed-0 stratified 80/20 split of
``synth_vs_sdv.py``) the script picks a categorical column and a rare level of it: the
rarest level held by at most 2 % of the training rows and by at least 2 of them (when no
level qualifies, the rarest level with at least 2 rows, flagged in the report). Then it
fits, with seed 0 on the training split,

* our presets (``--configs``, default ``default,gan,vaegan``), and
* SDV's CTGAN and TVAE with default parameters,

asks each for ``--rows`` (1,000) rows with that level and records the wall time of the
call, rows/s, how many rows came back and the share of them that have the level. Ours:
``Synthesizer.sample(n, conditions={column: level})``; SDV:
``sample_from_conditions([Condition(num_rows=n, column_values={column: level})])``, which
rejection-samples TVAE and CTGAN and may return fewer rows (with a warning) or raise.

Results are cached in ``results/conditional.json`` (keyed by table, model, preset,
seed and condition; with date and machine) and reused unless ``--refresh`` is given.
A summary is printed and written between ``<!-- conditional:start -->`` and
``<!-- conditional:end -->`` in ``BENCHMARKS.md``.

Examples (from the repository root)::

    python -m benchmarks.conditional_sampling                  # everything
    python -m benchmarks.conditional_sampling --models toolkit --refresh
    python -m benchmarks.conditional_sampling --tables mifem --no-write
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
import traceback
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import (
    BACKEND_CONFIGS,
    DEFAULT_OUT,
    N_THREADS,
    OURS,
    RESULTS_DIR,
    SDVModel,
    busy,
    config_label,
    detect_metadata,
    git_revision,
    load_json,
    loadavg,
    machine_info,
    pkg_version,
    save_result,
    seed_everything,
    set_threads,
    split_choices,
    timed,
    toolkit_version,
    warm_up_torch,
)
from benchmarks.datasets import TABLES, split_table
from benchmarks.markdown import (
    fmt,
    machine_desc,
    md_table,
    module_command,
    pct,
    span,
    write_section,
)

MARK_START = "<!-- conditional:start -->"
MARK_END = "<!-- conditional:end -->"
SDV_CONDITIONAL: tuple[str, ...] = ("ctgan", "tvae")
#: selectable models; GaussianCopula is cheap and meant for smoke tests only
MODELS: list[str] = [OURS, *SDV_CONDITIONAL, "gaussiancopula"]
DEFAULT_MODELS: list[str] = [OURS, *SDV_CONDITIONAL]
#: how SDV meets a condition on a categorical column
SDV_METHODS: dict[str, str] = {
    "ctgan": "rejection (SDV)",
    "tvae": "rejection (SDV)",
    "gaussiancopula": "conditional copula (SDV)",
}
SEED = 0
N_ROWS = 1000
REPEATS = 3
WARM_UP_ROWS = 10
RARE_SHARE = 0.02  # a rare level: at most this share of the training rows ...
MIN_RARE_ROWS = 2  # ... and at least this many rows


# --------------------------------------------------------------------------- condition
@dataclass(frozen=True)
class RareLevel:
    """The level that every model is asked to generate on one table."""

    column: str
    level: Any
    count: int  # training rows with the level
    share: float  # of the training rows
    rare: bool  # False: no level qualified, this is the fallback


def categorical_columns(train: pd.DataFrame, metadata: Any, table: str) -> list[str]:
    """Columns that both SDV (sdtype categorical or boolean) and the toolkit (a non-numeric
    or boolean dtype) treat as categories, in table order."""
    sdtypes = metadata.to_dict()["tables"][table]["columns"]
    return [
        col
        for col in train.columns
        if sdtypes.get(col, {}).get("sdtype") in ("categorical", "boolean")
        and (
            pd.api.types.is_bool_dtype(train[col]) or not pd.api.types.is_numeric_dtype(train[col])
        )
    ]


def pick_rare_level(train: pd.DataFrame, columns: list[str]) -> RareLevel:
    """The rarest non-missing level with ``MIN_RARE_ROWS`` ≤ count ≤ ``RARE_SHARE`` of the
    rows (ties: first column, then level text); without one, the rarest level with at
    least ``MIN_RARE_ROWS`` rows (or, failing that, any level), with ``rare=False``."""
    n = len(train)
    candidates = [
        (int(count), position, str(level), col, level)
        for position, col in enumerate(columns)
        for level, count in train[col].value_counts(dropna=True).items()
    ]
    if not candidates:
        raise ValueError("the table has no categorical column with a non-missing level")
    rare = [c for c in candidates if MIN_RARE_ROWS <= c[0] <= RARE_SHARE * n]
    enough = [c for c in candidates if c[0] >= MIN_RARE_ROWS]
    count, _, _, col, level = min(rare or enough or candidates)
    if isinstance(level, np.generic):
        level = level.item()
    return RareLevel(col, level, count, count / n, rare=bool(rare))


# --------------------------------------------------------------------------- measuring
def fit_model(
    model: str,
    config: str | None,
    train: pd.DataFrame,
    metadata: Any,
    table: str,
    epochs: int | None,
) -> tuple[Any, float]:
    """Fit ours (preset ``config``) or an SDV model with seed ``SEED``; returns the fitted
    model and the fit wall time."""
    seed_everything(SEED)
    if model == OURS:
        from toolkit import Synthesizer

        synth: Any = Synthesizer(config=config or "default", epochs=epochs, random_state=SEED)
    else:
        params = {} if epochs is None or model == "gaussiancopula" else {"epochs": epochs}
        synth = SDVModel(model, metadata, table, **params)
    _, seconds = timed(lambda: synth.fit(train))
    return synth, seconds


def conditional_sample(model: str, fitted: Any, n: int, rare: RareLevel) -> pd.DataFrame:
    """Ask ``fitted`` for ``n`` rows with ``rare.column == rare.level``."""
    if model == OURS:
        return fitted.sample(n, conditions={rare.column: rare.level})
    return fitted.sample_from_conditions(n, {rare.column: rare.level})


def how_ours_conditions(fitted: Any, rare: RareLevel) -> str:
    """``direct`` when our model generates the level itself (condition vector or
    per-level latent), ``rejection`` when rows are drawn and checked."""
    try:
        _, checked = fitted.adapter_.encode_conditions({rare.column: rare.level})
    except Exception:  # noqa: BLE001 - informational only
        return "—"
    return "rejection" if checked else "direct"


def measure(model: str, fitted: Any, n: int, rare: RareLevel, repeats: int) -> dict[str, Any]:
    """Time ``repeats`` conditional calls (after an unconditional warm-up sample) and
    count the rows returned and the rows with the level. Stops at the first error."""
    fitted.sample(WARM_UP_ROWS)
    calls: list[dict[str, Any]] = []
    load = loadavg()
    result: dict[str, Any] = {}
    for _ in range(repeats):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            started = time.perf_counter()
            try:
                out = conditional_sample(model, fitted, n, rare)
            except Exception as exc:  # noqa: BLE001 - SDV raises when no row matches
                seconds = time.perf_counter() - started
                traceback.print_exc()
                result["error"] = f"{type(exc).__name__}: {_first_line(exc)}"
                calls.append({"seconds": seconds, "returned": 0, "matching": 0})
                break
            seconds = time.perf_counter() - started
        values = out[rare.column].astype(object) if rare.column in out else pd.Series([])
        calls.append(
            {
                "seconds": seconds,
                "returned": len(out),
                "matching": int(sum(v == rare.level for v in values)),
                "warnings": sorted(
                    {
                        _first_line(w.message)
                        for w in caught
                        if issubclass(w.category, UserWarning)  # not library deprecations
                    }
                ),
            }
        )
    load = max(load, loadavg())
    returned = sum(c["returned"] for c in calls)
    matching = sum(c["matching"] for c in calls)
    result.update(
        {
            "calls": calls,
            "repeats": len(calls),
            "loadavg_1m": load,
            "seconds": statistics.median(c["seconds"] for c in calls),
            "rows_returned": [c["returned"] for c in calls],
            "match_share": matching / returned if returned else None,
            "rows_per_s": statistics.median(_per_s(c["returned"], c["seconds"]) for c in calls),
            "valid_rows_per_s": statistics.median(
                _per_s(c["matching"], c["seconds"]) for c in calls
            ),
            "warnings": sorted({w for c in calls for w in c.get("warnings", [])}),
        }
    )
    return result


def _first_line(message: object, limit: int = 200) -> str:
    """First line of a message, at most ``limit`` characters."""
    lines = str(message).strip().splitlines()
    return lines[0][:limit] if lines else ""


def _per_s(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


# --------------------------------------------------------------------------- running
def result_key(
    table: str, name: str, rare: RareLevel, rows: int, sdv_version: str, epochs: int | None
) -> str:
    """Cache key of one result: table, model (ours: with its preset), seed, condition,
    rows asked for, the SDV version for SDV models and any non-default epochs."""
    key = f"{table}|{name}|seed={SEED}|{rare.column}={rare.level!r}|rows={rows}"
    if not name.startswith(OURS):
        key += f"|sdv={sdv_version}"
    if epochs is not None:
        key += f"|epochs={epochs}"
    return key


def run_table(
    table: str, args: argparse.Namespace, machine: dict[str, Any], cache_path: Path
) -> tuple[RareLevel, dict[str, dict[str, Any]], int]:
    """Run (or fetch from the cache) every model on one table; returns the condition,
    ``name -> record`` and the number of failures."""
    train, _, _ = split_table(table, SEED)
    metadata = detect_metadata(train, table)
    rare = pick_rare_level(train, categorical_columns(train, metadata, table))
    sdv_version = pkg_version("sdv")
    tag = f"[{table}]"
    print(
        f"\n{tag} {len(train)} train rows; condition {rare.column} = {rare.level!r} "
        f"({rare.count} rows, {rare.share:.1%}{'' if rare.rare else '; no rare level, fallback'})",
        flush=True,
    )
    jobs: list[tuple[str, str | None]] = (
        [(OURS, c) for c in args.configs] if OURS in args.models else []
    )
    jobs += [(m, None) for m in MODELS if m != OURS and m in args.models]
    cache = load_json(cache_path)["results"]
    records: dict[str, dict[str, Any]] = {}
    failures = 0
    for model, config in jobs:
        name = model if config is None else config_label(config)
        key = result_key(table, name, rare, args.rows, sdv_version, args.epochs)
        cached = cache.get(key)
        if cached is not None and not args.refresh:
            records[name] = cached
            print(f"{tag} {name}: cached ({cached.get('date', '?')})", flush=True)
            continue
        print(f"{tag} {name}: fitting ...", flush=True)
        record: dict[str, Any] = {
            "table": table,
            "model": model,
            "config": config,
            "label": name,
            "seed": SEED,
            "condition": asdict(rare),
            "rows_requested": args.rows,
            "epochs": args.epochs,
            "date": dt.date.today().isoformat(),
            "machine": machine,
        }
        if model == OURS:
            record.update({"git": git_revision(), "toolkit_version": toolkit_version()})
        else:
            record["sdv_version"] = sdv_version
        try:
            fitted, record["fit_s"] = fit_model(model, config, train, metadata, table, args.epochs)
            record["method"] = (
                how_ours_conditions(fitted, rare) if model == OURS else SDV_METHODS[model]
            )
            record.update(measure(model, fitted, args.rows, rare, args.repeats))
        except Exception as exc:  # noqa: BLE001 - a failed fit: keep going
            traceback.print_exc()
            record["error"] = f"{type(exc).__name__}: {_first_line(exc)}"
        if "calls" in record:  # a sampling error is a result; a failed fit is not cached
            save_result(cache_path, key, record)
        else:
            failures += 1
        records[name] = record
        print(f"{tag} {name}: {describe(record)}", flush=True)
    return rare, records, failures


def describe(record: dict[str, Any]) -> str:
    """One line about a record for the console."""
    if "calls" not in record:
        return f"ERROR {record.get('error')}"
    text = (
        f"{_fmt_rows(record['rows_returned'])} rows returned, "
        f"{pct(record.get('match_share'))} match, "
        f"{_fmt_rate(record['rows_per_s'])} rows/s ({record['seconds']:.3f} s per call), "
        f"fit {record['fit_s']:.1f} s"
    )
    if record.get("error"):
        text += f"; error {record['error']}"
    if record.get("warnings"):
        text += f"; warnings {record['warnings']}"
    return text


# --------------------------------------------------------------------------- report
def _fmt_rows(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def _fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:,.0f}"


def build_report(
    tables: list[str],
    conditions: dict[str, RareLevel],
    results: dict[str, dict[str, dict[str, Any]]],
    command: str,
    machine: dict[str, Any],
    rows: int,
) -> str:
    """Markdown section (without markers): the conditions and one row per table and model."""
    records = [r for t in tables for r in results.get(t, {}).values()]
    ours = [r for r in records if r.get("model") == OURS]
    sdv = [r for r in records if r.get("model") != OURS]
    revs = sorted({r["git"] for r in ours if r.get("git")})
    sdv_versions = sorted({r["sdv_version"] for r in sdv if r.get("sdv_version")})
    machines = sorted({machine_desc(r["machine"]) for r in records if "machine" in r})
    repeats = sorted({r["repeats"] for r in records if "repeats" in r})
    epochs = sorted({r["epochs"] for r in records if r.get("epochs") is not None})
    lines = [
        "## Conditional sampling of a rare category",
        "",
        f"Reproduce: `{command}`. Cached results are reused from "
        "`benchmarks/results/conditional.json`; add `--refresh` to recompute them.",
        "",
        f"- For each table: the seed-{SEED} stratified 80/20 split of the benchmark above; the "
        f"condition is a categorical column's rarest level with at most {RARE_SHARE:.0%} of "
        f"the training rows and at least {MIN_RARE_ROWS} rows (where no level qualifies, the "
        f"rarest level with at least {MIN_RARE_ROWS} rows, marked ◦). Every model is fitted "
        f"with seed {SEED} on the training split (SDV: default parameters) and asked for "
        f"{rows:,} rows with that level.",
        f"- Ours: `Synthesizer.sample({rows}, conditions={{column: level}})`; how = `direct` "
        "when the model generates the level itself (condition vector / per-level latent), "
        "`rejection` when rows are drawn and checked. SDV: `sample_from_conditions("
        f"[Condition(num_rows={rows}, column_values={{column: level}})])`, which "
        "rejection-samples TVAE and CTGAN (`max_tries_per_batch=100`) and may return fewer "
        "rows or raise.",
        f"- Per model: {' or '.join(map(str, repeats)) or '—'} timed call(s) after an "
        "unconditional warm-up sample; call s and rows/s are medians over the calls (wall "
        "time, rows returned / s); valid rows/s counts only the rows with the level; match = "
        "share of all returned rows that have the level; rows returned per call (min–max).",
        f"- Machine: {'; '.join(machines) or machine_desc(machine)}; results from "
        f"{span(r['date'] for r in records if 'date' in r)}; toolkit "
        f"{'commit ' + ', '.join(revs) if revs else '—'}; SDV {', '.join(sdv_versions) or '—'}.",
    ]
    if epochs:
        lines.append(f"- **Smoke-test settings: epochs = {', '.join(map(str, epochs))}.**")
    lines += ["", "### Conditions", ""]
    lines.append(
        md_table(
            ["table", "column", "level", "training rows with it", "share", "rare"],
            [
                [
                    t,
                    f"`{c.column}`",
                    f"`{c.level}`",
                    f"{c.count:,}",
                    f"{c.share:.2%}",
                    "yes" if c.rare else "no ◦",
                ]
                for t in tables
                if (c := conditions.get(t)) is not None
            ],
        )
    )
    if any(not c.rare for c in conditions.values()):
        lines += [
            "",
            f"◦ no categorical level has ≤ {RARE_SHARE:.0%} of the training rows and "
            f"≥ {MIN_RARE_ROWS} rows; the rarest level with ≥ {MIN_RARE_ROWS} rows is used.",
        ]
    lines += ["", "### Results", ""]
    table_rows = []
    notes: list[str] = []
    for t in tables:
        for name, r in results.get(t, {}).items():
            if "calls" not in r:
                notes.append(f"{t}, {name}: {r.get('error')}")
                table_rows.append([t, name, f"fit failed [{len(notes)}]"] + ["—"] * 7)
                continue
            mark = ""
            if r.get("error") or r.get("warnings"):
                notes.append(
                    f"{t}, {name}: "
                    + "; ".join([*([r["error"]] if r.get("error") else []), *r.get("warnings", [])])
                )
                mark = f" [{len(notes)}]"
            table_rows.append(
                [
                    t,
                    name,
                    _fmt_rows(r["rows_returned"]) + mark,
                    pct(r.get("match_share")),
                    _fmt_rate(r.get("rows_per_s")),
                    _fmt_rate(r.get("valid_rows_per_s")),
                    f"{r['seconds']:.3f}" + (" †" if busy(r) else ""),
                    r.get("method", "—"),
                    fmt(r.get("fit_s"), 1),
                    str(r.get("repeats", "—")),
                ]
            )
    lines.append(
        md_table(
            [
                "table",
                "model",
                "rows returned",
                "match",
                "rows/s",
                "valid rows/s",
                "call s",
                "how",
                "fit s",
                "calls",
            ],
            table_rows,
        )
    )
    if notes:
        lines += [""] + [f"[{i}] {note}" for i, note in enumerate(notes, 1)]
    if any(busy(r) for r in records):
        lines += [
            "",
            "† measured while other processes competed for the CPU (1-min load average above "
            f"{N_THREADS + 1}): the wall time is inflated.",
        ]
    return "\n".join(lines) + "\n"


def print_summary(
    tables: list[str],
    conditions: dict[str, RareLevel],
    results: dict[str, dict[str, dict[str, Any]]],
) -> None:
    """Plain-text summary on stdout."""
    rows = []
    for t in tables:
        c = conditions[t]
        for name, r in results.get(t, {}).items():
            rows.append(
                {
                    "table": t,
                    "condition": f"{c.column}={c.level!r} ({c.count})",
                    "model": name,
                    "returned": _fmt_rows(r["rows_returned"]) if "calls" in r else "—",
                    "match": pct(r.get("match_share")),
                    "rows_per_s": r.get("rows_per_s"),
                    "valid_rows_per_s": r.get("valid_rows_per_s"),
                    "call_s": r.get("seconds"),
                    "how": r.get("method"),
                    "fit_s": r.get("fit_s"),
                    "error": (r.get("error") or "")[:50],
                }
            )
    with pd.option_context(
        "display.width", 250, "display.max_columns", 30, "display.float_format", "{:,.3f}".format
    ):
        print("\n== conditional sampling")
        print(pd.DataFrame(rows).to_string(index=False))


# --------------------------------------------------------------------------- CLI
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``tables``, ``models`` and ``configs`` become lists)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated subset of {TABLES}")
    p.add_argument(
        "--models",
        default=",".join(DEFAULT_MODELS),
        help=f"comma-separated subset of {MODELS} (default {','.join(DEFAULT_MODELS)}; "
        "gaussiancopula is for smoke tests)",
    )
    p.add_argument(
        "--configs",
        default=",".join(BACKEND_CONFIGS),
        help="comma-separated presets to run ours with, each as Synthesizer(config=...) "
        f"(default {','.join(BACKEND_CONFIGS)})",
    )
    p.add_argument("--rows", type=int, default=N_ROWS, help=f"rows asked for (default {N_ROWS})")
    p.add_argument(
        "--repeats",
        type=int,
        default=REPEATS,
        help=f"timed conditional calls per model; medians are reported (default {REPEATS})",
    )
    p.add_argument("--refresh", action="store_true", help="recompute results even if cached")
    p.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="override the epochs of ours, CTGAN and TVAE (for smoke tests only; kept apart "
        "in the cache and flagged in the report)",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file to update")
    p.add_argument("--no-write", action="store_true", help="do not touch the markdown file")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.tables = split_choices(p, args.tables, TABLES, "table")
    args.models = split_choices(p, args.models, MODELS, "model")
    args.configs = list(dict.fromkeys(c.strip() for c in args.configs.split(",") if c.strip()))
    if OURS in args.models and not args.configs:
        p.error("--configs needs at least one preset")
    for name in ("rows", "repeats", "epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name} must be a positive integer")
    return args


def reproduce_command(args: argparse.Namespace) -> str:
    """Command line that regenerates the section for these settings."""
    options = []
    if args.tables != TABLES:
        options += ["--tables", ",".join(args.tables)]
    if args.models != DEFAULT_MODELS:
        options += ["--models", ",".join(args.models)]
    options += ["--configs", ",".join(args.configs)]
    if args.rows != N_ROWS:
        options += ["--rows", str(args.rows)]
    if args.repeats != REPEATS:
        options += ["--repeats", str(args.repeats)]
    if args.epochs is not None:
        options += ["--epochs", str(args.epochs)]
    return module_command("conditional_sampling", options)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns a process exit code."""
    args = parse_args(argv)
    set_threads(N_THREADS)
    warm_up_torch()
    machine = machine_info()
    print(
        f"machine: {machine['nproc']} cores, {machine['cpu_model']}, torch threads "
        f"{machine['torch_threads']}; sdv {pkg_version('sdv')}; {args.rows} rows per call, "
        f"{args.repeats} call(s)",
        flush=True,
    )
    cache_path = args.results_dir / "conditional.json"
    conditions: dict[str, RareLevel] = {}
    results: dict[str, dict[str, dict[str, Any]]] = {}
    failures = 0
    for table in args.tables:
        conditions[table], results[table], failed = run_table(table, args, machine, cache_path)
        failures += failed
    print_summary(args.tables, conditions, results)
    if not args.no_write:
        body = build_report(
            args.tables, conditions, results, reproduce_command(args), machine, args.rows
        )
        write_section(args.out, body, MARK_START, MARK_END)
        print(f"\nwrote section {MARK_START} to {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
