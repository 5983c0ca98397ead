"""The Markdown sections of ``BENCHMARKS.md`` written from ``synth_vs_sdv``'s results.

Three sections, built from the same per-seed records (``Results``) averaged over seeds
(:func:`aggregate_table`), with the same opening, per-table model tables, footnotes and
per-seed details:

* ``synth_vs_sdv``: the default preset against SDV's anchors, with its targets;
* ``backends``: the GAN preset against CTGAN, and our backends side by side;
* ``fidelity``: detection AUROC (C2ST), α-precision, β-recall, copies and membership
  inference per model, with the default preset's targets (issue 18).

Numbers are written with :mod:`benchmarks.markdown`; measuring is ``synth_vs_sdv``'s job.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.common import (
    BACKEND_CONFIGS,
    DEFAULT_CONFIG,
    GAN_CONFIG,
    N_THREADS,
    OURS,
    SDV_MODELS,
    VAEGAN_CONFIG,
    busy,
    config_label,
    pkg_version,
)
from benchmarks.markdown import (
    fmt,
    machine_desc,
    md_table,
    pct,
    ratio,
    seed_list,
    span,
    verdict,
)

OURS_DEFAULT = config_label(DEFAULT_CONFIG)

#: the sections' markers in ``BENCHMARKS.md``
MARK_START = "<!-- synth_vs_sdv:start -->"
MARK_END = "<!-- synth_vs_sdv:end -->"
BACKENDS_START = "<!-- backends:start -->"
BACKENDS_END = "<!-- backends:end -->"
FIDELITY_START = "<!-- fidelity:start -->"
FIDELITY_END = "<!-- fidelity:end -->"

SPEED_ROWS = 100_000  # rows sampled to time the sampling speed (synth_vs_sdv's default)
TARGET_SPEED = 100_000  # rows/s
TARGET_FIT_FRACTION = 0.25  # of TVAE's fit time
TARGET_GAN_FIT_FRACTION = 0.5  # our GAN preset's fit time, of CTGAN's
TARGET_DETECTION = 0.75
TARGET_F1_OF_REAL = 0.95
TARGET_FIT_SAMPLE_FRACTION = 0.25
TARGET_MEMBERSHIP = 0.53
REUSE_NOTE = (
    "Cached results are reused: SDV anchors from `benchmarks/results/anchors.json`, ours "
    "from `benchmarks/results/toolkit_latest.json`; add `--refresh-anchors` / "
    "`--refresh-ours` to recompute them."
)


# --------------------------------------------------------------------------- results over seeds
# All results of one run: table -> seed -> model -> record (as stored in the caches).
# SDV models are keyed by their name, ours by ``config_label(config)``.
Results = dict[str, dict[int, dict[str, dict[str, Any]]]]

# Metrics averaged over seeds. ``f1_trtr`` comes from the per-seed table info.
METRICS: tuple[str, ...] = (
    "quality",
    "column_shapes",
    "column_pair_trends",
    "f1_tstr",
    "f1_trtr",
    "fit_s",
    "fit_cpu_s",
    "sample_rows_per_s",
    "exact_copy_share",
    "fit_sample_s",
    "detection_auroc",
    "alpha_precision",
    "beta_recall",
    "membership_auc",
)


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation (ddof=1) of one metric over seeds."""

    mean: float
    sd: float | None  # None with fewer than two values
    n: int


@dataclass
class ModelSummary:
    """One model's results on one table, aggregated over seeds."""

    seeds: list[int] = field(default_factory=list)  # seeds with a successful record
    errors: dict[int, str] = field(default_factory=dict)  # seed -> error message
    stats: dict[str, Stat] = field(default_factory=dict)
    busy: bool = False  # some timing was taken on a loaded machine
    notes: list[str] = field(default_factory=list)  # F1 notes, prefixed by their seed

    def mean(self, metric: str) -> float | None:
        """Mean of ``metric`` over seeds, ``None`` if no seed has it."""
        stat = self.stats.get(metric)
        return None if stat is None else stat.mean


def mean_sd(values: Iterable[float | None]) -> Stat | None:
    """Mean and sample SD of the values that are present (``None``/NaN skipped)."""
    vals = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not vals:
        return None
    arr = np.asarray(vals)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 and np.isfinite(arr).all() else None
    return Stat(float(arr.mean()), sd, len(arr))


