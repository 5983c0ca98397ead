"""Reading and writing tables (toolkit.io, toolkit.io.csvfiles), function by function: atomic
writes, path checks, errors, CSV dialects and typing, chunked reading and writing.
(test_roundtrip.py and test_trust.py cover whole-table round trips and the CLI.)"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from toolkit.exceptions import DataError, UsageError
from toolkit.io.csvfiles import Dialect, column_plan, convert_column, read_csv, sniff_dialect
from toolkit.io.tables import (
    atomic_path,
    atomic_write,
    check_distinct,
    check_writable,
    iter_table,
    read_table,
    table_writer,
    write_table,
    write_text,
)


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def names(folder: Path) -> list[str]:
    """Every entry of the folder, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


def labs() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3],
        "chol": [1.5, np.nan, 250.25],
        "zip": ["05401", "02134", np.nan],
        "count": pd.array([4, None, 6], dtype="Int64"),
        "flag": ["TRUE", "FALSE", "TRUE"],
    })


# atomic writes ----------------------------------------------------------------------------
def test_atomic_write_replaces_the_target_only_at_the_end(folder):
    (folder / "out.txt").write_text("old")
    with atomic_write("out.txt") as temporary:
        temporary.write_text("new")
        assert (folder / "out.txt").read_text() == "old"  # not yet
        assert temporary.parent == folder and temporary.name.startswith(".out.txt.")
    assert (folder / "out.txt").read_text() == "new" and names(folder) == ["out.txt"]


def test_an_error_inside_the_block_keeps_the_old_file_and_no_temporary(folder):
    (folder / "out.txt").write_text("old")
    with pytest.raises(RuntimeError, match="model failed"), atomic_write("out.txt") as temporary:
        temporary.write_text("half")
        raise RuntimeError("model failed")
    assert (folder / "out.txt").read_text() == "old" and names(folder) == ["out.txt"]


def test_an_error_before_any_file_existed_leaves_nothing(folder):
    with pytest.raises(KeyboardInterrupt), atomic_write("new.csv") as temporary:
        temporary.write_text("half")
        raise KeyboardInterrupt
    assert names(folder) == []


def test_an_os_error_while_writing_is_a_data_error_naming_the_file(folder):
    with pytest.raises(DataError, match=r"^cannot write new\.csv: No space left on device$"), \
            atomic_write("new.csv"):
        raise OSError(28, "No space left on device")
    assert names(folder) == []


def test_atomic_path_makes_an_empty_hidden_temporary_beside_the_target(folder):
    (folder / "sub").mkdir()
    target, temporary = atomic_path("sub/scores.csv")
    assert target == Path("sub/scores.csv")
    assert temporary.parent == folder / "sub" and temporary.stat().st_size == 0
    assert temporary.name.startswith(".scores.csv.") and temporary.suffix == ".tmp"


def test_write_text_writes_utf8_atomically(folder):
    write_text("report.txt", "quality \u2265 0.9\n")
    assert (folder / "report.txt").read_bytes() == "quality \u2265 0.9\n".encode()
    assert names(folder) == ["report.txt"]


def test_failed_table_writes_leave_no_file(folder):
    mixed = pd.DataFrame({"m": [1, "a"]})  # Arrow cannot type this column
    with pytest.raises(pa.ArrowException):
        write_table(mixed, "out.parquet")
    with pytest.raises(DataError), table_writer("chunks.parquet") as write:
        write(pd.DataFrame({"a": [1, 2]}))
        write(pd.DataFrame({"a": ["x"]}))  # not an int64 like the first chunk
    assert names(folder) == []


# path checks ------------------------------------------------------------------------------
def test_check_writable_accepts_a_new_file_in_the_current_folder(folder):
    assert check_writable("out.csv") == Path("out.csv")


@pytest.mark.parametrize("setup, path, message", [
    (lambda f: (f / "d.csv").mkdir(), "d.csv", "output d.csv is a folder; give the path of a "
                                               "file to write"),
    (lambda f: None, "missing/out.csv", "output folder does not exist: missing"),
    (lambda f: (f / "x.txt").write_text(""), "x.txt/out.csv",
     "output x.txt/out.csv: x.txt is not a folder"),
])
def test_check_writable_refuses_unwritable_paths_before_any_work(folder, setup, path, message):
    setup(folder)
    with pytest.raises(UsageError) as caught:
        check_writable(path)
    assert str(caught.value) == message


