"""Anomaly detection: ``toolkit.AnomalyDetector`` vs PyOD, ADBench's unsupervised protocol.

For every data set of ``benchmarks.ad_datasets`` and every seed, each detector is fitted
on all rows without labels and its training scores (``decision_scores_``) are compared
with the labels: AUROC and AUPRC (average precision). Fit seconds are wall time; scoring
speed is rows/s of ``decision_function`` on the data set's rows repeated to
``--speed-rows`` rows. A separate speed test scores a 20-column mixed table
(16 numeric, 4 categorical, 5 % missing) streamed through ``decision_function``.

Ours: ``AnomalyDetector(random_state=seed)`` (default preset ``detect``, anomaly_score
``combined``), fitted once per seed; the ``reconstruction`` and ``latent`` scores come
from the same fitted model. PyOD (anchors, default parameters, ``random_state=seed``
where the detector has one): IForest, ECOD, KNN, VAE, AutoEncoder, DeepSVDD. PyOD needs
numbers without NaN: its input is the table with missing values imputed by the column
median (ours gets the raw table).

PyOD results are cached in ``results/ad_anchors.json`` with their date (``--refresh-anchors``
recomputes them); ours are always recomputed. The report goes between
``<!-- ad_vs_pyod:start -->`` and ``<!-- ad_vs_pyod:end -->`` in ``BENCHMARKS.md``.

Example (from the repository root)::

    python -m benchmarks.ad_vs_pyod --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import datetime as dt
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from benchmarks.ad_datasets import DATASETS
from benchmarks.common import (
    DEFAULT_OUT,
    N_THREADS,
    RESULTS_DIR,
    git_revision,
    load_json,
    machine_desc,
    machine_info,
    md_table,
    module_command,
    pkg_version,
    pyod_detector,
    save_result,
    set_threads,
    timed,
    write_section,
)
from toolkit.config import ANOMALY_SCORES as OUR_SCORES

START, END = "<!-- ad_vs_pyod:start -->", "<!-- ad_vs_pyod:end -->"
ANCHORS_FILE = RESULTS_DIR / "ad_anchors.json"
OURS_FILE = RESULTS_DIR / "ad_toolkit.json"
OURS = [f"toolkit-{score}" for score in OUR_SCORES]
DEFAULT_MODEL = "toolkit-combined"
PYOD_MODELS = ["iforest", "ecod", "knn", "vae", "autoencoder", "deepsvdd"]


def repeat_rows(X: pd.DataFrame, n: int) -> pd.DataFrame:  # noqa: N803
    """``X``'s rows repeated (and cut) to ``n`` rows."""
    return pd.concat([X] * (n // len(X) + 1), ignore_index=True).iloc[:n]


def metrics(y: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """AUROC and AUPRC (average precision) of ``scores`` against the labels ``y``."""
    return {"auroc": float(roc_auc_score(y, scores)),
            "auprc": float(average_precision_score(y, scores))}


def run_ours(name: str, seed: int, speed_rows: int) -> dict[str, dict[str, Any]]:
    """Fit our default detector once; every score of it against the labels."""
    from toolkit import AnomalyDetector

    table, y = DATASETS[name].load(seed)
    detector, fit_s = timed(lambda: AnomalyDetector(random_state=seed).fit(table))
    big = repeat_rows(table, speed_rows)
    records = {}
    for score in OUR_SCORES:
        detector.anomaly_score = score
        scores = detector.decision_function(table)
        _, score_s = timed(lambda: detector.decision_function(big))  # noqa: B023
        records[f"toolkit-{score}"] = {**metrics(y, scores), "fit_s": fit_s,
                                       "rows_per_s": speed_rows / score_s}
    return records


def run_pyod(name: str, model: str, seed: int, speed_rows: int) -> dict[str, Any]:
    """Fit one PyOD detector on a data set (NaN imputed by the column median); its training
    scores against the labels, fit seconds and scoring rows/s."""
    table, y = DATASETS[name].load(seed)
    numbers = table.to_numpy(dtype=float)
    numbers = np.where(np.isnan(numbers), np.nanmedian(numbers, axis=0), numbers)
    detector = pyod_detector(model, numbers.shape[1], seed)
    _, fit_s = timed(lambda: detector.fit(numbers))
    big = np.resize(numbers, (speed_rows, numbers.shape[1]))
    _, score_s = timed(lambda: detector.decision_function(big))
    return {**metrics(y, detector.decision_scores_), "fit_s": fit_s,
            "rows_per_s": speed_rows / score_s}


def streaming_speed(rows: int, seed: int = 0) -> dict[str, float]:
    """Rows/s of our default detector scoring a 20-column mixed table of ``rows`` rows."""
    from toolkit import AnomalyDetector

    rng = np.random.default_rng(seed)
    data = {f"num_{i}": rng.normal(size=rows) for i in range(16)}
    data.update({f"cat_{i}": rng.choice(["a", "b", "c", "d"], size=rows) for i in range(4)})
    table = pd.DataFrame(data)
    table.loc[rng.random(rows) < 0.05, "num_0"] = np.nan
    detector = AnomalyDetector(random_state=seed).fit(table.iloc[:5000])
    detector.decision_function(table.iloc[:1000])  # warm-up
    _, seconds = timed(lambda: detector.decision_function(table))
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def mean(values: list[float]) -> float:
    """Mean of ``values`` (NaN if there are none)."""
    return float(np.mean(values)) if values else float("nan")


def report(results: dict[str, dict[str, dict[str, dict[str, Any]]]], seeds: list[int],
           speed: dict[str, float], anchors_date: str, argv: str) -> str:
    """The markdown section: per-data-set AUROC, means, ratios, speed."""
    models = OURS + PYOD_MODELS
    names = list(results)

    def stat(name: str, model: str, key: str) -> float:
        return mean([results[name][str(s)][model][key] for s in seeds
                     if model in results[name].get(str(s), {})])

    auroc = {m: {n: stat(n, m, "auroc") for n in names} for m in models}
    auprc = {m: {n: stat(n, m, "auprc") for n in names} for m in models}
    overall = {m: mean(list(auroc[m].values())) for m in models}
    best_pyod = max(PYOD_MODELS, key=lambda m: overall[m])
    ours = overall[DEFAULT_MODEL]
    beats_vae = [n for n in names if auroc[DEFAULT_MODEL][n] >= auroc["vae"][n]]
    machine = machine_info()
    lines = [
        "## Anomaly detection: toolkit vs PyOD",
        "",
        f"Reproduce: `{argv}`. PyOD anchors are cached in `benchmarks/results/ad_anchors.json` "
        "(`--refresh-anchors` recomputes them); ours are recomputed on every run.",
        "",
        f"- Protocol (ADBench, unsupervised): fit on all rows without labels, score the same rows, "
        f"AUROC / AUPRC against the labels; seeds {','.join(map(str, seeds))} (model seed and, "
        "where the protocol down-samples anomalies, the sample); means over seeds.",
        f"- Machine: {machine_desc(machine)}. toolkit commit {git_revision()}, "
        f"PyOD {pkg_version('pyod')} (anchors computed {anchors_date}, same machine).",
        "- Ours: `AnomalyDetector(random_state=seed)` (preset `detect`); the reconstruction and "
        "latent rows are the other scores of the same fitted model. PyOD: default parameters, "
        "NaN imputed by the column median (ours reads the raw table).",
        "- Data sets: " + "; ".join(f"`{n}`: {DATASETS[n].description}" for n in names) + ".",
        "",
        "### Targets",
        "",
        md_table(["target", "ours", "anchor", "verdict"], [
            ["mean AUROC of our default ≥ best PyOD detector's mean", f"{ours:.3f}",
             f"{overall[best_pyod]:.3f} ({best_pyod})",
             "pass" if ours >= overall[best_pyod] else "**FAIL**"],
            ["our default's AUROC ≥ PyOD VAE's on every data set",
             f"{len(beats_vae)}/{len(names)}", "VAE",
             "pass" if len(beats_vae) == len(names) else "**FAIL** (" + ", ".join(
                 n for n in names if n not in beats_vae) + ")"],
            ["scoring ≥ 100,000 rows/s, 20-column mixed table (2 cores)",
             f"{speed['rows_per_s']:,.0f}", "", "pass" if speed["rows_per_s"] >= 1e5
             else "**FAIL**"],
        ]),
        "",
        "### AUROC (mean over seeds)",
        "",
        md_table(["detector", *names, "mean", "ratio to best PyOD"], [
            [m if m != DEFAULT_MODEL else f"**{m}** (default)",
             *[f"{auroc[m][n]:.3f}" for n in names], f"{overall[m]:.3f}",
             f"{overall[m] / overall[best_pyod]:.3f}"] for m in models]),
        "",
        "### AUPRC (mean over seeds)",
        "",
        md_table(["detector", *names, "mean"], [
            [m, *[f"{auprc[m][n]:.3f}" for n in names], f"{mean(list(auprc[m].values())):.3f}"]
            for m in models]),
        "",
        "### Fit seconds and scoring rows/s (means over data sets and seeds)",
        "",
        md_table(["detector", "fit s", "scoring rows/s"], [
            [m, f"{mean([stat(n, m, 'fit_s') for n in names]):.2f}",
             f"{mean([stat(n, m, 'rows_per_s') for n in names]):,.0f}"] for m in models]),
        "",
        f"Streaming speed: our default scored {speed['rows']:,} rows × 20 columns (16 numeric, "
        f"4 categorical, 5 % missing in one) in {speed['seconds']:.2f} s = "
        f"{speed['rows_per_s']:,.0f} rows/s (chunks of 65,536 rows).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns a process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--refresh-anchors", action="store_true")
    parser.add_argument("--speed-rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    names = args.datasets.split(",")
    warnings.filterwarnings("ignore")
    set_threads(N_THREADS)
    anchors = load_json(ANCHORS_FILE)["results"]
    results: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    dates = set()
    for name in names:
        for seed in seeds:
            row = results.setdefault(name, {}).setdefault(str(seed), {})
            row.update(run_ours(name, seed, args.speed_rows))
            for model in PYOD_MODELS:
                key = f"{name}|{model}|{seed}|pyod-{pkg_version('pyod')}"
                if args.refresh_anchors or key not in anchors:
                    record = {**run_pyod(name, model, seed, args.speed_rows),
                              "date": dt.date.today().isoformat()}
                    save_result(ANCHORS_FILE, key, record)
                    anchors[key] = record
                row[model] = anchors[key]
                dates.add(anchors[key]["date"])
            print(f"[{name} seed={seed}] " + " ".join(
                f"{m}={r['auroc']:.3f}" for m, r in row.items()), flush=True)
    save_result(OURS_FILE, "latest", {"date": dt.date.today().isoformat(), "results": results})
    speed = streaming_speed(200_000)
    print(f"streaming: {speed['rows_per_s']:,.0f} rows/s")
    command = module_command("ad_vs_pyod", ["--seeds", args.seeds] if args.seeds != "0,1,2" else [])
    body = report(results, seeds, speed, ", ".join(sorted(dates)), command)
    print(body)
    if not args.no_write:
        write_section(args.out, body, START, END)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
