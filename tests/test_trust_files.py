"""Files that are not what their name says, and scores that do not depend on chunks (issue 32):
compressed CSV read, bytes that are not text refused in one line, no command ended by a
signal, scored rows typed by the model, unnamed empty columns dropped, byte order marks and
line ends kept, floats with all their decimals."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import textwrap
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from click.testing import CliRunner

from toolkit import AnomalyDetector
from toolkit.adapters.tabular import TabularAdapter
from toolkit.cli import cli
from toolkit.exceptions import DataError, InferenceWarning, UsageError
from toolkit.io import iter_table, read_table, sample_table, write_table
from toolkit.io.csvfiles import Dialect, write_csv


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def one_error_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def compressed(data: bytes, codec: str) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.CompressedOutputStream(sink, codec) as stream:
        stream.write(data)
    return sink.getvalue().to_pybytes()


@pytest.fixture(scope="module")
def detector_file(tmp_path_factory, _patients_frame) -> Path:
    path = tmp_path_factory.mktemp("detector") / "d.tkm"
    AnomalyDetector(config="fast", epochs=2, random_state=0).fit(_patients_frame).save(path)
    return path


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


def test_score_reads_a_gzipped_csv_and_refuses_to_write_one(workdir, patients_csv,
                                                            detector_file):
    Path("patients.csv.gz").write_bytes(gzip.compress(patients_csv.read_bytes()))
    for data, out in (("patients.csv.gz", "from_gz.csv"), (patients_csv, "from_csv.csv")):
        result = run("score", data, "--model", detector_file, "--out", out, "-q")
        assert result.exit_code == 0, result.output
    assert Path("from_gz.csv").read_bytes() == Path("from_csv.csv").read_bytes()
    result = run("score", "patients.csv.gz", "--model", detector_file, "--out", "s.csv.gz")
    assert result.exit_code == 2 and "s.csv.gz" in one_error_line(result)
    with pytest.raises(UsageError, match=r"^cannot write out\.csv\.gz: compressed CSV files are "
                                         "read, not written"):
        write_table(read_table("patients.csv.gz"), "out.csv.gz")
    assert sorted(p.name for p in workdir.iterdir()) == ["from_csv.csv", "from_gz.csv",
                                                          "patients.csv.gz"]


# bytes that are not text ---------------------------------------------------------------------
def zip_bytes() -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("sheet.csv", "a,b\n1,2\n")
    return sink.getvalue()


PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
RANDOM = np.random.default_rng(0).bytes(5000)
CSV = b"id,age\n1,50\n2,61\n"


@pytest.mark.parametrize("content, words", [
    (gzip.compress(CSV), "it looks gzip-compressed (rename it data.csv.gz)"),
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
    ("data.csv.zst", gzip.compress(PDF), "data.csv.zst is not zstd-compressed: it looks "
                                         "gzip-compressed (rename it data.csv.gz)"),
    ("data.csv.gz", gzip.compress(PDF), "data.csv.gz is not a text CSV: it looks like a PDF "
                                        "document"),
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


# no command ends by a signal -----------------------------------------------------------------
#: runs each command line of argv[1] (JSON) in a child forked from one interpreter that has
#: imported the toolkit once, so that each child exits through Python's own shutdown (where
#: a background thread still at work would abort it) at a fraction of a fresh start's cost
#: (frozen, the imported objects are not collected again by every child)
FORK_RUNNER = textwrap.dedent("""
    import gc, json, os, sys
    import pandas, pyarrow.csv, sklearn.ensemble, torch  # imported once, shared by the children
    import toolkit.cli, toolkit.models.detector, toolkit.models.synthesizer, toolkit.evaluate.report
    gc.freeze()
    results = []
    for number, args in enumerate(json.loads(sys.argv[1])):
        log = f"case-{number}.log"
        sys.stdout.flush(); sys.stderr.flush()
        child = os.fork()
        if child == 0:
            output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(output, 1); os.dup2(output, 2)
            sys.argv = ["toolkit", *args]
            toolkit.cli.main()
            sys.exit(0)
        _, status = os.waitpid(child, 0)
        with open(log) as text:
            results.append([os.waitstatus_to_exitcode(status), text.read()])
    print(json.dumps(results))