def aggregate_model(per_seed: dict[int, dict[str, Any]], f1_trtr: dict[int, float]) -> ModelSummary:
    """Aggregate one model's per-seed records of one table (failed seeds are left out)."""
    ok = {s: r for s, r in sorted(per_seed.items()) if "error" not in r}
    summary = ModelSummary(
        seeds=list(ok),
        errors={s: r["error"] for s, r in sorted(per_seed.items()) if "error" in r},
        busy=any(busy(r) for r in ok.values()),
        notes=[f"seed {s}: {r['f1_note']}" for s, r in ok.items() if r.get("f1_note")],
    )
    for metric in METRICS:
        if metric == "f1_trtr":
            stat = mean_sd(f1_trtr.get(s) for s in ok)
        else:
            stat = mean_sd(r.get(metric) for r in ok.values())
        if stat is not None:
            summary.stats[metric] = stat
    return summary


def aggregate_table(
    per_seed: dict[int, dict[str, dict[str, Any]]], f1_trtr: dict[int, float]
) -> dict[str, ModelSummary]:
    """``model -> ModelSummary`` for every model with at least one record on the table
    (in the order the models first appear in the per-seed records)."""
    out: dict[str, ModelSummary] = {}
    for model in dict.fromkeys(m for recs in per_seed.values() for m in recs):
        records = {s: recs[model] for s, recs in per_seed.items() if model in recs}
        if records:
            out[model] = aggregate_model(records, f1_trtr)
    return out


# --------------------------------------------------------------------------- shared by the sections
def _fmt_stat(
    stat: Stat | None,
    digits: int = 3,
    with_sd: bool = True,
    n_expected: int | None = None,
    percent: bool = False,
) -> str:
    """``mean ± sd`` (just the mean with one value or ``with_sd=False``).

    ``(n=k)`` is appended when fewer than ``n_expected`` seeds have the metric.
    """
    if stat is None:
        return "—"
    text = pct(stat.mean) if percent else fmt(stat.mean, digits)
    if with_sd and stat.sd is not None:
        text += f" ± {stat.sd:.{digits}f}"
    if n_expected is not None and stat.n < n_expected:
        text += f" (n={stat.n})"
    return text


@dataclass(frozen=True)
class Column:
    """A metric column of a per-table model table: the mean over seeds, with its ± sample
    standard deviation when ``with_sd``, as a percentage when ``percent``."""

    title: str
    metric: str
    digits: int = 3
    with_sd: bool = False
    percent: bool = False


def model_table(
    first: str,
    models: Iterable[str],
    summaries: dict[str, ModelSummary],
    columns: Sequence[Column],
    highlight: str | None = None,
) -> tuple[str, list[str], bool]:
    """Models side by side on one table, one row each (``not run`` / ``error`` when a model
    has no successful seed).

    Marks: ``\\*`` after an F1 with a note, ``†`` after a fit time measured on a busy
    machine, ``▲`` after the quality of the model ``highlight``; ``(n=k)`` after a mean that
    only k of the model's seeds have.

    Parameters
    ----------
    first : str
        Title of the models' column.
    models : iterable of str
        The rows, in order.
    summaries : dict
        ``model -> ModelSummary`` of the table (:func:`aggregate_table`).
    columns : sequence of Column
        The metric columns after the model and its number of seeds.
    highlight : str, optional
        A model whose quality gets ``▲``.

    Returns
    -------
    tuple
        The Markdown table, its notes (failed seeds, F1 notes) and whether some metric is
        missing from some seed of a model.
    """
    rows, notes, partial = [], [], False
    for m in models:
        summ = summaries.get(m)
        if summ is None:
            rows.append([m, "0", "not run"] + ["—"] * (len(columns) - 1))
            continue
        notes += [f"{m}: seed {s} failed ({e[:80]})" for s, e in summ.errors.items()]
        if not summ.seeds:
            rows.append([m, "0", "error"] + ["—"] * (len(columns) - 1))
            continue
        n = len(summ.seeds)
        partial |= any(st.n < n for st in summ.stats.values())
        notes += [f"{m}, {note}" for note in summ.notes]
        marks = {
            "quality": " ▲" if m == highlight else "",
            "f1_tstr": " \\*" if summ.notes else "",
            "fit_s": " †" if summ.busy else "",
        }
        rows.append([m, str(n)] + [
            _fmt_stat(summ.stats.get(c.metric), c.digits, c.with_sd, n, c.percent)
            + marks.get(c.metric, "")
            for c in columns
        ])
    return md_table([first, "n", *(c.title for c in columns)], rows), notes, partial


