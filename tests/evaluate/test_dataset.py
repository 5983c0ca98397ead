"""toolkit.evaluate.dataset: a synthetic dataset measured against the real one."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from helpers import hospital_dataset

from toolkit.adapters.dataset import draft_dataset
from toolkit.evaluate.dataset import counts_tv, dataset_report, joined, split_dataset


@pytest.fixture(scope="module")
def hospital():
    tables = hospital_dataset(120)
    metadata, _ = draft_dataset(tables)
    return tables, metadata


def test_the_holdout_takes_whole_entities_and_keeps_lookup_tables(hospital):
    tables, metadata = hospital
    train, held = split_dataset(tables, metadata, 0.25, random_state=0)
    assert 0 < len(held["patients"]) < len(tables["patients"])
    assert not set(train["patients"]["patient_id"]) & set(held["patients"]["patient_id"])
    assert held["admissions"]["patient_id"].isin(held["patients"]["patient_id"]).all()
    assert train["labs"]["admission_id"].isin(train["admissions"]["admission_id"]).all()
    assert len(train["labs"]) + len(held["labs"]) == len(tables["labs"])
    pd.testing.assert_frame_equal(train["wards"], tables["wards"])  # a lookup table: whole
    metadata.check(train)
    metadata.check(held)


def test_a_copy_of_the_data_scores_as_real_and_a_broken_one_does_not(hospital):
    tables, metadata = hospital
    train, held = split_dataset(tables, metadata, 0.25, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same = dataset_report(train, train, metadata, held)
        broken = {name: table.copy() for name, table in train.items()}
        broken["admissions"]["patient_id"] = broken["admissions"]["patient_id"].iloc[0]
        broken["admissions"]["days"] = 99
        worse = dataset_report(train, broken, metadata, held)
    stays = "patients.patient_id → admissions.patient_id"
    assert same["relationships"][stays]["integrity"] == 1.0
    assert same["relationships"][stays]["cardinality_tv"] == 0.0
    assert same["relationships"][stays]["parent_auroc"] < 0.65
    assert same["tables"]["patients"]["real_keys"] == len(train["patients"])  # copies
    assert same["relationships"][stays]["entity_copies"] == len(train["patients"])
    assert worse["relationships"][stays]["entity_copies"] < len(train["patients"]) // 2
    assert same["tables"]["admissions"]["quality"] > 0.99
    assert worse["relationships"][stays]["cardinality_tv"] > 0.5  # one patient has them all
    assert worse["relationships"][stays]["parent_auroc"] > 0.8
    assert worse["tables"]["admissions"]["quality"] < same["tables"]["admissions"]["quality"]
    assert set(same["sdmetrics"]["properties"]) >= {"Cardinality", "Intertable Trends"}
    assert same["sdmetrics"]["score"] > worse["sdmetrics"]["score"]


def test_children_are_joined_to_their_parent_and_counted():
    parents = pd.DataFrame({"id": [1, 2, 3], "sex": ["f", "m", "f"]})
    children = pd.DataFrame({"id": [1, 1, 3], "hb": [12.0, 13.0, 11.0]})
    metadata, _ = draft_dataset({"p": parents, "c": children})
    relation = metadata.relationships[0]
    table = joined(parents, relation, children)
    assert list(table.columns) == ["id", "sex", "child.hb"]
    assert table["id"].tolist() == [1, 1, 2, 3] and np.isnan(table["child.hb"][2])
    assert counts_tv(np.array([2, 0, 1]), np.array([2, 0, 1])) == 0.0
    assert counts_tv(np.array([0, 0]), np.array([1, 1])) == 1.0
