"""Issue 32, second round: the Python API and the CLI refuse what they cannot do in one line,
keep column labels as given, draw charts whose text is text, show progress bars only on a
terminal, and document every option."""

from __future__ import annotations

import re
import warnings
from html.parser import HTMLParser
from pathlib import Path

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit import AnomalyDetector, Synthesizer
from toolkit.adapters.tabular import TabularAdapter
from toolkit.cli import cli
from toolkit.cli.common import parse_conditions
from toolkit.exceptions import DataError, ModelFileError, UsageError

FAST = {"config": "fast", "epochs": 2}
TRAIN = ["--config", "fast", "--epochs", "2"]


def run(*args: object):
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def one_line_error(result, code: int) -> str:
    """The single ``Error:`` line of a failed command (no traceback)."""
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def visits(n: int = 90, seed: int = 0) -> pd.DataFrame:
    """A small clinical table: a measurement, a categorical and an integer column."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.normal(55, 12, n).round(1),
                         "sex": rng.choice(["f", "m"], n),
                         "stage": rng.integers(1, 5, n)})


@pytest.fixture(scope="module")
def numbered() -> pd.DataFrame:
    """:func:`visits` with integer column labels, as ``pd.DataFrame(array)`` gives them."""
    return visits().set_axis([0, 1, 2], axis=1)


@pytest.fixture(scope="module")
def numbered_model(numbered) -> Synthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Synthesizer(**FAST, random_state=0).fit(numbered)


# column labels ----------------------------------------------------------------------------
def test_integer_labels_come_back_as_integers(numbered_model, numbered):
    rows = numbered_model.sample(20, random_state=1)
    assert rows.columns.tolist() == [0, 1, 2]
    assert all(type(label) is int for label in rows.columns)
    assert set(rows[1]) <= {"f", "m"}
    assert rows[0].dtype == numbered[0].dtype


def test_integer_labels_round_trip_through_the_model_file(numbered_model, tmp_path):
    numbered_model.save(tmp_path / "numbered.tkm")
    loaded = Synthesizer.load(tmp_path / "numbered.tkm")
    assert loaded.adapter_.labels_ == [0, 1, 2]
    assert loaded.sample(15, random_state=3).equals(numbered_model.sample(15, random_state=3))


def test_conditions_name_integer_labels(numbered_model):
    assert set(numbered_model.sample(10, conditions={1: "f"}, random_state=0)[1]) == {"f"}
    per_row = numbered_model.sample(3, conditions=pd.DataFrame({1: ["m", "f", None]}),
                                    random_state=0)
    assert per_row[1].tolist()[:2] == ["m", "f"]
    with pytest.raises(DataError, match=r"unknown column 7; columns: \[0, 1, 2\]"):
        numbered_model.sample(2, conditions={7: "x"})


def test_mixed_labels_are_kept_by_a_synthesizer():
    table = visits().set_axis(["age", 1, 2.5], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = Synthesizer(**FAST, random_state=0).fit(table).sample(5)
    assert rows.columns.tolist() == ["age", 1, 2.5]


def test_detector_keeps_integer_labels(numbered):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detector = AnomalyDetector(**FAST, random_state=0).fit(numbered)
    assert detector.decision_function(numbered.head(5)).shape == (5,)
    assert detector.explain(numbered.head(3)).columns.tolist() == [0, 1, 2]
    with pytest.raises(DataError, match=r"lacks column\(s\) \[0\]"):
        detector.model_.adapter_.check_columns(numbered.drop(columns=[0]))


def test_detector_refuses_labels_mixing_text_and_numbers():
    table = visits().set_axis(["age", 1, 2], axis=1)
    with pytest.raises(DataError, match="all input features have string names") as error:
        AnomalyDetector(**FAST, random_state=0).fit(table)
    assert "\n" not in str(error.value)


def test_multiindex_columns_are_refused_with_the_fix():
    table = visits().set_axis(pd.MultiIndex.from_tuples(
        [("vitals", "age"), ("person", "sex"), ("tumour", "stage")]), axis=1)
    fix = re.escape("df.columns = ['_'.join(map(str, c)) for c in df.columns]")
    for model in (Synthesizer(**FAST, random_state=0), AnomalyDetector(**FAST, random_state=0)):
        with pytest.raises(DataError, match=f"has MultiIndex columns; flatten them, e.g. {fix}"):
            model.fit(table)


@pytest.mark.parametrize(("labels", "message"), [
    ([1, "1", "stage"], "has columns 1 and '1', both named '1'; rename one"),
    (["age", None, "stage"], "has column label None"),
    (["age", pd.Timestamp("2024-01-01"), "stage"], "has column label Timestamp"),
])
def test_labels_that_cannot_be_kept_are_named(labels, message):
    with pytest.raises(DataError, match=re.escape(message)):
        Synthesizer(**FAST, random_state=0).fit(visits().set_axis(labels, axis=1))


@pytest.mark.parametrize(("values", "holds"), [
    ([{"code": 1}], "dict"), ([[1, 2]], "list"), ([{1, 2}], "set"), ([b"\x00"], "bytes"),
    ([1 + 2j], "complex"), ([np.array([1.0, 2.0])], "ndarray"),
])
def test_columns_of_unmodellable_values_are_named(values, holds):
    table = visits()
    table["notes"] = pd.Series(values * len(table),
                               dtype=complex if holds == "complex" else object)
    for model in (Synthesizer(**FAST, random_state=0), AnomalyDetector(**FAST, random_state=0)):
        with pytest.raises(DataError, match=f"column 'notes' holds {holds} values") as error:
            model.fit(table)
        assert "\n" not in str(error.value)


def test_arrow_list_column_is_named():
    import pyarrow as pa

    table = visits()
    table["codes"] = pd.Series([["I10", "E11"]] * len(table),
                               dtype=pd.ArrowDtype(pa.list_(pa.string())))
    with pytest.raises(DataError, match="column 'codes' holds list values"):
        Synthesizer(**FAST, random_state=0).fit(table)


def test_complex_column_is_not_silently_made_real():
    table = visits()
    table["impedance"] = table["age"] + 1j * table["stage"]
    with pytest.raises(DataError, match="real and imaginary parts"):
        TabularAdapter().fit(table)


# conditions --------------------------------------------------------------------------------
def test_contradicting_conditions_are_refused():
    assert parse_conditions(("sex=f", "sex=f", "stage=3")) == {"sex": "f", "stage": "3"}
    with pytest.raises(UsageError, match="column 'sex' two values, 'f' and 'm'"):
        parse_conditions(("sex=f", "sex=m"))


def test_cli_contradicting_conditions_exit_2_before_loading(tmp_path, model_file):
    result = run("sample", model_file, "--rows", "5", "--out", tmp_path / "o.csv",
                 "--condition", "sex=f", "--condition", "sex=m")
    assert "two values, 'f' and 'm'" in one_line_error(result, 2)
    assert not (tmp_path / "o.csv").exists()


# a folder where a model file belongs ----------------------------------------------------------
@pytest.mark.parametrize("command", [
    ["sample", "{model}", "--rows", "5", "--out", "o.csv"],
    ["info", "{model}"],
    ["score", "{data}", "--model", "{model}", "--out", "s.csv"],
    ["encode", "{data}", "--model", "{model}", "--out", "e.csv"],
    ["decode", "{data}", "--model", "{model}", "--out", "d.csv"],
    ["reconstruct", "{data}", "--model", "{model}", "--out", "r.csv"],
    ["interpolate", "{model}", "{data}", "{data}", "--out", "i.csv"],
    ["latent", "{model}", "--out", "l.png"],
])
def test_a_folder_is_not_a_model_file(command, tmp_path, monkeypatch, patients_csv):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somefolder").mkdir()
    args = [part.format(model="somefolder", data=patients_csv) for part in command]
    line = one_line_error(run(*args), 1)
    assert line == "Error: somefolder is a folder, not a model file (.tkm)"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["somefolder"]


def test_python_load_of_a_folder(tmp_path):
    for estimator in (Synthesizer, AnomalyDetector):
        with pytest.raises(ModelFileError, match="is a folder, not a model file"):
            estimator.load(tmp_path)


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
    from toolkit.evaluate.report import evaluate

    real, synthetic, holdout = visits(120, 0), visits(120, 1), visits(40, 2)
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


# progress bars ----------------------------------------------------------------------------------
@pytest.fixture
def small_csv(tmp_path, patients) -> Path:
    path = tmp_path / "small.csv"
    patients.head(80).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("progress", [False, True])
def test_training_bar_only_with_progress_off_a_terminal(small_csv, tmp_path, progress):
    result = run("fit", small_csv, "--model-out", tmp_path / "m.tkm", *TRAIN, "--seed", "0",
                 *(["--progress"] if progress else []))
    assert result.exit_code == 0, result.output
    assert ("\r" in result.stderr) is progress
    assert ("training:" in result.stderr) is progress  # the bar, not the "training a" line


@pytest.mark.parametrize("progress", [False, True])
def test_sampling_bar_only_with_progress_off_a_terminal(model_file, tmp_path, monkeypatch,
                                                        progress):
    monkeypatch.setattr("toolkit.cli.synthesis.CLI_CHUNK_ROWS", 40)  # several chunks
    result = run("sample", model_file, "--rows", "200", "--out", tmp_path / "o.csv",
                 "--seed", "0", *(["--progress"] if progress else []))
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "o.csv")) == 200
    assert ("\r" in result.stderr) is progress
    assert ("sampling:" in result.stderr) is progress


# help texts ------------------------------------------------------------------------------------
def _commands() -> list[tuple[str, click.Command]]:
    return sorted(cli.commands.items())


@pytest.mark.parametrize(("name", "command"), _commands())
def test_every_option_has_help(name, command):
    undocumented = [param.opts for param in command.params
                    if isinstance(param, click.Option) and not (param.help or "").strip()]
    assert not undocumented, f"toolkit {name}: {undocumented}"


def _help(command: str) -> str:
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_help_says_which_options_need_which_mode():
    fit = _help("fit")
    for option in ("--score", "--contamination", "--unseen"):
        assert re.search(re.escape(option) + r" [^.]*? With --task detect: [a-z]", fit), option
    score = _help("score")
    assert re.search(r"--config TEXT With --fit-on: .*\[default: 'detect'; 'detect-images' on "
                     r"images\]", score)
    assert "[default: 'default'" not in score
    assert re.search(r"--steps INTEGER RANGE Records decoded along the latent line",
                     _help("interpolate"))
