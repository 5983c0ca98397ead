"""Differential privacy: quality, utility and measured privacy against ε, and DP's fit time.

For each table and seed: a seeded 20 % holdout is kept out; the default preset is fitted on
the other 80 % without DP (ε = ∞) and with ``epsilon`` ∈ {0.5, 1, 3, 10} (δ = 1/n^1.1,
max_grad_norm 1). The metadata a private fit needs (kinds, min/max, levels) is taken from the
whole table, standing in for a public data dictionary. Every synthetic table (as many rows
as the training part) goes through ``toolkit.evaluate.report.evaluate`` with the holdout and the
table's target: sdmetrics quality, TSTR/TRTR utility, and the report's privacy numbers.

Writes the section between ``<!-- dp:start -->`` and ``<!-- dp:end -->`` of BENCHMARKS.md
and a plot, ``benchmarks/results/dp_tradeoff.png``. Example (from the repository root)::

    python -m benchmarks.dp_tradeoff --seeds 0,1
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import (
    DEFAULT_OUT,
    N_THREADS,
    REPO_ROOT,
    RESULTS_DIR,
    git_revision,
    machine_info,
    pkg_version,
    set_threads,
)
from benchmarks.datasets import load_table
from benchmarks.markdown import machine_desc, md_table, module_command, seed_list, write_section
from toolkit.adapters.dp_statistics import draft_schema

START, END = "<!-- dp:start -->", "<!-- dp:end -->"
TABLES = ("flchain", "slid", "mifem")
EPSILONS = (0.5, 1.0, 3.0, 10.0, None)  # None: no DP
RESULTS = RESULTS_DIR
PLOT = RESULTS / "dp_tradeoff.png"


def run_one(table: pd.DataFrame, target: str, schema: dict, epsilon: float | None,
            seed: int) -> dict[str, Any]:
    """Fit on 80 %, evaluate against the 20 % holdout."""
    from toolkit import Synthesizer
    from toolkit.evaluate.report import evaluate

    holdout = table.sample(frac=0.2, random_state=seed)
    train = table.drop(index=holdout.index)
    kinds = {c: e["kind"] for c, e in schema.items()}
    started = time.perf_counter()
    if epsilon is None:
        model = Synthesizer(metadata=kinds, random_state=seed).fit(train)
    else:
        model = Synthesizer(metadata=schema, epsilon=epsilon, random_state=seed).fit(train)
    fit_s = time.perf_counter() - started
    synthetic = model.sample(len(train))
    report = evaluate(train, synthetic, holdout=holdout, target=target, metadata=kinds,
                      random_state=seed).to_dict()
    privacy = report["privacy"]
    return {
        "epsilon": epsilon, "seed": seed, "fit_s": fit_s,
        "spent": None if model.privacy_ is None else model.privacy_["epsilon"],
        "delta": None if model.privacy_ is None else model.privacy_["delta"],
        "quality": report["fidelity"]["quality"],
        "utility": report["utility"]["ratio"],
        "closer_excess": privacy["closer_to_train_share"] - privacy["closer_to_train_expected"],
        "membership_auc": privacy["membership_auc"],
        "copies": privacy["exact_copies"],
    }


def measure(tables: list[str], seeds: list[int]) -> dict[str, list[dict[str, Any]]]:
    """Every table, seed and ε (``EPSILONS``): ``table -> rows`` of :func:`run_one`."""
    results: dict[str, list[dict[str, Any]]] = {}
    for name in tables:
        table, target = load_table(name)
        schema = draft_schema(table)  # stands in for a public data dictionary
        results[name] = []
        for seed in seeds:
            for epsilon in EPSILONS:
                row = run_one(table, target, schema, epsilon, seed)
                results[name].append(row)
                print(f"[{name} eps={epsilon} seed={seed}] " + json.dumps(
                    {k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}),
                    flush=True)
    return results


def _mean(rows: list[dict], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def plot(results: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """Quality and utility ratio against ε, one line per table (∞ drawn at the right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    finite = [e for e in EPSILONS if e is not None]
    positions = [*finite, finite[-1] * 3]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, rows in results.items():
        for axis, key in zip(axes, ("quality", "utility"), strict=True):
            values = [_mean([r for r in rows if r["epsilon"] == e], key) for e in EPSILONS]
            axis.plot(positions, values, marker="o", label=name)
    for axis, title in zip(axes, ("sdmetrics quality", "utility (TSTR / TRTR)"), strict=True):
        axis.set_xscale("log")
        axis.set_xticks(positions, [*(f"{e:g}" for e in finite), "∞"])
        axis.set_xlabel("ε")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    axes[0].axhline(0.8, color="grey", linestyle="--", linewidth=1)
    axes[0].legend()
    figure.tight_layout()
    path.parent.mkdir(exist_ok=True)
    figure.savefig(path, dpi=110)


def report(results: dict[str, list[dict[str, Any]]], seeds: list[int], command: str) -> str:
    """The markdown section: means over the seeds per table and ε, the target, the plot."""
    lines = [
        "## Differential privacy: quality, utility and measured privacy against ε",
        "",
        f"Reproduce: `{command}`. Machine: {machine_desc(machine_info())}; toolkit commit "
        f"{git_revision()}, Opacus {pkg_version('opacus')}, sdmetrics "
        f"{pkg_version('sdmetrics')}; seeds {seed_list(seeds)}, means shown.",
        "",
        "Default preset (VAE), 80 % train / 20 % holdout; δ = 1/n^1.1, max_grad_norm 1; the "
        "metadata (kinds, bounds, levels) stands in for a public data dictionary. ε = ∞ is the "
        "ordinary fit. Privacy columns from the report: excess share of synthetic rows closer "
        "to a training row than to an unseen one (0: no leak), membership-inference AUC (0.5: "
        "chance), exact copies of training rows.",
        "",
    ]
    header = ["table", "ε", "ε spent", "quality", "utility ratio", "closer-share excess",
              "membership AUC", "copies", "fit s", "fit time vs ε = ∞"]
    rows = []
    for name, table_rows in results.items():
        plain = _mean([r for r in table_rows if r["epsilon"] is None], "fit_s")
        for epsilon in EPSILONS:
            chosen = [r for r in table_rows if r["epsilon"] == epsilon]
            fit_s = _mean(chosen, "fit_s")
            rows.append([
                name, "∞" if epsilon is None else f"{epsilon:g}",
                "-" if epsilon is None else f"{_mean(chosen, 'spent'):.3f}",
                f"{_mean(chosen, 'quality'):.3f}", f"{_mean(chosen, 'utility'):.3f}",
                f"{_mean(chosen, 'closer_excess'):+.3f}", f"{_mean(chosen, 'membership_auc'):.3f}",
                f"{100 * _mean(chosen, 'copies'):.1f} %", f"{fit_s:.1f}", f"{fit_s / plain:.1f}×"])
    lines += [md_table(header, rows), ""]
    at_one = {name: _mean([r for r in rows_ if r["epsilon"] == 1.0], "quality")
              for name, rows_ in results.items()}
    lines += [
        "Target (quality ≥ 0.80 at ε = 1 on each table): " + ", ".join(
            f"{name} {q:.3f} **{'pass' if q >= 0.8 else 'FAIL'}**" for name, q in at_one.items())
        + ".",
        "",
        f"![quality and utility against ε]({PLOT.relative_to(REPO_ROOT).as_posix()})",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    """Run the benchmark; returns a process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    set_threads(N_THREADS)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = measure(args.tables.split(","), seeds)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dp_tradeoff.json").write_text(json.dumps(results, indent=1) + "\n")
    options = ["--seeds", args.seeds] if args.seeds != "0,1" else []
    if args.tables != ",".join(TABLES):
        options += ["--tables", args.tables]
    command = module_command("dp_tradeoff", options)
    body = report(results, seeds, command)
    print(body)
    if not args.no_write:
        plot(results, PLOT)
        write_section(args.out, body, START, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
