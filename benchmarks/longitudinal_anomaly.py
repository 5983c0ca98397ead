"""Anomalies in context: a lab value unusual *for this patient*, found or not.

For every longitudinal table of ``benchmarks.longitudinal`` with numbers that change within
a patient (:data:`TABLES`) and every seed, the patients are split 80/20 (the same seeded
split as the longitudinal benchmark). In the held-out patients' rows, anomalies are
injected: for a seeded choice of patients with at least :data:`MIN_ROWS` rows, one row
after the first and one changing numeric column with a present value get that value moved
by :data:`SHIFT` of the patient's own standard deviations of the column (up or down,
whichever stays within the training rows' range of the column; integers rounded) — a value
ordinary in the population, unusual for this patient. About :data:`ANOMALY_SHARE` of the
held-out rows are moved so.

Every detector is fitted on the training patients' rows and scores the held-out rows; the
scores are measured with AUROC and AUPRC (average precision) against the injected rows:

* ``ours (in context)``: ``AnomalyDetector(subject=..., order=..., random_state=seed)``, each
  row scored given its patient's attributes and earlier rows;
* ``ours (flat)``: ``AnomalyDetector(random_state=seed)``, each row on its own;
* PyOD's ``IForest`` and ``KNN`` (default parameters), on the table without identifiers or
  personal columns, one-hot encoded, median-imputed and z-scored (as in
  ``benchmarks.ad_vs_pyod``).

Results are cached in ``results/longitudinal_anomaly.json`` with their date; the report goes
between ``<!-- longitudinal_anomaly:start -->`` and ``<!-- longitudinal_anomaly:end -->`` in
``BENCHMARKS.md``.

Example (from the repository root)::

    python -m benchmarks.longitudinal_anomaly --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import longitudinal
from benchmarks.ad_vs_pyod import metrics, pyod_input
from benchmarks.common import (
    DEFAULT_OUT,
    RESULTS_DIR,
    git_revision,
    load_json,
    machine_info,
    pkg_version,
    pyod_detector,
    save_result,
    seed_everything,
    set_threads,
    split_choices,
    timed,
    toolkit_version,
)
from benchmarks.markdown import machine_desc, md_table, module_command, seed_list
from benchmarks.synth_report import mean_sd

RESULTS = RESULTS_DIR / "longitudinal_anomaly.json"
START_MARK = "<!-- longitudinal_anomaly:start -->"
END_MARK = "<!-- longitudinal_anomaly:end -->"
#: the longitudinal tables with numbers that change within a patient
TABLES = ("pbcseq", "covid_testing")
MODELS = ("ours-context", "ours-flat", "iforest", "knn")
MODEL_LABELS = {"ours-context": "ours (in context)", "ours-flat": "ours (flat)",
                "iforest": "PyOD IForest", "knn": "PyOD KNN"}
#: a moved value is this many of the patient's own standard deviations away
SHIFT = 3.0
#: patients need this many rows for a row to be moved
MIN_ROWS = 3
#: share of the held-out rows that are moved (at most one per patient)
ANOMALY_SHARE = 0.05
NUMERIC_KINDS = ("continuous", "integer")
THREADS = 1


def changing_numbers(train: pd.DataFrame, kinds: dict[str, str], subject: str,
                     order: str | None) -> list[str]:
    """The numeric columns whose values change within some training patient."""
    from toolkit.adapters.histories import constant_within

    constant = set(constant_within(train, subject))
    return [c for c, kind in kinds.items() if kind in NUMERIC_KINDS
            and c not in constant and c not in (subject, order)]


def inject(test: pd.DataFrame, train: pd.DataFrame, columns: list[str], kinds: dict[str, str],
           subject: str, order: str | None, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The held-out rows with anomalies moved in (see the module docstring) and the labels
    (1 = moved)."""
    rng = np.random.default_rng(seed + 2000)
    moved = test.copy()
    labels = np.zeros(len(test), dtype=int)
    wanted = max(1, round(ANOMALY_SHARE * len(test)))
    low, high = train[columns].min(), train[columns].max()
    groups = [rows for _, rows in test.groupby(subject, sort=False).groups.items()
              if len(rows) >= MIN_ROWS]
    for index in rng.permutation(len(groups)):
        if labels.sum() >= wanted:
            break
        rows = groups[index]
        history = test.loc[rows].sort_values(order, kind="stable") if order else test.loc[rows]
        candidates = [(row, column) for row in history.index[1:] for column in columns
                      if pd.notna(test.at[row, column])
                      and history[column].std(ddof=0) > 0]
        if not candidates:
            continue
        row, column = candidates[rng.integers(len(candidates))]
        spread = SHIFT * history[column].std(ddof=0)
        value = test.at[row, column]
        options = [value + sign * spread for sign in rng.permutation([-1.0, 1.0])]
        inside = [v for v in options if low[column] <= v <= high[column]]
        if not inside:
            continue
        new = round(inside[0]) if kinds[column] == "integer" else inside[0]
        if new == value:
            continue
        moved.at[row, column] = new
        labels[test.index.get_loc(row)] = 1
    return moved, labels


