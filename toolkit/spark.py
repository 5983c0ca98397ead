"""Spark engine, public path ``toolkit.spark``: see :mod:`toolkit.engines.spark`."""

from toolkit.engines.spark import fit, sample, score, spark_schema

__all__ = ["fit", "sample", "score", "spark_schema"]
