"""The HTML page of a :class:`~toolkit.evaluate.report.Report`: one self-contained file.

Plots are drawn by matplotlib as inline SVG that keeps its text as ``<text>`` (searchable,
read by screen readers, in the fonts the browser has) and names what it shows in a
``<title>``, so the page needs no script, stylesheet, image or font from anywhere: it opens
offline.
"""

from __future__ import annotations

import html
import io
from typing import Any, Protocol

import numpy as np
import pandas as pd

from toolkit.adapters.kinds import UNMODELLED_KINDS


class ReportData(Protocol):
    """What the page is drawn from: the fields of :class:`toolkit.evaluate.report.Report`.

    A protocol, so that rendering depends on the report's data and not on the module that
    measures it (which imports this one to write its page).
    """

    fidelity: dict[str, Any]
    utility: dict[str, Any] | None
    privacy: dict[str, Any] | None
    summary: dict[str, Any]
    notes: list[str]
    columns: dict[str, Any]
    patients: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        """Every measurement as JSON-ready data."""
        ...

#: columns drawn at most (the first ones, in table order)
MAX_PLOTTED_COLUMNS = 40
#: categorical levels drawn per column at most (the most frequent real ones)
MAX_LEVELS_SHOWN = 12
REAL_COLOUR, SYNTHETIC_COLOUR = "#1f5fa8", "#e07b24"

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
margin:2rem auto;max-width:1100px;color:#1d1d1f;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.6rem 0}td,th{border:1px solid #ddd;padding:.3rem .6rem;
text-align:left;vertical-align:top}th{background:#f4f4f6}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:.8rem;font-weight:600}
.good,.no-leak-detected{background:#d7f0dc;color:#14532d}
.fair,.inconclusive{background:#fdf0c8;color:#6b4e00}
.poor,.at-risk{background:#f9d6d5;color:#7f1d1d}.not-measured{background:#eee;color:#555}
.grid{display:flex;flex-wrap:wrap;gap:.6rem}.grid figure{margin:0;width:260px}
figcaption{font-size:.8rem;color:#555}.muted{color:#666;font-size:.9rem}
"""


def to_svg(figure: Any, title: str | None = None) -> str:
    """The matplotlib ``figure`` as an inline ``<svg>`` string (the figure is closed).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        Drawn by :func:`canvas` (its text stays text).
    title : str, optional
        What the chart shows, written as the SVG's ``<title>`` and ``aria-label``
        (``role="img"``) [default: its axes' titles, or x-axis labels].

    Returns
    -------
    str
    """
    import matplotlib.pyplot as plt

    if title is None:
        named = (axes.get_title() or axes.get_xlabel() for axes in figure.axes)
        title = "; ".join(name for name in named if name) or "chart"
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg"):]
    opening = text.index(">")
    label = html.escape(" ".join(title.split()))
    return (f'{text[:opening]} role="img" aria-label="{label}">\n<title>{label}</title>'
            f"{text[opening + 1:]}")


def canvas(width: float, height: float) -> tuple[Any, Any]:
    """A new ``(figure, axes)`` of ``width`` × ``height`` inches drawn off-screen (Agg),
    with SVG text written as ``<text>`` in a generic sans-serif font (no font file needed)."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, accessible
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def column_plot(name: str, kind: str, real: pd.Series, synthetic: pd.Series) -> str:
    """Real vs synthetic distribution of one column as an SVG string."""
    figure, axes = canvas(2.8, 1.9)
    if kind in ("continuous", "integer"):
        real_values = pd.to_numeric(real, errors="coerce").dropna().to_numpy()
        synthetic_values = pd.to_numeric(synthetic, errors="coerce").dropna().to_numpy()
        both = np.concatenate([real_values, synthetic_values])
        bins = np.histogram_bin_edges(both, bins=25) if len(both) else 10
        axes.hist(real_values, bins=bins, density=True, alpha=0.55, color=REAL_COLOUR,
                  label="real")
        axes.hist(synthetic_values, bins=bins, density=True, alpha=0.55, color=SYNTHETIC_COLOUR,
                  label="synthetic")
    else:
        real_text = real.astype(str).where(real.notna(), "(missing)")
        synthetic_text = synthetic.astype(str).where(synthetic.notna(), "(missing)")
        shares = real_text.value_counts(normalize=True).head(MAX_LEVELS_SHOWN)
        synthetic_shares = synthetic_text.value_counts(normalize=True).reindex(shares.index,
                                                                               fill_value=0.0)
        positions = np.arange(len(shares))
        axes.bar(positions - 0.2, shares.to_numpy(), 0.4, color=REAL_COLOUR, label="real")
        axes.bar(positions + 0.2, synthetic_shares.to_numpy(), 0.4, color=SYNTHETIC_COLOUR,
                 label="synthetic")
        axes.set_xticks(positions, [label[:10] for label in shares.index], rotation=60,
                        fontsize=6)
    axes.set_title(str(name)[:40], fontsize=8)
    axes.tick_params(labelsize=6)
    axes.legend(fontsize=6, frameon=False)
    return to_svg(figure, f"{name} ({kind}): real vs synthetic distribution")


def pair_heatmap(pairs: list[dict[str, Any]], columns: list[str]) -> str | None:
    """Heatmap of 1 − sdmetrics' pair-trend score (0: the pair behaves as in the real data)."""
    index = {c: i for i, c in enumerate(columns)}
    matrix = np.full((len(columns), len(columns)), np.nan)
    for pair in pairs:
        a, b = pair["columns"]
        if pair["score"] is not None and a in index and b in index:
            matrix[index[a], index[b]] = matrix[index[b], index[a]] = 1.0 - pair["score"]
    if np.isnan(matrix).all():
        return None
    size = min(9.0, 1.5 + 0.3 * len(columns))
    figure, axes = canvas(size, size * 0.85)
    image = axes.imshow(matrix, cmap="Reds", vmin=0.0, vmax=max(0.2, float(np.nanmax(matrix))))
    axes.set_xticks(range(len(columns)), [c[:14] for c in columns], rotation=90, fontsize=6)
    axes.set_yticks(range(len(columns)), [c[:14] for c in columns], fontsize=6)
    figure.colorbar(image, ax=axes, shrink=0.7).ax.tick_params(labelsize=6)
    axes.set_title("Column-pair trend difference (1 − pair score; blank: weak real association)",
                   fontsize=8)
    return to_svg(figure, "Column-pair trend difference between real and synthetic rows "
                          "(1 − pair score; blank: weak real association)")


def distance_plot(synthetic: np.ndarray, holdout: np.ndarray) -> str:
    """Histogram of distances to the closest training record: synthetic vs holdout rows."""
    figure, axes = canvas(5.0, 2.4)
    bins = np.histogram_bin_edges(np.concatenate([synthetic, holdout]), bins=30)
    axes.hist(holdout, bins=bins, density=True, alpha=0.55, color=REAL_COLOUR,
              label="holdout (real, unseen) → train")
    axes.hist(synthetic, bins=bins, density=True, alpha=0.55, color=SYNTHETIC_COLOUR,
              label="synthetic → train")
    axes.set_xlabel("distance to the closest training record", fontsize=7)
    axes.tick_params(labelsize=6)
    axes.legend(fontsize=6, frameon=False)
    return to_svg(figure, "Distance to the closest training record: synthetic rows vs unseen "
                          "real (holdout) rows")


def fmt(value: Any, percent: bool = False) -> str:
    """A value for a table cell: ``–`` for ``None``, 3 decimals (or a percentage) for
    floats, escaped text otherwise."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1%}" if percent else f"{value:.3f}"
    return html.escape(str(value))


def _rows(pairs: list[tuple[str, Any]]) -> str:
    return "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)


def _badge(verdict: str) -> str:
    return _badge_as(verdict, verdict.replace(" ", "-"))


def sample_text(summary: dict[str, Any]) -> str:
    """``"; measured on a seeded uniform sample of ..."`` when a table was subsampled (the
    summary's ``*_rows_measured`` below its ``*_rows``), else ``""``.

    Examples
    --------
    >>> print(sample_text({"real_rows": 90_000, "real_rows_measured": 50_000,
    ...                    "synthetic_rows": 10_000, "synthetic_rows_measured": 10_000,
    ...                    "max_rows": 50_000}))
    ; measured on a seeded uniform sample of 50,000 real rows and all 10,000
    synthetic rows (at most 50,000 per table)
    >>> sample_text({"real_rows": 10, "real_rows_measured": 10})
    ''
    """
    measured = [(name, summary[f"{name}_rows_measured"], summary[f"{name}_rows"])
                for name in ("real", "synthetic", "holdout")
                if summary.get(f"{name}_rows_measured") is not None]
    if not any(used < total for _, used, total in measured):
        return ""
    parts = [f"{used:,} {name} rows" if used < total else f"all {total:,} {name} rows"
             for name, used, total in measured]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return (f"; measured on a seeded uniform sample of {listed} "
            f"(at most {summary['max_rows']:,} per table)")


def leaks_text(summary: dict[str, Any]) -> str:
    """``" (N synthetic rows carry a real identifier; ...)"`` naming the real identifiers
    and the columns of rare real values found in the synthetic rows, else ``""``.

    Examples
    --------
    >>> print(leaks_text({"real_identifiers": 12, "rare_value_columns": ["ref"]}))
     (12 synthetic row(s) carry a real identifier or personal data; rare real values
    (fingerprints) beyond chance in column(s) ['ref'])
    >>> leaks_text({"real_identifiers": 0, "rare_value_columns": []})
    ''
    """
    parts = []
    if summary.get("real_identifiers"):
        parts.append(f"{summary['real_identifiers']} synthetic row(s) carry a real identifier "
                     "or personal data")
    if summary.get("rare_value_columns"):
        parts.append("rare real values (fingerprints) beyond chance in column(s) "
                     f"{summary['rare_value_columns']}")
    return f" ({'; '.join(parts)})" if parts else ""


def realism_section(f: dict[str, Any]) -> list[str]:
    """The detection and α-precision / β-recall table with its plain-language reading."""
    auroc = f.get("detection_auroc")
    if auroc is None:
        return ["<p>Detection not measured: too few rows.</p>"]
    floor = f.get("holdout_detection_auroc")
    reading = (f"A gradient-boosted classifier trained to tell synthetic rows from real ones "
               f"reaches AUROC {auroc:.2f}: 0.5 means it cannot tell them apart at all, 1 that "
               "it always can.")
    if floor is not None:
        reading += (f" Real rows the model never saw score {floor:.2f} against the training "
                    "rows, which is what indistinguishable rows look like.")
    reading += (" α-precision (1: no synthetic row lies where real rows never are) and "
                "β-recall (1: every kind of real row is generated) are 1 at best.")
    rows = [("detection AUROC (classifier two-sample test; 0.5 is best)", fmt(auroc)),
            ("detection score (1 − 2 × (AUROC − 0.5); 1 is best)", fmt(f["detection_score"])),
            ("α-precision", fmt(f["alpha_precision"])), ("β-recall", fmt(f["beta_recall"]))]
    if floor is not None:
        rows += [("holdout (unseen real rows): detection AUROC / α-precision / β-recall",
                  f"{fmt(floor)} / {fmt(f.get('holdout_alpha_precision'))} / "
                  f"{fmt(f.get('holdout_beta_recall'))}")]
    return ["<h3>Can synthetic rows be told from real ones?</h3>",
            f"<p>{html.escape(reading)}</p><table>", _rows(rows), "</table>"]


def visits_plot(distribution: dict[str, list[float]]) -> str:
    """Bar chart of the share of patients per number of rows: real vs synthetic."""
    figure, axes = canvas(5.0, 2.2)
    visits = np.asarray(distribution["visits"])
    axes.bar(visits - 0.2, distribution["real"], 0.4, color=REAL_COLOUR, label="real")
    axes.bar(visits + 0.2, distribution["synthetic"], 0.4, color=SYNTHETIC_COLOUR,
             label="synthetic")
    axes.set_xlabel("rows per patient (the last bar: that many or more)", fontsize=7)
    axes.set_ylabel("share of patients", fontsize=7)
    axes.tick_params(labelsize=6)
    axes.legend(fontsize=6, frameon=False)
    return to_svg(figure, "Rows per patient: share of real and of synthetic patients")


def patients_section(p: dict[str, Any]) -> list[str]:
    """The patient-level section of a longitudinal table: whole patients compared, with
    their plain-language reading, the numbers, the visits-per-patient chart and the
    per-column tables."""
    summary, violations, lag1 = p["summary"], p["violations"], p["lag1"]
    order = f"column {p['order']!r}" if p["order"] else "the row order"
    reading = (f"Each patient (column {p['subject']!r}, rows in {order}) is compared whole: "
               "one row of features per patient (visit count; first, last, mean, spread and "
               "slope of each number; span and gaps of the order; main level of each "
               "category) for a classifier telling real from synthetic patients (AUROC 0.5: "
               "it cannot), the number of rows per patient, the columns that never change "
               "within a real patient, how each number follows its previous value (lag-1 "
               "autocorrelation), and the time rules of real histories.")

    def with_floor(value: Any, floor: Any) -> str:
        return fmt(value) + ("" if floor is None else f" (unseen real patients: {fmt(floor)})")

    keys = ", ".join(f"{html.escape(f['feature'])} ({f['importance']:.2f})"
                     for f in p["detection_top_features"]) or "–"
    members = p["membership"]
    rows = [
        ("patients: real / synthetic" + (" / holdout" if p["patients"]["holdout"] else ""),
         " / ".join(f"{v:,}" for v in p["patients"].values() if v is not None)),
        ("rows per patient: real / synthetic",
         f"{p['rows_per_patient']['real']:.2f} / {p['rows_per_patient']['synthetic']:.2f}"),
        ("patient detection AUROC (0.5 is best)",
         with_floor(p["detection_auroc"], p["holdout_detection_auroc"])),
        ("what the classifier keys on (AUROC lost when shuffled)", keys),
        ("visits-per-patient total-variation distance (0 is best)",
         with_floor(p["visits_tv"], p["holdout_visits_tv"])),
        ("constant attributes kept constant (smallest share of synthetic patients)",
         fmt(p["constant"]["minimum"], True)),
        ("lag-1 autocorrelation gap, mean over numbers (0 is best)",
         with_floor(lag1["mean_gap"], p["holdout_lag1_gap"])),
        ("time-rule violations: synthetic / real rows", f"{violations['total']} / "
                                                        f"{p['real_violations']}"),
        ("synthetic patients with a real subject ID", fmt(p["real_subject_ids"])),
    ]
    if members is not None:
        rows.append(("membership attack on whole patients, AUC (0.5: no better than chance)",
                     f"{fmt(members['auc'])} ({members['members']} training vs "
                     f"{members['non_members']} holdout patients)"))
    parts = ["<section id='patients'><h2>Patients</h2>", f"<p>{html.escape(reading)}</p>",
             f"<p>{_patients_badge(summary)} "
             f"{html.escape(summary['patients_reason'])}</p>",
             f"<p>{_rules_badge(summary, 'history rules ')} "
             f"{html.escape(summary['history_rules_reason'])}</p>",
             "<table>", _rows(rows), "</table>", visits_plot(p["visits_distribution"])]
    if p["constant"]["columns"]:
        parts += ["<h3>Constant within every real patient</h3><table><tr><th>column</th>"
                  "<th>synthetic patients where it stays constant</th></tr>",
                  *[f"<tr><td>{html.escape(c)}</td><td>{fmt(v, True)}</td></tr>"
                    for c, v in p["constant"]["columns"].items()], "</table>"]
    if lag1["columns"]:
        parts += ["<h3>Lag-1 autocorrelation within patients</h3><table><tr><th>column</th>"
                  "<th>real</th><th>synthetic</th><th>gap</th></tr>",
                  *[f"<tr><td>{html.escape(c)}</td><td>{fmt(v['real'])}</td>"
                    f"<td>{fmt(v['synthetic'])}</td><td>{fmt(v['gap'])}</td></tr>"
                    for c, v in lag1["columns"].items()], "</table>"]
    terminal = "; ".join(f"{c}: {', '.join(levels)}"
                         for c, levels in violations["terminal_levels"].items()) or "none"
    parts += ["<h3>Time rules</h3><table>", _rows([
        ("order going back within a patient", fmt(violations["order_decreasing"])),
        ("order repeating the previous row's (real histories never do)",
         fmt(violations.get("order_repeated"))),
        ("order outside the real range", fmt(violations["order_outside_range"])),
        ("order missing", fmt(violations["order_missing"])),
        (f"rows after a level real histories end with ({html.escape(terminal)})",
         fmt(violations["after_terminal"]))]), "</table></section>"]
    return parts


def _badge_as(text: str, grade: str) -> str:
    """A badge showing ``text`` in the colours of ``grade`` (good, fair, poor, not-measured)."""
    return f'<span class="badge {grade}">{html.escape(text)}</span>'


def _patients_badge(summary: dict[str, Any]) -> str:
    """The summary's patients verdict as a badge of its grade."""
    return _badge_as(summary["patients"], summary["patients_grade"])


def _rules_badge(summary: dict[str, Any], prefix: str = "",
                 key: str = "history_rules") -> str:
    """A rules verdict of the summary (``key``) as a badge: good when kept, poor when
    broken."""
    grade = "good" if summary[key] == "kept" else "poor"
    return _badge_as(prefix + summary[key], grade)


def membership_text(p: dict[str, Any]) -> str:
    """The membership attack's AUC with its confidence interval and what was attacked.

    Examples
    --------
    >>> print(membership_text({"membership_auc": 0.61, "membership_auc_ci": [0.52, 0.7],
    ...                        "membership_ci_level": 0.95, "membership_unit": "row",
    ...                        "membership_members": 334, "membership_non_members": 84}))
    0.610 (95 % CI 0.520–0.700; 334 training vs 84 holdout rows)
    """
    low, high = p["membership_auc_ci"]
    unit = "rows" if p["membership_unit"] == "row" else "patients, each by its closest row"
    return (f"{fmt(p['membership_auc'])} ({p['membership_ci_level'] * 100:.0f} % CI "
            f"{fmt(low)}–{fmt(high)}; "
            f"{p['membership_members']} training vs {p['membership_non_members']} holdout "
            f"{unit})")


def real_values_section(s: dict[str, Any], kinds: dict[str, str],
                        thresholds: dict[str, Any]) -> list[str]:
    """Real identifiers and rare real values (fingerprints) found in the synthetic rows:
    the columns with any, their chance rate and verdict."""
    identifiers, rare = s.get("identifiers") or {}, s.get("rare_values")
    if rare is None:
        return []
    chance = ("holdout rows (real, unseen)" if rare["baseline"] == "holdout"
              else "real rows, each left out in turn")
    rows = []
    for column, entry in rare["columns"].items():
        if not (entry["rows"] or column in identifiers or column in rare["flagged"]):
            continue
        found = identifiers.get(column)
        verdict = (_badge("at risk") if column in rare["flagged"] or found else
                   "–" if entry["judged"] else "not judged: a measurement needs a holdout")
        rows.append(f"<tr><td>{html.escape(str(column))}</td>"
                    f"<td>{html.escape(kinds.get(column, ''))}"
                    f"</td><td>{fmt(found)}</td><td>{entry['rows']} "
                    f"({fmt(entry['share'], True)})</td><td>{fmt(entry['expected'], True)}</td>"
                    f"<td>{verdict}</td></tr>")
    reading = (f"Measured with or without a holdout, whatever kind a column was given. A rare "
               f"value is one that at most {rare['holders_max']} real rows (patients) hold: a "
               f"fingerprint. Chance is the share of {chance} whose value is rare in the "
               "training rows" + ("" if rare["baseline"] == "holdout" else
                                  "; without a holdout only key-like columns are judged (at "
                                  f"least {thresholds['rare_value_key_share_min']:.0%} of "
                                  "real rows hold a value of their own)")
               + "; a column above it by more than "
               f"{thresholds['rare_value_excess_max']:.0%} and "
               f"{thresholds['rare_value_z_min']:g} standard errors puts the real rows at "
               "risk. Real identifiers count synthetic rows carrying a real ID, name, e-mail, "
               "phone number or address.")
    parts = ["<h3>Real values in the synthetic rows</h3>", f"<p>{html.escape(reading)}</p>"]
    if not rows:
        return parts + ["<p>No synthetic row carries a real identifier or a rare real value."
                        "</p>"]
    return parts + ["<table><tr><th>column</th><th>kind</th><th>rows with a real identifier"
                    "</th><th>rows with a rare real value</th><th>chance</th><th>verdict</th>"
                    "</tr>", *rows, "</table>"]


def _patients_summary(s: dict[str, Any]) -> list[str]:
    """The summary's rows of a longitudinal table (none for a flat one)."""
    if "patients" not in s:
        return []
    return [f"<tr><td>Patients: do whole histories look real?</td><td>"
            f"{_patients_badge(s)}</td><td>"
            f"{html.escape(s['patients_reason'])}</td></tr>",
            f"<tr><td>History rules: visits, constants, time order?</td><td>"
            f"{_rules_badge(s)}</td><td>"
            f"{html.escape(s['history_rules_reason'])}</td></tr>"]


def _table_rules_summary(s: dict[str, Any]) -> list[str]:
    """The summary's row of the metadata's rules (none without rules)."""
    if "rules" not in s:
        return []
    return [f"<tr><td>Rules: does every row keep the confirmed rules?</td><td>"
            f"{_rules_badge(s, key='rules')}</td><td>{html.escape(s['rules_reason'])}</td></tr>"]


def render(report: ReportData) -> str:
    """The whole page as a string."""
    s, f, u, p = report.summary, report.fidelity, report.utility, report.privacy
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Synthetic data report</title><style>", STYLE, "</style></head><body>",
        "<h1>Synthetic data report</h1>",
        f"<p class='muted'>{s['real_rows']:,} real rows, {s['synthetic_rows']:,} synthetic rows"
        + (f", {s['holdout_rows']:,} holdout rows" if s.get("holdout_rows") else "")
        + sample_text(s) + f"; measured in {s['seconds']} s.</p>",
        "<section id='summary'><h2>Summary</h2><table>",
        "<tr><th>question</th><th>verdict</th><th>why</th></tr>",
        *[f"<tr><td>{q}</td><td>{_badge(s[key])}</td><td>{html.escape(s[key + '_reason'])}</td>"
          "</tr>" for q, key in (("Fidelity: does it look like the real data?", "fidelity"),
                                 ("Utility: is it useful for analysis?", "utility"),
                                 ("Privacy: does it reveal real rows?", "privacy"))],
        *_patients_summary(s),
        *_table_rules_summary(s),
        "</table></section>",
        "<section id='fidelity'><h2>Fidelity</h2><table>",
        _rows([("overall quality (sdmetrics QualityReport)", fmt(f["quality"])),
               ("column shapes", fmt(f["column_shapes"])),
               ("column-pair trends", fmt(f["column_pair_trends"])),
               ("diagnostic (sdmetrics DiagnosticReport)", fmt(f["diagnostic"])),
               ("data validity", fmt(f["validity"])), ("data structure", fmt(f["structure"]))]),
        "</table>", *realism_section(f),
        "<h3>Per column</h3><table><tr><th>column</th><th>shape metric</th><th>shape score</th>"
        "<th>validity (diagnostic)</th></tr>",
        *[f"<tr><td>{html.escape(str(c))}</td><td>{html.escape(v['metric'])}</td>"
          f"<td>{fmt(v['score'])}</td><td>{fmt(v.get('validity'))}</td></tr>"
          for c, v in f["per_column"].items()],
        "</table><h3>Distributions: real vs synthetic</h3><div class='grid'>",
    ]
    kinds = report.columns.get("kinds", {})
    plotted = [c for c, k in kinds.items() if k not in UNMODELLED_KINDS][:MAX_PLOTTED_COLUMNS]
    real, synthetic = report.columns.get("real"), report.columns.get("synthetic")
    for column in plotted:
        plot = column_plot(column, kinds[column], real[column], synthetic[column])
        caption = f"{html.escape(str(column))} ({kinds[column]})"
        parts.append(f"<figure>{plot}<figcaption>{caption}</figcaption></figure>")
    parts.append("</div>")
    heatmap = pair_heatmap(f["pairs"], plotted)
    if heatmap:
        parts += ["<h3>Column-pair trends</h3>", heatmap]
    parts.append("</section>")
    if getattr(report, "patients", None) is not None:
        parts += patients_section(report.patients)
    parts.append("<section id='utility'><h2>Utility</h2>")
    if u is None:
        parts.append("<p>Not measured: give a target column.</p>")
    else:
        parts += ["<table>", _rows([
            ("target", fmt(u["target"])), ("task", fmt(u["task"])),
            (f"{u['metric']}, trained on real rows (TRTR)", fmt(u["train_real"])),
            (f"{u['metric']}, trained on synthetic rows (TSTR)", fmt(u["train_synthetic"])),
            ("ratio TSTR / TRTR", fmt(u["ratio"])), ("test rows (real)", fmt(u["test_rows"]))]),
            "</table>"]
    parts.append("</section><section id='privacy'><h2>Privacy</h2>")
    parts.append(f"<p><b>Formal guarantee:</b> {html.escape(s['guarantee'])}</p>")
    if p is None:
        parts.append("<p>Not measured: it needs a holdout of real rows the model never saw.</p>")
    else:
        parts += ["<table>", _rows([
            ("median distance to closest training record: synthetic / holdout",
             f"{fmt(p['dcr_synthetic_median'])} / {fmt(p['dcr_holdout_median'])}"),
            ("5th percentile: synthetic / holdout",
             f"{fmt(p['dcr_synthetic_p05'])} / {fmt(p['dcr_holdout_p05'])}"),
            ("synthetic rows closer to a training row than to an unseen real row / the same "
             "share for unseen real rows (no leak: about equal)",
             f"{fmt(p['closer_to_train_share'], True)} / "
             f"{fmt(p['closer_to_train_expected'], True)}"),
            ("exact copies of training rows: synthetic / holdout",
             f"{fmt(p['exact_copies'], True)} / {fmt(p['holdout_exact_copies'], True)}"),
            ("membership-inference attack AUC (0.5: no better than chance)",
             membership_text(p))]), "</table>"]
        distances = report.columns.get("distances")
        if distances is not None:
            parts.append(distance_plot(*distances))
    parts += real_values_section(s, kinds, report.to_dict()["thresholds"])
    parts += ["</section><section id='notes'><h2>Notes</h2><ul>",
              *[f"<li>{html.escape(n)}</li>" for n in report.notes],
              "<li>Thresholds: " + html.escape(", ".join(
                  f"{k} = {v}" for k, v in report.to_dict()["thresholds"].items())) + "</li>",
              "</ul></section></body></html>"]
    return "\n".join(parts)
