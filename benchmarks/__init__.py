"""Benchmarks against SDV and PyOD (run as scripts: ``python benchmarks/NAME.py``).

A regular package, so that ``benchmarks.*`` imports find this folder before the top-level
``benchmarks`` package that Opacus's wheel installs.
"""
