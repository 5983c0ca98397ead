"""toolkit.io.csvfiles: CSV dialects sniffed and kept, narrowest column types, compressed files,
encodings, bytes that are not text, and a writer that writes what pandas writes."""

from __future__ import annotations

import gzip
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from helpers import CSV, PDF, RANDOM, every_kind_tables, run, zip_bytes
from hypothesis import given
from hypothesis import strategies as st

from toolkit.exceptions import DataError, InferenceWarning
from toolkit.io import iter_table, read_table, sample_table, write_table
from toolkit.io.csvfiles import (
    Dialect,
    column_plan,
    convert_column,
    read_csv,
    sniff_dialect,
    write_csv,
)

# from tests/test_io.py ----------------------------------------------------------------------




# CSV typing -------------------------------------------------------------------------------
def test_csv_columns_get_the_narrowest_type_that_keeps_every_value(workdir):
    (workdir / "t.csv").write_text("id,chol,zip,count,flag,big,note\n"
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
def test_missing_markers_are_missing(workdir, marker):
    (workdir / "m.csv").write_text(f"x,y\n1,a\n{marker},b\n")
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
def test_the_dialect_is_sniffed_from_the_first_lines(workdir, text, dialect):
    (workdir / "t.csv").write_text(text)
    assert sniff_dialect(workdir / "t.csv") == dialect


def test_a_windows_1252_export_is_read_as_such(workdir):
    (workdir / "t.csv").write_bytes("name;size\ncaf\xe9;1,5\nna\xefve;2\n".encode("cp1252"))
    table = read_csv(workdir / "t.csv")
    assert table["name"].tolist() == ["caf\xe9", "na\xefve"]
    assert table["size"].tolist() == [1.5, 2.0]
    assert Dialect.of(table) == Dialect(";", ",", "cp1252")


def test_a_byte_order_mark_is_not_part_of_the_first_name(workdir):
    (workdir / "t.csv").write_bytes("\ufeffa,b\n1,2\n".encode())
    assert list(read_table("t.csv").columns) == ["a", "b"]


def test_a_long_file_is_sniffed_from_its_first_block_only(workdir):
    body = "".join(f"{k};{k},5\n" for k in range(20000))  # well past SNIFF_BYTES
    (workdir / "t.csv").write_text("n;x\n" + body)
    assert sniff_dialect(workdir / "t.csv") == Dialect(";", ",")
    assert read_table("t.csv")["x"].iloc[-1] == 19999.5


def test_dialect_descriptions_and_plain_data():
    assert Dialect().describe() == "','-separated, utf-8"
    assert Dialect("\t", encoding="cp1252").describe() == "tab-separated, cp1252"
    assert Dialect(";", ",").describe() == "';'-separated, decimal comma, utf-8"
    frame = pd.DataFrame()
    frame.attrs["csv"] = Dialect("|").to_dict()
    assert Dialect.of(frame) == Dialect("|") and Dialect.of(pd.DataFrame()) == Dialect()


# from tests/test_roundtrip.py ---------------------------------------------------------------








@given(every_kind_tables())
def test_semicolon_files_round_trip_in_their_dialect(table):
    table.attrs["csv"] = {"delimiter": ";", "decimal": ",", "encoding": "utf-8"}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        write_table(table, path)
        assert path.read_text().splitlines()[0].count(";") == table.shape[1] - 1
        back = read_table(path)
    if table["measure"].dropna().map(float.is_integer).all():
        return  # no decimal comma to see: the file reads back as comma-separated numbers too
    assert back.attrs["csv"]["delimiter"] == ";"
    back.attrs, table.attrs = {}, {}
    pd.testing.assert_frame_equal(back, table, check_exact=False, rtol=1e-12)


# from tests/test_score_throughput.py --------------------------------------------------------


# the CSV writer ------------------------------------------------------------------------------
def pandas_csv(frame: pd.DataFrame, path: Path, dialect: Dialect, header: bool = True,
               mode: str = "w") -> bytes:
    frame.to_csv(path, index=False, header=header, mode=mode, sep=dialect.delimiter,
                 decimal=dialect.decimal, encoding=dialect.encoding)
    return path.read_bytes()


TEXT = st.one_of(st.none(), st.text(alphabet=st.characters(codec="cp1252",
                                                            exclude_categories=["Cs"]),
                                    max_size=8),
                 st.sampled_from(["a,b", 'say "hi"', "two\nlines", "cr\rhere", ";", "|", "\t",
                                  "", " ", "NA", "é€"]))


FLOATS = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0.0, -0.0, 1e16, 1e15, 123.0, 0.1, 1e-5, -2.5e300]))


