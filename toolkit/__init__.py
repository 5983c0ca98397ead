"""toolkit: learn the latent structure of tabular and medical data with VAE, GAN and VAE-GAN.

The public API is :class:`Synthesizer` (generate privacy-preserving synthetic
records), :class:`MultiTableSynthesizer` (the same for a dataset of linked tables) and
:class:`AnomalyDetector` (score how unusual records are).
They are loaded on first use, so that the command line (``toolkit --help``) and the
light modules (``toolkit.io``, ``toolkit.exceptions``) start without loading PyTorch.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_ON_FIRST_USE = {"Synthesizer": "toolkit.models.synthesizer",
                 "MultiTableSynthesizer": "toolkit.models.dataset",
                 "AnomalyDetector": "toolkit.models.detector",
                 "load_config": "toolkit.config"}

__all__ = ["AnomalyDetector", "MultiTableSynthesizer", "Synthesizer", "load_config",
           "__version__"]


def __getattr__(name: str) -> Any:
    if name in _ON_FIRST_USE:
        return getattr(import_module(_ON_FIRST_USE[name]), name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")
