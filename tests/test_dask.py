"""toolkit.dask, the public path of the Dask engine: the names users import are the engine's
own functions (tests/engines/test_dask.py runs them on Dask)."""

from __future__ import annotations

import inspect

import toolkit.dask
from toolkit.engines import dask as engine


def test_the_public_names_are_the_engines_functions():
    assert toolkit.dask.__all__ == ["fit", "sample", "sample_dataset", "score"]
    for name in toolkit.dask.__all__:
        assert getattr(toolkit.dask, name) is getattr(engine, name)


def test_each_public_function_is_documented_with_its_parameters():
    for name in toolkit.dask.__all__:
        assert "Parameters" in inspect.getdoc(getattr(toolkit.dask, name)), name
    parameters = {name: list(inspect.signature(getattr(toolkit.dask, name)).parameters)
                  for name in ("fit", "sample", "score")}
    assert parameters["score"][:2] == ["model", "ddf"]
    assert parameters["sample"][:2] == ["model", "num_rows"]
    assert parameters["fit"][:3] == ["ddf", "task", "random_state"]
