"""Data domains to tensors and back: the adapters and the TensorSpec they share with backends.

Adapters import nothing of ``toolkit`` but :mod:`toolkit.exceptions`: files are read and
written by :mod:`toolkit.io`, models live in :mod:`toolkit.backends`.
"""

from toolkit.adapters.base import Adapter, Block, Provenance, TensorSpec
from toolkit.adapters.domains import adapter_from_dict
from toolkit.adapters.imaging import ImageAdapter, ImageSet
from toolkit.adapters.tabular import TabularAdapter

__all__ = ["Adapter", "Block", "ImageAdapter", "ImageSet", "Provenance", "TabularAdapter",
           "TensorSpec", "adapter_from_dict"]
