"""Detection (C2ST) and α-precision / β-recall: in the report, its page, its gate and compare."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit import Synthesizer
from toolkit.cli import cli
from toolkit.evaluate.realism import alpha_precision_beta_recall, detection_auroc, realism
from toolkit.evaluate.report import column_kinds, evaluate


@pytest.fixture(scope="module")
def split(_patients_frame):
    holdout = _patients_frame.sample(frac=0.3, random_state=0)
    return _patients_frame.drop(index=holdout.index), holdout


@pytest.fixture(scope="module")
def kinds(split):
    return column_kinds(split[0], None)


def independent_columns(table: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every column shuffled on its own: the right marginals, no dependencies."""
    rng = np.random.default_rng(seed)
    return table.apply(lambda column: column.to_numpy()[rng.permutation(len(column))])


@pytest.mark.slow
def test_unseen_real_rows_are_hard_to_detect_and_broken_rows_easy(split, kinds):
    train, holdout = split
    floor = detection_auroc(train, holdout, kinds)
    broken = detection_auroc(train, independent_columns(train), kinds)
    shifted = detection_auroc(train, holdout.assign(age=holdout["age"] + 30), kinds)
    assert 0.35 < floor < 0.65
    assert broken > floor + 0.1
    assert shifted > 0.95


def test_detection_is_seeded_and_needs_rows(split, kinds):
    train, holdout = split
    assert detection_auroc(train, holdout, kinds, 3) == detection_auroc(train, holdout, kinds, 3)
    assert detection_auroc(train.head(4), holdout.head(4), kinds) is None


def test_a_collapsed_table_keeps_precision_and_loses_recall(split, kinds):
    train, holdout = split
    collapsed = pd.concat([holdout.iloc[:5]] * (len(holdout) // 5), ignore_index=True)
    fair = alpha_precision_beta_recall(train, holdout, kinds)
    poor = alpha_precision_beta_recall(train, collapsed, kinds)
    assert fair["beta_recall"] > poor["beta_recall"] + 0.2
    assert all(0.0 <= value <= 1.0 for value in [*fair.values(), *poor.values()])


@pytest.mark.slow
def test_realism_states_the_holdout_floor(split, kinds):
    train, holdout = split
    result = realism(train, holdout, kinds, holdout=holdout)
    assert result["holdout_detection_auroc"] is not None
    assert result["detection_rows"] == len(holdout)
    assert set(result) >= {"detection_auroc", "detection_score", "alpha_precision",
                           "beta_recall", "holdout_alpha_precision", "holdout_beta_recall"}


@pytest.fixture(scope="module")
def report(split):
    synthetic = Synthesizer(config="fast", epochs=5, random_state=0).fit(split[0]).sample(300)
    return evaluate(split[0], synthetic, holdout=split[1])


@pytest.mark.slow
def test_report_json_and_page_carry_detection(report, tmp_path):
    data = json.loads(json.dumps(report.to_dict(), default=str))
    summary = data["summary"]
    assert 0.0 <= summary["detection_auroc"] <= 1.0
    assert summary["detection_score"] == pytest.approx(
        max(0.0, 1 - 2 * abs(summary["detection_auroc"] - 0.5)))
    assert data["fidelity"]["holdout_detection_auroc"] is not None
    assert "AUROC" in summary["fidelity_reason"]
    assert summary["copied_rows"] == 0
    report.to_html(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "Can synthetic rows be told from real ones?" in page and "β-recall" in page


@pytest.mark.slow
def test_copied_rows_are_counted_without_a_holdout(split):
    copied = evaluate(split[0], split[0].sample(frac=1.0, random_state=2))
    assert copied.summary["copied_rows"] == len(split[0])


@pytest.fixture()
def tables(tmp_path, monkeypatch, split):
    monkeypatch.chdir(tmp_path)
    split[0].to_csv("real.csv", index=False)
    independent_columns(split[0]).to_csv("broken.csv", index=False)


def _run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.slow
def test_cli_fail_under_gates_on_detection(tables):
    result = _run("report", "real.csv", "broken.csv", "--out", "r.html",
                  "--fail-under", "0.1", "--fail-under", "detection=0.99")
    assert result.exit_code == 1
    assert "detection" in result.output and "is below --fail-under detection=0.99" in result.output
    assert Path("r.html").exists()
    passed = _run("report", "real.csv", "broken.csv", "--out", "r.html", "--fail-under",
                  "alpha_precision=0.0", "--fail-under", "0.1")
    assert passed.exit_code == 0, passed.output


@pytest.mark.parametrize("bar, message", [("speed=0.5", "unknown metric 'speed'"),
                                          ("detection=2", "not between 0 and 1"),
                                          ("detection=high", "is not a number")])
def test_cli_fail_under_refuses_a_bad_bar(tables, bar, message):
    result = _run("report", "real.csv", "broken.csv", "--out", "r.html", "--fail-under", bar)
    assert result.exit_code == 2 and message in result.output
    assert not Path("r.html").exists()
