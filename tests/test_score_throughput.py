"""Scoring big tables (issue 17): the three-stage pipeline of ``toolkit score`` (read ahead,
score, write behind), the detector's cache-sized forward passes and the column-wise CSV
writer, each checked to give exactly what the simple way gives."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import toolkit.models.detector as detector_module
from toolkit import AnomalyDetector
from toolkit.cli import cli
from toolkit.cli.common import read_ahead, write_behind
from toolkit.io.csvfiles import Dialect, write_csv


# read ahead / write behind ------------------------------------------------------------------
def test_read_ahead_yields_every_item_in_order():
    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))


def test_read_ahead_raises_the_readers_error_where_it_happened():
    def chunks():
        yield 1
        yield 2
        raise ValueError("chunk 3 is broken")

    seen = []
    with pytest.raises(ValueError, match="chunk 3 is broken"):
        for item in read_ahead(chunks()):
            seen.append(item)
    assert seen == [1, 2]


def test_read_ahead_stops_its_thread_when_the_consumer_stops():
    produced = []

    def chunks():
        for i in range(1000):
            produced.append(i)
            yield i

    for item in read_ahead(chunks()):
        if item == 3:
            break
    time.sleep(0.3)
    assert len(produced) < 10
    assert not [t for t in threading.enumerate() if t.name == "toolkit-read-ahead"]


def test_write_behind_writes_everything_in_order_before_the_block_ends():
    written = []

    def slow(chunk):
        time.sleep(0.01)
        written.append(chunk)

    with write_behind(slow) as later:
        for i in range(20):
            later(i)
    assert written == list(range(20))


def test_write_behind_raises_the_writers_error():
    def broken(chunk):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"), write_behind(broken) as later:
        later(1)
        time.sleep(0.2)
        later(2)


def test_an_error_in_the_block_stops_the_writer_before_it_propagates():
    written = []
    with pytest.raises(RuntimeError, match="scoring failed"), write_behind(written.append) as later:
        later(1)
        raise RuntimeError("scoring failed")
    assert not [t for t in threading.enumerate() if t.name == "toolkit-write-behind"]
    assert written in ([], [1])


# the detector --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def detector(_patients_frame):
    return AnomalyDetector(config="fast", epochs=2, random_state=0).fit(_patients_frame)


def test_forward_passes_in_sub_batches_give_the_same_scores_bit_for_bit(detector,
                                                                         _patients_frame,
                                                                         monkeypatch):
    one_pass = detector.decision_function(_patients_frame)
    monkeypatch.setattr(detector_module, "FORWARD_ROWS", 7)
    assert np.array_equal(detector.decision_function(_patients_frame), one_pass)
    assert np.array_equal(detector.explain(_patients_frame).to_numpy(),
                          detector.explain(_patients_frame).to_numpy())


# the score command ---------------------------------------------------------------------------
@pytest.fixture
def scored_setup(tmp_path, detector, _patients_frame):
    model = tmp_path / "d.tkm"
    detector.save(model)
    data = tmp_path / "patients.csv"
    _patients_frame.to_csv(data, index=False)
    return model, data


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_score_writes_what_one_pass_computes(scored_setup, detector, _patients_frame, suffix):
    model, data = scored_setup
    out = data.with_name("scores" + suffix)
    result = CliRunner().invoke(cli, ["score", str(data), "--model", str(model), "--out",
                                      str(out), "--chunk-size", "37", "-q"])
    assert result.exit_code == 0, result.output
    scores = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    expected = detector.decision_function(_patients_frame)
    assert np.abs(scores["anomaly_score"].to_numpy() - expected).max() <= 1e-9
    assert scores["id"].tolist() == _patients_frame["id"].tolist()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_chunk_that_fails_to_read_leaves_no_output(scored_setup, _patients_frame, suffix):
    model, data = scored_setup
    broken = _patients_frame.astype({"chol": object})
    broken.loc[300, "chol"] = "high"  # text in a later chunk of a column of numbers
    broken.to_csv(data, index=False)
    out = data.with_name("scores" + suffix)
    result = CliRunner().invoke(cli, ["score", str(data), "--model", str(model), "--out",
                                      str(out), "--chunk-size", "100", "--unseen", "refuse",
                                      "-q"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "column 'chol' holds 'high', which is not a number" in lines[0]
    assert sorted(p.name for p in data.parent.iterdir()) == ["d.tkm", "patients.csv"]


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


def test_sigterm_while_scoring_leaves_no_file(scored_setup, _patients_frame):
    import signal
    import subprocess
    import sys

    model, data = scored_setup
    pd.concat([_patients_frame] * 300, ignore_index=True).to_csv(data, index=False)
    out = data.with_name("scores.csv")
    code = ("import sys; from toolkit.cli import main; sys.argv = ['toolkit', 'score', "
            f"{str(data)!r}, '--model', {str(model)!r}, '--out', {str(out)!r}, "
            "'--chunk-size', '2000', '-q']; main()")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(data.parent.glob(".scores.csv.*.tmp")) and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    time.sleep(0.5)  # a few chunks in: reading, scoring and writing all under way
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().startswith("Error: terminated"), stderr
    assert sorted(p.name for p in data.parent.iterdir()) == ["d.tkm", "patients.csv"]


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