#: the per-table model tables of the synth_vs_sdv section and of the backends section
MODEL_COLUMNS: tuple[Column, ...] = (
    Column("quality", "quality", with_sd=True),
    Column("column shapes", "column_shapes"),
    Column("pair trends", "column_pair_trends"),
    Column("F1 (TSTR)", "f1_tstr", with_sd=True),
    Column("TRTR F1", "f1_trtr"),
    Column("fit s", "fit_s", digits=1),
    Column("fit CPU s", "fit_cpu_s", digits=1),
    Column("sample rows/s", "sample_rows_per_s"),
    Column("copies of train rows", "exact_copy_share", percent=True),
)
BACKEND_COLUMNS: tuple[Column, ...] = tuple(
    c for c in MODEL_COLUMNS if c.metric not in ("column_shapes", "f1_trtr")
)


def _fit_ratio(summary: dict[str, Any]) -> str:
    """A summary's fit-time ratio, with the CPU-time ratio in brackets when there is one."""
    cpu = summary["fit_cpu_ratio"]
    return fmt(summary["fit_ratio"]) + (f" (CPU {fmt(cpu)})" if cpu is not None else "")


def opening(title: str, command: str) -> list[str]:
    """A section's first lines: its title and the command that reproduces it."""
    return [title, "", f"Reproduce: `{command}`. {REUSE_NOTE}", ""]


def footnote_lines(records: list[dict[str, Any]], partial_metrics: Any) -> list[str]:
    """The report's footnotes on busy timings and metrics missing from some seeds."""
    footnotes = []
    if any(busy(r) for r in records):
        footnotes.append(
            "† at least one seed was measured while other processes competed for the CPU "
            f"(1-min load average above {N_THREADS + 1}): wall times are inflated; compare the "
            "CPU seconds."
        )
    if partial_metrics:
        footnotes.append(
            "(n=k) after a mean: only k of the model's seeds have that metric (older cached "
            "records lack it; — in the per-seed table), so it is averaged over those."
        )
    return [line for note in footnotes for line in ("", note)]


def successful_records(
    tables: list[str], results: Results, models: list[str]
) -> list[dict[str, Any]]:
    """Successful records of ``models`` on ``tables``, all seeds."""
    return [
        recs[m]
        for t in tables
        for recs in results.get(t, {}).values()
        for m in models
        if m in recs and "error" not in recs[m]
    ]


def per_seed_details(
    tables: list[str], results: Results, info: dict[str, dict[str, Any]], models: list[str]
) -> list[str]:
    """Collapsible markdown table with every (table, seed, model) result of ``models``."""
    rows = []
    for t in tables:
        for seed, recs in sorted(results.get(t, {}).items()):
            trtr = info[t]["f1_trtr"].get(seed)
            for m in models:
                r = recs.get(m)
                if r is None:
                    continue
                if "error" in r:
                    rows.append([t, str(seed), m, f"error: {r['error'][:60]}"] + ["—"] * 9)
                    continue
                rows.append(
                    [
                        t,
                        str(seed),
                        m,
                        fmt(r.get("quality")),
                        fmt(r.get("column_shapes")),
                        fmt(r.get("column_pair_trends")),
                        fmt(r.get("f1_tstr")) + (" \\*" if r.get("f1_note") else ""),
                        fmt(trtr),
                        fmt(r.get("fit_s"), 1) + (" †" if busy(r) else ""),
                        fmt(r.get("fit_cpu_s"), 1),
                        fmt(r.get("sample_rows_per_s")),
                        pct(r.get("exact_copy_share")),
                        str(r.get("date", "—")),
                    ]
                )
    return [
        "<details>",
        f"<summary>Per-seed results ({len(rows)} runs)</summary>",
        "",
        md_table(
            [
                "table",
                "seed",
                "model",
                "quality",
                "column shapes",
                "pair trends",
                "F1 (TSTR)",
                "TRTR F1",
                "fit s",
                "fit CPU s",
                "sample rows/s",
                "copies",
                "date",
            ],
            rows,
        ),
        "",
        "</details>",
    ]


