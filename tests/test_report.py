"""Quality and privacy reports: numbers, verdicts, HTML, browser rendering, CLI, bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit import Synthesizer
from toolkit.cli import cli
from toolkit.evaluate.report import evaluate
from toolkit.exceptions import DataError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def split(_patients_frame):
    holdout = _patients_frame.sample(frac=0.25, random_state=0)
    return _patients_frame.drop(index=holdout.index), holdout


@pytest.fixture(scope="module")
def synthetic(split):
    return Synthesizer(config="fast", epochs=20, random_state=0).fit(split[0]).sample(300)


@pytest.fixture(scope="module")
def report(split, synthetic):
    return evaluate(split[0], synthetic, holdout=split[1], target="status")


def test_quality_matches_a_direct_sdmetrics_call(report, split, synthetic):
    from sdmetrics.reports import QualityReport

    from toolkit.evaluate.report import _as_sdmetrics_frame, _sdmetrics_metadata, column_kinds

    kinds = column_kinds(split[0], None)
    direct = QualityReport()
    direct.generate({"table": _as_sdmetrics_frame(split[0], kinds)},
                    {"table": _as_sdmetrics_frame(synthetic, kinds)},
                    _sdmetrics_metadata(kinds), verbose=False)
    assert report.fidelity["quality"] == pytest.approx(direct.get_score())
    assert report.summary["quality"] == report.fidelity["quality"]
    shapes = direct.get_details("Column Shapes").set_index("Column")["Score"]
    for column, entry in report.fidelity["per_column"].items():
        assert entry["score"] == pytest.approx(shapes[column])
        assert 0.0 <= entry["validity"] <= 1.0


def test_report_has_every_section(report):
    data = report.to_dict()
    assert set(data) == {"summary", "fidelity", "utility", "privacy", "thresholds", "notes"}
    assert set(data["fidelity"]["per_column"]) == {c for c in report.columns["kinds"]
                                                    if report.columns["kinds"][c] != "id"}
    assert data["utility"]["task"] == "classification"
    assert 0.0 <= data["privacy"]["membership_auc"] <= 1.0
    assert data["summary"]["privacy"] in ("no leak detected", "at risk")


def test_regression_target_uses_r2(split, synthetic):
    result = evaluate(split[0], synthetic, target="age")
    assert result.utility["task"] == "regression" and result.utility["metric"] == "R²"
    assert "a random 20 % of the real rows is the test set" in " ".join(result.notes)


def test_a_feature_missing_from_every_synthetic_row_is_left_out_of_utility(split, synthetic):
    # seen under --epsilon: gradient boosting's binning crashed on a numeric feature with no value
    empty = synthetic.assign(chol=np.nan, bili=np.nan)
    result = evaluate(split[0], empty, holdout=split[1], target="status")
    assert result.utility["train_synthetic"] is not None
    assert 0.0 <= result.utility["train_synthetic"] <= 1.0


def test_copied_training_rows_are_flagged_as_a_privacy_risk(split):
    train, holdout = split
    leaked = evaluate(train, train.sample(200, random_state=1), holdout=holdout)
    assert leaked.privacy["exact_copies"] == 1.0
    assert leaked.privacy["closer_to_train_share"] > 0.95
    assert leaked.privacy["closer_to_train_expected"] < 0.9
    assert leaked.privacy["membership_auc"] > 0.6
    assert leaked.summary["privacy"] == "at risk"


def test_unseen_real_rows_as_synthetic_show_no_leak(_patients_frame):
    shuffled = _patients_frame.sample(frac=1.0, random_state=3)
    train, fresh, holdout = shuffled.iloc[:200], shuffled.iloc[200:300], shuffled.iloc[300:]
    clean = evaluate(train, fresh, holdout=holdout)
    assert clean.privacy["exact_copies"] == 0.0
    excess = clean.privacy["closer_to_train_share"] - clean.privacy["closer_to_train_expected"]
    assert abs(excess) < 0.15
    assert clean.summary["privacy"] == "no leak detected"


def test_without_holdout_privacy_is_not_measured(split, synthetic):
    result = evaluate(split[0], synthetic)
    assert result.privacy is None and result.summary["privacy"] == "not measured"


def test_json_is_written_and_readable(report, tmp_path):
    report.to_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"]["quality"] == pytest.approx(report.summary["quality"])


def test_html_is_self_contained(report, tmp_path):
    report.to_html(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r"(src|href)=['\"]?https?:", page)
    assert "@font-face" not in page
    assert not re.search(r"url\((?!#)", page)  # only references to the page's own SVG ids
    assert page.count("<svg") >= len(report.fidelity["per_column"])
    for section in ("summary", "fidelity", "utility", "privacy"):
        assert f"id='{section}'" in page


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_renders_in_headless_chromium_without_console_errors(report, tmp_path):
    page = tmp_path / "r.html"
    report.to_html(page)
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "report_screenshot.py"), str(page), str(shot)],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert shot.stat().st_size > 10_000
    assert "console errors: 0" in result.stdout


# bad input -------------------------------------------------------------------------------
def test_different_columns_are_refused(split, synthetic):
    expected = r"synthetic table has different columns: missing \['age'\]"
    with pytest.raises(DataError, match=expected):
        evaluate(split[0], synthetic.drop(columns="age"))


def test_text_in_a_numeric_column_is_refused(split, synthetic):
    bad = synthetic.astype({"age": object})
    bad.loc[0, "age"] = "old"
    with pytest.raises(DataError, match="column 'age' is numeric in the real table but holds text"):
        evaluate(split[0], bad)


def test_empty_synthetic_table_is_refused(split, synthetic):
    with pytest.raises(DataError, match="the synthetic table has no rows"):
        evaluate(split[0], synthetic.iloc[:0])


def test_target_must_be_a_column(split, synthetic):
    with pytest.raises(DataError, match="target 'outcome' is not a column"):
        evaluate(split[0], synthetic, target="outcome")


def test_holdout_overlapping_training_rows_is_refused(split, synthetic):
    with pytest.raises(DataError, match="the holdout overlaps the real"):
        evaluate(split[0], synthetic, holdout=split[0].head(30))


# command line ----------------------------------------------------------------------------
def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def tables(tmp_path, monkeypatch, split, synthetic):
    monkeypatch.chdir(tmp_path)
    split[0].to_csv("real.csv", index=False)
    split[1].to_csv("holdout.csv", index=False)
    synthetic.to_csv("synthetic.csv", index=False)
    return tmp_path


def test_cli_report_writes_html_and_json(tables):
    result = _run("report", "real.csv", "synthetic.csv", "--out", "r.html", "--json", "r.json",
                  "--holdout", "holdout.csv", "--target", "status")
    assert result.exit_code == 0, result.output
    assert Path("r.html").stat().st_size > 0
    assert json.loads(Path("r.json").read_text())["privacy"] is not None


def test_cli_fail_under_exits_1_and_still_writes_the_report(tables):
    result = _run("report", "real.csv", "synthetic.csv", "--out", "r.html", "--fail-under", "0.999")
    assert result.exit_code == 1
    assert "is below --fail-under 0.999" in result.output
    assert Path("r.html").exists()


@pytest.mark.parametrize("args, code", [
    (["report", "real.csv", "missing.csv", "--out", "r.html"], 1),
    (["report", "real.csv", "synthetic.csv", "--out", "r.html", "--target", "nope"], 1),
    (["report", "real.csv", "synthetic.csv", "--out", "r.html", "--holdout", "real.csv"], 1),
    (["report", "real.csv", "synthetic.csv", "--out", "r.pdf"], 2),
    (["report", "real.csv", "synthetic.csv", "--out", "r.html", "--fail-under", "2"], 2),
])
def test_cli_report_bad_input_is_one_line_and_no_file(tables, args, code):
    result = _run(*args)
    assert result.exit_code == code, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not Path("r.html").exists()


def test_synth_report_keeps_a_holdout_and_says_so(tables, _patients_frame):
    result = _run("synth", "real.csv", "--out", "s.csv", "--report", "r.html", "--config", "fast",
                  "--epochs", "2", "--seed", "0", "--target", "status")
    assert result.exit_code == 0, result.output
    real_rows = len(pd.read_csv("real.csv"))
    held = round(0.2 * real_rows)
    assert f"holding out {held} of {real_rows} rows" in result.output
    assert "save them with --holdout-out" in result.output
    assert len(pd.read_csv("s.csv")) == real_rows - held
    assert "Privacy" in Path("r.html").read_text()


def test_synth_holdout_out_writes_the_held_out_rows(tables):
    result = _run("synth", "real.csv", "--out", "s.csv", "--report", "r.html", "--config", "fast",
                  "--epochs", "2", "--seed", "0", "--holdout-out", "held.csv")
    assert result.exit_code == 0, result.output
    real, held = pd.read_csv("real.csv"), pd.read_csv("held.csv")
    assert len(held) == round(0.2 * len(real))
    assert set(held["id"]) <= set(real["id"])
    assert "they are written to held.csv" in result.output


def test_report_speed_path_samples_nothing_for_small_tables(report):
    assert not any("random sample" in note for note in report.notes)


def test_large_synthetic_table_is_sampled_and_said(split, synthetic, monkeypatch):
    import toolkit.evaluate.report as module

    monkeypatch.setattr(module, "MAX_FIDELITY_ROWS", 100)
    result = evaluate(split[0], synthetic)
    assert any("random sample of 100 of the" in note for note in result.notes)
    assert np.isfinite(result.fidelity["quality"])


# compare ----------------------------------------------------------------------------------
def test_compare_trains_every_backend_on_the_same_split(_patients_frame):
    from toolkit.evaluate.compare import compare, table_rows

    result = compare(_patients_frame, ["vae", "gan"], target="status", epochs=2)
    assert set(result["backends"]) == {"vae", "gan"}
    assert result["rows"] == {"train": 334, "holdout": 84}
    for row in table_rows(result):
        assert 0.0 <= row["quality"] <= 1.0 and row["fit_seconds"] > 0
        assert row["sample_rows_per_s"] > 0 and row["loss_tail_cv"] >= 0
        assert row["utility_ratio"] is not None


def test_loss_stability_is_small_for_a_settled_curve():
    from toolkit.evaluate.compare import loss_stability

    settled = loss_stability({"loss": [10.0, 5.0, 2.0] + [1.0] * 20}, "loss")
    noisy = loss_stability({"loss": [10.0, 5.0, 2.0] + [1.0, 3.0] * 10}, "loss")
    assert settled["tail_cv"] == 0.0 and noisy["tail_cv"] > 0.3


def test_cli_compare_writes_html_and_json(tables):
    result = _run("compare", "real.csv", "--backends", "vae,vaegan", "--out", "c.html", "--json",
                  "c.json", "--epochs", "2", "--target", "status")
    assert result.exit_code == 0, result.output
    data = json.loads(Path("c.json").read_text())
    assert set(data["backends"]) == {"vae", "vaegan"}
    page = Path("c.html").read_text()
    assert "<script" not in page and page.count("<svg") == 1


@pytest.mark.parametrize("args, code", [
    (["compare", "real.csv", "--backends", "vae,diffusion", "--out", "c.html"], 2),
    (["compare", "real.csv", "--target", "nope", "--out", "c.html", "--epochs", "1"], 1),
    (["compare", "missing.csv", "--out", "c.html"], 1),
])
def test_cli_compare_bad_input(tables, args, code):
    result = _run(*args)
    assert result.exit_code == code, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not Path("c.html").exists()
