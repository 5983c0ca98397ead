"""Benchmarks against SDV and PyOD. Run each from the repository root as a module:
``python -m benchmarks.NAME`` (for example ``python -m benchmarks.synth_vs_sdv --help``).

A regular package, so that ``benchmarks.*`` imports find this folder before the top-level
``benchmarks`` package that Opacus's wheel installs. What the scripts share lives in
:mod:`benchmarks.common`; the tables in :mod:`benchmarks.datasets` and
:mod:`benchmarks.ad_datasets`.

Importing the package fixes the thread count and silences progress bars (unless the
environment already sets them). It happens here because ``python -m benchmarks.NAME``
imports the package before the script, so before numpy, torch or tqdm are loaded.
"""

from __future__ import annotations

import os

#: threads given to torch and BLAS in every benchmark, so that every model gets the same CPU
N_THREADS = 2

os.environ.setdefault("OMP_NUM_THREADS", str(N_THREADS))
os.environ.setdefault("MKL_NUM_THREADS", str(N_THREADS))
os.environ.setdefault("TQDM_DISABLE", "1")
