"""Dask engine, public path ``toolkit.dask``: see :mod:`toolkit.engines.dask`."""

from toolkit.engines.dask import fit, sample, score

__all__ = ["fit", "sample", "score"]
