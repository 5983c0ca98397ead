"""Dask engine, public path ``toolkit.dask``: see :mod:`toolkit.engines.dask`."""

from toolkit.engines.dask import fit, sample, sample_dataset, score

__all__ = ["fit", "sample", "sample_dataset", "score"]