def plain_columns(table: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """The columns PyOD gets: no identifiers, no personal data, no date-times."""
    keep = [c for c, kind in kinds.items()
            if kind in ("continuous", "integer", "categorical", "boolean")]
    return table[keep]


def run_one(name: str, model: str, seed: int) -> dict[str, Any]:
    """Fit one detector on one split and score the held-out rows with injected anomalies."""
    from toolkit import AnomalyDetector
    from toolkit.evaluate.report import column_kinds

    spec = longitudinal.TABLES[name]
    train, test = longitudinal.split(name, longitudinal.load(name), seed)
    kinds = column_kinds(train, None)
    columns = changing_numbers(train, kinds, spec.subject, spec.order)
    moved, labels = inject(test, train, columns, kinds, spec.subject, spec.order, seed)
    seed_everything(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if model.startswith("ours"):
            context = ({"subject": spec.subject, "order": spec.order}
                       if model == "ours-context" else {})
            detector, fit_s = timed(lambda: AnomalyDetector(random_state=seed, **context)
                                    .fit(train))
            scores = detector.decision_function(moved)
        else:
            fit, score = pyod_input(plain_columns(train, kinds), plain_columns(moved, kinds))
            detector = pyod_detector(model, fit.shape[1], seed)
            _, fit_s = timed(lambda: detector.fit(fit))
            scores = detector.decision_function(score)
    return {**metrics(labels, np.asarray(scores, dtype=float)), "fit_s": fit_s,
            "table": name, "model": model, "seed": seed, "anomalies": int(labels.sum()),
            "rows": len(test), "columns": columns, "date": dt.date.today().isoformat(),
            "git": git_revision(), "toolkit_version": toolkit_version(),
            "pyod_version": pkg_version("pyod")}


def key(name: str, model: str, seed: int) -> str:
    """A record's cache key."""
    return f"{name}|{model}|seed={seed}"


def build_report(results: dict[str, Any], tables: list[str], seeds: list[int],
                 machine: dict[str, Any]) -> str:
    """The markdown section: per table, each detector's AUROC and AUPRC (mean ± sd over the
    seeds), with the in-context detector's ratio to the flat one."""
    rows = []
    for name in tables:
        records = {m: [results[key(name, m, s)] for s in seeds if key(name, m, s) in results]
                   for m in MODELS}
        flat = mean_sd(r["auroc"] for r in records["ours-flat"])
        for model in MODELS:
            auroc = mean_sd(r["auroc"] for r in records[model])
            ap = mean_sd(r["auprc"] for r in records[model])
            if auroc is None:
                continue
            anomalies = sum(r["anomalies"] for r in records[model])
            held = sum(r["rows"] for r in records[model])
            versus = (f"{auroc.mean / flat.mean:.2f}" if flat and model != "ours-flat"
                      else "–")
            rows.append([name, MODEL_LABELS[model], f"{auroc.mean:.3f} ± {auroc.sd:.3f}",
                         f"{ap.mean:.3f} ± {ap.sd:.3f}", versus,
                         f"{anomalies} of {held}"])
    table = md_table(["table", "detector", "AUROC", "AUPRC", "AUROC ÷ ours flat",
                      "moved rows (all seeds)"], rows)
    return (
        "## Anomalies in context: a value unusual for this patient\n\n"
        f"Held-out patients (20 %, split by patient), about {ANOMALY_SHARE:.0%} of their rows "
        f"with one changing number moved by {SHIFT:g} of the patient's own standard "
        "deviations, within the training range (ordinary in the population, unusual for "
        "the patient). Every detector is fitted on the training patients' rows. Seeds "
        f"{seed_list(seeds)}; {machine_desc(machine)}.\n\n"
        f"{table}\n\n"
        f"Reproduce: `{module_command('longitudinal_anomaly')}`\n"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``args.tables`` and ``args.seeds`` as lists)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", default=",".join(TABLES),
                   help=f"comma-separated subset of {list(TABLES)}")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated split / model seeds")
    p.add_argument("--refresh", action="store_true", help="refit every detector")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="markdown file to rewrite")
    p.add_argument("--no-write", action="store_true", help="do not touch the markdown file")
    args = p.parse_args(argv)
    args.tables = split_choices(p, args.tables, list(TABLES), "table")
    args.seeds = [int(s) for s in args.seeds.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and rewrite its section; returns a process exit code."""
    from benchmarks.markdown import write_section

    args = parse_args(argv)
    set_threads(THREADS)
    results = load_json(RESULTS).get("results", {})
    for name in args.tables:
        for seed in args.seeds:
            for model in MODELS:
                if key(name, model, seed) in results and not args.refresh:
                    continue
                record = run_one(name, model, seed)
                save_result(RESULTS, key(name, model, seed), record)
                results[key(name, model, seed)] = record
                print(f"[{name} seed={seed}] {model}: AUROC {record['auroc']:.3f} "
                      f"AUPRC {record['auprc']:.3f} ({record['anomalies']} moved rows)",
                      flush=True)
    body = build_report(results, args.tables, args.seeds, machine_info())
    print(body)
    if not args.no_write:
        write_section(args.out, body, START_MARK, END_MARK)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