def _provenance(label: str, recs: list[dict[str, Any]]) -> str:
    """``label: results from <dates> (commit ...) on <machines>`` for a report bullet."""
    if not recs:
        return f"{label}: no results"
    revs = sorted({r["git"] for r in recs if r.get("git")})
    machines = sorted({machine_desc(r["machine"]) for r in recs if "machine" in r})
    return (
        f"{label}: results from {span(r['date'] for r in recs if 'date' in r)}"
        + (f" (commit {', '.join(revs)})" if revs else "")
        + (f" on {'; '.join(machines)}" if machines else "")
    )


# --------------------------------------------------------------------------- synth_vs_sdv section
def summarise_table(models: dict[str, ModelSummary]) -> dict[str, Any]:
    """Ratios and pass/fail of our default preset against the anchors for one table,
    on seed means."""
    ours = models.get(OURS_DEFAULT, ModelSummary())
    anchors = {m: s for m, s in models.items() if m in SDV_MODELS and "quality" in s.stats}
    best = max(anchors, key=lambda m: anchors[m].stats["quality"].mean, default=None)
    best_sum = anchors[best] if best else ModelSummary()
    tvae = anchors.get("tvae", ModelSummary())
    q_ours, q_best = ours.mean("quality"), best_sum.mean("quality")
    f1_ours, f1_tvae = ours.mean("f1_tstr"), tvae.mean("f1_tstr")
    q_ratio = ratio(q_ours, q_best)
    f1_ratio = ratio(f1_ours, f1_tvae)
    fit_ratio = ratio(ours.mean("fit_s"), tvae.mean("fit_s"))
    fit_cpu_ratio = ratio(ours.mean("fit_cpu_s"), tvae.mean("fit_cpu_s"))
    speed = ours.mean("sample_rows_per_s")
    compared = [s for s in (best_sum, tvae) if s.seeds]
    return {
        "seeds": len(ours.seeds),
        "best_sdv": best,
        "quality_ratio": q_ratio,
        "f1_ratio": f1_ratio,
        "fit_ratio": fit_ratio,
        "fit_cpu_ratio": fit_cpu_ratio,
        "speed": speed,
        "pass_quality": None if q_ratio is None else q_ours >= q_best,
        "pass_f1": None if f1_ratio is None else f1_ours >= f1_tvae,
        "pass_fit": None if fit_ratio is None else fit_ratio <= TARGET_FIT_FRACTION,
        "pass_speed": None if speed is None else speed >= TARGET_SPEED,
        "seeds_differ": bool(ours.seeds) and any(s.seeds != ours.seeds for s in compared),
    }


