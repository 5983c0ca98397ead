"""The HTML page of a dataset report (:func:`toolkit.evaluate.dataset.dataset_report`): one
self-contained file, in the style of the single-table page, with the measurements as tables
and a plain-language verdict for each relationship."""

from __future__ import annotations

import html
import json
from typing import Any

from toolkit.evaluate.page import STYLE, _badge_as
from toolkit.evaluate.report import guarantee_text

#: a parent-level AUROC at most this is "good" (the classifier barely tells parents apart)
GOOD_AUROC = 0.75
#: ... at most this is "fair"
FAIR_AUROC = 0.9


def _number(value: Any, percent: bool = False) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if percent else f"{value:.3f}"


def relation_verdict(part: dict[str, Any]) -> tuple[str, str]:
    """``(verdict, reason)`` of a relationship: broken keys are poor whatever else; then the
    parent-level AUROC decides (good ≤ 0.75 < fair ≤ 0.9 < poor)."""
    if part["integrity"] < 1.0:
        return "poor", (f"{1 - part['integrity']:.1%} of the child rows point at no generated "
                        "parent")
    auroc = part.get("parent_auroc")
    if auroc is None:
        return "good", "every child row points at a generated parent"
    grade = "good" if auroc <= GOOD_AUROC else "fair" if auroc <= FAIR_AUROC else "poor"
    floor = part.get("parent_auroc_floor")
    return grade, (f"a classifier tells synthetic parents (with their children) from real ones "
                   f"at AUROC {auroc:.3f}" + (f" (unseen real parents: {floor:.3f})"
                                              if floor is not None else "")
                   + "; 0.5: cannot tell")


def render_dataset(report: dict[str, Any]) -> str:
    """The page of a dataset report, as a string."""
    table_rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{part['real_rows']:,}</td>"
        f"<td>{part['synthetic_rows']:,}</td><td>{_number(part.get('quality'))}</td>"
        f"<td>{_number(part.get('quality_ceiling'))}</td><td>{part['real_keys']}</td>"
        f"<td>{sum(part.get('rule_violations', {}).values())}</td></tr>"
        for name, part in report["tables"].items())
    relation_rows = []
    for name, part in report["relationships"].items():
        grade, reason = relation_verdict(part)
        relation_rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{_badge_as(grade, grade)}</td>"
            f"<td>{html.escape(reason)}</td><td>{_number(part['integrity'], True)}</td>"
            f"<td>{_number(part['cardinality_tv'])} "
            f"({_number(part.get('cardinality_tv_floor'))})</td>"
            f"<td>{_number(part.get('membership_auc'))}</td>"
            f"<td>{part.get('entity_copies', '—')}</td></tr>")
    properties = "".join(f"<tr><th>{html.escape(k)}</th><td>{v:.3f}</td></tr>"
                         for k, v in report["sdmetrics"]["properties"].items())
    return "".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Synthetic dataset report</title><style>", STYLE, "</style></head><body>",
        "<h1>Synthetic dataset report</h1>",
        "<p class='muted'>Every synthetic table against the real one it was learnt from; the "
        "held-out real tables (whole root entities with their children) give the ceilings and "
        "floors.</p>",
        f"<p><b>Privacy guarantee:</b> {html.escape(guarantee_text(report.get('guarantee')))}"
        "</p>",
        "<h2>Tables</h2><table><tr><th>table</th><th>real rows</th><th>synthetic rows</th>"
        "<th>quality (sdmetrics)</th><th>holdout's own (ceiling)</th><th>real keys</th>"
        "<th>rule violations</th></tr>", table_rows, "</table>",
        "<h2>Relationships</h2><table><tr><th>relationship</th><th>verdict</th><th>why</th>"
        "<th>child rows with their parent</th><th>children per parent, TV distance "
        "(holdout's)</th><th>membership AUC on root entities</th>"
        "<th>root entities copied whole</th></tr>",
        *relation_rows, "</table>",
        f"<h2>sdmetrics multi-table quality: {report['sdmetrics']['score']:.3f}</h2>",
        "<table>", properties, "</table>",
        "<h2>Every measurement</h2><pre>",
        html.escape(json.dumps(report, indent=1, default=str)), "</pre></body></html>",
    ])
