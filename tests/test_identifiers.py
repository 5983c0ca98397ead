"""Identifiers and personal data under any spelling (issue 32): recognised by name and values
together, never copied into synthetic output, generated fresh in their own format; and the
rules do not fire where they must not (categories named like IDs, measurements)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit import Synthesizer
from toolkit.adapters.kinds import grouped_key, infer_kinds
from toolkit.adapters.personal import EMAIL, personal_kind
from toolkit.cli import cli
from toolkit.exceptions import InferenceWarning
from toolkit.io import read_table, write_table

FAST = {"config": "fast", "epochs": 2, "random_state": 0}
FIRST_NAMES = ["Anna", "John", "Maria", "Peter", "Liam", "Olivia", "Noah", "Emma", "James",
               "Sophia", "Lucas", "Mia", "Ethan", "Ava", "Mason", "Chloe", "Logan", "Grace",
               "Jacob", "Lily", "Henry", "Zoe", "Jack", "Ella", "Leo", "Ruby", "Owen", "Ivy",
               "Adam", "Nora", "Ryan", "Alice", "Isaac", "Clara", "Oscar", "Hazel", "Luke",
               "Violet", "Dylan"]


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


def fit(frame: pd.DataFrame, **params) -> Synthesizer:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        return Synthesizer(**{**FAST, **params}).fit(frame)


def real_values(frame: pd.DataFrame, column: str) -> set[str]:
    return set(frame[column].dropna().astype(str))


# identifiers by name and values ------------------------------------------------------------------
@pytest.mark.parametrize("column", ["MRNNumber", "NHSNumber", "patientID2", "patient_id2"])
def test_identifiers_under_any_spelling_are_never_real_in_synthetic_rows(column):
    table = visits()
    model = fit(table)
    assert model.metadata_[column] == "id"
    synthetic = model.sample(500)
    assert not synthetic[column].astype(str).isin(real_values(table, column)).any()


def test_the_repeated_identifiers_are_said_in_a_warning():
    with pytest.warns(InferenceWarning, match="'MRNNumber' is named like an identifier"):
        Synthesizer(**FAST).fit(visits())


def test_a_subject_column_of_a_pharmacokinetics_table_is_an_identifier():
    rng = np.random.default_rng(1)
    subject = np.repeat(np.arange(1, 13), 11)  # 12 subjects, 11 samples each
    table = pd.DataFrame({"Subject": subject, "Wt": np.repeat(rng.normal(70, 9, 12), 11).round(1),
                          "Time": np.tile(np.linspace(0, 24, 11), 12).round(2),
                          "conc": rng.lognormal(1, 0.4, len(subject)).round(2)})
    model = fit(table)
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
    synthetic = fit(table).sample(1000)
    assert set(synthetic["test_id"]) <= {"covid", "xcvd1"}


@pytest.mark.parametrize("name, values, kind", [
    ("site_id", np.repeat(np.arange(5), 200), "categorical"),  # 5 sites in 1,000 rows
    ("site_id", np.arange(1000) % 300, "id"),  # many values for its rows
    ("patient_id", np.repeat(np.arange(4), 50), "id"),  # a person's: few patients still count
    ("patient_age", np.arange(200) % 60 + 20, "integer"),  # not an identifier's name
])
def test_name_and_values_decide_together(name, values, kind):
    assert infer_kinds(pd.DataFrame({name: values}), {})[0][name] == kind


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


# personal data -----------------------------------------------------------------------------------
def people(n: int = 2000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    first = rng.choice(FIRST_NAMES, n)
    last = rng.choice(["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas"], n)
    return pd.DataFrame({
        "name": first,
        "patient_name": [f"{a} {b}" for a, b in zip(first, last, strict=True)],
        "Surname": last,
        "email": [f"{a.lower()}.{b.lower()}{k}@nhs.example.uk"
                  for a, b, k in zip(first, last, rng.integers(1, 99, n), strict=True)],
        "phone": [f"+44 20 {rng.integers(1000, 9999)} {rng.integers(1000, 9999)}"
                  for _ in range(n)],
        "address": [f"{rng.integers(1, 200)} {b} Road" for b in last],
        "age": rng.normal(50, 12, n).round(1),
    })


def test_personal_data_is_recognised_by_name_and_values():
    kinds, _ = infer_kinds(people(300), {})
    assert kinds == {"name": "first_name", "patient_name": "full_name", "Surname": "last_name",
                     "email": "email", "phone": "phone", "address": "address",
                     "age": "continuous"}


@pytest.mark.parametrize("tokens, values, expected", [
    (["name"], ["aspirin", "ibuprofen", "paracetamol"] * 10, None),  # a name column of drugs
    (["drug", "name"], ["Aspirin", "Heparin", "Insulin", "Warfarin"] * 5, None),
    (["code"], FIRST_NAMES * 2, "first_name"),  # the values alone leave no doubt
    (["city"], ["Paris", "London", "Berlin", "Madrid", "Rome"] * 5, None),
    (["phone"], ["unknown", "n/a", "none"] * 5, None),
])
def test_personal_data_needs_the_values_too(tokens, values, expected):
    assert personal_kind(tokens, pd.Series(values))[0] == expected


def test_no_real_name_e_mail_phone_or_address_is_generated_and_formats_are_kept():
    table = people()
    synthetic = fit(table).sample(2000)
    for column in ("name", "patient_name", "Surname", "email", "phone", "address"):
        assert not synthetic[column].isin(real_values(table, column)).any(), column
    assert synthetic["email"].str.fullmatch(EMAIL.pattern).all()
    assert synthetic["email"].str.endswith((".example.com", "@example.com", "@example.org",
                                             "@example.net")).all()
    assert synthetic["phone"].map(lambda v: bool(re.fullmatch(r"\+44 \d\d \d{4} \d{4}", v))).all()
    assert synthetic["name"].str.fullmatch(r"[A-Z][a-z'-]+").all()
    first = synthetic["patient_name"].str.split().str[0]
    # one generated person per row, but for the names redrawn because they were real ones
    assert (first == synthetic["name"]).mean() > 0.8


def test_personal_data_survives_the_model_file_and_the_cli(tmp_path):
    table = people(300)
    write_table(table, tmp_path / "people.csv")
    result = CliRunner().invoke(cli, ["synth", str(tmp_path / "people.csv"), "--out",
                                      str(tmp_path / "out.csv"), "--model-out",
                                      str(tmp_path / "m.tkm"), "--config", "fast", "--epochs",
                                      "2", "--seed", "0", "-q"])
    assert result.exit_code == 0, result.output
    out = read_table(tmp_path / "out.csv")
    assert not out["name"].isin(table["name"]).any()
    again = Synthesizer.load(tmp_path / "m.tkm").sample(300)
    assert not again["email"].isin(table["email"]).any()
    assert (tmp_path / "m.tkm").read_bytes().find(b"Olivia") == -1  # hashes, never the names


def test_the_cli_never_writes_a_real_identifier_of_any_spelling(tmp_path):
    table = visits()
    write_table(table, tmp_path / "visits.csv")
    result = CliRunner().invoke(cli, ["synth", str(tmp_path / "visits.csv"), "--out",
                                      str(tmp_path / "out.csv"), "--config", "fast", "--epochs",
                                      "2", "--seed", "0", "--rows", "1000"])
    assert result.exit_code == 0, result.output
    assert "Warning: column 'MRNNumber' is named like an identifier" in result.output
    out = read_table(tmp_path / "out.csv")
    for column in ("MRNNumber", "NHSNumber", "patientID2", "patient_id2"):
        assert not out[column].astype(str).isin(real_values(table, column)).any(), column
        assert out[column].is_unique
