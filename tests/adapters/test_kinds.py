"""toolkit.adapters.kinds: column kinds from names and values together (identifiers, dates,
numbers written as text), and the date styles they are read and written in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import fit_quietly, instants, real_values

from toolkit import Synthesizer
from toolkit.adapters.kinds import (
    MAX_NUMERIC_CATEGORIES,
    MIN_ROWS,
    DateStyle,
    check_override,
    date_style,
    grouped_key,
    has_id_format,
    infer_kind,
    infer_kinds,
    name_tokens,
    named_like_id,
    parse_dates,
)
from toolkit.cli import cli
from toolkit.exceptions import DataError, InferenceWarning
from toolkit.io import read_table, write_table

# from tests/test_datetimes.py ---------------------------------------------------------------




# reading ----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, fmt", [
    ("2020-01-01T10:00:00+02:00", "%Y-%m-%dT%H:%M:%S%z"),
    ("2020-01-01T10:00:00+0200", "%Y-%m-%dT%H:%M:%S%z"),
    ("2020-01-01T10:00:00Z", "%Y-%m-%dT%H:%M:%SZ"),
    ("2020-01-01 10:00:00.000000", "%Y-%m-%d %H:%M:%S.%f"),
    ("2020-01-01T10:00:00.123+01:00", "%Y-%m-%dT%H:%M:%S.%f%z"),
    ("2020-01-01T10:00:00.123Z", "%Y-%m-%dT%H:%M:%S.%f%z"),
    ("2020-01-01 10:00", "%Y-%m-%d %H:%M"),
    ("2020-01-01T10:00", "%Y-%m-%dT%H:%M"),
    ("2020-01-01", "%Y-%m-%d"),
])
def test_date_times_are_read_in_one_format_with_their_time_and_offset(text, fmt):
    dates, found, mixed = parse_dates(pd.Series([text, text.replace("01-01", "03-15")]))
    assert (found, mixed) == (fmt, False)
    first = dates.iloc[0]  # naive when the Z is part of the format: UTC all the same
    assert (first if first.tz else first.tz_localize("UTC")) == instants(pd.Series([text]))[0]


def test_the_style_of_offsets_and_fractions_is_what_most_values_write():
    texts = pd.Series(["2020-01-01T10:00:00.5-0530", "2020-07-01T10:00:00.25-0530",
                       "2020-07-02T10:00:00.125+00:00", None])
    assert date_style(texts, "%Y-%m-%dT%H:%M:%S.%f%z") == DateStyle(3, "+hhmm", (-330, 0))


# from tests/test_identifiers.py -------------------------------------------------------------


FAST = {"config": "fast", "epochs": 2, "random_state": 0}


def visits(n_patients: int = 60, per_patient: int = 4, seed: int = 0) -> pd.DataFrame:
    """Several rows per patient, sorted by patient, identifiers under many spellings."""
    rng = np.random.default_rng(seed)
    patient = np.repeat(np.arange(n_patients), per_patient)
    n = len(patient)
    return pd.DataFrame({
        "MRNNumber": patient * 37 + 4_100_000,
        "NHSNumber": patient * 11 + 9_434_765_000,
        "patientID2": patient + 1,
        "patient_id2": patient + 501,
        "sex": np.repeat(rng.choice(["f", "m"], n_patients), per_patient),
        "bili": rng.lognormal(0, 0.5, n).round(2),
        "time": rng.integers(40, 4800, n),
    })






# identifiers by name and values ------------------------------------------------------------------
@pytest.mark.parametrize("column", ["MRNNumber", "NHSNumber", "patientID2", "patient_id2"])
def test_identifiers_under_any_spelling_are_never_real_in_synthetic_rows(column):
    table = visits()
    model = fit_quietly(table)
    assert model.metadata_[column] == "id"
    synthetic = model.sample(500)
    assert not synthetic[column].astype(str).isin(real_values(table, column)).any()


def test_the_repeated_identifiers_are_said_in_a_warning():
    # several rows per MRN: a longitudinal table, said, with the MRN as its subject
    with pytest.warns(InferenceWarning, match="several rows per patient: modelled as patient "
                                              "histories, subject 'MRNNumber'"):
        model = Synthesizer(**FAST).fit(visits())
    assert model.histories_.layout.subject == "MRNNumber"


def test_a_subject_column_of_a_pharmacokinetics_table_is_an_identifier():
    rng = np.random.default_rng(1)
    subject = np.repeat(np.arange(1, 13), 11)  # 12 subjects, 11 samples each
    table = pd.DataFrame({"Subject": subject, "Wt": np.repeat(rng.normal(70, 9, 12), 11).round(1),
                          "Time": np.tile(np.linspace(0, 24, 11), 12).round(2),
                          "conc": rng.lognormal(1, 0.4, len(subject)).round(2)})
    model = fit_quietly(table)
    assert model.metadata_["Subject"] == "id"
    assert not model.sample(200)["Subject"].isin(subject).any()


def test_a_name_alone_does_not_make_an_identifier_of_a_two_level_column():
    # medicaldata::covid_testing's test_id: 'covid' in 12,417 rows, 'xcvd1' in 2
    rng = np.random.default_rng(2)
    test_id = np.where(rng.random(3000) < 0.999, "covid", "xcvd1")
    table = pd.DataFrame({"test_id": test_id, "age": rng.normal(8, 5, 3000).round(1)})
    kinds, notes = infer_kinds(table, {})
    assert kinds["test_id"] == "categorical"
    assert any("named like an identifier but holds only 2 distinct values" in n for n in notes)
    synthetic = fit_quietly(table).sample(1000)
    assert set(synthetic["test_id"]) <= {"covid", "xcvd1"}


@pytest.mark.parametrize("name, values, kind", [
    ("site_id", np.repeat(np.arange(5), 200), "categorical"),  # 5 sites in 1,000 rows
    ("site_id", np.arange(1000) % 300, "id"),  # many values for its rows
    ("patient_id", np.repeat(np.arange(4), 50), "id"),  # a person's: few patients still count
    ("patient_age", np.arange(200) % 60 + 20, "integer"),  # not an identifier's name
])
def test_name_and_values_decide_together(name, values, kind):
    assert infer_kinds(pd.DataFrame({name: values}), {})[0][name] == kind


@pytest.mark.slow
def test_running_numbers_and_long_codes_are_identifiers_by_their_values():
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"row": np.arange(1, 301), "ref": rng.choice(
        np.arange(10**7, 10**8), 300, replace=False), "time": rng.integers(40, 4800, 300),
        "income": rng.integers(20_000, 200_000, 300), "count": rng.integers(0, 50, 300)})
    kinds, notes = infer_kinds(table, {})
    assert kinds == {"row": "id", "ref": "id", "time": "integer", "income": "integer",
                     "count": "integer"}
    assert any("running numbers" in n for n in notes) and any("8-digit codes" in n for n in notes)


def test_a_key_in_blocks_of_rows_with_a_constant_companion_is_an_identifier():
    rng = np.random.default_rng(4)
    codes = rng.choice(np.arange(1000, 9999), 40, replace=False)
    table = pd.DataFrame({"who": np.repeat(codes, 5), "arm": np.repeat(rng.choice(["a", "b"], 40),
                                                                        5),
                          "value": rng.normal(size=200)})
    assert grouped_key(table, "who") == "arm"
    assert infer_kinds(table, {})[0]["who"] == "id"
    shuffled = table.sample(frac=1.0, random_state=0)  # not in blocks: a number like others
    assert infer_kinds(shuffled, {})[0]["who"] == "integer"
    by_year = pd.DataFrame({"year": np.repeat(np.arange(1990, 2020), 20),
                            "sex": rng.choice(["f", "m"], 600)})  # sorted, but sex varies
    assert grouped_key(by_year, "year") is None


def test_the_sample_table_keeps_its_kinds(patients):
    kinds, _ = infer_kinds(patients, {})
    assert kinds["id"] == "id"
    assert [c for c, k in kinds.items() if k == "id"] == ["id"]
    assert kinds["time"] == "integer" and kinds["platelet"] == "integer"


def test_the_cli_never_writes_a_real_identifier_of_any_spelling(tmp_path):
    table = visits()
    write_table(table, tmp_path / "visits.csv")
    result = CliRunner().invoke(cli, ["synth", str(tmp_path / "visits.csv"), "--out",
                                      str(tmp_path / "out.csv"), "--config", "fast", "--epochs",
                                      "2", "--seed", "0", "--rows", "1000"])
    assert result.exit_code == 0, result.output
    assert "Warning: several rows per patient" in result.output  # MRNNumber: the subject
    out = read_table(tmp_path / "out.csv")
    for column in ("MRNNumber", "NHSNumber", "patientID2", "patient_id2"):
        assert not out[column].astype(str).isin(real_values(table, column)).any(), column
        # one fresh identifier per synthetic patient, the same on each of the patient's rows
        assert (out.groupby("MRNNumber")[column].nunique() == 1).all()
        assert out.drop_duplicates("MRNNumber")[column].is_unique


# from tests/test_kinds.py -------------------------------------------------------------------


# names ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, tokens", [
    ("visit_date", ["visit", "date"]),
    ("  Patient  Number ", ["patient", "number"]),
    ("HbA1cLevel", ["hb", "a", "1", "c", "level"]),
    ("MRNNumber", ["mrn", "number"]),
    ("patientID2", ["patient", "id", "2"]),
    ("patient_id2", ["patient", "id", "2"]),
    ("Subject-No", ["subject", "no"]),
    (42, ["42"]),
    ("", []),
    ("__", []),
])
def test_name_tokens_split_on_separators_and_camel_case(name, tokens):
    assert name_tokens(name) == tokens


@pytest.mark.parametrize("name", ["id", "grid_id", "uuid", "Accession", "nhs number", "record",
                                  "Subject-No", "case code", "member_nr", "ChartNum", "MRNNumber",
                                  "NHSNumber", "patientID2", "patient_id2", "Subject", "patient"])
def test_names_that_say_identifier(name):
    assert named_like_id(name)


@pytest.mark.parametrize("name", ["paid", "valid", "recorded", "zip_code", "visit_no",
                                  "code", "number", "patient_age", "idle_time", ""])
def test_names_that_do_not(name):
    # an "id" inside a word, or a number / code whose owner is not a person or record
    assert not named_like_id(name)


# identifier formats -----------------------------------------------------------------------
@pytest.mark.parametrize("values", [
    ["123e4567-e89b-12d3-a456-426614174000", "00000000-0000-4000-8000-000000000000"],
    ["123-45-6789", "987-65-4321"],
])
def test_uuids_and_social_security_numbers_are_identifier_formats(values):
    assert has_id_format(pd.Series(values))


def test_emails_are_personal_data_not_identifier_codes():
    emails = pd.Series(["a.b@clinic.example.org", "x+y@lab.org"] * 10, name="contact")
    assert not has_id_format(emails)
    assert infer_kind(emails) == "email"


def test_one_value_in_another_format_breaks_the_pattern():
    assert not has_id_format(pd.Series(["123-45-6789", "987-65-4321", "unknown"]))


@pytest.mark.parametrize("codes, expected", [
    ([f"P{k:04d}" for k in range(MIN_ROWS)], True),  # prefix + 4 digits, enough distinct
    ([f"P{k:04d}" for k in range(MIN_ROWS - 1)], False),  # too few distinct values to tell
    ([f"P{k:03d}" for k in range(30)], False),  # 3 digits: too short for a prefixed code
    ([f"{k:06d}" for k in range(30)], True),  # bare numbers need 6 digits
    ([f"{k:05d}" for k in range(30)], False),  # 5 (a zip code) are not enough
    ([f"P{k:04d}" for k in range(15)] + [f"Q{k:04d}" for k in range(15)], False),  # 2 prefixes
    ([f"P{k:04d}" for k in range(MIN_ROWS)] * 30, False),  # distinct < 5 % of the rows
])
def test_codes_need_one_prefix_enough_digits_and_many_distinct_values(codes, expected):
    assert bool(has_id_format(pd.Series(codes))) is expected


def test_code_columns_are_ids_and_the_note_quotes_an_example():
    codes = pd.Series([f"MRN-{k:05d}" for k in range(40)], name="ref")
    kinds, notes = infer_kinds(codes.to_frame(), {})
    assert kinds == {"ref": "id"}
    assert notes == ["column 'ref' holds identifier-like codes (e.g. 'MRN-00000') and is "
                     "treated as an id"]


# dates ------------------------------------------------------------------------------------
@pytest.mark.parametrize("values, fmt, parsed", [
    (["2021-03-04 10:20:30", "2021-03-05 00:00:00"], "%Y-%m-%d %H:%M:%S",
     ["2021-03-04 10:20:30", "2021-03-05 00:00:00"]),
    (["31/12/2020", "01/02/2021"], "%d/%m/%Y", ["2020-12-31", "2021-02-01"]),
    (["12/31/2020", "01/02/2021"], "%m/%d/%Y", ["2020-12-31", "2021-01-02"]),  # day 31 decides
    (["04.03.2021", None, "05.03.2021"], "%d.%m.%Y", ["2021-03-04", None, "2021-03-05"]),
])
def test_text_dates_are_parsed_with_the_format_that_reads_every_value(values, fmt, parsed):
    result = parse_dates(pd.Series(values, dtype=object))
    assert result is not None
    dates, found, mixed = result
    assert (found, mixed) == (fmt, False)
    expected = pd.Series(pd.to_datetime(parsed))
    pd.testing.assert_series_equal(dates.reset_index(drop=True), expected, check_names=False)


def test_datetime64_columns_are_dates_without_a_text_format():
    stamps = pd.Series(pd.date_range("2020-01-01", periods=3, freq="D"))
    dates, fmt, mixed = parse_dates(stamps)
    assert fmt is None and mixed is False and dates.equals(stamps)


def test_mixed_formats_are_read_one_by_one_and_written_in_the_commonest():
    values = pd.Series(["2021-03-04", "2021-03-05", "2021-04-01", "04/03/2021"])
    dates, fmt, mixed = parse_dates(values)
    assert mixed is True and fmt == "%Y-%m-%d"
    assert dates.notna().all() and dates.iloc[0] == pd.Timestamp("2021-03-04")
    kinds, notes = infer_kinds(values.rename("seen").to_frame(), {"seen": "datetime"})
    assert kinds == {"seen": "datetime"} and notes == []  # stated kinds are not guessed
    kind, note = infer_kinds(pd.DataFrame({"seen": values.tolist() * 5}), {})
    assert kind == {"seen": "datetime"}
    assert note == ["column 'seen' mixes date formats; each value was read on its own and dates "
                    "are written back as %Y-%m-%d"]


@pytest.mark.parametrize("series", [
    pd.Series(["2021-03-04", "not a date"]),
    pd.Series(["2021-02-30", "2021-03-01"]),  # no 30 February
    pd.Series(["2021-03-04", 5], dtype=object),
    pd.Series([None, None], dtype=object),
    pd.Series([20210304, 20210305]),  # numbers, even if they read like dates
    pd.Series(["12 March 2021", "13 March 2021"]),  # not a numeric date
])
def test_values_that_are_not_all_dates_are_not_dates(series):
    assert parse_dates(series) is None


# the notes of infer_kinds -----------------------------------------------------------------
def test_a_tiny_table_notes_which_kinds_were_guessed():
    table = pd.DataFrame({"age": [61.5, 70.25, 48.0], "sex": ["F", "M", "F"]})
    kinds, notes = infer_kinds(table, {"age": "continuous"})
    assert kinds == {"age": "continuous", "sex": "categorical"}
    assert notes == ["the table has only 3 rows: the kinds of ['sex'] were guessed from very "
                     "few values; check them (metadata_, toolkit info) and state them in the "
                     "metadata"]
    assert infer_kinds(table, {"age": "continuous", "sex": "categorical"})[1] == []


def test_a_table_of_min_rows_rows_is_not_tiny():
    table = pd.DataFrame({"x": np.arange(MIN_ROWS) * 0.5})
    assert infer_kinds(table, {}) == ({"x": "continuous"}, [])


def test_repeated_values_in_an_id_named_column_are_noted():
    repeated = pd.DataFrame({"patient_id": np.repeat(np.arange(15), 2)})
    assert infer_kinds(repeated, {})[0] == {"patient_id": "id"}
    assert infer_kinds(repeated, {})[1][0].startswith(
        "column 'patient_id' is named like an identifier and treated as one")
    distinct = pd.DataFrame({"patient_id": np.arange(30)})
    assert infer_kinds(distinct, {}) == ({"patient_id": "id"}, [])


def test_an_id_name_on_decimal_numbers_is_not_an_id():
    assert infer_kind(pd.Series(np.arange(30) + 0.5, name="patient_id")) == "continuous"


@pytest.mark.parametrize("numbers, noted", [(9, True), (8, False), (10, False)])
def test_mostly_numeric_text_is_categorical_with_a_note_from_ninety_percent(numbers, noted):
    values = [str(v) for v in range(numbers)] + ["<5"] * (10 - numbers)
    kinds, notes = infer_kinds(pd.DataFrame({"count": values * 3}), {})
    assert kinds == {"count": "categorical"}
    if noted:
        assert notes == ["column 'count' is mostly numbers but also holds text (e.g. ['<5']); "
                         "it is modelled as categorical: clean the text or declare it in the "
                         "metadata"]
    else:
        assert notes == []


def test_distinct_text_becomes_an_id_from_min_rows_values():
    names = [f"name {chr(97 + k // 26)}{chr(97 + k % 26)}" for k in range(MIN_ROWS)]
    assert infer_kind(pd.Series(names[:-1])) == "categorical"
    assert infer_kind(pd.Series(names)) == "id"


def test_numeric_columns_up_to_max_categories_are_categorical():
    few = pd.Series(np.arange(MAX_NUMERIC_CATEGORIES).repeat(3) * 1.5)
    many = pd.Series(np.arange(MAX_NUMERIC_CATEGORIES + 1).repeat(3) * 1.5)
    assert (infer_kind(few), infer_kind(many)) == ("categorical", "continuous")


@pytest.mark.parametrize("series, kind", [
    (pd.Series([np.nan] * 5), "constant"),  # all missing: one value, NaN
    (pd.Series(["TRUE", "false", None, "True"]), "boolean"),  # spellings mixed, missing kept
    (pd.Series([True, False, None], dtype=object), "boolean"),
    (pd.Series(pd.Categorical(list(range(20)) * 2)), "categorical"),  # categorical dtype
])
def test_edge_columns(series, kind):
    assert infer_kind(series) == kind


# checks of overrides ----------------------------------------------------------------------
def refusal(series: pd.Series, kind: str) -> str:
    with pytest.raises(DataError) as caught:
        check_override(series, kind)
    message = str(caught.value)
    assert message.startswith(f"metadata gives column {series.name!r} kind {kind!r}, but ")
    assert message.endswith("; choose a kind that fits or fix the column")
    return message


@pytest.mark.parametrize("series, kind, problem", [
    (pd.Series([1, 2], name="c"), "constant", "it has 2 distinct values"),
    (pd.Series([1.0, np.nan], name="c"), "constant", "it has 2 distinct values"),
    (pd.Series(["1.5", "x"], name="x"), "continuous",
     "it holds values that are not numbers (e.g. 'x')"),
    (pd.Series([True, False], name="b"), "continuous",
     "it holds values that are not numbers (e.g. True)"),  # a numpy bool shown plainly
    (pd.Series(["1.5", "2"], name="x"), "integer", "it holds numbers that are not whole"),
    (pd.Series([1.5, 2.0], name="x"), "integer", "it holds numbers that are not whole"),
    (pd.Series(["a", "b", "c"], name="b"), "boolean", "it has 3 distinct values, not two"),
    (pd.Series(["x", "y"], name="d"), "datetime", "its values are not dates (e.g. 'x')"),
    (pd.Series([None, None], name="d", dtype=object), "datetime", "it has no values"),
])
def test_overrides_that_do_not_fit_are_refused_saying_why(series, kind, problem):
    assert problem in refusal(series, kind)


@pytest.mark.parametrize("series, kind", [
    (pd.Series(["1.5", "2", None], name="x"), "continuous"),  # numbers written as text
    (pd.Series(["1", "2"], name="n"), "integer"),
    (pd.Series([4.0, np.nan, 5.0], name="n"), "integer"),
    (pd.Series(["yes", "no", None], name="b"), "boolean"),  # any two values
    (pd.Series(["2020-01-01", None], name="d"), "datetime"),
    (pd.Series([3, 3], name="c"), "constant"),
    (pd.Series([1.5, 2.5], name="anything"), "categorical"),  # every column can be categorical
    (pd.Series([1, 1, 2], name="n"), "id"),
])
def test_overrides_that_fit_pass(series, kind):
    assert check_override(series, kind) is None


def test_infer_kinds_checks_overrides_by_the_column_name_as_text():
    table = pd.DataFrame({1: ["a", "b"], "age": [1.5, 2.5]})
    with pytest.raises(DataError, match="column 1 kind 'integer'"):
        infer_kinds(table, {"1": "integer"})
    assert infer_kinds(table, {"1": "categorical"})[0] == {"1": "categorical",
                                                           "age": "categorical"}


# from tests/test_trust.py -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mrn", "SSN", "record_no", "accession_number", "PatientID",
                                  "subject id"])
def test_columns_named_like_identifiers_are_ids_even_with_repeats(name):
    frame = pd.DataFrame({name: ["A1", "A1", "B2", "B2", "C3"] * 10, "x": np.arange(50) + 0.5})
    model = Synthesizer(config="fast", epochs=1, random_state=0).fit(frame)
    assert model.metadata_[name] == "id"


def test_identifier_formats_are_ids_without_an_id_name():
    codes = [f"S-{i:05d}" for i in range(40)] * 3
    frame = pd.DataFrame({"subject": codes, "x": np.arange(120) + 0.5})
    model = Synthesizer(config="fast", epochs=1, random_state=0).fit(frame)
    assert model.metadata_["subject"] == "id"
    assert not model.sample(50)["subject"].isin(codes).any()


def test_mostly_numeric_text_is_warned_about(workdir):
    values = [str(v) for v in range(95)] + ["<5"] * 5
    Path("m.csv").write_text("lab\n" + "\n".join(values) + "\n")
    with pytest.warns(UserWarning, match="mostly numbers but also holds text"):
        Synthesizer(config="fast", epochs=1, random_state=0).fit(read_table("m.csv"))


def test_a_sorted_measure_with_a_flag_computed_from_it_is_not_a_key():
    # ncbirths' layout: rows sorted by the mother's age, "mature mom" = age >= 35
    rng = np.random.default_rng(4)
    age = np.sort(rng.integers(13, 50, 1000))
    births = pd.DataFrame({"mage": age, "mature": np.where(age >= 35, "mature", "younger"),
                           "weeks": rng.integers(30, 42, 1000)})
    assert grouped_key(births, "mage") is None
    kinds, _ = infer_kinds(births, {})
    assert kinds["mage"] == "integer"
    # a real key in the same layout still is one: a companion that changes between patients
    visits = births.assign(mage=np.repeat(np.arange(100, 350), 4),
                           arm=np.repeat(rng.choice(["a", "b"], 250), 4))
    assert grouped_key(visits, "mage") == "arm"