def build_report(
    tables: list[str],
    results: Results,
    info: dict[str, dict[str, Any]],
    seeds: list[int],
    command: str,
    machine: dict[str, Any],
) -> str:
    """Markdown section (without markers): the default preset vs the anchors, all tables,
    all seeds."""
    models = [OURS_DEFAULT, *SDV_MODELS]
    records = successful_records(tables, results, models)
    anchor_recs = [r for r in records if r.get("model") in SDV_MODELS]
    ours_recs = [r for r in records if r.get("model") == OURS]
    anchor_machines = sorted({machine_desc(r["machine"]) for r in anchor_recs if "machine" in r})
    sdv_versions = sorted({r["sdv_version"] for r in anchor_recs if "sdv_version" in r})
    ours_revs = sorted({r["git"] for r in ours_recs if r.get("git")})
    commits = f" (commit {', '.join(ours_revs)})" if ours_revs else ""
    aggregated = {t: aggregate_table(results.get(t, {}), info[t]["f1_trtr"]) for t in tables}

    lines = [
        *opening("## Synthetic data: toolkit vs SDV anchors", command),
        f"- Seeds: {seed_list(seeds)}. For every table and seed: stratified 80/20 split with "
        "that seed, every model fitted with that seed. Tables show the mean over seeds "
        "(± sample standard deviation for quality and F1; n = seeds with a result); "
        "ratios and pass/fail compare those means. Per-seed numbers are in the details below.",
        f"- Machine (this run): {machine_desc(machine)}.",
        f"- SDV {', '.join(sdv_versions) or pkg_version('sdv')} anchors (default parameters) "
        f"computed {span(r['date'] for r in anchor_recs if 'date' in r)} on "
        f"{'; '.join(anchor_machines) or '—'}.",
        f"- {OURS_DEFAULT} results from {span(r['date'] for r in ours_recs if 'date' in r)}"
        f"{commits}; "
        f"sdmetrics {pkg_version('sdmetrics')}.",
        "- Quality = sdmetrics QualityReport vs the real train split "
        "(synthetic n = train n). F1 = macro-F1 on the real test split of a "
        "HistGradientBoostingClassifier trained on synthetic data (TSTR; TRTR: trained on the "
        f"real train split). Sampling speed measured on {SPEED_ROWS:,} rows, wall time. Fit s "
        "is wall time; fit CPU s is the process' CPU time over all threads (less sensitive to "
        "other load). Copies = share of synthetic rows identical to a training row.",
        "- Targets for ours: quality ≥ best SDV model; F1 ≥ TVAE; fit time ≤ ¼ of TVAE's; "
        f"sampling ≥ {TARGET_SPEED:,} rows/s.",
        "",
        "### Summary (ours vs anchors, means over seeds)",
        "",
    ]
    rows = []
    any_seeds_differ = False
    for t in tables:
        s = summarise_table(aggregated[t])
        any_seeds_differ |= s["seeds_differ"]
        rows.append(
            [
                t + (" ‡" if s["seeds_differ"] else ""),
                str(s["seeds"]),
                f"{fmt(s['quality_ratio'])} (vs {s['best_sdv'] or '—'})",
                fmt(s["f1_ratio"]),
                _fit_ratio(s),
                fmt(s["speed"]),
                verdict(s["pass_quality"]),
                verdict(s["pass_f1"]),
                verdict(s["pass_fit"]),
                verdict(s["pass_speed"]),
            ]
        )
    lines.append(
        md_table(
            [
                "table",
                "n",
                "quality ours/best SDV",
                "F1 ours/TVAE",
                "fit ours/TVAE",
                "ours rows/s",
                "quality ≥ best",
                "F1 ≥ TVAE",
                "fit ≤ ¼ TVAE",
                f"≥ {TARGET_SPEED // 1000}k rows/s",
            ],
            rows,
        )
    )
    if any_seeds_differ:
        lines += [
            "",
            "‡ ours and the anchor it is compared with were averaged over different seeds "
            "(see n below): the ratios are indicative only.",
        ]

    partial_metrics = False
    for t in tables:
        meta = info[t]
        trtr = mean_sd(meta["f1_trtr"].values())
        lines += [
            "",
            f"### {t} — {meta['source']}",
            "",
            f"{meta['n_train']} train / {meta['n_test']} test rows, {meta['n_cols']} columns, "
            f"{meta['missing_share']:.1%} cells missing; target `{meta['target']}`; "
            f"TRTR macro-F1 = {_fmt_stat(trtr)} (n = {trtr.n if trtr else 0}).",
            "",
        ]
        table, notes, partial = model_table("model", models, aggregated[t], MODEL_COLUMNS)
        partial_metrics |= partial
        lines.append(table)
        if notes:
            lines += ["", "\\* " + "; ".join(notes)]

    lines += footnote_lines(records, partial_metrics)
    lines += ["", *per_seed_details(tables, results, info, models)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- backends section
def summarise_gan(models: dict[str, ModelSummary]) -> dict[str, Any]:
    """Ratios and pass/fail of our GAN preset against SDV's CTGAN for one table, on seed
    means: quality ≥ CTGAN, F1 ≥ CTGAN, fit time ≤ ``TARGET_GAN_FIT_FRACTION`` of CTGAN's."""
    gan = models.get(config_label(GAN_CONFIG), ModelSummary())
    ctgan = models.get("ctgan", ModelSummary())
    q_gan, q_ctgan = gan.mean("quality"), ctgan.mean("quality")
    f1_gan, f1_ctgan = gan.mean("f1_tstr"), ctgan.mean("f1_tstr")
    q_ratio = ratio(q_gan, q_ctgan)
    f1_ratio = ratio(f1_gan, f1_ctgan)
    fit_ratio = ratio(gan.mean("fit_s"), ctgan.mean("fit_s"))
    return {
        "seeds": len(gan.seeds),
        "ctgan_seeds": len(ctgan.seeds),
        "quality_ratio": q_ratio,
        "f1_ratio": f1_ratio,
        "fit_ratio": fit_ratio,
        "fit_cpu_ratio": ratio(gan.mean("fit_cpu_s"), ctgan.mean("fit_cpu_s")),
        "pass_quality": None if q_ratio is None else q_gan >= q_ctgan,
        "pass_f1": None if f1_ratio is None else f1_gan >= f1_ctgan,
        "pass_fit": None if fit_ratio is None else fit_ratio <= TARGET_GAN_FIT_FRACTION,
        "seeds_differ": bool(gan.seeds) and bool(ctgan.seeds) and gan.seeds != ctgan.seeds,
    }


def vaegan_beats_both(models: dict[str, ModelSummary]) -> bool | None:
    """Whether the VAE-GAN preset's mean quality is above both the VAE's (default preset)
    and the GAN's; ``None`` when one of the three has no quality."""
    means = [models.get(config_label(c), ModelSummary()).mean("quality") for c in BACKEND_CONFIGS]
    vae, gan, vaegan = means
    if vae is None or gan is None or vaegan is None:
        return None
    return vaegan > max(vae, gan)


def build_backends_report(
    tables: list[str],
    results: Results,
    info: dict[str, dict[str, Any]],
    seeds: list[int],
    command: str,
    configs: list[str],
) -> str:
    """Markdown section (without markers): our GAN preset vs CTGAN, and our presets
    (``configs``: the three backends first) side by side, means over seeds."""
    labels = [config_label(c) for c in configs]
    gan_label, vaegan_label = config_label(GAN_CONFIG), config_label(VAEGAN_CONFIG)
    ctgan_recs = successful_records(tables, results, ["ctgan"])
    sdv_versions = sorted({r["sdv_version"] for r in ctgan_recs if "sdv_version" in r})
    aggregated = {t: aggregate_table(results.get(t, {}), info[t]["f1_trtr"]) for t in tables}
    records = successful_records(tables, results, labels)

    lines = [
        *opening("## Our backends: VAE, GAN and VAE-GAN", command),
        "- Presets: "
        + ", ".join(f'{config_label(c)} = `Synthesizer(config="{c}")`' for c in configs)
        + ".",
        f"- Seeds: {seed_list(seeds)}; same splits, metrics and notes as the section above "
        "(means over seeds ± sample standard deviation for quality and F1; n = seeds with a "
        "result; ratios and pass/fail compare the means).",
        *(f"- {_provenance(label, successful_records(tables, results, [label]))}."
          for label in labels),
        f"- CTGAN anchor: SDV {', '.join(sdv_versions) or pkg_version('sdv')}, default "
        f"parameters, computed {span(r['date'] for r in ctgan_recs if 'date' in r)}.",
        f"- Targets for {gan_label} against SDV's CTGAN (both conditional GANs): quality ≥ "
        "CTGAN; F1 ≥ CTGAN; fit time ≤ ½ of CTGAN's.",
        "",
        f"### {gan_label} vs CTGAN (means over seeds)",
        "",
    ]
    rows = []
    any_seeds_differ = False
    for t in tables:
        s = summarise_gan(aggregated[t])
        any_seeds_differ |= s["seeds_differ"]
        rows.append(
            [
                t + (" ‡" if s["seeds_differ"] else ""),
                f"{s['seeds']} / {s['ctgan_seeds']}",
                fmt(s["quality_ratio"]),
                fmt(s["f1_ratio"]),
                _fit_ratio(s),
                verdict(s["pass_quality"]),
                verdict(s["pass_f1"]),
                verdict(s["pass_fit"]),
            ]
        )
    lines.append(
        md_table(
            [
                "table",
                "n (ours / CTGAN)",
                "quality ours/CTGAN",
                "F1 ours/CTGAN",
                "fit ours/CTGAN",
                "quality ≥ CTGAN",
                "F1 ≥ CTGAN",
                "fit ≤ ½ CTGAN",
            ],
            rows,
        )
    )
    if any_seeds_differ:
        lines += [
            "",
            "‡ ours and CTGAN were averaged over different seeds: the ratios are indicative only.",
        ]

    lines += ["", "### Backends side by side (means over seeds)", ""]
    rows = []
    for t in tables:
        beats = vaegan_beats_both(aggregated[t])
        qualities = {m: aggregated[t][m].stats.get("quality") for m in labels if m in aggregated[t]}
        present = {m: st.mean for m, st in qualities.items() if st is not None}
        best = max(present, key=present.__getitem__, default=None)
        rows.append(
            [
                t,
                *(_fmt_stat(qualities.get(m)) for m in labels),
                best or "—",
                "—" if beats is None else ("**yes**" if beats else "no"),
            ]
        )
    lines.append(
        md_table(
            ["table", *(f"quality {m}" for m in labels), "best quality", "VAE-GAN > VAE and GAN"],
            rows,
        )
    )

    partial_metrics = False
    for t in tables:
        meta = info[t]
        trtr = mean_sd(meta["f1_trtr"].values())
        beats = vaegan_beats_both(aggregated[t])
        lines += [
            "",
            f"#### {t} — {meta['source']}",
            "",
            f"{meta['n_train']} train / {meta['n_test']} test rows, {meta['n_cols']} columns; "
            f"target `{meta['target']}`; TRTR macro-F1 = {_fmt_stat(trtr)}.",
            "",
        ]
        table, notes, partial = model_table("backend", labels, aggregated[t], BACKEND_COLUMNS,
                                            highlight=vaegan_label if beats else None)
        partial_metrics |= partial
        lines.append(table)
        if beats:
            lines += ["", f"▲ {vaegan_label} has a higher mean quality than both VAE and GAN."]
        if notes:
            lines += ["", "\\* " + "; ".join(notes)]

    lines += footnote_lines(records, partial_metrics)
    lines += ["", *per_seed_details(tables, results, info, labels)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- fidelity section
def default_targets(models: dict[str, ModelSummary], f1_real: float | None) -> dict[str, Any]:
    """The default preset's targets on one table (seed means)."""
    ours = models.get(OURS_DEFAULT, ModelSummary())
    anchors = {m: s for m, s in models.items() if m in SDV_MODELS and s.seeds}
    tvae = anchors.get("tvae", ModelSummary())
    detection = ours.mean("detection_auroc")
    sdv_detection = [s.mean("detection_auroc") for s in anchors.values()
                     if s.mean("detection_auroc") is not None]
    f1, f1_tvae = ours.mean("f1_tstr"), tvae.mean("f1_tstr")
    time_ratio = ratio(ours.mean("fit_sample_s"), tvae.mean("fit_sample_s"))
    copies, membership = ours.mean("exact_copy_share"), ours.mean("membership_auc")
    return {
        "detection": detection,
        "pass_detection": None if detection is None else detection <= TARGET_DETECTION,
        "pass_below_sdv": (None if detection is None or not sdv_detection
                           else detection < min(sdv_detection)),
        "f1_of_tvae": ratio(f1, f1_tvae),
        "pass_f1_tvae": None if f1 is None or f1_tvae is None else f1 >= f1_tvae,
        "f1_of_real": ratio(f1, f1_real),
        "pass_f1_real": (None if f1 is None or not f1_real
                         else f1 >= TARGET_F1_OF_REAL * f1_real),
        "time_of_tvae": time_ratio,
        "pass_time": None if time_ratio is None else time_ratio <= TARGET_FIT_SAMPLE_FRACTION,
        "copies": copies,
        "pass_copies": None if copies is None else copies == 0,
        "membership": membership,
        "pass_membership": None if membership is None else membership <= TARGET_MEMBERSHIP,
    }


def gan_targets(models: dict[str, ModelSummary]) -> dict[str, Any]:
    """Our GAN preset against CTGAN on one table: quality and F1 (seed means)."""
    gan = models.get(config_label(GAN_CONFIG), ModelSummary())
    ctgan = models.get("ctgan", ModelSummary())
    quality, f1 = ratio(gan.mean("quality"), ctgan.mean("quality")), ratio(
        gan.mean("f1_tstr"), ctgan.mean("f1_tstr"))
    return {"quality": quality, "f1": f1,
            "pass_quality": None if quality is None else quality >= 1.0,
            "pass_f1": None if f1 is None else f1 >= 1.0}


def build_fidelity_report(tables: list[str], results: Results, info: dict[str, dict[str, Any]],
                          seeds: list[int], command: str, labels: list[str]) -> str:
    """Markdown section (without markers) for ``tables`` and the models ``labels``
    (our presets' labels first, then SDV's)."""
    aggregated = {t: aggregate_table(results.get(t, {}), info[t]["f1_trtr"]) for t in tables}
    lines = [
        *opening("## Fidelity frontier: detection, α-precision / β-recall, copies (issue 18)",
                 command),
        f"- Seeds: {seed_list(seeds)}; the same splits, fits and samples as the section "
        "above (synthetic rows = training rows).",
        "- Detection = C2ST AUROC: 5-fold HistGradientBoosting telling the training rows from "
        "as many synthetic rows (at most 10,000 a side); 0.5 = indistinguishable. Floor = the "
        "same for the real test rows. α-precision / β-recall (Alaa et al. 2022) in the "
        "encoded feature space, 1 = ideal. MIA = membership-inference AUROC (training vs test "
        "rows, by distance to the closest synthetic row; 0.5 = no leak). All by "
        "`toolkit.evaluate.realism` / `toolkit.evaluate.report`, the same code for every model.",
        f"- Targets of the default preset: detection ≤ {TARGET_DETECTION} and below every SDV "
        f"model's; F1 ≥ TVAE's and ≥ {TARGET_F1_OF_REAL} × the real-data F1; fit + sample "
        f"time ≤ {TARGET_FIT_SAMPLE_FRACTION} × TVAE's; 0 copies; MIA ≤ {TARGET_MEMBERSHIP}. "
        "Our GAN preset: quality and F1 ≥ CTGAN's.",
        "",
        "### Summary: the default preset's targets",
        "",
    ]
    rows = []
    for t in tables:
        f1_real = mean_sd(info[t]["f1_trtr"].values())
        s = default_targets(aggregated[t], f1_real.mean if f1_real else None)
        g = gan_targets(aggregated[t])
        rows.append([
            t, f"{fmt(s['detection'])} {verdict(s['pass_detection'])}",
            verdict(s["pass_below_sdv"]),
            f"{fmt(s['f1_of_tvae'])} {verdict(s['pass_f1_tvae'])}",
            f"{fmt(s['f1_of_real'])} {verdict(s['pass_f1_real'])}",
            f"{fmt(s['time_of_tvae'])} {verdict(s['pass_time'])}",
            f"{pct(s['copies'])} {verdict(s['pass_copies'])}",
            f"{fmt(s['membership'])} {verdict(s['pass_membership'])}",
            f"{fmt(g['quality'])} / {fmt(g['f1'])}",
        ])
    lines.append(md_table(["table", f"detection ≤ {TARGET_DETECTION}", "below every SDV",
                           "F1 / TVAE", "F1 / real", "fit+sample / TVAE", "copies",
                           f"MIA ≤ {TARGET_MEMBERSHIP}", "GAN / CTGAN quality, F1"], rows))
    for t in tables:
        meta = info[t]
        floor = mean_sd(meta["detection_floor"].values())
        lines += ["", f"### {t} — {meta['source']}", "",
                  f"{meta['n_train']} train / {meta['n_test']} test rows, {meta['n_cols']} "
                  f"columns, {meta['missing_share']:.1%} cells missing; detection floor (real "
                  f"test rows) {fmt(floor.mean if floor else None)}.", ""]
        rows = []
        for label in labels:
            summary = aggregated[t].get(label)
            if summary is None or not summary.seeds:
                rows.append([label, "0"] + ["—"] * 8)
                continue
            rows.append([label, str(len(summary.seeds))] + [
                fmt(summary.mean(metric), 1 if metric == "fit_sample_s" else 3)
                for metric in ("detection_auroc", "alpha_precision", "beta_recall", "quality",
                               "f1_tstr", "fit_sample_s", "membership_auc")
            ] + [pct(summary.mean("exact_copy_share"))])
        lines.append(md_table(["model", "n", "detection AUROC", "α-precision", "β-recall",
                               "quality", "F1 (TSTR)", "fit + sample s", "MIA", "copies"],
                              rows))
    return "\n".join(lines) + "\n"
