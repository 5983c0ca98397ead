"""toolkit.spark: scores, samples and fits on a local Spark session equal the in-process API.

The tests themselves are the engines' shared ones (engine_cases.py); this module starts one
``local[2]`` session for all of them and adds what is Spark's own (schema, dotted names).
"""

from __future__ import annotations

import os
import shutil
import sys

import numpy as np
import pandas as pd
import pytest
from engine_cases import *  # noqa: F403 - the shared tests and their fixtures
from engine_cases import Engine, run_guide_example

from toolkit import spark as tkspark

#: a Spark session starts a JVM (seconds) and every job pays Spark's scheduling
pytestmark = pytest.mark.slow

sql = pytest.importorskip("pyspark.sql",
                          reason="pyspark is not installed (pip install 'toolkit[spark]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java: no java on PATH and no JAVA_HOME", allow_module_level=True)


@pytest.fixture(scope="module")
def spark_folder(tmp_path_factory):
    """The Spark JVM's working directory, where it resolves relative paths (and leaves its
    own files): a temporary folder, not the repository."""
    return tmp_path_factory.mktemp("spark")


@pytest.fixture(scope="module")
def spark(spark_folder):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYSPARK_PYTHON", sys.executable)  # workers run this interpreter
        patch.chdir(spark_folder)  # the JVM starts here
        session = (sql.SparkSession.builder.master("local[2]").appName("toolkit-tests")
                   .config("spark.sql.shuffle.partitions", "2")
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def engine(spark) -> Engine:
    return Engine(module=tkspark, table=spark.createDataFrame,  # two partitions: local[2]
                  collect=lambda sdf: sdf.toPandas(), partitions="num_partitions",
                  extra="pyspark")


def test_the_output_schema_is_declared_with_spark_types(engine, table, files):
    scored = tkspark.score(files["detector"], table, explain=True)
    types = {f.name: f.dataType.simpleString() for f in scored.schema.fields}
    assert (types["anomaly_score"], types["is_outlier"], types["top_columns"]) == (
        "double", "boolean", "string")
    assert types["alk.phos"] == "double"  # a name with a dot passes through mapInPandas
    rows = tkspark.sample(files["synthesizer"], 10, num_partitions=2)
    types = {f.name: f.dataType.simpleString() for f in rows.schema.fields}
    assert {c: types[c] for c in ("id", "time", "status", "age", "chol", "stage")} == {
        "id": "bigint", "time": "bigint", "status": "string", "age": "double",
        "chol": "bigint", "stage": "bigint"}


def test_sampled_columns_get_the_spark_type_of_their_dtype(typed_file):
    types = {f.name: f.dataType.simpleString()
             for f in tkspark.sample(typed_file, 10, num_partitions=2).schema.fields}
    assert types == {"when": "timestamp", "flag": "boolean", "count": "bigint",
                     "code": "string", "x": "double"}


def test_the_schema_maps_every_pandas_dtype(spark):
    frame = pd.DataFrame({"n": np.array([1, 2], dtype="int32"), "m": pd.array([1, None],
                          dtype="Int64"), "x": [0.5, np.nan], "b": [True, False],
                          "t": pd.to_datetime(["2020-01-01", "2021-06-30"]),
                          "s": ["a", None], "c": pd.Categorical(["u", "v"]), "e": [None, None]})
    types = {f.name: f.dataType.simpleString() for f in tkspark.spark_schema(frame).fields}
    assert types == {"n": "bigint", "m": "bigint", "x": "double", "b": "boolean",
                     "t": "timestamp", "s": "string", "c": "string", "e": "string"}


def test_sample_defaults_to_the_active_session_and_its_parallelism(spark, files):
    rows = tkspark.sample(files["synthesizer"], 10)
    assert rows.rdd.getNumPartitions() == spark.sparkContext.defaultParallelism
    assert rows.count() == 10


def test_spark_and_dask_give_the_same_rows_for_a_seed(files):
    pytest.importorskip("dask.dataframe", reason="dask is not installed")
    from toolkit import dask

    from_spark = tkspark.sample(files["synthesizer"], 40, num_partitions=3, seed=9).toPandas()
    from_dask = dask.sample(files["synthesizer"], 40, npartitions=3, seed=9).compute()
    assert np.allclose(from_spark["age"], from_dask["age"])
    assert from_spark["id"].tolist() == from_dask["id"].tolist()
    assert from_spark["status"].tolist() == from_dask["status"].astype(object).tolist()


def test_the_guide_example_runs_as_written(spark, spark_folder, monkeypatch):
    # in the JVM's folder, where Spark writes what the example names by a relative path
    namespace = run_guide_example("from toolkit import spark", spark_folder, monkeypatch)
    assert namespace["scored"].count() == 418 and namespace["parts"].shape == (10_000, 20)
