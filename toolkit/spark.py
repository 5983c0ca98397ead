"""Spark engine, public path ``toolkit.spark``: see :mod:`toolkit.engines.spark`."""

from toolkit.engines.spark import fit, sample, sample_dataset, score, spark_schema

__all__ = ["fit", "sample", "sample_dataset", "score", "spark_schema"]
