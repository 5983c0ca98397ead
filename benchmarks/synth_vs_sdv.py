"""Benchmark ``toolkit.Synthesizer`` against SDV 2.x anchors on medical tables.

For every table and every seed (``--seeds``, default 0,1,2): stratified 80/20 split
with that seed, fit each synthesizer with that seed on the 80 % part, then measure

* fit time (wall seconds) and sampling speed (rows/s on a separate large sample),
* sdmetrics ``QualityReport`` (overall, Column Shapes, Column Pair Trends) against
  the real training data,
* ML efficacy: macro-F1 on the real 20 % test set of a HistGradientBoosting
  classifier trained on synthetic data (TSTR), next to the same model trained on
  the real training data (TRTR).

Our model runs once per preset in ``--configs`` (default ``default,gan,vaegan``:
the VAE, the conditional WGAN-GP and the VAE-GAN backends).

Results are cached and reused: SDV anchors in ``results/anchors.json`` (keyed by
table, model, seed and SDV version; ``--refresh-anchors`` recomputes them), ours in
``results/toolkit_latest.json`` (keyed by table, seed and config; ``--refresh-ours``
refits them). A summary is printed and written into three marked sections of
``BENCHMARKS.md``, built by :mod:`benchmarks.synth_report`:

* ``synth_vs_sdv``: the default preset against the anchors (means over the seeds
  ± standard deviation for quality and F1, ratios on those means, targets, and a
  collapsible per-seed table);
* ``backends``: the GAN preset against CTGAN (its own targets) and our backends
  side by side;
* ``fidelity``: detection AUROC, α-precision / β-recall, copies and membership
  inference per model, with the default preset's targets.

Run from the repository root. Examples::

    python -m benchmarks.synth_vs_sdv                      # everything, seeds 0,1,2
    python -m benchmarks.synth_vs_sdv --models toolkit --refresh-ours  # refit ours
    python -m benchmarks.synth_vs_sdv --configs gan --models toolkit --refresh-ours
    python -m benchmarks.synth_vs_sdv --seed 0             # a single seed
    python -m benchmarks.synth_vs_sdv --models gaussiancopula,tvae,ctgan --no-write
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from benchmarks.common import (
    BACKEND_CONFIGS,
    DEFAULT_CONFIG,
    DEFAULT_OUT,
    GAN_CONFIG,
    N_THREADS,
    OURS,
    RESULTS_DIR,
    SDV_MODELS,
    SDVModel,
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
    toolkit_version,
    warm_up_torch,
)
from benchmarks.datasets import SPECS, TABLES, split_table
from benchmarks.markdown import module_command, seed_list, write_section
from benchmarks.synth_report import (
    BACKENDS_END,
    BACKENDS_START,
    FIDELITY_END,
    FIDELITY_START,
    MARK_END,
    MARK_START,
    METRICS,
    OURS_DEFAULT,
    SPEED_ROWS,
    Results,
    aggregate_table,
    build_backends_report,
    build_fidelity_report,
    build_report,
    successful_records,
    summarise_gan,
    summarise_table,
    vaegan_beats_both,
)

ALL_MODELS: list[str] = [OURS, *SDV_MODELS]
MAX_HGB_CATEGORIES = 250  # HistGradientBoosting supports at most max_bins (255) categories


# --------------------------------------------------------------------------- models
class Fitted(Protocol):
    """Anything that can sample a DataFrame after being fitted."""

    def sample(self, num_rows: int) -> Any: ...


ModelFactory = Callable[[pd.DataFrame], Fitted]


def model_factory(
    model: str, metadata: Any, table_name: str, seed: int, config: str | None
) -> ModelFactory:
    """Return ``fit(train) -> fitted model`` for ``model``.

    Imports happen here, outside the timed ``fit`` call.
    """
    if model == OURS:
        from toolkit import Synthesizer  # imported lazily: anchor runs never need it

        def fit_ours(train: pd.DataFrame) -> Fitted:
            kwargs: dict[str, Any] = {"random_state": seed}
            if config is not None:
                kwargs["config"] = config
            synth = Synthesizer(**kwargs)
            fitted = synth.fit(train)
            return fitted if hasattr(fitted, "sample") else synth

        return fit_ours

    import sdv.single_table  # noqa: F401 - warm the import before timing

    def fit_sdv(train: pd.DataFrame) -> Fitted:
        return SDVModel(model, metadata, table_name).fit(train)

    return fit_sdv


def as_frame(sampled: Any, columns: pd.Index) -> pd.DataFrame:
    """Coerce a sampler's output to a DataFrame with the real columns, in order."""
    if isinstance(sampled, dict):
        if len(sampled) != 1:
            raise ValueError(f"expected one table, got {list(sampled)}")
        sampled = next(iter(sampled.values()))
    frame = pd.DataFrame(sampled)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"synthetic data lacks columns {missing}")
    return frame[list(columns)].reset_index(drop=True)


