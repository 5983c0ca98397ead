"""toolkit.evaluate.histories: measures of synthetic patient histories against real ones
(rows per patient, attributes that stay constant, time rules, terminal levels), and their
one-line refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from toolkit.evaluate.histories import (
    MIN_TERMINAL,
    constant_consistency,
    histories_report,
    lag1_autocorrelation_gap,
    patient_detection,
    patient_features,
    patient_membership,
    terminal_levels,
    time_rule_violations,
    visits_per_patient,
    visits_tv,
)
from toolkit.evaluate.page import render
from toolkit.exceptions import DataError, UsageError


def ward_stays(patients: int = 12, seed: int = 0) -> pd.DataFrame:
    """Stays of 2 to 4 rows per patient in day order: sex constant, the last row of every
    third patient ``dead``, the other rows ``ill`` or ``better``."""
    rng = np.random.default_rng(seed)
    rows = []
    for patient in range(patients):
        n = 2 + patient % 3
        days = np.sort(rng.choice(np.arange(1, 30), n, replace=False))
        sex = "f" if patient % 2 else "m"
        for step, day in enumerate(days):
            last = step == n - 1
            state = "dead" if last and patient % 3 == 0 else rng.choice(["ill", "better"])
            rows.append({"patient": 100 + patient, "day": int(day), "sex": sex,
                         "state": state, "hb": round(float(rng.normal(12, 1.5)), 1)})
    return pd.DataFrame(rows)


def test_rows_per_patient_are_counted_by_patients():
    stays = ward_stays()
    counts = visits_per_patient(stays, "patient")
    assert counts.to_dict() == {2: 4, 3: 4, 4: 4}
    assert counts.index.is_monotonic_increasing


def test_the_distance_of_row_counts_is_symmetric_and_bounded():
    real = ward_stays()
    assert visits_tv(real, real, "patient") == 0.0
    singles = pd.DataFrame({"patient": range(10)})
    assert visits_tv(real, singles, "patient") == pytest.approx(1.0)  # no count in common
    longer = real[real.groupby("patient")["day"].transform("size") > 2]
    forward, backward = visits_tv(real, longer, "patient"), visits_tv(longer, real, "patient")
    assert forward == pytest.approx(backward) == pytest.approx(1 / 3)


def test_constant_attributes_are_checked_only_on_patients_with_several_rows():
    real = ward_stays()
    kept = constant_consistency(real, real, "patient")
    assert kept["columns"]["sex"] == 1.0 and kept["minimum"] == 1.0 and kept["patients"] == 12
    assert "hb" not in kept["columns"] and "state" not in kept["columns"]
    broken = real.assign(sex=np.where(real.index % 2 == 0, "f", "m"))
    assert constant_consistency(real, broken, "patient")["columns"]["sex"] < 1.0
    singles = real.drop_duplicates("patient")
    alone = constant_consistency(real, singles, "patient")
    assert alone == {"columns": {"sex": None}, "minimum": None, "patients": 0}


def test_a_level_is_terminal_only_when_histories_end_with_it_often_enough():
    real = ward_stays()
    assert terminal_levels(real, "patient", "day") == {"state": ["dead"]}
    few = real[~real["patient"].isin([100, 103])]  # two of the four deaths left
    assert (few["state"] == "dead").sum() < MIN_TERMINAL
    assert terminal_levels(few, "patient", "day") == {}


def test_real_histories_break_no_time_rule():
    real = ward_stays()
    counts = time_rule_violations(real, "patient", "day", real)
    assert counts["total"] == 0 and counts["terminal_levels"] == {"state": ["dead"]}


def test_each_time_rule_is_counted_on_the_rows_that_break_it():
    real = ward_stays()
    synthetic = pd.DataFrame({
        "patient": [1, 1, 1, 2, 2, 3],
        "day": [5, 3, 40, 2, None, 8],
        "sex": "f", "hb": 12.0,
        "state": ["ill", "dead", "ill", "ill", "ill", "better"],
    })
    counts = time_rule_violations(synthetic, "patient", "day", real)
    assert counts["order_decreasing"] == 1  # day 3 after day 5
    assert counts["order_outside_range"] == 1  # day 40 beyond the real days
    assert counts["order_missing"] == 1
    assert counts["after_terminal"] == 2  # patient 1: days 5 and 40 come after day 3's death
    assert counts["total"] == 5


def test_without_an_order_column_only_terminal_levels_are_checked():
    real = ward_stays().drop(columns="day")
    counts = time_rule_violations(real, "patient", None, real)
    assert counts["order_decreasing"] is None and counts["order_missing"] is None
    assert counts["total"] == 0


@pytest.mark.parametrize(("subject", "order", "error", "message"), [
    (None, None, UsageError, "patient measures need a subject column"),
    ("person", None, UsageError, "subject column 'person' is not in the real table; columns: "),
    ("patient", "week", UsageError, "order column 'week' is not in the real table"),
])
def test_a_subject_or_order_the_real_table_lacks_is_a_usage_error(subject, order, error,
                                                                    message):
    with pytest.raises(error, match=message):
        time_rule_violations(ward_stays(), subject, order, ward_stays())


def test_a_synthetic_table_without_the_subject_or_with_unnamed_rows_is_a_data_error():
    real = ward_stays()
    with pytest.raises(DataError, match="the synthetic table has no subject column 'patient'"):
        visits_tv(real, real.drop(columns="patient"), "patient")
    with pytest.raises(DataError, match="subject column 'patient' has missing values in the "
                                        "synthetic table"):
        visits_tv(real, real.assign(patient=np.where(real.index == 0, np.nan, 1.0)), "patient")
    with pytest.raises(DataError, match="the synthetic table has no rows"):
        constant_consistency(real, real.head(0), "patient")


# patient features, serial dependence, detection, membership --------------------------------
def lab_histories(patients: int = 80, seed: int = 0, trend: float = 0.01) -> pd.DataFrame:
    """2 to 6 lab draws per patient, days apart: sex and age constant, haemoglobin around
    the patient's own level with a trend over days, the ward changing."""
    rng = np.random.default_rng(seed)
    parts = []
    for patient in range(patients):
        n = int(rng.integers(2, 7))
        days = np.cumsum(np.r_[0, rng.integers(20, 60, n - 1)])
        parts.append(pd.DataFrame({
            "patient": 5000 + patient + 1000 * seed, "day": days,
            "sex": rng.choice(["f", "m"]), "age": round(float(rng.uniform(30, 80)), 1),
            "hb": (rng.normal(12, 1.5) + trend * days + rng.normal(0, 0.2, n)).round(2),
            "ward": rng.choice(["a", "b", "c"], n)}))
    return pd.concat(parts, ignore_index=True)


