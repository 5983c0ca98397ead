"""toolkit.adapters.dataset: a dataset's keys, read (ours and SDV's), checked and drafted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import hospital_dataset

from toolkit.adapters.dataset import DatasetMetadata, Relationship, draft_dataset
from toolkit.exceptions import DataError, UsageError
from toolkit.io import read_dataset

SDV_METADATA = {
    "METADATA_SPEC_VERSION": "V1",
    "tables": {
        "patients": {"primary_key": "patient_id", "columns": {
            "patient_id": {"sdtype": "id"}, "sex": {"sdtype": "categorical"},
            "age": {"sdtype": "numerical"}}},
        "admissions": {"primary_key": "admission_id", "sequence_key": "patient_id",
                       "sequence_index": "admitted", "columns": {
                           "admission_id": {"sdtype": "id"}, "patient_id": {"sdtype": "id"},
                           "admitted": {"sdtype": "datetime", "datetime_format": "%Y-%m-%d"},
                           "ward_code": {"sdtype": "categorical"},
                           "days": {"sdtype": "numerical"}}},
    },
    "relationships": [{"parent_table_name": "patients", "parent_primary_key": "patient_id",
                       "child_table_name": "admissions", "child_foreign_key": "patient_id"}],
}


def test_sdv_multi_table_metadata_is_read_as_it_is():
    metadata = DatasetMetadata.from_dict(SDV_METADATA)
    assert metadata.tables["admissions"].primary_key == "admission_id"
    assert metadata.tables["admissions"].order == "admitted"  # SDV's sequence_index
    assert metadata.tables["patients"].columns == {"patient_id": "id", "sex": "categorical",
                                                   "age": "continuous"}
    assert metadata.relationships == [
        Relationship("patients", "patient_id", "admissions", "patient_id")]
    again = DatasetMetadata.from_dict(metadata.to_dict())  # our own mapping round-trips
    assert again == metadata


def test_tables_are_generated_parents_first_at_any_depth():
    metadata = DatasetMetadata.from_dict({
        "tables": {"labs": {}, "admissions": {}, "patients": {}},
        "relationships": [
            {"parent": "admissions", "parent_key": "admission_id", "child": "labs",
             "child_key": "admission_id"},
            {"parent": "patients", "parent_key": "patient_id", "child": "admissions",
             "child_key": "patient_id"}]})
    assert metadata.generation_order() == ["patients", "admissions", "labs"]
    assert metadata.parent_of("patients") is None
    assert [r.child for r in metadata.children_of("admissions")] == ["labs"]


def test_keys_are_drafted_from_names_and_values():
    metadata, notes = draft_dataset(hospital_dataset())
    keys = {name: table.primary_key for name, table in metadata.tables.items()}
    assert keys == {"patients": "patient_id", "admissions": "admission_id", "labs": "lab_id",
                    "wards": "ward_code"}
    # admissions are generated under patients, not under the 3-row wards lookup table
    assert metadata.parent_of("admissions") == Relationship(
        "patients", "patient_id", "admissions", "patient_id")
    assert metadata.further_parents("admissions") == [
        Relationship("wards", "ward_code", "admissions", "ward_code")]
    assert metadata.tables["admissions"].order == "admitted"
    assert "labs.admission_id → admissions.admission_id" in notes


def test_a_small_number_is_not_a_key_by_its_values_alone():
    patients = pd.DataFrame({"patient_id": range(1, 41), "x": range(40)})
    visits = pd.DataFrame({"patient_id": [1, 2] * 10, "stage": [1, 2, 3, 4] * 5})
    metadata, _ = draft_dataset({"patients": patients, "visits": visits})
    assert metadata.relationships == [Relationship("patients", "patient_id", "visits",
                                                   "patient_id")]


def test_a_text_code_is_a_key_by_its_values():
    airports = pd.DataFrame({"faa": ["JFK", "LGA", "EWR", "BOS"], "alt": [13, 21, 18, 20]})
    flights = pd.DataFrame({"origin": ["JFK", "LGA", "EWR"] * 4, "dest": ["BOS"] * 12})
    metadata, _ = draft_dataset({"airports": airports, "flights": flights})
    assert Relationship("airports", "faa", "flights", "origin") in metadata.relationships
    assert all(r.child_key != "dest" for r in metadata.relationships)  # one value only


def test_metadata_that_does_not_match_the_tables_is_refused_naming_the_problem():
    tables = hospital_dataset()
    metadata, _ = draft_dataset(tables)
    metadata.check(tables)
    with pytest.raises(UsageError, match=r"tables the dataset does not have: \['wards'\]"):
        metadata.check({k: v for k, v in tables.items() if k != "wards"})
    broken = {**tables, "patients": pd.concat([tables["patients"], tables["patients"][:1]])}
    with pytest.raises(DataError, match="primary key patients.patient_id repeats 1 values"):
        metadata.check(broken)
    orphan = tables["admissions"].copy()
    orphan.loc[0, "patient_id"] = 999
    with pytest.raises(DataError, match="1 rows of admissions have a patient_id that is not"):
        metadata.check({**tables, "admissions": orphan})
    metadata.tables["labs"].order = "drawn"
    with pytest.raises(UsageError, match="order labs.drawn is not a column of labs"):
        metadata.check(tables)


def test_relationships_in_a_circle_and_bad_mappings_are_refused():
    circle = DatasetMetadata.from_dict({"tables": {"a": {}, "b": {}}, "relationships": [
        {"parent": "a", "parent_key": "k", "child": "b", "child_key": "k"},
        {"parent": "b", "parent_key": "k", "child": "a", "child_key": "k"}]})
    with pytest.raises(UsageError, match=r"go round in a circle between \['a', 'b'\]"):
        circle.generation_order()
    with pytest.raises(UsageError, match="must have a 'tables' mapping"):
        DatasetMetadata.from_dict({"columns": {}})
    with pytest.raises(UsageError, match="a relationship needs 'child_key'"):
        DatasetMetadata.from_dict({"tables": {}, "relationships": [
            {"parent": "a", "parent_key": "k", "child": "b"}]})


def test_bounds_across_tables_are_drafted_only_where_every_row_keeps_them_and_they_say_something():
    # pbc: a visit's day passes the patient's follow-up time on 138 rows: no bound
    drafted, _ = draft_dataset(read_dataset(Path(__file__).resolve().parents[2] / "sample_data"
                                            / "pbc_visits"))
    assert not any("patients." in str(rule) for rule in drafted.tables["visits"].rules)
    rng = np.random.default_rng(0)
    parents = pd.DataFrame({"parent_id": np.arange(1, 41), "start": rng.uniform(0, 100, 40),
                            "weight": rng.uniform(5000, 9000, 40)})
    owner = np.repeat(parents["parent_id"].to_numpy(), 3)
    children = pd.DataFrame({"parent_id": owner,
                             "at": parents.set_index("parent_id").loc[owner, "start"].to_numpy()
                             + rng.uniform(0, 5, len(owner)),
                             "dose": rng.uniform(1, 9, len(owner))})  # below weight: no rule
    drafted, _ = draft_dataset({"parents": parents, "children": children})
    assert [rule["inequality"] for rule in drafted.tables["children"].rules] == [
        ["parents.start", "at"]]
