"""Train several backends on the same split and compare them: :func:`compare`.

Every backend is trained on the same training rows (a seeded split that keeps
a holdout out) with its own preset (``vae`` → ``default``, ``gan`` → ``gan``,
``vaegan`` → ``vaegan``), asked for as many rows as it trained on, and measured
with :func:`toolkit.evaluate.report.evaluate` plus fit time, sampling speed and training
stability (the spread of its monitored loss over the last fifth of training,
and whether training diverged).
"""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.backends import BACKENDS
from toolkit.evaluate.report import evaluate
from toolkit.exceptions import DataError, TrainingError, UsageError

PRESETS = {"vae": "default", "gan": "gan", "vaegan": "vaegan"}
#: rows drawn to time sampling
SPEED_ROWS = 20_000


def loss_stability(history: dict[str, list[float]], monitor: str) -> dict[str, Any]:
    """Spread of the monitored loss over the last fifth of the epochs.

    Returns the loss name, its final value and the coefficient of variation
    (standard deviation over the absolute mean) of the last fifth: small means training settled.
    """
    name = monitor if monitor in history else next(iter(history))
    values = np.asarray(history[name], dtype=float)
    tail = values[-max(2, len(values) // 5):]
    spread = float(np.std(tail) / max(abs(np.mean(tail)), 1e-12))
    return {"loss": name, "final": float(values[-1]), "tail_cv": spread, "epochs": len(values)}


def compare(data: pd.DataFrame, backends: list[str], target: str | None = None,
            holdout_frac: float = 0.2, epochs: int | None = None, random_state: int = 0,
            ) -> dict[str, Any]:
    """Train, sample and evaluate each backend on the same split.

    Parameters
    ----------
    data : pandas.DataFrame
        The real table.
    backends : list of str
        Backend names (``vae``, ``gan``, ``vaegan``).
    target : str, optional
        Column for the utility section.
    holdout_frac : float, default 0.2
        Share of rows kept out of training for privacy and utility tests.
    epochs : int, optional
        Overrides every preset's training length (e.g. for a quick look).
    random_state : int, default 0
        Seed of the split and of every model.

    Returns
    -------
    dict
        ``{"backends": {name: measurements}, "rows": {...}}``, JSON-ready.
    """
    unknown = [b for b in backends if b not in BACKENDS]
    if unknown or not backends:
        raise UsageError(f"unknown backend(s) {unknown}; valid: {', '.join(BACKENDS)}")
    if target is not None and target not in data.columns:
        raise DataError(f"target {target!r} is not a column; columns: {list(data.columns)}")
    from toolkit.evaluate.report import column_kinds, split_holdout
    from toolkit.models.synthesizer import Synthesizer

    # by patient when an ID column repeats, as `synth --report` splits
    split = split_holdout(data, holdout_frac, random_state, column_kinds(data, None))
    train, holdout = split.train, split.holdout
    if len(holdout) < 2 or len(train) < 2:
        raise DataError(f"holdout fraction {holdout_frac} leaves too few rows in {len(data)} rows")
    results: dict[str, Any] = {}
    for name in backends:
        model = Synthesizer(config=PRESETS[name], epochs=epochs, random_state=random_state)
        try:
            model.fit(train)
        except TrainingError as error:
            results[name] = {"diverged": True, "error": str(error)}
            continue
        synthetic = model.sample(len(train))
        started = time.perf_counter()
        model.sample(SPEED_ROWS)
        rows_per_s = SPEED_ROWS / (time.perf_counter() - started)
        report = evaluate(train, synthetic, holdout=holdout, target=target,
                          random_state=random_state)
        results[name] = {
            "diverged": False,
            "preset": PRESETS[name],
            "fit_seconds": model.fit_seconds_,
            "sample_rows_per_s": rows_per_s,
            "stability": loss_stability(model.history_, BACKENDS[name].monitor),
            "history": model.history_,
            "report": report.to_dict(),
        }
    return {"backends": results, "rows": {"train": len(train), "holdout": len(holdout)},
            "target": target, "seed": random_state}


def table_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One flat row of headline numbers per backend."""
    rows = []
    for name, entry in result["backends"].items():
        if entry["diverged"]:
            rows.append({"backend": name, "diverged": True})
            continue
        summary, privacy = entry["report"]["summary"], entry["report"]["privacy"]
        utility = entry["report"]["utility"]
        rows.append({
            "backend": name, "diverged": False,
            "quality": summary["quality"],
            "detection_auroc": summary["detection_auroc"],
            "alpha_precision": summary["alpha_precision"],
            "beta_recall": summary["beta_recall"],
            "utility_ratio": None if utility is None else utility["ratio"],
            "membership_auc": privacy["membership_auc"],
            "exact_copies": privacy["exact_copies"],
            "fit_seconds": entry["fit_seconds"],
            "sample_rows_per_s": entry["sample_rows_per_s"],
            "loss_tail_cv": entry["stability"]["tail_cv"],
        })
    return rows


def write_json(result: dict[str, Any], path: str | Path) -> None:
    """Write the comparison as JSON (atomically)."""
    from toolkit.io.tables import write_text

    write_text(path, json.dumps(result, indent=2) + "\n")


def write_html(result: dict[str, Any], path: str | Path) -> None:
    """Write the comparison as a self-contained HTML page (table and inline SVG plots)."""
    from toolkit.evaluate.page import STYLE, fmt
    from toolkit.io.tables import write_text

    rows = table_rows(result)
    headers = ["backend", "quality", "detection AUROC (0.5 best)", "α-precision", "β-recall",
               "utility (TSTR/TRTR)", "membership AUC", "exact copies",
               "fit s", "sampling rows/s", "loss spread (last 20 %)"]
    body = []
    for row in rows:
        if row["diverged"]:
            body.append(f"<tr><td>{row['backend']}</td><td colspan='{len(headers) - 1}'>"
                        "training diverged</td></tr>")
            continue
        cells = [row["backend"], fmt(row["quality"]), fmt(row["detection_auroc"]),
                 fmt(row["alpha_precision"]), fmt(row["beta_recall"]), fmt(row["utility_ratio"]),
                 fmt(row["membership_auc"]), fmt(row["exact_copies"], percent=True),
                 f"{row['fit_seconds']:.1f}", f"{row['sample_rows_per_s']:,.0f}",
                 fmt(row["loss_tail_cv"])]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    curves = _loss_curves(result)
    page = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Backend comparison</title><style>", STYLE, "</style></head><body>",
        "<h1>Backend comparison</h1>",
        f"<p class='muted'>Same split for every backend: {result['rows']['train']:,} training "
        f"rows, {result['rows']['holdout']:,} holdout rows, seed {result['seed']}"
        + (f", utility target {html.escape(result['target'])}" if result["target"] else "")
        + ".</p>",
        "<section id='table'><h2>Measured</h2><table><tr>",
        "".join(f"<th>{h}</th>" for h in headers), "</tr>", *body, "</table>",
        "<p class='muted'>Loss spread: standard deviation / |mean| of the monitored loss over the "
        "last fifth of the epochs (small: training settled).</p></section>",
        "<section id='curves'><h2>Training curves</h2>", curves, "</section></body></html>",
    ]
    write_text(path, "\n".join(page))


def _loss_curves(result: dict[str, Any]) -> str:
    from toolkit.evaluate.page import canvas, to_svg

    trained = {n: e for n, e in result["backends"].items() if not e["diverged"]}
    if not trained:
        return "<p>No backend finished training.</p>"
    figure, axes = canvas(6.0, 2.6)
    for name, entry in trained.items():
        loss = entry["stability"]["loss"]
        values = np.asarray(entry["history"][loss], dtype=float)
        spread = max(np.ptp(values), 1e-12)
        axes.plot((values - values.min()) / spread, label=f"{name} ({loss}, min-max scaled)")
    axes.set_xlabel("epoch", fontsize=7)
    axes.tick_params(labelsize=6)
    axes.legend(fontsize=6, frameon=False)
    return to_svg(figure, "Training loss per epoch (min-max scaled), per backend")
