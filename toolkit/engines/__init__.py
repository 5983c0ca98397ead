"""Fitting, sampling and scoring on the engines big tables live in: Spark and Dask.
``common`` holds what both share (sampling plans, bounded fits, read types)."""