def match_dtypes(synthetic: pd.DataFrame, real: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Give synthetic columns the real columns' dtype family (values are untouched).

    sdmetrics scores e.g. a ``category`` column with NaN differently from the same
    values stored as ``object``; this keeps the comparison about values, not dtypes.
    Returns the converted frame and a list of the conversions made.
    """
    out, notes = synthetic.copy(), []
    for col in real.columns:
        r, s = real[col].dtype, out[col].dtype
        if r == s:
            continue
        if isinstance(s, pd.CategoricalDtype) and not isinstance(r, pd.CategoricalDtype):
            out[col] = out[col].astype(object)
        if pd.api.types.is_datetime64_any_dtype(r):
            out[col] = pd.to_datetime(out[col], errors="coerce")
        elif pd.api.types.is_numeric_dtype(r) and not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = pd.to_numeric(out[col], errors="coerce")
        if out[col].dtype != s:
            notes.append(f"{col}: {s} -> {out[col].dtype}")
    return out, notes


# --------------------------------------------------------------------------- metrics
def quality_scores(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: Any, table_name: str
) -> dict[str, float]:
    """sdmetrics QualityReport score plus its Column Shapes / Column Pair Trends parts."""
    from sdmetrics.reports import QualityReport

    report = QualityReport()
    report.generate({table_name: real}, {table_name: synthetic}, metadata.to_dict(), verbose=False)
    props = report.get_properties().set_index("Property")["Score"]
    return {
        "quality": float(report.get_score()),
        "column_shapes": float(props.get("Column Shapes", np.nan)),
        "column_pair_trends": float(props.get("Column Pair Trends", np.nan)),
    }


def realism_scores(train: pd.DataFrame, synthetic: pd.DataFrame, test: pd.DataFrame,
                   seed: int) -> dict[str, float | None]:
    """Detection AUROC (C2ST), α-precision, β-recall and the membership-inference AUROC
    (training rows vs the unseen test rows, by closeness to the synthetic rows), all by the
    toolkit's report code, the same for every model."""
    from toolkit.evaluate.realism import alpha_precision_beta_recall, detection_auroc
    from toolkit.evaluate.report import column_kinds, privacy

    kinds = column_kinds(train, None)
    return {
        "detection_auroc": detection_auroc(train, synthetic, kinds, seed),
        **alpha_precision_beta_recall(train, synthetic, kinds, seed),
        "membership_auc": privacy(train, synthetic, test, kinds, seed)[0]["membership_auc"],
    }


def exact_copy_share(real: pd.DataFrame, synthetic: pd.DataFrame) -> float:
    """Share of synthetic rows identical to some real row (a memorisation red flag)."""

    def row_hashes(df: pd.DataFrame) -> pd.Series:
        df = df.copy()
        for col in real.columns:
            if pd.api.types.is_numeric_dtype(real[col]) and not pd.api.types.is_bool_dtype(
                real[col]
            ):
                df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
        return pd.util.hash_pandas_object(df.astype(str), index=False)

    return float(row_hashes(synthetic).isin(set(row_hashes(real))).mean())


class FeatureEncoder:
    """Encode features identically for real and synthetic data (HGB-ready).

    Non-numeric columns become ``category`` dtype with the categories observed in
    the *real* data (unseen synthetic values become NaN); datetimes become float
    seconds; booleans and numbers become float.
    """

    def __init__(self, real: pd.DataFrame, target: str) -> None:
        self.kinds: dict[str, str] = {}
        self.categories: dict[str, pd.Index] = {}
        for col in real.columns.drop(target):
            s = real[col]
            if pd.api.types.is_datetime64_any_dtype(s):
                self.kinds[col] = "datetime"
            elif pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                self.kinds[col] = "numeric"
            else:
                cats = pd.Index(pd.unique(s.dropna()))
                self.categories[col] = cats
                self.kinds[col] = "category" if len(cats) <= MAX_HGB_CATEGORIES else "code"

    def transform(self, df: pd.DataFrame) -> pd.DataFrame:
        """Return the encoded feature matrix."""
        out = {}
        for col, kind in self.kinds.items():
            s = df[col]
            if kind == "numeric":
                if isinstance(s.dtype, pd.CategoricalDtype):
                    s = s.astype(object)
                out[col] = pd.to_numeric(s, errors="coerce").astype(float)
            elif kind == "datetime":
                ts = pd.to_datetime(s, errors="coerce")
                out[col] = (ts - pd.Timestamp(0)) / pd.Timedelta(seconds=1)
            else:
                cat = pd.Categorical(s.astype(object), categories=self.categories[col])
                out[col] = (
                    pd.Series(cat, index=df.index)
                    if kind == "category"
                    else pd.Series(cat.codes, index=df.index).replace(-1, np.nan)
                )
        return pd.DataFrame(out, index=df.index)


def clean_labels(y: pd.Series, classes: Iterable[Any]) -> pd.Series:
    """Map labels onto the real classes (by equality); others/NaN become NaN."""
    y_obj = y.astype(object)
    out = pd.Series(np.nan, index=y.index, dtype=object)
    for c in classes:
        out[(y_obj == c).to_numpy()] = c
    return out


def macro_f1(
    train_x: pd.DataFrame, train_y: pd.Series, test_x: pd.DataFrame, test_y: pd.Series
) -> tuple[float, str]:
    """Fit HGB on (train_x, train_y), return macro-F1 on the test set and a note."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import f1_score

    labels = list(pd.unique(test_y))
    keep = train_y.notna().to_numpy()
    train_x, train_y = train_x[keep], train_y[keep]
    note = "" if keep.all() else f"dropped {int((~keep).sum())} rows with invalid target"
    # a class of one row cannot be split for the classifier's early stopping (above 10,000
    # rows): such a stray row is dropped
    counts = train_y.astype(str).value_counts()
    single = train_y.astype(str).isin(counts.index[counts < 2]).to_numpy()
    if single.any() and len(counts) > 2:
        train_x, train_y = train_x[~single], train_y[~single]
        dropped = f"dropped {int(single.sum())} rows of one-row classes"
        note = "; ".join(filter(None, [note, dropped]))
    if len(train_y) == 0:
        return 0.0, "no usable synthetic rows"
    present = pd.unique(train_y)
    if len(present) < 2:
        pred = np.full(len(test_y), present[0], dtype=object)
        note = "; ".join(filter(None, [note, f"single class {present[0]!r}: constant prediction"]))
    else:
        clf = HistGradientBoostingClassifier(random_state=0, categorical_features="from_dtype")
        clf.fit(train_x, train_y.astype(str))
        lookup = {str(c): c for c in present}
        pred = np.array([lookup[p] for p in clf.predict(test_x)], dtype=object)
    # compared as text: a 0/1 target read as integers works like one of words
    score = f1_score(
        test_y.astype(str).to_numpy(), pred.astype(str), labels=[str(c) for c in labels],
        average="macro", zero_division=0,
    )
    return float(score), note


# --------------------------------------------------------------------------- running
def run_model(
    model: str,
    factory: ModelFactory,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    encoder: FeatureEncoder,
    metadata: Any,
    table_name: str,
    seed: int,
    speed_rows: int,
) -> dict[str, Any]:
    """Fit, sample and evaluate one model on one split."""
    seed_everything(seed)
    load = loadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    fitted = factory(train)
    fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    load = max(load, loadavg())

    t0 = time.perf_counter()
    sampled = fitted.sample(len(train))
    sample_train_s = time.perf_counter() - t0
    synth, dtype_fixes = match_dtypes(as_frame(sampled, train.columns), train)
    t0 = time.perf_counter()
    big = fitted.sample(speed_rows)
    sample_s = time.perf_counter() - t0
    load = max(load, loadavg())
    n_big = len(as_frame(big, train.columns))
    del big

    result: dict[str, Any] = {
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "loadavg_1m": load,
        "sample_rows": n_big,
        "sample_s": sample_s,
        "sample_rows_per_s": n_big / sample_s if sample_s > 0 else math.inf,
        "synthetic_missing_share": float(synth.isna().to_numpy().mean()),
        "exact_copy_share": exact_copy_share(train, synth),
        "fit_sample_s": fit_s + sample_train_s,
        **realism_scores(train, synth, test, seed),
    }
    if dtype_fixes:
        result["dtype_fixes"] = dtype_fixes
    result.update(quality_scores(train, synth, metadata, table_name))
    classes = list(pd.unique(train[target]))
    y_synth = clean_labels(synth[target], classes)
    f1, note = macro_f1(encoder.transform(synth), y_synth, encoder.transform(test), test[target])
    result["f1_tstr"] = f1
    if note:
        result["f1_note"] = note
    return result


# --------------------------------------------------------------------------- caching
def anchor_key(table: str, model: str, seed: int, sdv_version: str) -> str:
    """Cache key of one SDV anchor result."""
    return f"{table}|{model}|seed={seed}|sdv={sdv_version}"


def ours_key(table: str, seed: int, config: str | None) -> str:
    """Cache key of one toolkit result."""
    return f"{table}|seed={seed}|config={config or 'default'}"


# --------------------------------------------------------------------------- summary
def print_summary(tables: list[str], results: Results, info: dict[str, dict[str, Any]]) -> None:
    """Plain-text version of the report on stdout: per seed, then means over seeds."""
    per_seed, means, summary, gan_summary = [], [], [], []
    for t in tables:
        for seed, recs in sorted(results.get(t, {}).items()):
            for m, r in recs.items():
                per_seed.append(
                    {
                        "table": t,
                        "seed": seed,
                        "model": m,
                        "quality": r.get("quality"),
                        "shapes": r.get("column_shapes"),
                        "pairs": r.get("column_pair_trends"),
                        "f1": r.get("f1_tstr"),
                        "f1_trtr": info[t]["f1_trtr"].get(seed),
                        "fit_s": r.get("fit_s"),
                        "rows_per_s": r.get("sample_rows_per_s"),
                        "error": (r.get("error") or "")[:40],
                    }
                )
        aggregated = aggregate_table(results.get(t, {}), info[t]["f1_trtr"])
        for m, summ in aggregated.items():
            means.append(
                {
                    "table": t,
                    "model": m,
                    "n": len(summ.seeds),
                    **{k: summ.mean(k) for k in METRICS},
                    "quality_sd": getattr(summ.stats.get("quality"), "sd", None),
                    "f1_tstr_sd": getattr(summ.stats.get("f1_tstr"), "sd", None),
                }
            )
        summary.append({"table": t, **summarise_table(aggregated)})
        gan_summary.append(
            {
                "table": t,
                **summarise_gan(aggregated),
                "vaegan_beats_both": vaegan_beats_both(aggregated),
            }
        )
    with pd.option_context(
        "display.width", 250, "display.max_columns", 30, "display.float_format", "{:.3f}".format
    ):
        for title, frame in (
            ("per seed", per_seed),
            ("mean over seeds", means),
            (f"{OURS_DEFAULT} vs anchors (on means)", summary),
            (f"{config_label(GAN_CONFIG)} vs ctgan (on means)", gan_summary),
        ):
            print(f"\n== {title}")
            print(pd.DataFrame(frame).to_string(index=False))


# --------------------------------------------------------------------------- CLI
ORDERS = ("seed", "table")
DEFAULT_SEEDS = "0,1,2"
DEFAULT_CONFIGS = ",".join(BACKEND_CONFIGS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``args.seeds`` is always a list of ints)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default=",".join(TABLES), help=f"comma-separated subset of {TABLES}")
    p.add_argument(
        "--models",
        default=",".join(ALL_MODELS),
        help=f"comma-separated subset of {ALL_MODELS} to run (others come from cache)",
    )
    p.add_argument(
        "--configs",
        "--config",
        dest="configs",
        default=DEFAULT_CONFIGS,
        help="comma-separated presets (names in configs/ or YAML paths) to run ours with, "
        "each as Synthesizer(config=...); the default preset is compared with the anchors, "
        f"gan with CTGAN, and all of them side by side (default {DEFAULT_CONFIGS})",
    )
    seeds = p.add_mutually_exclusive_group()
    seeds.add_argument(
        "--seeds",
        default=DEFAULT_SEEDS,
        help="comma-separated split / model seeds, averaged in the report "
        f"(default {DEFAULT_SEEDS})",
    )
    seeds.add_argument("--seed", type=int, default=None, help="a single seed (alias for --seeds N)")
    p.add_argument(
        "--order",
        choices=ORDERS,
        default="seed",
        help="outer loop: 'seed' = every table for the first seed, then the next seed; "
        "'table' = every seed of one table, then the next table. Either way the models of "
        "one (table, seed) run back to back (default: seed)",
    )
    p.add_argument(
        "--refresh-anchors", action="store_true", help="recompute SDV anchors even if cached"
    )
    p.add_argument(
        "--refresh-ours",
        action="store_true",
        help="refit ours for the selected --configs even if cached (by default cached "
        "results for the same table, seed and config are reused)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="markdown file whose marked sections are (re)written",
    )
    p.add_argument("--no-write", action="store_true", help="do not touch the markdown file")
    p.add_argument("--results-dir", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    p.add_argument("--speed-rows", type=int, default=SPEED_ROWS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.tables = split_choices(p, args.tables, TABLES, "table")
    args.models = split_choices(p, args.models, ALL_MODELS, "model")
    args.seeds = [args.seed] if args.seed is not None else _parse_seeds(p, args.seeds)
    args.configs = _parse_configs(p, args.configs)
    return args


def _parse_configs(p: argparse.ArgumentParser, value: str) -> list[str]:
    """Distinct preset names (or existing YAML files), in the given order."""
    from toolkit.config import preset_names

    configs = list(dict.fromkeys(v.strip() for v in value.split(",") if v.strip()))
    if not configs:
        p.error("--configs needs at least one preset")
    presets = preset_names()
    bad = [c for c in configs if c not in presets and not Path(c).is_file()]
    if bad:
        p.error(f"unknown preset(s) {bad}; choose from {presets} or give YAML files")
    return configs


def report_configs(configs: list[str]) -> list[str]:
    """Presets that appear in the report: the three backends' presets (from the cache when
    not run) followed by any other preset in ``configs``."""
    return [*BACKEND_CONFIGS, *(c for c in configs if c not in BACKEND_CONFIGS)]


def _parse_seeds(p: argparse.ArgumentParser, value: str) -> list[int]:
    """Distinct integer seeds, in the given order."""
    try:
        seeds = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        p.error(f"--seeds must be comma-separated integers, got {value!r}")
    if not seeds:
        p.error("--seeds needs at least one seed")
    return list(dict.fromkeys(seeds))


def reproduce_command(args: argparse.Namespace) -> str:
    """Command line that regenerates the full report for these settings."""
    options = []
    if args.tables != TABLES:
        options += ["--tables", ",".join(args.tables)]
    options += ["--seeds", seed_list(args.seeds)]
    options += ["--configs", ",".join(report_configs(args.configs))]
    return module_command("synth_vs_sdv", options)


def schedule(tables: list[str], seeds: list[int], order: str) -> list[tuple[str, int]]:
    """``(table, seed)`` pairs in run order; see ``--order``."""
    if order == "table":
        return [(t, s) for t in tables for s in seeds]
    return [(t, s) for s in seeds for t in tables]


@dataclass(frozen=True)
class RunContext:
    """Settings shared by every (table, seed) run."""

    args: argparse.Namespace
    machine: dict[str, Any]
    sdv_version: str
    anchors_path: Path
    ours_path: Path
    today: str


def table_info(table: str, train: pd.DataFrame, test: pd.DataFrame, target: str) -> dict[str, Any]:
    """Seed-independent description of a table (``f1_trtr`` is filled per seed)."""
    full = pd.concat([train, test])
    return {
        "source": f"{SPECS[table].package}::{SPECS[table].item}",
        "target": target,
        "n_train": len(train),
        "n_test": len(test),
        "n_cols": train.shape[1],
        "missing_share": float(full.isna().to_numpy().mean()),
        "f1_trtr": {},
        "detection_floor": {},
    }


def holdout_detection(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> float | None:
    """The detection AUROC of the real test rows against the training rows: what rows
    indistinguishable from real ones score."""
    from toolkit.evaluate.realism import detection_auroc
    from toolkit.evaluate.report import column_kinds

    return detection_auroc(train, test, column_kinds(train, None), seed)


def run_table_seed(
    table: str, seed: int, ctx: RunContext, info: dict[str, dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], int]:
    """Run (or fetch from cache) every model on one table for one seed.

    Fills ``info[table]`` (TRTR F1 per seed) and returns ``(model -> record, failures)``.
    """
    args = ctx.args
    train, test, target = split_table(table, seed)
    encoder = FeatureEncoder(pd.concat([train, test], ignore_index=True), target)
    f1_trtr, _ = macro_f1(
        encoder.transform(train),
        clean_labels(train[target], pd.unique(train[target])),
        encoder.transform(test),
        test[target],
    )
    meta = info.setdefault(table, table_info(table, train, test, target))
    meta["f1_trtr"][seed] = f1_trtr
    meta["detection_floor"][seed] = holdout_detection(train, test, seed)
    tag = f"[{table} seed={seed}]"
    print(
        f"\n{tag} {len(train)} train / {len(test)} test, target {target!r}, TRTR F1 {f1_trtr:.3f}",
        flush=True,
    )
    metadata = detect_metadata(train, table)
    records: dict[str, dict[str, Any]] = {}
    failures = 0
    anchors = load_json(ctx.anchors_path)["results"]
    ours_cache = load_json(ctx.ours_path)["results"]
    # (model, config, cache key): ours once per preset, then the anchors
    jobs: list[tuple[str, str | None, str]] = [
        (OURS, config, ours_key(table, seed, config)) for config in report_configs(args.configs)
    ]
    jobs += [(m, None, anchor_key(table, m, seed, ctx.sdv_version)) for m in SDV_MODELS]
    for model, config, key in jobs:
        name = model if config is None else config_label(config)
        if config is None:
            cached = anchors.get(key)
            wanted = model in args.models
            refresh = args.refresh_anchors
        else:
            cached = ours_cache.get(key)
            wanted = model in args.models and config in args.configs
            refresh = args.refresh_ours or (cached is not None and "error" in cached)
        # records from before the detection metrics are measured again
        refresh = refresh or (cached is not None and "detection_auroc" not in cached)
        if cached is not None and not (wanted and refresh):
            records[name] = cached
            if wanted:
                print(f"{tag} {name}: cached ({cached.get('date', '?')})", flush=True)
            continue
        if not wanted:
            continue

        print(f"{tag} {name}: fitting ...", flush=True)
        record = fit_and_evaluate(
            model, config, table, seed, ctx, train, test, target, encoder, metadata
        )
        record["f1_trtr"] = f1_trtr
        if config is None:
            record["sdv_version"] = ctx.sdv_version
            if "error" not in record:  # never cache failures
                save_result(ctx.anchors_path, key, record)
        else:
            record.update(
                {
                    "config": config,
                    "label": name,
                    "git": git_revision(),
                    "toolkit_version": toolkit_version(),
                }
            )
            save_result(ctx.ours_path, key, record)  # failures too; refitted next time
        records[name] = record
        if "error" in record:
            failures += 1
            print(f"{tag} {name}: ERROR {record['error']}", flush=True)
        else:
            print(
                f"{tag} {name}: fit {record['fit_s']:.1f}s, "
                f"{record['sample_rows_per_s']:,.0f} rows/s, "
                f"quality {record['quality']:.3f}, F1 {record['f1_tstr']:.3f}",
                flush=True,
            )
    return records, failures


def fit_and_evaluate(
    model: str,
    config: str | None,
    table: str,
    seed: int,
    ctx: RunContext,
    train: pd.DataFrame,
    test: pd.DataFrame,
    target: str,
    encoder: FeatureEncoder,
    metadata: Any,
) -> dict[str, Any]:
    """Fit and evaluate one model (ours with preset ``config``, or an SDV anchor) on one
    split; a failure is returned as the record's ``error``, with the traceback printed."""
    record: dict[str, Any] = {
        "table": table,
        "model": model,
        "seed": seed,
        "date": ctx.today,
        "machine": ctx.machine,
    }
    try:
        factory = model_factory(model, metadata, table, seed, config)
        record.update(
            run_model(
                model,
                factory,
                train,
                test,
                target,
                encoder,
                metadata,
                table,
                seed,
                ctx.args.speed_rows,
            )
        )
    except Exception as exc:  # noqa: BLE001 - keep going, report the failure
        traceback.print_exc()
        record["error"] = f"{type(exc).__name__}: {exc}"
    return record


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns a process exit code."""
    args = parse_args(argv)
    set_threads(N_THREADS)
    warm_up_torch()
    ctx = RunContext(
        args=args,
        machine=machine_info(),
        sdv_version=pkg_version("sdv"),
        anchors_path=args.results_dir / "anchors.json",
        ours_path=args.results_dir / "toolkit_latest.json",
        today=dt.date.today().isoformat(),
    )
    print(
        f"machine: {ctx.machine['nproc']} cores, {ctx.machine['cpu_model']}, "
        f"torch threads {ctx.machine['torch_threads']}; sdv {ctx.sdv_version}; "
        f"seeds {seed_list(args.seeds)} (order: {args.order})",
        flush=True,
    )

    results: Results = {t: {} for t in args.tables}
    info: dict[str, dict[str, Any]] = {}
    failures = 0
    for table, seed in schedule(args.tables, args.seeds, args.order):
        records, failed = run_table_seed(table, seed, ctx, info)
        results[table][seed] = records
        failures += failed

    print_summary(args.tables, results, info)
    if not args.no_write:
        command = reproduce_command(args)
        body = build_report(args.tables, results, info, args.seeds, command, ctx.machine)
        write_section(args.out, body, MARK_START, MARK_END)
        print(f"\nwrote section {MARK_START} to {args.out}")
        configs = report_configs(args.configs)
        others = [config_label(c) for c in configs if c != DEFAULT_CONFIG]
        if successful_records(args.tables, results, others):
            body = build_backends_report(args.tables, results, info, args.seeds, command, configs)
            write_section(args.out, body, BACKENDS_START, BACKENDS_END)
            print(f"wrote section {BACKENDS_START} to {args.out}")
        else:
            print(f"no results for {others}: section {BACKENDS_START} left as it is")
        labels = [config_label(c) for c in configs] + list(SDV_MODELS)
        body = build_fidelity_report(args.tables, results, info, args.seeds, command, labels)
        write_section(args.out, body, FIDELITY_START, FIDELITY_END)
        print(f"wrote section {FIDELITY_START} to {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
