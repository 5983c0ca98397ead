"""Identifiers and personal data under any spelling (issue 32): recognised by name and values
together, never copied into synthetic output, generated fresh in their own format; and the
rules do not fire where they must not (categories named like IDs, measurements).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import fit_quietly, real_values

from toolkit import Synthesizer
from toolkit.adapters.kinds import infer_kinds
from toolkit.adapters.personal import EMAIL, personal_kind
from toolkit.cli import cli
from toolkit.io import read_table, write_table

FIRST_NAMES = ["Anna", "John", "Maria", "Peter", "Liam", "Olivia", "Noah", "Emma", "James",
               "Sophia", "Lucas", "Mia", "Ethan", "Ava", "Mason", "Chloe", "Logan", "Grace",
               "Jacob", "Lily", "Henry", "Zoe", "Jack", "Ella", "Leo", "Ruby", "Owen", "Ivy",
               "Adam", "Nora", "Ryan", "Alice", "Isaac", "Clara", "Oscar", "Hazel", "Luke",
               "Violet", "Dylan"]






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
    synthetic = fit_quietly(table).sample(2000)
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