@st.composite
def frames(draw):
    n = draw(st.integers(1, 12))
    columns = {
        "ints": st.lists(st.integers(-2**63, 2**63 - 1), min_size=n, max_size=n),
        "floats": st.lists(FLOATS, min_size=n, max_size=n),
        "text": st.lists(TEXT, min_size=n, max_size=n),
        "flags": st.lists(st.booleans(), min_size=n, max_size=n),
        "nullable": st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=n,
                             max_size=n),
        "mixed": st.lists(st.one_of(st.none(), st.integers(-5, 5), st.floats(-1, 1),
                                    st.booleans(), TEXT), min_size=n, max_size=n),
    }
    chosen = draw(st.lists(st.sampled_from(sorted(columns)), min_size=1, max_size=6))
    frame = {}
    for i, kind in enumerate(chosen):
        values = draw(columns[kind])
        name = draw(st.sampled_from([f"{kind}{i}", f"col,{i}", f'q"{i}', f"é {i}"]))
        if kind == "ints":
            frame[name] = pd.Series(values, dtype=np.int64)
        elif kind == "floats":
            frame[name] = pd.Series(values, dtype=np.float64)
        elif kind == "flags":
            frame[name] = pd.Series(values, dtype=bool)
        elif kind == "nullable":
            frame[name] = pd.Series(values, dtype="Int64")
        else:
            frame[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(frame)


@given(frame=frames(), delimiter=st.sampled_from([",", ";", "\t", "|"]),
       encoding=st.sampled_from(["utf-8", "cp1252"]), header=st.booleans())
def test_write_csv_writes_what_pandas_writes_byte_for_byte(tmp_path_factory, frame, delimiter,
                                                           encoding, header):
    folder = tmp_path_factory.mktemp("csv")
    dialect = Dialect(delimiter, ".", encoding)
    try:
        expected = pandas_csv(frame, folder / "pandas.csv", dialect, header)
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            write_csv(frame, folder / "ours.csv", dialect, header)
        return
    write_csv(frame, folder / "ours.csv", dialect, header)
    assert (folder / "ours.csv").read_bytes() == expected


def test_write_csv_appends_like_pandas(tmp_path):
    first = pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [0.5, np.nan]})
    second = pd.DataFrame({"a": [3], "b": ["y,z"], "c": [1e20]})
    pandas_csv(first, tmp_path / "p.csv", Dialect())
    expected = pandas_csv(second, tmp_path / "p.csv", Dialect(), header=False, mode="a")
    write_csv(first, tmp_path / "o.csv")
    write_csv(second, tmp_path / "o.csv", header=False, mode="a")
    assert (tmp_path / "o.csv").read_bytes() == expected


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"when": pd.to_datetime(["2013-01-01", None]), "x": [1, 2]}),
    pd.DataFrame({"level": pd.Categorical(["a", None]), "x": [1, 2]}),
    pd.DataFrame({"x": np.array([0.1, 2.0], dtype=np.float32), "y": [1, 2]}),
    pd.DataFrame({"only": ["", None, "a"]}),
    pd.DataFrame({"x": [], "y": []}),
])
def test_types_it_does_not_cover_are_written_by_pandas(tmp_path, frame):
    write_csv(frame, tmp_path / "o.csv", Dialect(";", ","))
    assert (tmp_path / "o.csv").read_bytes() == pandas_csv(frame, tmp_path / "p.csv",
                                                           Dialect(";", ","))
    write_csv(frame, tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_bytes() == pandas_csv(frame, tmp_path / "p.csv", Dialect())


# the CSV reader's checks of later chunks ------------------------------------------------------
@pytest.mark.parametrize("text, plan", [
    (["1", "-2", "30"], "int"), (["-0", "+7", " 2 ", None], "int"), (["05", "1"], "text"),
    (["00"], "text"), (["99999999999999999999", "1"], "text"), (["1", "1.5"], "float"),
    (["1", "nan"], "text"), (["1e3", "-inf", "Infinity"], "float"), (["05.5"], "text"),
])
def test_whole_numbers_are_told_apart_as_before(text, plan):
    import pyarrow as pa

    from toolkit.io.csvfiles import column_plan

    assert column_plan(pa.array(text, pa.string())) == plan


@pytest.mark.parametrize("later", [["05"], ["1.5"], ["99999999999999999999"], ["x"]])
def test_a_later_chunk_that_is_not_whole_numbers_is_refused(later):
    import pyarrow as pa

    from toolkit.io.csvfiles import convert_column

    with pytest.raises(ValueError, match="not whole numbers"):
        convert_column(pa.array(["1", *later], pa.string()), "int")


def test_whole_numbers_keep_their_values_with_signs_and_blanks():
    import pyarrow as pa

    from toolkit.io.csvfiles import convert_column

    values = convert_column(pa.chunked_array([["-0", "+7"], [" 2 ", None]]), "int")
    assert values.tolist() == [0, 7, 2, pd.NA] and str(values.dtype) == "Int64"
    text = convert_column(pa.chunked_array([["a", None], ["b"]]), "text")
    assert text.dtype == object and text.iloc[0] == "a" and np.isnan(text.iloc[1])


@pytest.mark.parametrize("scale", [1e-6, 1e-4, 1e-2, 1.0, 1e3, 1e8, 1e9, 1e12, 1e17])
def test_write_csv_spells_floats_of_every_size_as_pandas(tmp_path, scale):
    rng = np.random.default_rng(0)
    values = np.r_[rng.normal(size=2000) * scale, np.round(rng.normal(size=200) * scale),
                   [scale, -scale, np.nextafter(scale, 0), np.nextafter(scale, np.inf)]]
    frame = pd.DataFrame({"x": values, "y": -values})
    write_csv(frame, tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_bytes() == pandas_csv(frame, tmp_path / "p.csv", Dialect())


# from tests/test_trust_files.py -------------------------------------------------------------


def compressed(data: bytes, codec: str) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, codec) as stream:
        stream.write(data)
    return sink.getvalue().to_pybytes()


# compressed CSV ------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix, codec", [(".gz", "gzip"), (".bz2", "bz2"), (".zst", "zstd"),
                                           (".lz4", "lz4"), (".br", "brotli")])