LAB_KINDS = {"patient": "id", "day": "integer", "sex": "categorical", "age": "continuous",
             "hb": "continuous", "ward": "categorical"}


def test_patient_features_describe_each_whole_history():
    visits = pd.DataFrame({"patient": [7, 7, 7, 9, 9, 9], "day": [0, 10, 40, 5, 6, 20],
                           "hb": [10.0, 11.0, 13.0, 8.0, np.nan, 9.0],
                           "ward": ["a", "b", "b", "c", "c", "c"]})
    kinds = {"patient": "id", "day": "integer", "hb": "continuous", "ward": "categorical"}
    # rows of a patient out of time order are put in order
    features = patient_features(visits.iloc[[2, 0, 4, 1, 3, 5]], "patient", "day", kinds)
    assert list(features.index) == [7, 9] and features["visits"].tolist() == [3, 3]
    first = features.loc[7]
    assert (first["day:start"], first["day:span"], first["day:mean_gap"],
            first["day:max_gap"]) == (0, 40, 20, 30)
    assert (first["hb:first"], first["hb:last"]) == (10.0, 13.0)
    assert first["hb:mean"] == pytest.approx(34 / 3)
    assert first["hb:std"] == pytest.approx(np.std([10.0, 11.0, 13.0]))
    assert first["hb:slope"] == pytest.approx(np.polyfit([0, 10, 40], [10, 11, 13], 1)[0])
    assert (first["ward:main"], first["ward:share"]) == ("b", pytest.approx(2 / 3))
    second = features.loc[9]  # a missing value is left out of mean, spread and slope
    assert second["hb:mean"] == 8.5 and second["hb:slope"] == pytest.approx(1 / 15)
    assert (second["ward:main"], second["ward:share"]) == ("c", 1.0)


def test_without_an_order_the_slope_runs_over_the_row_number():
    visits = pd.DataFrame({"patient": [1, 2, 1, 1], "hb": [10.0, 5.0, 12.0, 14.0]})
    features = patient_features(visits, "patient", None, {"patient": "id",
                                                          "hb": "continuous"})
    assert features.loc[1, "hb:slope"] == pytest.approx(2.0)
    assert np.isnan(features.loc[2, "hb:slope"])  # one row: no slope
    assert not any(column.startswith("day") for column in features.columns)