def test_check_writable_names_what_is_written(folder):
    (folder / "d.tkm").mkdir()
    with pytest.raises(UsageError, match=r"^--model-out d\.tkm is a folder"):
        check_writable("d.tkm", what="--model-out")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_writable_refuses_a_read_only_folder(folder):
    (folder / "ro").mkdir(mode=0o500)
    with pytest.raises(UsageError, match="the folder ro is not writable"):
        check_writable("ro/out.csv")


def test_check_distinct_refuses_an_output_that_is_an_input_by_any_path(folder):
    (folder / "data.csv").write_text("a\n1\n")
    os.symlink("data.csv", "link.csv")
    os.link("data.csv", "hard.csv")
    for alias in ("data.csv", "./data.csv", "link.csv", "hard.csv"):
        with pytest.raises(UsageError, match=rf"^--out {alias.lstrip('./')} is the input DATA;"):
            check_distinct({"DATA": Path("data.csv")}, {"--out": Path(alias)})
    assert (folder / "data.csv").read_text() == "a\n1\n"


def test_check_distinct_refuses_two_outputs_on_one_path_and_ignores_none(folder):
    check_distinct({"DATA": "data.csv", "--holdout": None},
                   {"--out": "a.csv", "--json": "b.json", "--report": None})
    (folder / "sub").mkdir()
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
def test_unreadable_tables_fail_with_one_line(folder, name, setup, error, message):
    setup(folder / name)
    with pytest.raises(error) as caught:
        read_table(name)
    assert str(caught.value) == message


def test_a_file_that_is_not_parquet_is_a_data_error(folder):
    (folder / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"^cannot read bad\.parquet: ") as caught:
        read_table("bad.parquet")
    assert "\n" not in str(caught.value)


def test_a_header_only_csv_is_a_table_without_rows(folder):
    (folder / "header.csv").write_text("a,b\n")
    table = read_table("header.csv")
    assert list(table.columns) == ["a", "b"] and len(table) == 0


def test_parquet_columns_of_lists_are_refused(folder):
    pd.DataFrame({"x": [[1, 2], [3]]}).to_parquet(folder / "nested.parquet")
    with pytest.raises(DataError, match="column 'x' of nested.parquet holds lists or records"):
        read_table("nested.parquet")


def test_extensions_are_case_insensitive_and_pq_is_parquet(folder):
    write_table(labs(), "T.CSV")
    write_table(labs(), "t.pq")
    assert read_table("T.CSV").shape == read_table("t.pq").shape == (3, 5)
    assert (folder / "t.pq").read_bytes()[:4] == b"PAR1"


# CSV typing -------------------------------------------------------------------------------
def test_csv_columns_get_the_narrowest_type_that_keeps_every_value(folder):
    (folder / "t.csv").write_text("id,chol,zip,count,flag,big,note\n"
                                  "1,1.5,05401,4,TRUE,99999999999999999999, a\n"
                                  "2,,02134,,FALSE,1,b\n"
                                  " 3 ,inf,10001,6,TRUE,2,NA\n")
    table = read_table("t.csv")
    assert table.dtypes.astype(str).to_dict() == {
        "id": "int64", "chol": "float64", "zip": "object", "count": "Int64", "flag": "object",
        "big": "object", "note": "object"}
    assert table["id"].tolist() == [1, 2, 3]
    assert table["zip"].tolist() == ["05401", "02134", "10001"]  # leading zeros kept
    assert table["flag"].tolist() == ["TRUE", "FALSE", "TRUE"]  # the file's own spelling
    assert table["big"].iloc[0] == "99999999999999999999"  # longer than int64: text
    assert table["note"].iloc[0] == " a" and pd.isna(table["note"].iloc[2])
    assert np.isinf(table["chol"].iloc[2]) and np.isnan(table["chol"].iloc[1])


@pytest.mark.parametrize("marker", ["", "NA", "n/a", "NULL", "null", "None", "NaN", "#N/A"])
def test_missing_markers_are_missing(folder, marker):
    (folder / "m.csv").write_text(f"x,y\n1,a\n{marker},b\n")
    table = read_table("m.csv")
    assert str(table["x"].dtype) == "Int64" and table["x"].isna().tolist() == [False, True]