def test_a_compressed_csv_is_read_as_the_csv_it_holds(workdir, patients_csv, suffix, codec):
    plain = read_table(patients_csv)
    path = workdir / f"patients.csv{suffix}"
    path.write_bytes(compressed(patients_csv.read_bytes(), codec))
    table = read_table(path)
    assert table.equals(plain) and table.attrs == plain.attrs
    streamed = pd.concat(iter_table(path, 100), ignore_index=True)
    assert streamed.equals(pd.concat(iter_table(patients_csv, 100), ignore_index=True))
    sample, rows = sample_table(path, 50, seed=0, chunk_rows=64)
    expected, _ = sample_table(patients_csv, 50, seed=0, chunk_rows=64)
    assert rows == len(plain) and sample.equals(expected)


# bytes that are not text ---------------------------------------------------------------------








@pytest.mark.parametrize("content, words", [
    (gzip.compress(CSV, mtime=0), "it looks gzip-compressed (rename it data.csv.gz)"),
    (compressed(CSV, "bz2"), "it looks bz2-compressed (rename it data.csv.bz2)"),
    (compressed(CSV, "zstd"), "it looks zstd-compressed (rename it data.csv.zst)"),
    (zip_bytes(), "it looks like a zip archive (an Excel .xlsx workbook is one: save the sheet "
                  "as CSV)"),
    (PDF, "it looks like a PDF document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500),
     "it looks like an Excel .xls workbook or another Office file (save the sheet as CSV)"),
    (b"PAR1\x15\x04\x15\x00" + bytes(100), "it looks like a Parquet file (rename it data.parquet)"),
    ("id,age\n1,50\n".encode("utf-16"), "it is UTF-16 text, which is not read (save it as UTF-8 "
                                        "CSV)"),
    (RANDOM, "it looks like binary data"),
    (CSV + bytes(100), "it looks like binary data"),
])
def test_bytes_that_are_not_text_fail_in_one_line_saying_what_they_look_like(workdir, content,
                                                                             words):
    Path("data.csv").write_bytes(content)
    for read in (read_table, lambda path: next(iter_table(path, 10))):
        with pytest.raises(DataError) as caught:
            read("data.csv")
        assert str(caught.value) == f"data.csv is not a text CSV: {words}"


