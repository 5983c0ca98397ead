"""toolkit.evaluate.page: the report's HTML page: charts with titles and text as text, nothing
fetched, and the README's example picture and its numbers."""

from __future__ import annotations

import importlib.util
import json
import re
from html.parser import HTMLParser

import pytest
from conftest import REPO
from helpers import clinical_table

from toolkit.evaluate.report import (
    evaluate,
)

# from tests/test_trust_api.py ---------------------------------------------------------------




# the report's charts ---------------------------------------------------------------------------
class _Charts(HTMLParser):
    """Each top-level ``<svg>``: its attributes, its ``<title>`` and the strings of its
    ``<text>`` elements."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[dict] = []
        self.depth = 0
        self.inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "svg":
            if self.depth == 0:
                self.charts.append({"attrs": dict(attrs), "title": None, "text": []})
            self.depth += 1
        elif self.depth and tag in ("title", "text", "tspan"):
            self.inside = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.depth -= 1
        elif tag in ("title", "text", "tspan"):
            self.inside = None

    def handle_data(self, data: str) -> None:
        if self.inside == "title" and self.charts[-1]["title"] is None:
            self.charts[-1]["title"] = data
        elif self.inside in ("text", "tspan"):
            self.charts[-1]["text"].append(data)


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> str:

    real, synthetic, holdout = clinical_table(120, 0), clinical_table(120, 1), clinical_table(40, 2)
    path = tmp_path_factory.mktemp("report") / "report.html"
    evaluate(real, synthetic, holdout=holdout).to_html(path)
    return path.read_text()


def test_every_chart_has_a_title_and_text_as_text(report_page):
    parser = _Charts()
    parser.feed(report_page)
    assert len(parser.charts) >= 4  # three columns and the distance histogram
    for chart in parser.charts:
        assert chart["title"], chart["attrs"]
        assert chart["attrs"].get("role") == "img"
        assert chart["attrs"].get("aria-label") == chart["title"]
        assert chart["text"], chart["title"]  # tick labels, titles, legends as <text>
    titles = [chart["title"] for chart in parser.charts]
    assert "age (continuous): real vs synthetic distribution" in titles
    texts = {t.strip() for chart in parser.charts for t in chart["text"]}
    assert {"age", "sex", "real", "synthetic", "f", "m"} <= texts
    assert "distance to the closest training record" in texts


def test_the_page_fetches_no_font_or_anything_else(report_page):
    assert "@font-face" not in report_page and "<script" not in report_page
    assert not re.search(r"(src|href)=['\"]?https?:", report_page)
    assert not re.search(r"url\(\s*['\"]?https?:", report_page)


# from tests/test_trust_report.py ------------------------------------------------------------




# the README's picture and its numbers -------------------------------------------------------
def _picture_script():
    spec = importlib.util.spec_from_file_location("make_report_picture",
                                                  REPO / "docs" / "make_report_picture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_picture_script_runs_the_readmes_first_report_example():
    assert _picture_script().readme_command() == [
        "synth", "sample_data/patients.csv", "--out", "synthetic.csv", "--seed", "7",
        "--report", "report.html", "--target", "status", "--holdout-out", "holdout.csv"]


@pytest.mark.slow
def test_the_readme_report_example_gives_the_numbers_beside_its_picture(tmp_path):
    script = _picture_script()
    report = script.run_example(tmp_path)
    assert (tmp_path / "report.html").exists() and (tmp_path / "holdout.csv").exists()
    assert script.summary_numbers(report) == json.loads(script.NUMBERS.read_text()), (
        "the README's report example no longer gives the numbers of its picture: run "
        "`python docs/make_report_picture.py` and commit sample_data/report_screenshot.*")
