"""toolkit.dask: scores, samples and fits on Dask partitions equal the in-process API.

The tests themselves are the engines' shared ones (engine_cases.py), run with Dask's
synchronous scheduler; this module adds what is Dask's own (meta, index, the threaded
scheduler sharing one loaded model).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from engine_cases import *  # noqa: F403 - the shared tests and their fixtures
from engine_cases import Engine, run_guide_example

from toolkit import Synthesizer
from toolkit import dask as tkdask
from toolkit.engines import common
from toolkit.engines import dask as dask_engine

dd = pytest.importorskip("dask.dataframe",
                         reason="dask[dataframe] is not installed (pip install 'toolkit[dask]')")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module", autouse=True)
def synchronous():
    with dask.config.set(scheduler="synchronous"):
        yield


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(module=tkdask, table=lambda frame: dd.from_pandas(frame, npartitions=3),
                  collect=lambda ddf: common.as_read(ddf.compute()), partitions="npartitions",
                  extra="dask.dataframe")


def test_meta_and_index_describe_the_result(table, files, patients):
    scored = tkdask.score(files["detector"], table, explain=True)
    assert list(scored.dtypes[-3:].astype(str)) == ["float64", "bool", "object"]
    rows = tkdask.sample(files["synthesizer"], 250, npartitions=3, seed=0)
    assert rows.npartitions == 3 and list(rows.columns) == list(patients.columns)
    computed = rows.compute()
    assert computed.index.tolist() == list(range(250))
    assert dict(computed.dtypes) == dict(rows.dtypes)  # the partitions match their meta


def test_sampled_partitions_keep_the_model_dtypes(typed_file):
    rows = tkdask.sample(typed_file, 30, npartitions=3, seed=0).compute()
    expected = Synthesizer.load(typed_file).sample(5).dtypes
    assert {c: str(t) for c, t in rows.dtypes.items()} == {
        **{c: str(t) for c, t in expected.items()}, "code": "string"}  # Dask's text dtype


def test_empty_partitions_score_to_empty_frames(table, files, detector):
    later = table[table["id"] > 300]  # the first partitions hold no such row
    scored = tkdask.score(files["detector"], later).compute()
    expected = detector.decision_function(later.compute())
    assert len(scored) == 118 and np.abs(scored["anomaly_score"] - expected).max() <= 1e-4


def test_the_default_partitions_hold_at_most_partition_rows(files, monkeypatch):
    monkeypatch.setattr(dask_engine, "PARTITION_ROWS", 40)
    assert tkdask.sample(files["synthesizer"], 100).npartitions == 3


def test_threads_share_one_loaded_model_and_give_the_same_rows(files, table, detector,
                                                               monkeypatch):
    loads = []
    restore = Synthesizer.restore.__func__  # what both estimators' load calls

    def counted(cls, *args, **kwargs):
        loads.append(args[0])
        return restore(cls, *args, **kwargs)

    monkeypatch.setattr(Synthesizer, "restore", classmethod(counted))
    common._MODELS.clear()
    with dask.config.set(scheduler="threads", num_workers=2):
        rows = tkdask.sample(files["synthesizer"], 300, npartitions=6, seed=2).compute()
        scores = tkdask.score(files["detector"], table).compute()["anomaly_score"]
    # each model loaded once, on the driver; its six (three) partitions found it in the cache
    assert loads == [files["synthesizer"], files["detector"]]
    pd.testing.assert_frame_equal(
        rows, tkdask.sample(files["synthesizer"], 300, npartitions=6, seed=2).compute())
    assert np.abs(scores.to_numpy() - detector.decision_function(table.compute())).max() <= 1e-4


@pytest.mark.slow
def test_importing_toolkit_imports_no_engine():
    code = ("import sys, toolkit, toolkit.spark, toolkit.dask, toolkit.engines.common\n"
            "loaded = [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'dask')]\n"
            "assert not loaded, loaded")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.slow
def test_the_guide_example_runs_as_written(tmp_path, monkeypatch):
    namespace = run_guide_example("from toolkit import dask", tmp_path, monkeypatch)
    assert len(namespace["scored"]) == 418 and namespace["rows"].npartitions == 4


@pytest.mark.slow
def test_the_guide_dataset_example_runs_as_written(tmp_path, monkeypatch):
    namespace = run_guide_example("sample_dataset", tmp_path, monkeypatch)
    assert len(namespace["patients"]) == 836  # scale 2 of 418 patients
    assert namespace["tables"]["visits"].npartitions == 4
