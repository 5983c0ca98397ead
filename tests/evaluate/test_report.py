"""toolkit.evaluate.report: quality, detection, utility and privacy numbers and verdicts,
holdouts by patient, row bounds, JSON and HTML, bad input."""

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
from conftest import REPO
from helpers import admissions_table, copied_unnamed_ids, numbers_table, patient_visits

from toolkit import Synthesizer
from toolkit.evaluate.report import (
    auc_interval,
    bounded_sample,
    evaluate,
    rare_values,
    real_identifiers,
    rule_verdicts,
    split_holdout,
    subject_column,
    verdicts,
)
from toolkit.exceptions import DataError, UsageError
from toolkit.io import sample_table

# from tests/test_report.py ------------------------------------------------------------------




@pytest.fixture(scope="module")
def report(holdout_split, split_synthetic):
    return evaluate(holdout_split[0], split_synthetic, holdout=holdout_split[1], target="status")


def test_quality_matches_a_direct_sdmetrics_call(report, holdout_split, split_synthetic):
    from sdmetrics.reports import QualityReport

    from toolkit.evaluate.report import _as_sdmetrics_frame, _sdmetrics_metadata, column_kinds

    kinds = column_kinds(holdout_split[0], None)
    direct = QualityReport()
    direct.generate({"table": _as_sdmetrics_frame(holdout_split[0], kinds)},
                    {"table": _as_sdmetrics_frame(split_synthetic, kinds)},
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


@pytest.mark.slow
def test_regression_target_uses_r2(holdout_split, split_synthetic):
    result = evaluate(holdout_split[0], split_synthetic, target="age")
    assert result.utility["task"] == "regression" and result.utility["metric"] == "R²"
    assert "a random 20 % of the real rows is the test set" in " ".join(result.notes)


@pytest.mark.slow
def test_a_feature_missing_from_every_synthetic_row_is_left_out_of_utility(holdout_split,
                                                                           split_synthetic):
    # seen under --epsilon: gradient boosting's binning crashed on a numeric feature with no value
    empty = split_synthetic.assign(chol=np.nan, bili=np.nan)
    result = evaluate(holdout_split[0], empty, holdout=holdout_split[1], target="status")
    assert result.utility["train_synthetic"] is not None
    assert 0.0 <= result.utility["train_synthetic"] <= 1.0


@pytest.mark.slow
def test_copied_training_rows_are_flagged_as_a_privacy_risk(holdout_split):
    train, holdout = holdout_split
    leaked = evaluate(train, train.sample(200, random_state=1), holdout=holdout)
    assert leaked.privacy["exact_copies"] == 1.0
    assert leaked.privacy["closer_to_train_share"] > 0.95
    assert leaked.privacy["closer_to_train_expected"] < 0.9
    assert leaked.privacy["membership_auc"] > 0.6
    assert leaked.summary["privacy"] == "at risk"


@pytest.mark.slow
def test_unseen_real_rows_as_synthetic_show_no_leak(_patients_frame):
    shuffled = _patients_frame.sample(frac=1.0, random_state=3)
    train, fresh, holdout = shuffled.iloc[:200], shuffled.iloc[200:300], shuffled.iloc[300:]
    clean = evaluate(train, fresh, holdout=holdout)
    assert clean.privacy["exact_copies"] == 0.0
    excess = clean.privacy["closer_to_train_share"] - clean.privacy["closer_to_train_expected"]
    assert abs(excess) < 0.15
    assert clean.summary["privacy"] == "no leak detected"


@pytest.mark.slow
def test_without_holdout_privacy_is_not_measured(holdout_split, split_synthetic):
    result = evaluate(holdout_split[0], split_synthetic)
    assert result.privacy is None and result.summary["privacy"] == "not measured"


def test_json_is_written_and_readable(report, tmp_path):
    report.to_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"]["quality"] == pytest.approx(report.summary["quality"])


@pytest.mark.slow
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


@pytest.mark.slow
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
def test_different_columns_are_refused(holdout_split, split_synthetic):
    expected = r"synthetic table has different columns: missing \['age'\]"
    with pytest.raises(DataError, match=expected):
        evaluate(holdout_split[0], split_synthetic.drop(columns="age"))


def test_text_in_a_numeric_column_is_refused(holdout_split, split_synthetic):
    bad = split_synthetic.astype({"age": object})
    bad.loc[0, "age"] = "old"
    with pytest.raises(DataError, match="column 'age' is numeric in the real table but holds text"):
        evaluate(holdout_split[0], bad)


def test_empty_synthetic_table_is_refused(holdout_split, split_synthetic):
    with pytest.raises(DataError, match="the synthetic table has no rows"):
        evaluate(holdout_split[0], split_synthetic.iloc[:0])


def test_target_must_be_a_column(holdout_split, split_synthetic):
    with pytest.raises(DataError, match="target 'outcome' is not a column"):
        evaluate(holdout_split[0], split_synthetic, target="outcome")


def test_holdout_overlapping_training_rows_is_refused(holdout_split, split_synthetic):
    with pytest.raises(DataError, match="the holdout overlaps the real"):
        evaluate(holdout_split[0], split_synthetic, holdout=holdout_split[0].head(30))


def test_report_speed_path_samples_nothing_for_small_tables(report):
    assert not any("random sample" in note for note in report.notes)


@pytest.mark.slow
def test_large_synthetic_table_is_sampled_and_said(holdout_split, split_synthetic, monkeypatch):
    import toolkit.evaluate.report as module

    monkeypatch.setattr(module, "MAX_FIDELITY_ROWS", 100)
    result = evaluate(holdout_split[0], split_synthetic)
    assert any("random sample of 100 of the" in note for note in result.notes)
    assert np.isfinite(result.fidelity["quality"])


# from tests/test_report_subsample.py --------------------------------------------------------




def test_a_small_table_is_kept_whole():
    data = numbers_table(30)
    sample, rows = bounded_sample(data, 30, seed=0)
    assert rows == 30 and sample is data


def test_the_sample_is_uniform_seeded_and_in_row_order():
    data = numbers_table(1000)
    first, rows = bounded_sample(data, 100, seed=3)
    again, _ = bounded_sample(data, 100, seed=3)
    other, _ = bounded_sample(data, 100, seed=4)
    assert rows == 1000 and len(first) == 100
    assert first["row"].is_monotonic_increasing and first.equals(again)
    assert not first.equals(other)
    # uniform: over many seeds every row is drawn about max_rows / n of the time
    drawn = np.concatenate([bounded_sample(data, 100, seed=s)[0]["row"] for s in range(200)])
    counts = np.bincount(drawn, minlength=1000)
    assert abs(counts.mean() - 20) < 1e-9 and counts.std() < 8


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_file_gives_the_rows_of_the_table_read_whole(tmp_path, suffix):
    data = numbers_table(3000)
    path = tmp_path / f"t{suffix}"
    data.to_csv(path, index=False) if suffix == ".csv" else data.to_parquet(path, index=False)
    streamed, rows = bounded_sample(path, 500, seed=7)
    whole, _ = bounded_sample(data, 500, seed=7)
    assert rows == 3000
    assert streamed["row"].tolist() == whole["row"].tolist()
    assert streamed["row"].tolist() == sample_table(path, 500, seed=7)[0]["row"].tolist()


@pytest.mark.slow
def test_evaluate_states_the_sample_in_summary_notes_and_page(tmp_path):
    real, synthetic = numbers_table(900, seed=0), numbers_table(700, seed=1)
    result = evaluate(real, synthetic, max_rows=400)
    summary = result.summary
    assert (summary["real_rows"], summary["real_rows_measured"]) == (900, 400)
    assert (summary["synthetic_rows"], summary["synthetic_rows_measured"]) == (700, 400)
    assert summary["max_rows"] == 400
    note = next(n for n in result.notes if n.startswith("measured on a seeded uniform sample"))
    assert "400 of the 900 real rows" in note and "400 of the 700 synthetic rows" in note
    result.to_html(tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text()
    assert "measured on a seeded uniform sample of 400 real rows and 400 synthetic rows" in page
    assert json.loads(json.dumps(result.to_dict()["summary"]))["real_rows_measured"] == 400


def test_evaluate_says_nothing_of_a_sample_when_every_row_was_measured():
    result = evaluate(numbers_table(200, 0), numbers_table(150, 1))
    assert result.summary["real_rows_measured"] == 200
    assert not any(n.startswith("measured on a seeded") for n in result.notes)


def test_max_rows_none_measures_every_row():
    result = evaluate(numbers_table(300, 0), numbers_table(300, 1), max_rows=None)
    assert result.summary["real_rows_measured"] == result.summary["real_rows"] == 300


@pytest.mark.parametrize("bad", [0, -5, 2.5, True, "10"])
def test_a_bad_max_rows_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="max_rows"):
        evaluate(numbers_table(50), numbers_table(50), max_rows=bad)


def test_evaluate_reads_files_as_samples(tmp_path):
    real, synthetic = tmp_path / "real.parquet", tmp_path / "synthetic.csv"
    numbers_table(2000, 0).to_parquet(real, index=False)
    numbers_table(1500, 1).to_csv(synthetic, index=False)
    result = evaluate(real, synthetic, max_rows=300)
    assert result.summary["real_rows"] == 2000 and result.summary["synthetic_rows"] == 1500
    assert result.summary["real_rows_measured"] == result.summary["synthetic_rows_measured"] == 300


@pytest.mark.slow
def test_utility_handles_a_feature_with_more_levels_than_gradient_boosting_bins():
    rng = np.random.default_rng(0)
    n = 1200
    data = pd.DataFrame({"tail": [f"N{i}" for i in rng.integers(0, 400, n)],
                         "carrier": rng.choice(["AA", "UA", "B6"], n),
                         "delay": rng.normal(size=n)})
    result = evaluate(data, data.sample(frac=1.0, random_state=0), target="carrier")
    assert result.utility["train_real"] is not None


def dense_nearest(encoder, reference: pd.DataFrame, queries: pd.DataFrame) -> np.ndarray:
    """The distances as the report measured them before: one-hot blocks of weight ½ (and
    numbers with missing flags) compared column by column."""
    def dense(table: pd.DataFrame) -> np.ndarray:
        parts = []
        for column, kind in encoder.kinds.items():
            if column in encoder.ranges:
                low, span = encoder.ranges[column]
                values = (encoder._numbers(table[column], kind) - low) / span
                missing = np.isnan(values)
                parts += [np.where(missing, 0.0, np.clip(values, -1.0, 2.0)), missing * 1.0]
            else:
                values = table[column].astype(str).where(table[column].notna(), "<NA>")
                parts += [(values == level).to_numpy() * 0.5
                          for level in [*encoder.levels[column], "<NA>"]]
        return np.column_stack(parts)

    a, b = dense(reference), dense(queries)
    return np.abs(b[:, None, :] - a[None, :, :]).sum(axis=2).min(axis=1)


def test_privacy_distances_equal_the_one_hot_l1_distances():
    from toolkit.evaluate.report import RowEncoder, _nearest, column_kinds

    rng = np.random.default_rng(0)
    n = 300
    real = pd.DataFrame({"x": rng.normal(size=n), "k": rng.integers(0, 9, n).astype(float),
                         "tail": rng.choice([f"N{i}" for i in range(40)], n),
                         "group": rng.choice(["a", "b", None], n)})
    real.loc[rng.random(n) < 0.1, "x"] = np.nan
    queries = pd.concat([real.sample(50, random_state=1).assign(x=lambda t: t.x + 0.1),
                         real.head(20).assign(tail="never seen")], ignore_index=True)
    encoder = RowEncoder(real, column_kinds(real, None))
    expected = dense_nearest(encoder, real, queries)
    assert np.allclose(_nearest(encoder.transform(real), encoder.transform(queries)), expected,
                       rtol=0, atol=1e-12)
    unseen = encoder.transform(queries.tail(20))  # unseen levels among themselves: distance 0
    assert np.allclose(_nearest(unseen, unseen), 0.0)


# from tests/test_trust.py -------------------------------------------------------------------


@pytest.mark.slow
def test_report_counts_real_identifiers_in_the_synthetic_table(patients):
    clean = evaluate(patients, patients.assign(id=np.arange(10**6, 10**6 + len(patients))))
    assert clean.summary["real_identifiers"] == 0
    leaked = evaluate(patients, patients.sample(frac=1.0, random_state=0))
    assert leaked.summary["identifiers"]["id"] == len(patients)
    assert leaked.summary["privacy"] == "at risk"
    assert "carry a real identifier in column 'id'" in leaked.summary["privacy_reason"]


# honest reports ------------------------------------------------------------------------------
@pytest.mark.slow
def test_an_empty_synthetic_column_lowers_quality_and_is_named(patients):
    real = patients.drop(columns="id")
    good = evaluate(real, real.sample(frac=1.0, random_state=1).reset_index(drop=True))
    broken = evaluate(real, good.columns["synthetic"].assign(bili=np.nan))
    assert broken.fidelity["per_column"]["bili"]["score"] == 0.0
    assert broken.summary["quality"] < good.summary["quality"] - 0.02
    assert "bili" in broken.summary["fidelity_reason"]
    constant = evaluate(real, real.assign(sex="f"))
    assert "sex" in constant.summary["fidelity_reason"]


@pytest.mark.slow
def test_pair_trends_are_measured_on_small_tables(patients):
    real = patients.iloc[:300]
    report = evaluate(real, real.sample(frac=1.0, random_state=0))
    assert report.fidelity["column_pair_trends"] is not None


# from tests/test_trust_report.py ------------------------------------------------------------




# holdouts split by patient ----------------------------------------------------------------
def test_subject_column_is_the_coarsest_repeated_id():
    table = pd.DataFrame({"site_id": [1, 1, 1, 1, 1, 1], "patient_id": [7, 7, 8, 8, 9, 9],
                          "visit_id": [1, 2, 3, 4, 5, 6], "ward_id": [4, 4, 4, 5, 5, 5],
                          "sbp": [120, 131, 118, 142, 150, 139]})
    kinds = {"site_id": "id", "patient_id": "id", "visit_id": "id", "ward_id": "integer",
             "sbp": "integer"}
    # site_id has one value (no unit), visit_id none repeated, ward_id is not an ID kind
    assert subject_column(table, kinds) == "patient_id"
    assert subject_column(table, {**kinds, "ward_id": "id"}) == "ward_id"
    assert subject_column(table, {**kinds, "patient_id": "categorical"}) is None


def test_split_without_a_repeated_id_is_the_row_sample_it_always_was(_patients_frame):
    split = split_holdout(_patients_frame, 0.2, 7, {"id": "id", "time": "integer"})
    assert split.subject is None and split.held_subjects == len(split.holdout) == 84
    assert split.holdout.index.equals(_patients_frame.sample(frac=0.2, random_state=7).index)


# the membership attack ----------------------------------------------------------------------
def test_auc_interval_is_the_auc_with_delongs_variance():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    members, others = rng.normal(0.3, 1, 50).round(1), rng.normal(0, 1, 70).round(1)
    auc, low, high = auc_interval(members, others)
    assert auc == pytest.approx(roc_auc_score(np.r_[np.ones(50), np.zeros(70)],
                                              np.r_[members, others]))
    # DeLong's structural components, pair by pair (ties count ½)
    wins = (members[:, None] > others) + 0.5 * (members[:, None] == others)
    variance = wins.mean(1).var(ddof=1) / 50 + wins.mean(0).var(ddof=1) / 70
    assert (high - low) / 2 == pytest.approx(1.959964 * np.sqrt(variance), rel=1e-5)
    assert low < auc < high


def _privacy_part(auc: float, low: float, high: float) -> dict:
    return {"closer_to_train_share": 0.5, "closer_to_train_expected": 0.5,
            "exact_copies": 0.0, "holdout_exact_copies": 0.0, "membership_auc": auc,
            "membership_auc_ci": [low, high], "membership_unit": "row",
            "membership_non_members": 84}


@pytest.mark.parametrize("auc, low, high, verdict", [
    (0.61, 0.52, 0.70, "inconclusive"),
    (0.75, 0.66, 0.84, "at risk"),
    (0.55, 0.46, 0.64, "no leak detected"),
])
def test_the_membership_verdict_follows_the_interval(auc, low, high, verdict):
    summary = verdicts({"quality": 0.9}, None, _privacy_part(auc, low, high))
    assert summary["privacy"] == verdict
    if verdict == "inconclusive":
        assert summary["privacy_reason"].startswith(
            "inconclusive: membership-inference AUC 0.61, 95 % CI 0.52–0.70 with 84 holdout "
            "rows; a larger holdout would tell")
    if verdict == "at risk":
        assert "AUC 0.75 (95% CI 0.66–0.84, above 0.6)" in summary["privacy_reason"]


@pytest.mark.slow
def test_copied_training_rows_put_the_interval_above_the_threshold(_patients_frame):
    holdout = _patients_frame.sample(frac=0.25, random_state=0)
    train = _patients_frame.drop(index=holdout.index)
    leaked = evaluate(train, train.sample(200, random_state=1), holdout=holdout)
    low, high = leaked.privacy["membership_auc_ci"]
    assert 0.6 < low < leaked.privacy["membership_auc"] < high
    assert leaked.privacy["membership_unit"] == "row"
    assert leaked.privacy["membership_non_members"] == len(holdout)
    assert leaked.summary["privacy"] == "at risk"


@pytest.mark.slow
def test_the_attack_compares_whole_patients_when_rows_share_a_patient():
    visits = patient_visits()
    kinds = {"patient_id": "id", "visit": "categorical", "sex": "categorical",
             "birth_year": "integer", "sbp": "integer", "hba1c": "continuous"}
    split = split_holdout(visits, 0.25, 0, kinds)
    copied = split.train.assign(patient_id=np.arange(len(split.train)) + 50_000)
    result = evaluate(split.train, copied, holdout=split.holdout, metadata=kinds)
    part = result.privacy
    assert part["membership_unit"] == "patient" and part["subject_column"] == "patient_id"
    assert part["membership_members"] == split.train["patient_id"].nunique() == 45
    assert part["membership_non_members"] == split.held_subjects == 15
    assert part["membership_auc"] == 1.0 and result.summary["privacy"] == "at risk"
    assert "15 holdout patients" in Path(_page(result)).read_text()


def _page(result) -> str:
    import tempfile

    path = Path(tempfile.mkdtemp()) / "r.html"
    result.to_html(path)
    return str(path)


# rare real values and identifiers -----------------------------------------------------------
#: the kind inference might give an ID column it does not recognise (stated as metadata, so
#: that the test does not depend on how good inference is)
MISSED = {"ref": "integer"}




@pytest.mark.slow
def test_a_copied_integer_id_column_is_flagged_whatever_its_kind(patients):
    real, synthetic = copied_unnamed_ids(patients)
    result = evaluate(real, synthetic, metadata=MISSED)
    assert result.summary["real_identifiers"] == 0  # not an ID kind: no identifier counted
    rare = result.summary["rare_values"]
    assert rare["flagged"] == ["ref"] and rare["baseline"] == "leave-one-out"
    assert rare["columns"]["ref"] == {"rows": 418, "share": 1.0, "expected": 0.0,
                                      "judged": True}
    assert result.summary["privacy"] == "at risk"
    assert ("418 synthetic row(s) (100%) carry a value of column 'ref' that at most 2 real "
            "rows hold") in result.summary["privacy_reason"]
    assert "Real values in the synthetic rows" in Path(_page(result)).read_text()


@pytest.mark.slow
def test_a_default_synth_of_the_sample_table_raises_no_rare_value_alarm(_patients_frame):
    synthetic = Synthesizer(random_state=0).fit(_patients_frame).sample(len(_patients_frame))
    result = rare_values(_patients_frame, synthetic)
    assert result["flagged"] == []
    # only the key-like column is judged without a holdout: the ID, generated fresh
    assert [c for c, e in result["columns"].items() if e["judged"]] == ["id"]
    assert result["columns"]["id"]["rows"] == 0


def test_unseen_real_rows_hit_rare_values_only_by_chance(_patients_frame):
    shuffled = _patients_frame.sample(frac=1.0, random_state=3)
    train, fresh, holdout = shuffled.iloc[:209], shuffled.iloc[209:313], shuffled.iloc[313:]
    with_holdout = rare_values(train, fresh, holdout)
    assert with_holdout["flagged"] == [] and with_holdout["baseline"] == "holdout"
    assert with_holdout["columns"]["platelet"]["rows"] > 10  # chance is not zero on a grid
    assert rare_values(train, fresh)["flagged"] == []


def test_with_a_holdout_replayed_measurement_values_are_flagged(_patients_frame):
    shuffled = _patients_frame.sample(frac=1.0, random_state=3)
    train, fresh, holdout = shuffled.iloc[:209], shuffled.iloc[209:313], shuffled.iloc[313:]
    # a generator that draws `time` (follow-up days, nearly one value per patient) from
    # the training values: every synthetic row then carries a fingerprint
    replayed = fresh.assign(time=train["time"].sample(len(fresh), replace=True,
                                                      random_state=0).to_numpy())
    result = rare_values(train, replayed, holdout)
    assert result["flagged"] == ["time"]
    entry = result["columns"]["time"]
    assert entry["share"] > 0.9 and entry["expected"] < 0.15
    assert not rare_values(train, replayed)["columns"]["time"]["judged"]  # a measurement


def test_rare_values_count_patients_not_rows():
    visits = patient_visits()
    copied = visits.assign(sbp=visits["sbp"] + 0.5, hba1c=visits["hba1c"] + 0.05)
    by_row = rare_values(visits, copied)
    by_patient = rare_values(visits, copied, subject="patient_id")
    # a patient's ID is on their 3 rows: common by rows, a fingerprint by patient
    assert by_row["columns"]["patient_id"]["rows"] == 0
    assert by_patient["columns"]["patient_id"]["rows"] == 180
    assert by_patient["flagged"] == ["patient_id"]


@pytest.mark.slow
def test_real_identifiers_cover_personal_data(_patients_frame):
    rng = np.random.default_rng(0)
    names = np.array(["Anna", "Peter", "Maria", "John", "Laura", "David", "Sofia", "James"])
    real = _patients_frame.assign(name=rng.choice(names, len(_patients_frame)))
    synthetic = real.sample(frac=1.0, random_state=1).assign(id=np.arange(418) + 10_000)
    counts = real_identifiers(real, synthetic, {"id": "id", "name": "first_name",
                                                "age": "continuous"})
    assert counts == {"id": 0, "name": 418}
    result = evaluate(real, synthetic, metadata={"name": "first_name"})
    assert result.summary["identifiers"]["name"] == 418
    assert result.summary["privacy"] == "at risk"
    assert "name" not in result.fidelity["per_column"]  # never modelled: not compared


def test_the_metadatas_rules_are_counted_on_the_synthetic_rows():
    real = admissions_table(300)
    synthetic = real.sample(frac=1.0, random_state=0).reset_index(drop=True)
    synthetic.loc[:6, "discharged"] = synthetic.loc[:6, "admitted"] - pd.Timedelta("2h")
    metadata = {"rules": [{"inequality": ["admitted", "discharged"]},
                          {"combination": ["city", "country"]}]}
    verdict = rule_verdicts(real, synthetic, metadata)
    assert verdict["rules"] == "broken"
    assert verdict["rule_violations"] == {"admitted ≤ discharged": 7,
                                          "only seen combinations of city, country": 0}
    assert "7 of 300 synthetic rows break 'admitted ≤ discharged'" in verdict["rules_reason"]
    assert rule_verdicts(real, real, metadata)["rules"] == "kept"
    assert rule_verdicts(real, synthetic, None) == {}
    from toolkit.evaluate.page import render

    page = render(evaluate(real, synthetic, metadata=metadata, max_rows=300))
    assert "Rules: does every row keep the confirmed rules?" in page
