"""toolkit: learn the latent structure of tabular and medical data with VAE, GAN and VAE-GAN.

The public API is :class:`Synthesizer` (generate privacy-preserving synthetic
records) and :class:`AnomalyDetector` (score how unusual records are).
Attributes are imported lazily so that ``adapters`` can use
:mod:`toolkit.exceptions` without an import cycle.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {"Synthesizer": "toolkit.estimators", "AnomalyDetector": "toolkit.detector",
         "load_config": "toolkit.config"}

__all__ = ["AnomalyDetector", "Synthesizer", "load_config", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
