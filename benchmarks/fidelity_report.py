"""The fidelity-frontier section of BENCHMARKS.md (issue 18), written by ``synth_vs_sdv``.

Per table and model: detection AUROC (C2ST), α-precision, β-recall, quality, TSTR F1, fit
+ sample time, exact copies and the membership-inference AUROC, side by side with SDV's
models from the same run, and the default preset's targets as pass/fail.
"""

from __future__ import annotations

from typing import Any

from benchmarks.common import GAN_CONFIG, SDV_MODELS, config_label, fmt, md_table
from benchmarks.synth_vs_sdv import (
    OURS_DEFAULT,
    REUSE_NOTE,
    ModelSummary,
    Results,
    _pct,
    _ratio,
    _seed_list,
    _verdict,
    aggregate_table,
    mean_sd,
)

MARK_START = "<!-- fidelity:start -->"
MARK_END = "<!-- fidelity:end -->"
TARGET_DETECTION = 0.75
TARGET_F1_OF_REAL = 0.95
TARGET_FIT_SAMPLE_FRACTION = 0.25
TARGET_MEMBERSHIP = 0.53


def default_targets(models: dict[str, ModelSummary], f1_real: float | None) -> dict[str, Any]:
    """The default preset's targets on one table (seed means)."""
    ours = models.get(OURS_DEFAULT, ModelSummary())
    anchors = {m: s for m, s in models.items() if m in SDV_MODELS and s.seeds}
    tvae = anchors.get("tvae", ModelSummary())
    detection = ours.mean("detection_auroc")
    sdv_detection = [s.mean("detection_auroc") for s in anchors.values()
                     if s.mean("detection_auroc") is not None]
    f1, f1_tvae = ours.mean("f1_tstr"), tvae.mean("f1_tstr")
    time_ratio = _ratio(ours.mean("fit_sample_s"), tvae.mean("fit_sample_s"))
    copies, membership = ours.mean("exact_copy_share"), ours.mean("membership_auc")
    return {
        "detection": detection,
        "pass_detection": None if detection is None else detection <= TARGET_DETECTION,
        "pass_below_sdv": (None if detection is None or not sdv_detection
                           else detection < min(sdv_detection)),
        "f1_of_tvae": _ratio(f1, f1_tvae),
        "pass_f1_tvae": None if f1 is None or f1_tvae is None else f1 >= f1_tvae,
        "f1_of_real": _ratio(f1, f1_real),
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
    quality, f1 = _ratio(gan.mean("quality"), ctgan.mean("quality")), _ratio(
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
        "## Fidelity frontier: detection, α-precision / β-recall, copies (issue 18)",
        "",
        f"Reproduce: `{command}`. {REUSE_NOTE}",
        "",
        f"- Seeds: {_seed_list(seeds)}; the same splits, fits and samples as the section "
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
            t, f"{fmt(s['detection'])} {_verdict(s['pass_detection'])}",
            _verdict(s["pass_below_sdv"]),
            f"{fmt(s['f1_of_tvae'])} {_verdict(s['pass_f1_tvae'])}",
            f"{fmt(s['f1_of_real'])} {_verdict(s['pass_f1_real'])}",
            f"{fmt(s['time_of_tvae'])} {_verdict(s['pass_time'])}",
            f"{_pct(s['copies'])} {_verdict(s['pass_copies'])}",
            f"{fmt(s['membership'])} {_verdict(s['pass_membership'])}",
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
            ] + [_pct(summary.mean("exact_copy_share"))])
        lines.append(md_table(["model", "n", "detection AUROC", "α-precision", "β-recall",
                               "quality", "F1 (TSTR)", "fit + sample s", "MIA", "copies"],
                              rows))
    return "\n".join(lines) + "\n"
