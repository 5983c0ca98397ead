"""toolkit.io.datasets: a folder of tables in, a folder of tables out (atomically)."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import hospital_dataset

from toolkit.exceptions import DataError, UsageError
from toolkit.io.datasets import is_dataset_folder, read_dataset, write_dataset
from toolkit.io.tables import write_table


def test_a_folder_of_csv_and_parquet_files_round_trips(tmp_path):
    tables = hospital_dataset()
    written = write_dataset(tables, tmp_path / "out", {"labs": ".parquet"})
    assert written["labs"].name == "labs.parquet" and written["patients"].name == "patients.csv"
    assert is_dataset_folder(tmp_path / "out")
    back = read_dataset(tmp_path / "out")
    assert set(back) == set(tables)
    pd.testing.assert_frame_equal(back["labs"], tables["labs"])
    assert back["patients"]["patient_id"].tolist() == tables["patients"]["patient_id"].tolist()


def test_a_semicolon_table_keeps_its_dialect(tmp_path):
    table = pd.DataFrame({"id": [1, 2], "x": [0.5, 1.5]})
    (tmp_path / "in").mkdir()
    write_table(table, tmp_path / "in" / "t.csv")
    (tmp_path / "in" / "t.csv").write_text("id;x\n1;0,5\n2;1,5\n")
    read = read_dataset(tmp_path / "in")
    write_dataset(read, tmp_path / "out")
    assert (tmp_path / "out" / "t.csv").read_text().splitlines()[1] == "1;0,5"


def test_bad_folders_are_refused_naming_the_problem(tmp_path):
    with pytest.raises(UsageError, match="dataset folder not found"):
        read_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="holds no table files"):
        read_dataset(tmp_path / "empty")
    assert not is_dataset_folder(tmp_path / "empty")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "t.csv").write_text("a\n1\n")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "two" / "t.parquet")
    with pytest.raises(UsageError, match="two files for table 't'"):
        read_dataset(tmp_path / "two")
    (tmp_path / "hollow").mkdir()
    (tmp_path / "hollow" / "t.csv").write_text("a,b\n")
    with pytest.raises(DataError):
        read_dataset(tmp_path / "hollow")


def test_nothing_half_written_is_left_behind(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    with pytest.raises(UsageError, match="exists and is not an empty folder"):
        write_dataset(hospital_dataset(), tmp_path / "full")
    with pytest.raises(UsageError, match="not \\['.xlsx'\\]"):
        write_dataset(hospital_dataset(), tmp_path / "out", {"labs": ".xlsx"})
    bad = {"fine": pd.DataFrame({"a": [1]}), "broken": pd.DataFrame({"a": [object()]})}
    with pytest.raises(Exception):  # noqa: B017 - whatever the writer raises
        write_dataset(bad, tmp_path / "out", {"broken": ".parquet"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]
