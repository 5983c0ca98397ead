"""toolkit.io.records: what users pass, read once into records and their provenance; records
written where asked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import DIGITS

from toolkit.adapters import ImageAdapter, ImageSet, Provenance, TabularAdapter
from toolkit.exceptions import DataError, UsageError
from toolkit.io.records import (
    Records,
    check_records_output,
    domain_of,
    read_records,
    write_record_chunks,
    write_records,
)
from toolkit.io.tables import read_table, write_table


@pytest.fixture
def counts() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"row": np.arange(5000), "code": rng.choice(["a", "b", "c"], 5000),
                         "value": rng.normal(size=5000).round(3)})


def test_the_domain_is_told_by_the_path_or_the_object(tmp_path, counts):
    (tmp_path / "parts").mkdir()
    write_table(counts, tmp_path / "parts" / "part-0.parquet")
    assert domain_of(counts) is TabularAdapter
    assert domain_of(counts.to_numpy()) is TabularAdapter
    assert domain_of(tmp_path / "parts") is TabularAdapter  # a folder of Parquet parts
    assert domain_of("scan.PNG") is ImageAdapter and domain_of("a.npz") is ImageAdapter
    assert domain_of(np.zeros((3, 8, 8))) is ImageAdapter
    assert domain_of(Records(counts)) is TabularAdapter


def test_a_dataframe_larger_than_the_bound_is_sampled_with_its_provenance(counts):
    records = read_records(counts, max_rows=200, random_state=1)
    assert len(records.data) == 200 and records.data["row"].is_monotonic_increasing
    assert records.provenance.rows == 5000
    assert records.provenance.statistics.rows == 5000
    assert set(records.provenance.statistics.levels["code"]) == {"a", "b", "c"}
    assert counts.attrs == {}  # the caller's frame is untouched
    again = read_records(counts, max_rows=200, random_state=1)
    assert again.data.equals(records.data)


def test_a_table_within_the_bound_is_taken_as_it_is(counts):
    records = read_records(counts, max_rows=10_000)
    assert records.data is counts and records.provenance == Provenance()


def test_a_file_is_sampled_in_one_pass_and_keeps_its_dialect(tmp_path, counts):
    path = tmp_path / "counts.csv"
    path.write_text(counts.to_csv(index=False, sep=";", decimal=","))
    records = read_records(path, max_rows=300, random_state=0)
    assert len(records.data) == 300 and records.provenance.rows == 5000
    assert records.provenance.dialect["delimiter"] == ";"
    whole = read_records(path)
    assert len(whole.data) == 5000 and whole.provenance.rows is None


def test_records_are_not_read_again_unless_larger_than_the_bound(counts):
    records = Records(counts, Provenance(dialect={"delimiter": ";"}))
    assert read_records(records) is records
    sampled = read_records(records, max_rows=100, random_state=3)
    assert len(sampled.data) == 100 and sampled.provenance.rows == 5000
    assert sampled.provenance.dialect == {"delimiter": ";"}  # kept from the first read
    assert sampled.data.equals(read_records(counts, max_rows=100, random_state=3).data)


def test_labels_that_are_not_text_travel_in_the_provenance():
    table = pd.DataFrame({0: [1.5, 2.5, 3.5], 1: ["a", "b", "a"]})
    records = read_records(table)
    assert list(records.data.columns) == ["0", "1"]
    assert records.provenance.labels == [0, 1]
    assert list(table.columns) == [0, 1]  # the caller's frame keeps its labels


def test_images_are_read_whole():
    records = read_records(DIGITS, max_rows=5)
    assert isinstance(records.data, ImageSet) and len(records.data) > 5
    assert read_records(records.data).data is records.data


def test_what_cannot_be_read_is_one_line(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="holds no images"):
        read_records(tmp_path)
    with pytest.raises(DataError, match="not found"):
        read_records(tmp_path / "missing.csv")


def test_outputs_are_checked_for_the_domain(tmp_path):
    check_records_output(TabularAdapter, tmp_path / "out.csv")
    check_records_output(TabularAdapter, tmp_path / "parts")  # a folder of Parquet parts
    check_records_output(ImageAdapter, tmp_path / "grid.png")
    with pytest.raises(UsageError, match="--out .*a table model writes"):
        check_records_output(TabularAdapter, tmp_path / "out.txt", "--out")
    with pytest.raises(UsageError, match="an image model writes a folder"):
        check_records_output(ImageAdapter, tmp_path / "out.csv")


def test_tables_are_written_in_chunks_in_their_dialect(tmp_path, counts):
    path = tmp_path / "in.csv"
    path.write_text(counts.to_csv(index=False, sep=";", decimal=","))
    table = read_table(path)
    written = write_record_chunks((table.iloc[i:i + 1000] for i in range(0, 5000, 1000)),
                                  tmp_path / "out.csv")
    assert written == 5000
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "row;code;value"
    assert write_records(table, tmp_path / "parts") == 5000
    assert read_table(tmp_path / "parts").equals(read_table(tmp_path / "out.csv"))
    with pytest.raises(DataError, match="nothing to write"):
        write_record_chunks([], tmp_path / "empty.csv")


@pytest.mark.parametrize("name", ["out.csv", "out.parquet", "parts"])
def test_a_failure_while_chunks_are_written_leaves_nothing(tmp_path, name):
    def chunks():  # the second chunk is written on the writer thread while this fails
        yield pd.DataFrame({"x": range(10)})
        yield pd.DataFrame({"x": range(10, 20)})
        raise RuntimeError("generation failed")

    with pytest.raises(RuntimeError, match="generation failed"):
        write_record_chunks(chunks(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError):  # a chunk the writer cannot write: its error, nothing left
        write_record_chunks([pd.DataFrame({"x": [1]}), pd.DataFrame({"x": ["text"]})],
                            tmp_path / "typed.parquet")
    assert list(tmp_path.iterdir()) == []


def test_images_are_written_as_one_set(tmp_path, digits):
    halves = [ImageSet(digits.images[:5], digits.labels[:5], digits.names[:5]),
              ImageSet(digits.images[5:10], digits.labels[5:10], digits.names[5:10])]
    assert write_record_chunks(halves, tmp_path / "out") == 10
    assert len(list((tmp_path / "out").rglob("*.png"))) == 10
    assert write_records(halves[0], tmp_path / "grid.png") == 5
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_a_file_is_sampled_by_whole_patients_when_the_subject_is_known(tmp_path):
    visits = pd.DataFrame({"patient": np.repeat(np.arange(400), 5), "day": np.tile(range(5), 400),
                           "value": np.arange(2000) / 7})
    path = tmp_path / "visits.csv"
    write_table(visits, path)
    records = read_records(path, max_rows=300, random_state=0, subject="patient")
    sizes = records.data.groupby("patient").size()
    assert len(records.data) == 300 and (sizes == 5).all()  # 60 whole patients
    assert records.provenance.rows == 2000 and records.provenance.statistics.rows == 2000
    again = read_records(path, max_rows=300, random_state=0, subject="patient")
    assert again.data.equals(records.data)
    other = read_records(path, max_rows=300, random_state=1, subject="patient")
    assert set(other.data["patient"]) != set(records.data["patient"])
    with pytest.raises(DataError, match="no column 'who' to sample patients by"):
        read_records(path, max_rows=300, subject="who")