""")

BAD_BYTES = {"random": RANDOM, "gzip": gzip.compress(CSV * 50), "zip": zip_bytes(), "pdf": PDF}


def command_lines(table: str, model: str, good_csv: str, synthesizer: str,
                  detector: str) -> list[list[str]]:
    """Every command that reads a table or a model, once with ``table`` or ``model`` bad."""
    train = ["--config", "fast", "--epochs", "1", "--seed", "0", "-q"]
    return [
        ["synth", table, "--out", "o.csv", *train],
        ["fit", table, "--model-out", "m.tkm", *train],
        ["fit", table, "--task", "detect", "--model-out", "m.tkm", *train],
        ["score", table, "--model", detector, "--out", "o.csv"],
        ["score", good_csv, "--model", model, "--out", "o.csv"],
        ["sample", model, "--rows", "5", "--out", "o.csv"],
        ["report", table, good_csv, "--out", "r.html"],
        ["report", good_csv, table, "--out", "r.html"],
        ["compare", table, "--out", "c.html"],
        ["info", model],
        ["metadata", table, "--out", "m.yaml"],
        ["encode", table, "--model", synthesizer, "--out", "e.csv"],
        ["encode", good_csv, "--model", model, "--out", "e.csv"],
        ["decode", table, "--model", synthesizer, "--out", "d.csv"],
        ["reconstruct", table, "--model", synthesizer, "--out", "r.csv"],
        ["reconstruct", good_csv, "--model", model, "--out", "r.csv"],
        ["interpolate", synthesizer, table, table, "--out", "i.csv"],
        ["interpolate", model, good_csv, good_csv, "--out", "i.csv"],
        ["latent", model, "--out", "l.png"],
    ]


def check_exits(results, cases) -> None:
    for (code, output), args in zip(results, cases, strict=True):
        lines = output.strip().splitlines()
        assert code in (1, 2), (args, code, output)
        assert len(lines) == 1 and lines[0].startswith("Error: "), (args, output)
        assert "Traceback" not in output and "terminate called" not in output, (args, output)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="forks a child per command")
def test_no_command_is_ended_by_a_signal_on_bytes_that_are_not_a_table_or_a_model(
        workdir, patients_csv, model_file, detector_file):
    cases = []
    for kind, content in BAD_BYTES.items():
        Path(f"{kind}.csv").write_bytes(content)
        Path(f"{kind}.tkm").write_bytes(content)
        cases += command_lines(f"{kind}.csv", f"{kind}.tkm", str(patients_csv),
                               str(model_file), str(detector_file))
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", FORK_RUNNER, json.dumps(cases)],
                          capture_output=True, text=True, env=environment, timeout=600)
    assert done.returncode == 0, done.stderr
    check_exits(json.loads(done.stdout.strip().splitlines()[-1]), cases)
    assert sorted(p.name for p in workdir.iterdir() if not p.name.startswith("case-")) == sorted(
        f"{kind}{suffix}" for kind in BAD_BYTES for suffix in (".csv", ".tkm"))


def test_score_of_bytes_that_are_not_text_exits_1_in_a_fresh_process(workdir, detector_file):
    """The command that crashed (exit 134 as Python exited after the error), each in a
    process of its own as a user runs it."""
    cases = []
    for kind, content in BAD_BYTES.items():
        Path(f"{kind}.csv").write_bytes(content)
        cases.append(["score", f"{kind}.csv", "--model", str(detector_file), "--out", "o.csv"])
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    results = []
    for args in cases:
        done = subprocess.run([sys.executable, "-c", "from toolkit.cli import main; main()",
                               *args], capture_output=True, text=True, env=environment,
                              timeout=300)
        results.append([done.returncode, done.stdout + done.stderr])
    check_exits(results, cases)


# scores typed by the model -------------------------------------------------------------------
@pytest.fixture
def odd_tables(workdir, _patients_frame) -> tuple[Path, Path, int, int]:
    """The sample table with ``<5`` in chol at row 5, and the same rows with rows 5 and 400
    swapped (so ``<5`` sits in a later chunk)."""
    table = _patients_frame.astype({"chol": object})
    early, late = 5, 400
    table.loc[early, "chol"] = "<5"
    table.to_csv("early.csv", index=False)
    order = np.arange(len(table))
    order[[early, late]] = order[[late, early]]
    table.iloc[order].to_csv("late.csv", index=False)
    return Path("early.csv"), Path("late.csv"), early, late


def test_text_in_a_number_column_is_scored_the_same_whatever_the_chunks(odd_tables,
                                                                        detector_file):
    early, late, row, moved = odd_tables
    scored = {}
    for data in (early, late):
        for size in (7, 100, 1000):
            out = f"{data.stem}-{size}.csv"
            result = run("score", data, "--model", detector_file, "--out", out,
                         "--chunk-size", size, "--explain", "-q")
            assert result.exit_code == 0, result.output
            scored[data.stem, size] = pd.read_csv(out, dtype=str)
    for size in (100, 1000):  # byte for byte the same table
        assert scored["early", size].equals(scored["early", 7])
        assert scored["late", size].equals(scored["late", 7])
    first, second = scored["early", 7], scored["late", 7]
    assert first.iloc[row].equals(second.iloc[moved])  # the same row, wherever it sits
    assert first.loc[row, "chol"] == "<5" and first.loc[row, "is_outlier"] == "1"
    assert first.loc[row, "top_columns"].startswith("chol (")


def test_refusing_unseen_values_names_the_column_and_value_whatever_the_chunks(odd_tables,
                                                                               detector_file):
    early, late, _, _ = odd_tables
    for data in (early, late):
        for size in (7, 1000):
            result = run("score", data, "--model", detector_file, "--out", "s.csv",
                         "--chunk-size", size, "--unseen", "refuse")
            assert result.exit_code == 1
            assert one_error_line(result) == (
                "Error: column 'chol' holds '<5', which is not a number; correct or remove it, "
                "or score it as never seen (unseen 'score')")
    assert not Path("s.csv").exists()


def test_text_in_a_number_column_is_novel_even_where_training_had_missing_values(
        _patients_frame, detector_file):
    detector = AnomalyDetector.load(detector_file)
    adapter = detector.model_.adapter_
    assert next(e for e in adapter.encoders_ if e.name == "chol").has_missing_
    rows = _patients_frame.head(3).astype({"chol": object})
    rows.loc[1, "chol"], rows.loc[2, "chol"] = "<5", np.nan
    novel = adapter.novel_cells(rows)["chol"].tolist()
    assert novel == [False, True, False]  # text is novel, a missing value is not
    plain = detector.decision_function(rows.assign(chol=np.nan))
    scores = detector.decision_function(rows)
    assert scores[1] == pytest.approx(plain[1] + detector.novelty_score_)
    assert scores[2] == plain[2]


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


# byte order marks, line ends -----------------------------------------------------------------
def test_a_byte_order_mark_and_crlf_line_ends_come_back_through_a_model_file(workdir):
    text = "n,age,site\r\n" + "".join(f"{i % 10},{40 + i % 30}.5,{'ab'[i % 2]}\r\n"
                                      for i in range(60))
    Path("excel.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    table = read_table("excel.csv")
    assert Dialect.of(table) == Dialect(bom=True, line_end="\r\n")
    write_table(table, "copy.csv")
    assert Path("copy.csv").read_bytes() == Path("excel.csv").read_bytes()
    adapter = TabularAdapter(random_state=0).fit(table)
    loaded = TabularAdapter.from_dict(json.loads(json.dumps(adapter.to_dict())))
    write_table(loaded.inverse_transform(loaded.transform(table)), "decoded.csv")
    assert Path("decoded.csv").read_bytes() == Path("excel.csv").read_bytes()


def test_a_model_saved_before_byte_order_marks_were_kept_writes_plain_lines(workdir):
    table = pd.DataFrame({"age": np.linspace(20, 80, 30).round(1), "sex": ["f", "m", "f"] * 10})
    state = TabularAdapter(random_state=0).fit(table).to_dict()
    state["csv_dialect"] = {"delimiter": ";", "decimal": ",", "encoding": "utf-8"}
    adapter = TabularAdapter.from_dict(state)
    write_table(adapter.inverse_transform(adapter.transform(table)), "old.csv")
    assert Path("old.csv").read_bytes().startswith(b"age;sex\n20,0;f\n")


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


# floats keep their decimals ------------------------------------------------------------------
def test_floats_with_fourteen_decimals_come_back_with_fourteen(workdir):
    rng = np.random.default_rng(0)
    values = np.round(rng.uniform(0, 1, 200), 14).tolist()
    Path("precise.csv").write_text("x,y\n" + "".join(f"{v!r},{i % 3}\n"
                                                     for i, v in enumerate(values)))
    table = read_table("precise.csv")
    adapter = TabularAdapter(random_state=0).fit(table)
    encoded = adapter.transform(table)
    encoded[100:, 0] += rng.normal(0, 0.01, len(encoded) - 100)  # new values between them
    write_table(adapter.inverse_transform(encoded), "back.csv")
    back = pd.read_csv("back.csv", dtype=str)["x"]
    assert max(len(text.split(".")[1]) for text in back) == 14  # as written, not 8
    assert np.abs(back.astype(float).to_numpy()[:100] - values[:100]).max() < 1e-6
