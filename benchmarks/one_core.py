"""Fit + sample time on one core (issue 36): the default preset against SDV's TVAE and
GaussianCopula on the small benchmark tables, every model with the same single core.

``synth_vs_sdv`` gives every model two torch threads; this script pins each fit to one core
instead (``taskset -c 0``, one torch and BLAS thread), so that a model that trains on one
thread by default (ours) and one that uses every thread it is given (TVAE) are compared on the
same CPU budget, as the issue's table is. Each (table, seed, model) runs in a fresh Python
process: after the imports and a torch warm-up it fits on the seed's 80 % training split
(:func:`benchmarks.datasets.split_table`) and samples as many rows, timed in process
(``fit + sample s``); GNU ``time`` gives the whole process's wall time and peak memory
(``process s``: start-up, imports, loading the table, the fit and the sample).

Results are cached in ``benchmarks/results/one_core.json`` with their date; ``--force``
measures again. Run from the repository root::

    python -m benchmarks.one_core                          # 7 tables, seed 0: ~10 minutes
    python -m benchmarks.one_core --tables mifem,indo_rct --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from statistics import mean
from typing import Any

from benchmarks.common import (
    DEFAULT_OUT,
    OURS,
    RESULTS_DIR,
    cached_result,
    load_json,
    machine_info,
    run_pinned,
    split_choices,
)
from benchmarks.datasets import TABLES
from benchmarks.markdown import fmt, machine_desc, md_table, module_command, verdict, write_section

RESULTS = RESULTS_DIR / "one_core.json"
MARKS = ("<!-- one-core:start -->", "<!-- one-core:end -->")
MODELS = (OURS, "tvae", "gaussiancopula")
#: the issue's target: ours at most this share of TVAE's fit + sample time
TARGET = 0.25


def child(model: str, table: str, seed: int) -> dict[str, Any]:
    """Fit ``model`` on ``table``'s training split and sample as many rows, in this process
    (pinned by the caller); the in-process seconds."""
    import torch

    from benchmarks.common import SDVModel, detect_metadata, seed_everything, warm_up_torch
    from benchmarks.datasets import split_table

    torch.set_num_threads(1)
    warm_up_torch()
    train, _, _ = split_table(table, seed)
    if model == OURS:
        from toolkit import Synthesizer

        def fit() -> Any:
            return Synthesizer(random_state=seed).fit(train)
    else:
        metadata = detect_metadata(train, table)

        def fit() -> Any:
            return SDVModel(model, metadata, table).fit(train)
    seed_everything(seed)
    start = time.perf_counter()
    fitted = fit()
    fitted_at = time.perf_counter()
    sampled = fitted.sample(len(train))
    done = time.perf_counter()
    return {"rows": len(train), "sampled": len(sampled), "fit_s": fitted_at - start,
            "sample_s": done - fitted_at, "fit_sample_s": done - start}


def run_child(model: str, table: str, seed: int) -> dict[str, Any]:
    """:func:`child` in a fresh process on one core; its record plus the process's wall
    seconds and peak memory."""
    stdout, seconds, peak_gb = run_pinned([sys.executable, "-m", "benchmarks.one_core", "--child",
                                           model, table, str(seed)])
    record = json.loads(stdout.strip().splitlines()[-1])
    return {**record, "process_s": seconds, "peak_gb": peak_gb, "machine": machine_info()}


def write_report(out: Path) -> None:
    """Rewrite the section of ``out`` from every cached record."""
    results = load_json(RESULTS)["results"]
    if not results:
        return
    machine = next(iter(results.values()))["machine"]
    lines = ["## Fit + sample on one core (issue 36)", "",
             f"Reproduce: `{module_command('one_core')}` (cached in "
             "`benchmarks/results/one_core.json`; `--force` re-measures). Every model in its "
             "own process pinned to one core (`taskset -c 0`, one torch and BLAS thread), "
             f"{machine_desc({**machine, 'torch_threads': 1})}. Fit on the seed's 80 % "
             "training split and sample as many rows, timed in process after the imports and "
             "a torch warm-up (fit + sample s); process s is the whole process's wall time "
             "(start-up, imports, loading the table, fit, sample). Default parameters for "
             f"every model (ours: the default preset). Target: ours ≤ {TARGET} × TVAE's "
             "fit + sample time.", ""]
    header = ["table", "seed", "rows", "ours fit + sample s", "TVAE fit + sample s",
              "GaussianCopula fit + sample s", "ours / TVAE", f"≤ {TARGET}",
              "ours / TVAE, process s", "measured"]
    table = []
    for key in sorted(results, key=lambda k: (TABLES.index(k.split("@")[0]), k)):
        name, seed, model = key.split("@")
        if model != OURS:
            continue
        ours = results[key]
        tvae = results.get(f"{name}@{seed}@tvae")
        copula = results.get(f"{name}@{seed}@gaussiancopula")
        share = ours["fit_sample_s"] / tvae["fit_sample_s"] if tvae else None
        table.append([name, seed, fmt(ours["rows"]), fmt(ours["fit_sample_s"], 2),
                      fmt(tvae and tvae["fit_sample_s"], 2),
                      fmt(copula and copula["fit_sample_s"], 2), fmt(share),
                      verdict(None if share is None else share <= TARGET),
                      fmt(tvae and ours["process_s"] / tvae["process_s"]), ours["date"]])
    lines += [md_table(header, table), ""]
    lines += ["Per table, over the seeds measured (mean of each seed's ratio):", "",
              md_table(["table", "seeds", "ours / TVAE", f"≤ {TARGET}"],
                       [[name, str(len(shares)), fmt(mean(shares)), verdict(mean(shares) <= TARGET)]
                        for name, shares in _shares(results).items()]), ""]
    write_section(out, "\n".join(lines), *MARKS)


def _shares(results: dict[str, Any]) -> dict[str, list[float]]:
    """Each table's ours / TVAE fit + sample ratios, one per seed where both are measured."""
    shares: dict[str, list[float]] = {}
    for name in TABLES:
        for key, ours in results.items():
            table, seed, model = key.split("@")
            tvae = results.get(f"{table}@{seed}@tvae")
            if table == name and model == OURS and tvae:
                shares.setdefault(name, []).append(ours["fit_sample_s"] / tvae["fit_sample_s"])
    return shares


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated tables")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated models")
    parser.add_argument("--seeds", default="0", help="comma-separated split and model seeds")
    parser.add_argument("--force", action="store_true", help="measure cached records again")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-write", action="store_true", help="do not touch the markdown")
    args = parser.parse_args(argv)
    tables = split_choices(parser, args.tables, TABLES, "table")
    models = split_choices(parser, args.models, list(MODELS), "model")
    for seed in [int(seed) for seed in args.seeds.split(",")]:
        for table in tables:
            for model in models:
                record = cached_result(RESULTS, f"{table}@{seed}@{model}", args.force,
                                       lambda m=model, t=table, s=seed: run_child(m, t, s))
                print(f"{table} seed {seed} {model}: fit + sample {record['fit_sample_s']:.2f} s,"
                      f" process {record['process_s']:.1f} s", flush=True)
    if not args.no_write:
        write_report(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