@pytest.mark.parametrize("values, decimal, plan", [
    (["1", " 2", None], ".", "int"),
    (["-0", "-7"], ".", "int"),
    (["05401", "2"], ".", "text"),
    (["1.5", "-2e3", ".5", "3."], ".", "float"),
    (["inf", "-Infinity", "1"], ".", "float"),
    (["1,5", "2"], ",", "float"),
    (["1,5", "2"], ".", "text"),  # a comma is no decimal mark in a comma-separated file
    (["1.5", "x"], ".", "text"),
    ([None, None], ".", "text"),
])
def test_column_plans(values, decimal, plan):
    assert column_plan(pa.array(values, pa.string()), decimal) == plan


def test_whole_numbers_with_a_plus_sign_are_integers():
    assert column_plan(pa.array(["+7", "-3"])) == "int"
    assert convert_column(pa.array(["+7", " -3", None]), "int").tolist() == [7, -3, pd.NA]


def test_convert_column_builds_the_planned_pandas_type():
    assert convert_column(pa.array(["1", "2"]), "int").dtype == np.int64
    nullable = convert_column(pa.array(["1", None]), "int")
    assert str(nullable.dtype) == "Int64" and nullable.isna().tolist() == [False, True]
    assert convert_column(pa.array(["1,25", None]), "float", ",").tolist()[0] == 1.25
    text = convert_column(pa.array(["a", None]), "text")
    assert text.dtype == object and text.iloc[0] == "a" and pd.isna(text.iloc[1])
    all_missing = convert_column(pa.array([None, None], pa.string()), "int")
    assert all_missing.isna().all()  # a later chunk with no values fits any plan
    with pytest.raises(ValueError, match="^values that are not numbers$"):
        convert_column(pa.array(["x"]), "float")
    with pytest.raises(ValueError, match="^values that are not whole numbers$"):
        convert_column(pa.array(["1.5"]), "int")


# dialects ---------------------------------------------------------------------------------
@pytest.mark.parametrize("text, dialect", [
    ("a,b\n1,2.5\n", Dialect()),
    ("a;b\n1;2,5\n", Dialect(";", ",")),
    ("a;b\n1;2.5\n", Dialect(";", ".")),  # semicolons without decimal commas
    ("a\tb\n1\t2.5\n", Dialect("\t")),
    ("a|b\n1|x\n", Dialect("|")),
    ("only\n1\n2\n", Dialect()),  # one column: no delimiter to find
])
def test_the_dialect_is_sniffed_from_the_first_lines(folder, text, dialect):
    (folder / "t.csv").write_text(text)
    assert sniff_dialect(folder / "t.csv") == dialect


def test_a_windows_1252_export_is_read_as_such(folder):
    (folder / "t.csv").write_bytes("name;size\ncaf\xe9;1,5\nna\xefve;2\n".encode("cp1252"))
    table = read_csv(folder / "t.csv")
    assert table["name"].tolist() == ["caf\xe9", "na\xefve"]
    assert table["size"].tolist() == [1.5, 2.0]
    assert Dialect.of(table) == Dialect(";", ",", "cp1252")


def test_a_byte_order_mark_is_not_part_of_the_first_name(folder):
    (folder / "t.csv").write_bytes("\ufeffa,b\n1,2\n".encode())
    assert list(read_table("t.csv").columns) == ["a", "b"]


def test_a_long_file_is_sniffed_from_its_first_block_only(folder):
    body = "".join(f"{k};{k},5\n" for k in range(20000))  # well past SNIFF_BYTES
    (folder / "t.csv").write_text("n;x\n" + body)
    assert sniff_dialect(folder / "t.csv") == Dialect(";", ",")
    assert read_table("t.csv")["x"].iloc[-1] == 19999.5


@pytest.mark.parametrize("dialect", [Dialect(";", ","), Dialect("\t"), Dialect("|"),
                                     Dialect(";", ",", "cp1252")])