def test_date_time_orders_are_measured_in_seconds():
    visits = pd.DataFrame({"patient": ["x", "x", "x"],
                           "seen": ["2024-01-01", "2024-01-03", "2024-01-10"],
                           "hb": [10.0, 11.0, 12.0]})
    features = patient_features(visits, "patient", "seen")
    assert features.loc["x", "seen:span"] == 9 * 86_400
    assert features.loc["x", "seen:max_gap"] == 7 * 86_400


def test_lag1_gap_is_zero_against_itself_and_large_when_values_lose_their_order():
    real = lab_histories()
    same = lag1_autocorrelation_gap(real, real, "patient", "day", LAB_KINDS)
    assert same["mean_gap"] == 0.0 and set(same["columns"]) == {"hb"}  # age is constant
    assert same["columns"]["hb"]["real"] > 0.9
    rng = np.random.default_rng(1)
    shuffled = real.assign(hb=real["hb"].to_numpy()[rng.permutation(len(real))])
    assert lag1_autocorrelation_gap(real, shuffled, "patient", "day",
                                    LAB_KINDS)["mean_gap"] > 0.8
    # rows as patients (today's row model): no pair, no serial dependence
    flat = real.assign(patient=np.arange(len(real)))
    entry = lag1_autocorrelation_gap(real, flat, "patient", "day", LAB_KINDS)["columns"]["hb"]
    assert entry["synthetic"] == 0.0 and entry["gap"] == entry["real"]


def test_patient_detection_cannot_tell_two_draws_apart_but_tells_shuffled_values():
    real, other = lab_histories(seed=0), lab_histories(seed=1)
    alike = patient_detection(real, other, "patient", "day", kinds=LAB_KINDS)
    assert alike["patients"] == 80 and 0.3 < alike["auroc"] < 0.7
    rng = np.random.default_rng(2)
    broken = other.assign(hb=other["hb"].to_numpy()[rng.permutation(len(other))])
    told = patient_detection(real, broken, "patient", "day", kinds=LAB_KINDS)
    assert told["auroc"] > 0.9
    assert told["top_features"][0]["feature"].startswith("hb:")
    assert patient_detection(real.head(12), other, "patient", "day",
                             kinds=LAB_KINDS)["auroc"] is None  # 3 patients: too few


def test_membership_finds_copied_patients_and_not_unseen_ones():
    train, holdout = lab_histories(seed=0), lab_histories(seed=1)
    copied = patient_membership(train, train.assign(patient=train["patient"] + 90_000),
                                holdout, "patient", "day", LAB_KINDS)
    assert copied["auc"] > 0.95 and (copied["members"], copied["non_members"]) == (80, 80)
    fresh = patient_membership(train, lab_histories(seed=2), holdout, "patient", "day",
                               LAB_KINDS)
    assert 0.3 < fresh["auc"] < 0.7


