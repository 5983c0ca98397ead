"""toolkit.io.tables: atomic writes, path checks, tables read and written by suffix, chunked
reading and writing, streamed uniform samples and Parquet folders."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from helpers import every_kind_tables
from hypothesis import given
from hypothesis import strategies as st

from toolkit.adapters import TabularAdapter
from toolkit.exceptions import DataError, UsageError
from toolkit.io import count_rows, read_table, sample_table, write_table
from toolkit.io.csvfiles import Dialect
from toolkit.io.records import domain_of
from toolkit.io.tables import (
    atomic_path,
    atomic_write,
    check_distinct,
    check_writable,
    iter_table,
    table_writer,
    write_text,
)

# from tests/test_big_tables.py --------------------------------------------------------------


@pytest.fixture
def counts(tmp_path: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"row": np.arange(5000), "code": rng.choice(["01", "02", "10"], 5000),
                         "value": rng.normal(size=5000).round(3)})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_streamed_sample_is_uniform_bounded_and_in_file_order(tmp_path, counts, suffix):
    path = tmp_path / f"counts{suffix}"
    write_table(counts, path)
    sample, rows = sample_table(path, 500, seed=3, chunk_rows=256)
    assert rows == 5000 and len(sample) == 500
    assert sample["row"].is_monotonic_increasing and sample["row"].is_unique
    assert sample["code"].tolist()[:5] == counts.set_index("row").loc[sample["row"][:5], "code"
                                                                     ].tolist()
    # uniform: each tenth of the file holds about a tenth of the sample
    per_tenth = np.bincount(sample["row"].to_numpy() // 500, minlength=10)
    assert per_tenth.min() > 25 and per_tenth.max() < 80
    again, _ = sample_table(path, 500, seed=3, chunk_rows=256)
    pd.testing.assert_frame_equal(sample, again)
    other, _ = sample_table(path, 500, seed=4, chunk_rows=256)
    assert not other["row"].equals(sample["row"])


def test_a_streamed_csv_sample_keeps_the_dialect_and_leading_zeros(tmp_path, counts):
    path = tmp_path / "counts.csv"
    path.write_text(counts.to_csv(index=False, sep=";", decimal=","))
    sample, _ = sample_table(path, 100, seed=0, chunk_rows=64)
    assert sample.attrs["csv"]["delimiter"] == ";" and sample.attrs["csv"]["decimal"] == ","
    assert set(sample["code"]) <= {"01", "02", "10"} and sample["value"].dtype == float


def test_a_table_within_the_bound_is_read_whole(tmp_path, counts):
    path = tmp_path / "counts.parquet"
    write_table(counts, path)
    sample, rows = sample_table(path, 5000, seed=0)
    pd.testing.assert_frame_equal(sample, counts)
    assert rows == 5000


def test_a_folder_of_parquet_parts_is_one_table(tmp_path, counts):
    folder = tmp_path / "parts"
    folder.mkdir()
    for i, part in enumerate(np.array_split(counts, 3)):
        write_table(part, folder / f"part-{i:05d}.parquet")
    (folder / "_SUCCESS").write_text("")  # what Spark leaves beside its parts
    assert domain_of(folder) is TabularAdapter
    assert count_rows(folder) == 5000
    pd.testing.assert_frame_equal(read_table(folder), counts)
    sample, rows = sample_table(folder, 300, seed=0, chunk_rows=128)
    assert rows == 5000 and len(sample) == 300


# from tests/test_io.py ----------------------------------------------------------------------




def names(workdir: Path) -> list[str]:
    """Every entry of the folder, hidden temporary files included."""
    return sorted(p.name for p in workdir.iterdir())


def labs() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3],
        "chol": [1.5, np.nan, 250.25],
        "zip": ["05401", "02134", np.nan],
        "count": pd.array([4, None, 6], dtype="Int64"),
        "flag": ["TRUE", "FALSE", "TRUE"],
    })


# atomic writes ----------------------------------------------------------------------------
def test_atomic_write_replaces_the_target_only_at_the_end(workdir):
    (workdir / "out.txt").write_text("old")
    with atomic_write("out.txt") as temporary:
        temporary.write_text("new")
        assert (workdir / "out.txt").read_text() == "old"  # not yet
        assert temporary.parent == workdir and temporary.name.startswith(".out.txt.")
    assert (workdir / "out.txt").read_text() == "new" and names(workdir) == ["out.txt"]


def test_an_error_inside_the_block_keeps_the_old_file_and_no_temporary(workdir):
    (workdir / "out.txt").write_text("old")
    with pytest.raises(RuntimeError, match="model failed"), atomic_write("out.txt") as temporary:
        temporary.write_text("half")
        raise RuntimeError("model failed")
    assert (workdir / "out.txt").read_text() == "old" and names(workdir) == ["out.txt"]


def test_an_error_before_any_file_existed_leaves_nothing(workdir):
    with pytest.raises(KeyboardInterrupt), atomic_write("new.csv") as temporary:
        temporary.write_text("half")
        raise KeyboardInterrupt
    assert names(workdir) == []


def test_an_os_error_while_writing_is_a_data_error_naming_the_file(workdir):
    with pytest.raises(DataError, match=r"^cannot write new\.csv: No space left on device$"), \
            atomic_write("new.csv"):
        raise OSError(28, "No space left on device")
    assert names(workdir) == []


def test_atomic_path_makes_an_empty_hidden_temporary_beside_the_target(workdir):
    (workdir / "sub").mkdir()
    target, temporary = atomic_path("sub/scores.csv")
    assert target == Path("sub/scores.csv")
    assert temporary.parent == workdir / "sub" and temporary.stat().st_size == 0
    assert temporary.name.startswith(".scores.csv.") and temporary.suffix == ".tmp"


def test_write_text_writes_utf8_atomically(workdir):
    write_text("report.txt", "quality \u2265 0.9\n")
    assert (workdir / "report.txt").read_bytes() == "quality \u2265 0.9\n".encode()
    assert names(workdir) == ["report.txt"]


def test_failed_table_writes_leave_no_file(workdir):
    mixed = pd.DataFrame({"m": [1, "a"]})  # Arrow cannot type this column
    with pytest.raises(pa.ArrowException):
        write_table(mixed, "out.parquet")
    with pytest.raises(DataError), table_writer("chunks.parquet") as write:
        write(pd.DataFrame({"a": [1, 2]}))
        write(pd.DataFrame({"a": ["x"]}))  # not an int64 like the first chunk
    assert names(workdir) == []


# path checks ------------------------------------------------------------------------------
def test_check_writable_accepts_a_new_file_in_the_current_folder(workdir):
    assert check_writable("out.csv") == Path("out.csv")


@pytest.mark.parametrize("setup, path, message", [
    (lambda f: (f / "d.csv").mkdir(), "d.csv", "output d.csv is a folder; give the path of a "
                                               "file to write"),
    (lambda f: None, "missing/out.csv", "output folder does not exist: missing"),
    (lambda f: (f / "x.txt").write_text(""), "x.txt/out.csv",
     "output x.txt/out.csv: x.txt is not a folder"),
])
def test_check_writable_refuses_unwritable_paths_before_any_work(workdir, setup, path, message):
    setup(workdir)
    with pytest.raises(UsageError) as caught:
        check_writable(path)
    assert str(caught.value) == message


def test_check_writable_names_what_is_written(workdir):
    (workdir / "d.tkm").mkdir()
    with pytest.raises(UsageError, match=r"^--model-out d\.tkm is a folder"):
        check_writable("d.tkm", what="--model-out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_writable_refuses_a_read_only_folder(workdir):
    (workdir / "ro").mkdir(mode=0o500)
    with pytest.raises(UsageError, match="the folder ro is not writable"):
        check_writable("ro/out.csv")


def test_check_distinct_refuses_an_output_that_is_an_input_by_any_path(workdir):
    (workdir / "data.csv").write_text("a\n1\n")
    os.symlink("data.csv", "link.csv")
    os.link("data.csv", "hard.csv")
    for alias in ("data.csv", "./data.csv", "link.csv", "hard.csv"):
        with pytest.raises(UsageError, match=rf"^--out {alias.lstrip('./')} is the input DATA;"):
            check_distinct({"DATA": Path("data.csv")}, {"--out": Path(alias)})
    assert (workdir / "data.csv").read_text() == "a\n1\n"


def test_check_distinct_refuses_two_outputs_on_one_path_and_ignores_none(workdir):
    check_distinct({"DATA": "data.csv", "--holdout": None},
                   {"--out": "a.csv", "--json": "b.json", "--report": None})
    (workdir / "sub").mkdir()
    with pytest.raises(UsageError, match=r"^--json and --out are the same file sub/\.\./a\.csv; "
                                         "give each output its own path$"):
        check_distinct({}, {"--out": "a.csv", "--json": "sub/../a.csv"})


# reading errors ---------------------------------------------------------------------------
@pytest.mark.parametrize("name, setup, error, message", [
    ("table.txt", lambda p: p.write_text("a\n1\n"), UsageError,
     "cannot tell the format of table.txt: use a file ending in .csv, .parquet, .pq"),
    ("missing.csv", lambda p: None, DataError, "input file not found: missing.csv"),
    ("dir.csv", lambda p: p.mkdir(), DataError,
     "dir.csv is a folder without Parquet files, not a table"),
    ("empty.csv", lambda p: p.write_text(""), DataError, "empty.csv is empty"),
    ("dup.csv", lambda p: p.write_text("a,b,a\n1,2,3\n"), DataError,
     "dup.csv has duplicate column names: ['a']"),
    ("blank.csv", lambda p: p.write_text("a,,c\n1,2,3\n"), DataError,
     "blank.csv has a column without a name in its header"),
    ("ragged.csv", lambda p: p.write_text("a,b\n1,2,3\n4,5\n"), DataError,
     "cannot tell the delimiter of ragged.csv: its lines have different numbers of fields "
     "with every candidate (',', ';', tab, '|')"),
])
def test_unreadable_tables_fail_with_one_line(workdir, name, setup, error, message):
    setup(workdir / name)
    with pytest.raises(error) as caught:
        read_table(name)
    assert str(caught.value) == message


def test_a_file_that_is_not_parquet_is_a_data_error(workdir):
    (workdir / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"^cannot read bad\.parquet: ") as caught:
        read_table("bad.parquet")
    assert "\n" not in str(caught.value)


def test_a_header_only_csv_is_a_table_without_rows(workdir):
    (workdir / "header.csv").write_text("a,b\n")
    table = read_table("header.csv")
    assert list(table.columns) == ["a", "b"] and len(table) == 0


def test_parquet_columns_of_lists_are_refused(workdir):
    pd.DataFrame({"x": [[1, 2], [3]]}).to_parquet(workdir / "nested.parquet")
    with pytest.raises(DataError, match="column 'x' of nested.parquet holds lists or records"):
        read_table("nested.parquet")


def test_extensions_are_case_insensitive_and_pq_is_parquet(workdir):
    write_table(labs(), "T.CSV")
    write_table(labs(), "t.pq")
    assert read_table("T.CSV").shape == read_table("t.pq").shape == (3, 5)
    assert (workdir / "t.pq").read_bytes()[:4] == b"PAR1"


@pytest.mark.parametrize("dialect", [Dialect(";", ","), Dialect("\t"), Dialect("|"),
                                     Dialect(";", ",", "cp1252")])
def test_tables_come_back_in_the_dialect_they_were_written_in(workdir, dialect):
    table = labs()
    table["name"] = ["caf\xe9", "b", "c"]
    write_table(table, "t.csv", dialect)
    raw = (workdir / "t.csv").read_bytes().decode(dialect.encoding)
    assert raw.splitlines()[0] == dialect.delimiter.join(table.columns)
    back = read_table("t.csv")
    assert Dialect.of(back) == dialect
    back.attrs = {}
    pd.testing.assert_frame_equal(back, table)


def test_write_table_defaults_to_the_dialect_the_table_was_read_in(workdir):
    table = labs()
    table.attrs["csv"] = Dialect(";", ",").to_dict()
    write_table(table, "same.csv")
    write_table(table, "plain.csv", Dialect())  # an explicit dialect wins
    assert (workdir / "same.csv").read_text().splitlines()[1] == "1;1,5;05401;4;TRUE"
    assert (workdir / "plain.csv").read_text().splitlines()[1] == "1,1.5,05401,4,TRUE"


# chunks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunks_add_up_to_the_whole_table(workdir, suffix):
    table = pd.DataFrame({"n": np.arange(7), "x": np.arange(7) * 0.5,
                          "s": list("abcdefg")})
    write_table(table, f"t{suffix}")
    chunks = list(iter_table(f"t{suffix}", 3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    whole = pd.concat(chunks, ignore_index=True)
    whole.attrs = {}
    pd.testing.assert_frame_equal(whole, table)


def test_csv_chunks_keep_the_first_chunks_types_and_dialect(workdir):
    (workdir / "t.csv").write_text("n;z\n1;007\n2;008\n;009\n4;010\n")
    chunks = list(iter_table("t.csv", 2))
    assert [str(c["n"].dtype) for c in chunks] == ["int64", "Int64"]
    assert all(Dialect.of(c) == Dialect(";") for c in chunks)
    assert chunks[1]["z"].tolist() == ["009", "010"]


@pytest.mark.parametrize("third", ["three", "3.5"])
def test_a_later_chunk_that_changes_type_names_the_column_and_row(workdir, third):
    (workdir / "t.csv").write_text(f"x,y\n1,a\n2,b\n{third},c\n")
    with pytest.raises(DataError, match=r"^column 'x' changes type after row 2: it holds values "
                                        r"that are not whole numbers below the rows"):
        list(iter_table("t.csv", 2))


def test_iter_table_checks_the_path_like_read_table(workdir):
    with pytest.raises(DataError, match="input file not found: gone.parquet"):
        next(iter_table("gone.parquet", 10))


def test_table_writer_writes_one_header_in_the_first_chunks_dialect(workdir):
    first = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    first.attrs["csv"] = Dialect(";", ",").to_dict()
    with table_writer("out.csv") as write:
        write(first)
        assert names(workdir)[0].startswith(".out.csv.")  # nothing at the target yet
        write(pd.DataFrame({"a": [3], "b": [2.5]}))  # no attrs: the first chunk's dialect
    assert (workdir / "out.csv").read_text() == "a;b\n1;0,5\n2;1,5\n3;2,5\n"
    assert names(workdir) == ["out.csv"]


def test_table_writer_parquet_takes_the_first_chunks_schema(workdir):
    with table_writer("out.parquet") as write:
        write(pd.DataFrame({"a": [1, 2], "b": [None, None]}))  # b unknown yet: text
        write(pd.DataFrame({"a": [3], "b": [4.5]}))
    back = read_table("out.parquet")
    assert back["a"].tolist() == [1, 2, 3] and back["b"].tolist() == [None, None, "4.5"]
    assert names(workdir) == ["out.parquet"]


def test_table_writer_with_no_chunks_writes_an_empty_file(workdir):
    with table_writer("out.csv"):
        pass
    assert (workdir / "out.csv").read_text() == "" and names(workdir) == ["out.csv"]


# from tests/test_roundtrip.py ---------------------------------------------------------------








@given(every_kind_tables(), st.sampled_from([".csv", ".parquet"]))
def test_every_kind_survives_the_file_round_trip(table, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"t{suffix}"
        write_table(table, path)
        back = read_table(path)
    back.attrs = {}
    pd.testing.assert_frame_equal(back, table, check_exact=False, rtol=1e-12)