@pytest.mark.parametrize("name, content, message", [
    ("data.csv.gz", CSV, "data.csv.gz is not gzip-compressed: it looks like plain text (rename "
                         "it data.csv)"),
    ("data.csv.gz", compressed(CSV, "bz2"), "data.csv.gz is not gzip-compressed: it looks "
                                            "bz2-compressed (rename it data.csv.bz2)"),
    ("data.csv.zst", gzip.compress(PDF, mtime=0), "data.csv.zst is not zstd-compressed: it "
                                                  "looks gzip-compressed (rename it data.csv.gz)"),
    ("data.csv.gz", gzip.compress(PDF, mtime=0), "data.csv.gz is not a text CSV: it looks like a "
                                                 "PDF document"),
    ("data.csv.gz", b"", "data.csv.gz is empty"),
])
def test_a_compressed_name_over_other_bytes_fails_in_one_line(workdir, name, content, message):
    Path(name).write_bytes(content)
    with pytest.raises(DataError) as caught:
        read_table(name)
    assert str(caught.value) == message


def test_a_windows_1252_file_is_read_and_a_stray_byte_after_the_first_lines_is_named(workdir):
    rows = "".join(f"{i},café {i % 7}\n" for i in range(20000))
    Path("notes.csv").write_bytes(("id,note\n" + rows).encode("cp1252"))
    table = read_table("notes.csv")
    assert table.attrs["csv"]["encoding"] == "cp1252" and table["note"].iloc[1] == "café 1"
    assert pd.concat(iter_table("notes.csv", 3000), ignore_index=True).equals(table)
    Path("notes.csv").write_bytes(("id,note\n" + rows).encode("cp1252") + b"1,\x90\n")
    offset = len(("id,note\n" + rows).encode("cp1252")) + 2
    for read in (read_table, lambda path: list(iter_table(path, 3000))):
        with pytest.raises(DataError) as caught:
            read("notes.csv")
        assert str(caught.value) == ("notes.csv is not a text CSV: it looks like binary data "
                                     f"(byte {offset:,} is not cp1252 text)")


# unnamed empty columns -----------------------------------------------------------------------
def test_empty_columns_without_a_name_are_dropped_with_a_warning(workdir):
    Path("export.csv").write_text("id,age,,\n1,50,,\n2,61,, \n3,70,,\n")
    with pytest.warns(InferenceWarning, match=r"dropped 2 empty column\(s\) without a name in "
                                              r"the header of export\.csv \(field\(s\) 3, 4\)"):
        table = read_table("export.csv")
    assert table.to_dict("list") == {"id": [1, 2, 3], "age": [50, 61, 70]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InferenceWarning)
        chunks = list(iter_table("export.csv", 2))
    assert pd.concat(chunks, ignore_index=True).equals(table)
    result = run("metadata", "export.csv", "--out", "meta.yaml")
    assert result.exit_code == 0, result.output
    assert "Warning: dropped 2 empty column(s) without a name" in result.output


def test_a_column_without_a_name_that_holds_values_is_an_error(workdir):
    Path("export.csv").write_text("id,age,\n" + "".join(f"{i},50,\n" for i in range(10))
                                  + "10,51,x\n")
    for read in (read_table, lambda path: list(iter_table(path, 3))):
        with pytest.raises(DataError, match=r"^export\.csv has a column without a name in its "
                                            "header$"), warnings.catch_warnings():
            warnings.simplefilter("ignore", InferenceWarning)  # the first chunks' is empty
            read("export.csv")


@pytest.mark.parametrize("columns", [["n", "note"], ["note"]])  # the fast path, pandas
def test_write_csv_writes_what_pandas_writes_with_crlf_and_a_byte_order_mark(tmp_path, columns):
    frame = pd.DataFrame({"n": [1, 2, 3], "note": ["a\rb", 'say "hi"', "two\nlines"]})[columns]
    write_csv(frame, tmp_path / "ours.csv", Dialect(bom=True, line_end="\r\n"))
    frame.to_csv(tmp_path / "pandas.csv", index=False, lineterminator="\r\n",
                 encoding="utf-8-sig")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
    more = frame.head(1)
    write_csv(more, tmp_path / "ours.csv", Dialect(bom=True, line_end="\r\n"), header=False,
              mode="a")  # appended chunks get no second mark
    more.to_csv(tmp_path / "pandas.csv", index=False, header=False, mode="a",
                lineterminator="\r\n")
    assert (tmp_path / "ours.csv").read_bytes() == (tmp_path / "pandas.csv").read_bytes()