@pytest.fixture(scope="module")
def pbcseq_halves(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sample longitudinal table split into two halves of its patients."""
    from conftest import REPO

    table = pd.read_csv(REPO / "sample_data" / "pbcseq.csv")
    first = table["id"].isin(table["id"].drop_duplicates().sample(frac=0.5, random_state=0))
    return table[first].reset_index(drop=True), table[~first].reset_index(drop=True)


def test_pbcseq_halves_look_alike_and_rows_as_patients_do_not(pbcseq_halves):
    real, other = pbcseq_halves
    alike = histories_report(real, other, "id", "day")
    # 156 patients a side: visit counts differ by chance more than the 0.1 threshold
    assert alike["detection_auroc"] < 0.7 and alike["visits_tv"] < alike["visits_tv_chance"]
    assert alike["constant"]["minimum"] == 1.0
    assert set(alike["constant"]["columns"]) == {"futime", "status", "trt", "age", "sex"}
    assert alike["lag1"]["mean_gap"] < 0.1 and alike["real_subject_ids"] == 0
    violations = alike["violations"]
    assert violations["order_decreasing"] == violations["after_terminal"] == 0
    # other patients are followed longer than the first half's last day: outside the range
    beyond = int((other["day"] > real["day"].max()).sum())
    assert violations["order_outside_range"] == beyond > 0
    assert "have an order value outside the real range" in alike["summary"][
        "history_rules_reason"]
    flat = other.assign(id=np.arange(len(other)) + 10_000)  # every row its own patient
    rows = histories_report(real, flat, "id", "day")
    assert rows["visits_tv"] > 0.8 and rows["detection_auroc"] > 0.9
    assert rows["constant"] == {"columns": dict.fromkeys(alike["constant"]["columns"]),
                                "minimum": None, "patients": 0}
    assert rows["summary"]["patients"] == "told apart"
    assert "visits per patient differ" in rows["summary"]["history_rules_reason"]
    assert json.loads(json.dumps(rows)) == rows  # JSON-ready


def test_patient_features_refuse_an_order_that_is_no_time():
    with pytest.raises(DataError, match="order column 'ward' holds neither numbers nor "
                                        "date-times"):
        patient_features(lab_histories(), "patient", "ward", LAB_KINDS)


# the report's patients section ------------------------------------------------------------
def test_the_report_has_a_patients_section_only_when_given_a_subject():
    from toolkit.evaluate.report import evaluate

    real, holdout = lab_histories(60, seed=0), lab_histories(30, seed=2)
    synthetic = lab_histories(50, seed=1)
    synthetic["day"] = synthetic["day"].clip(upper=real["day"].max())
    result = evaluate(real, synthetic, holdout=holdout, subject="patient", order="day",
                      max_rows=None)
    data = result.to_dict()
    patients = data["patients"]
    assert patients["patients"] == {"real": 60, "synthetic": 50, "holdout": 30}
    assert patients["holdout_detection_auroc"] is not None and patients["membership"]["auc"]
    assert data["summary"]["patients"] in ("look real", "partly told apart")
    assert data["summary"]["history_rules"] == "kept"
    assert result.privacy["membership_unit"] == "patient"
    page = render(result)
    assert "<section id='patients'>" in page and "Patients: do whole histories look real?" in page
    assert "rows per patient (the last bar: that many or more)" in page
    flat = evaluate(real.drop(columns="patient"), synthetic.drop(columns="patient"),
                    holdout=holdout.drop(columns="patient"), max_rows=None)
    assert "patients" not in flat.to_dict() and "patients" not in flat.summary
    assert "history_rules" not in flat.summary
    assert "<section id='patients'>" not in render(flat)


def test_the_report_samples_whole_patients_when_given_a_subject():
    from toolkit.evaluate.report import evaluate

    real = lab_histories(100)
    result = evaluate(real, lab_histories(100, seed=1), subject="patient", order="day",
                      max_rows=200)
    measured = result.summary["real_rows_measured"]
    assert 190 < measured <= 200 and result.summary["real_rows"] == len(real)
    assert any("whole patients" in note for note in result.notes)
    sampled = result.columns["real"].groupby("patient").size()
    assert len(sampled) == result.patients["patients"]["real"] < 100
    assert (sampled == real.groupby("patient").size()[sampled.index]).all()  # all their rows


@pytest.mark.parametrize(("subject", "order", "message"), [
    ("person", None, "subject column 'person' is not in the real table; columns: "),
    ("id", "week", "order column 'week' is not in the real table"),
    (None, "day", "order 'day' needs a subject column"),
])
def test_the_report_refuses_a_subject_or_order_it_cannot_find(pbcseq_halves, subject, order,
                                                              message):
    from toolkit.evaluate.report import evaluate

    real, other = pbcseq_halves
    with pytest.raises(UsageError, match=message):
        evaluate(real, other, subject=subject, order=order)


def test_synth_report_holds_out_whole_patients_and_reports_them(workdir):
    from helpers import TRAIN, ok

    table = lab_histories(60)
    table.to_csv("labs.csv", index=False)
    result = ok("synth", "labs.csv", "--out", "synthetic.csv", "--report", "report.html",
                "--holdout-out", "holdout.csv", "--seed", "0", *TRAIN)
    assert "of 60 patients (distinct 'patient' values)" in result.output
    assert "patients " in result.output.splitlines()[-1]  # the summary line's verdict
    holdout = pd.read_csv("holdout.csv")
    rows = table.groupby("patient").size()
    assert (holdout.groupby("patient").size() == rows[holdout["patient"].unique()]).all()
    page = (workdir / "report.html").read_text()
    assert "<section id='patients'>" in page and "column &#x27;day&#x27;" in page


def test_two_rows_at_one_time_count_only_when_real_histories_never_have_them():
    real = ward_stays()
    synthetic = pd.DataFrame({"patient": [1, 1, 1, 2, 2], "day": [3, 3, 9, 4, 4],
                              "sex": "f", "hb": 12.0, "state": "ill"})
    counts = time_rule_violations(synthetic, "patient", "day", real)
    assert counts["order_repeated"] == 2 and counts["total"] == 2
    same_day = pd.concat([real, real.head(1)], ignore_index=True)  # a real repeat
    assert time_rule_violations(synthetic, "patient", "day", same_day)["order_repeated"] == 0
