"""toolkit.cli.common: the pieces the commands share: read-ahead and write-behind threads,
conditions parsed from ``COLUMN=VALUE``, progress bars only where asked."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from helpers import TRAIN, run

from toolkit.cli.common import parse_conditions, read_ahead, write_behind
from toolkit.exceptions import UsageError

# from tests/test_score_throughput.py --------------------------------------------------------


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


# from tests/test_trust_api.py ---------------------------------------------------------------


# conditions --------------------------------------------------------------------------------
def test_contradicting_conditions_are_refused():
    assert parse_conditions(("sex=f", "sex=f", "stage=3")) == {"sex": "f", "stage": "3"}
    with pytest.raises(UsageError, match="column 'sex' two values, 'f' and 'm'"):
        parse_conditions(("sex=f", "sex=m"))


# progress bars ----------------------------------------------------------------------------------
@pytest.fixture
def small_csv(tmp_path, patients) -> Path:
    path = tmp_path / "small.csv"
    patients.head(80).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("progress", [False, True])
def test_training_bar_only_with_progress_off_a_terminal(small_csv, tmp_path, progress):
    result = run("fit", small_csv, "--model-out", tmp_path / "m.tkm", *TRAIN, "--seed", "0",
                 *(["--progress"] if progress else []))
    assert result.exit_code == 0, result.output
    assert ("\r" in result.stderr) is progress
    assert ("training:" in result.stderr) is progress  # the bar, not the "training a" line


@pytest.mark.parametrize("progress", [False, True])
def test_sampling_bar_only_with_progress_off_a_terminal(model_file, tmp_path, monkeypatch,
                                                        progress):
    monkeypatch.setattr("toolkit.cli.synthesis.CLI_CHUNK_ROWS", 40)  # several chunks
    result = run("sample", model_file, "--rows", "200", "--out", tmp_path / "o.csv",
                 "--seed", "0", *(["--progress"] if progress else []))
    assert result.exit_code == 0, result.output
    assert len(pd.read_csv(tmp_path / "o.csv")) == 200
    assert ("\r" in result.stderr) is progress
    assert ("sampling:" in result.stderr) is progress