def test_tables_come_back_in_the_dialect_they_were_written_in(folder, dialect):
    table = labs()
    table["name"] = ["caf\xe9", "b", "c"]
    write_table(table, "t.csv", dialect)
    raw = (folder / "t.csv").read_bytes().decode(dialect.encoding)
    assert raw.splitlines()[0] == dialect.delimiter.join(table.columns)
    back = read_table("t.csv")
    assert Dialect.of(back) == dialect
    back.attrs = {}
    pd.testing.assert_frame_equal(back, table)


def test_write_table_defaults_to_the_dialect_the_table_was_read_in(folder):
    table = labs()
    table.attrs["csv"] = Dialect(";", ",").to_dict()
    write_table(table, "same.csv")
    write_table(table, "plain.csv", Dialect())  # an explicit dialect wins
    assert (folder / "same.csv").read_text().splitlines()[1] == "1;1,5;05401;4;TRUE"
    assert (folder / "plain.csv").read_text().splitlines()[1] == "1,1.5,05401,4,TRUE"


def test_dialect_descriptions_and_plain_data():
    assert Dialect().describe() == "','-separated, utf-8"
    assert Dialect("\t", encoding="cp1252").describe() == "tab-separated, cp1252"
    assert Dialect(";", ",").describe() == "';'-separated, decimal comma, utf-8"
    frame = pd.DataFrame()
    frame.attrs["csv"] = Dialect("|").to_dict()
    assert Dialect.of(frame) == Dialect("|") and Dialect.of(pd.DataFrame()) == Dialect()


# chunks -----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_chunks_add_up_to_the_whole_table(folder, suffix):
    table = pd.DataFrame({"n": np.arange(7), "x": np.arange(7) * 0.5,
                          "s": list("abcdefg")})
    write_table(table, f"t{suffix}")
    chunks = list(iter_table(f"t{suffix}", 3))
    assert [len(c) for c in chunks] == [3, 3, 1]
    whole = pd.concat(chunks, ignore_index=True)
    whole.attrs = {}
    pd.testing.assert_frame_equal(whole, table)


def test_csv_chunks_keep_the_first_chunks_types_and_dialect(folder):
    (folder / "t.csv").write_text("n;z\n1;007\n2;008\n;009\n4;010\n")
    chunks = list(iter_table("t.csv", 2))
    assert [str(c["n"].dtype) for c in chunks] == ["int64", "Int64"]
    assert all(Dialect.of(c) == Dialect(";") for c in chunks)
    assert chunks[1]["z"].tolist() == ["009", "010"]


@pytest.mark.parametrize("third", ["three", "3.5"])
def test_a_later_chunk_that_changes_type_names_the_column_and_row(folder, third):
    (folder / "t.csv").write_text(f"x,y\n1,a\n2,b\n{third},c\n")
    with pytest.raises(DataError, match=r"^column 'x' changes type after row 2: it holds values "
                                        r"that are not whole numbers below the rows"):
        list(iter_table("t.csv", 2))


def test_iter_table_checks_the_path_like_read_table(folder):
    with pytest.raises(DataError, match="input file not found: gone.parquet"):
        next(iter_table("gone.parquet", 10))


def test_table_writer_writes_one_header_in_the_first_chunks_dialect(folder):
    first = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})
    first.attrs["csv"] = Dialect(";", ",").to_dict()
    with table_writer("out.csv") as write:
        write(first)
        assert names(folder)[0].startswith(".out.csv.")  # nothing at the target yet
        write(pd.DataFrame({"a": [3], "b": [2.5]}))  # no attrs: the first chunk's dialect
    assert (folder / "out.csv").read_text() == "a;b\n1;0,5\n2;1,5\n3;2,5\n"
    assert names(folder) == ["out.csv"]


def test_table_writer_parquet_takes_the_first_chunks_schema(folder):
    with table_writer("out.parquet") as write:
        write(pd.DataFrame({"a": [1, 2], "b": [None, None]}))  # b unknown yet: text
        write(pd.DataFrame({"a": [3], "b": [4.5]}))
    back = read_table("out.parquet")
    assert back["a"].tolist() == [1, 2, 3] and back["b"].tolist() == [None, None, "4.5"]
    assert names(folder) == ["out.parquet"]


def test_table_writer_with_no_chunks_writes_an_empty_file(folder):
    with table_writer("out.csv"):
        pass
    assert (folder / "out.csv").read_text() == "" and names(folder) == ["out.csv"]
