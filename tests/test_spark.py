"""toolkit.spark, the public path of the Spark engine: the names users import are the engine's
own functions (tests/engines/test_spark.py runs them on Spark)."""

from __future__ import annotations

import inspect

import toolkit.spark
from toolkit.engines import spark as engine


def test_the_public_names_are_the_engines_functions():
    assert toolkit.spark.__all__ == ["fit", "sample", "sample_dataset", "score", "spark_schema"]
    for name in toolkit.spark.__all__:
        assert getattr(toolkit.spark, name) is getattr(engine, name)


def test_each_public_function_is_documented_with_its_parameters():
    for name in ("fit", "sample", "score"):
        assert "Parameters" in inspect.getdoc(getattr(toolkit.spark, name)), name
    parameters = {name: list(inspect.signature(getattr(toolkit.spark, name)).parameters)
                  for name in ("fit", "sample", "score")}
    assert parameters["score"][:2] == ["model", "sdf"]
    assert parameters["sample"][:2] == ["model", "num_rows"]
    assert parameters["fit"][:3] == ["sdf", "task", "random_state"]
