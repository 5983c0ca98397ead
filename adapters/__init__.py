"""Data domains to tensors and back: the adapters and the TensorSpec they share with backends.

Adapters import nothing of ``toolkit`` but :mod:`toolkit.exceptions`: files are read and
written by :mod:`toolkit.io`, models live in :mod:`toolkit.backends`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: the package's names, each imported from its module on first use: importing one adapter
#: module (the scalers' names, the kinds) loads neither the others nor what they need
_ON_FIRST_USE = {"Adapter": "base", "Block": "base", "Provenance": "base", "TensorSpec": "base",
                 "adapter_from_dict": "domains", "ImageAdapter": "imaging",
                 "ImageSet": "imaging", "TabularAdapter": "tabular"}

__all__ = ["Adapter", "Block", "ImageAdapter", "ImageSet", "Provenance", "TabularAdapter",
           "TensorSpec", "adapter_from_dict"]


def __getattr__(name: str) -> Any:
    if name in _ON_FIRST_USE:
        return getattr(import_module(f"toolkit.adapters.{_ON_FIRST_USE[name]}"), name)
    raise AttributeError(f"module 'toolkit.adapters' has no attribute {name!r}")
