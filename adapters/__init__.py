"""Data domains to tensors and back: the adapters and the TensorSpec they share with backends."""

from adapters.base import Adapter, Block, TensorSpec
from adapters.tabular import TabularAdapter

__all__ = ["Adapter", "Block", "TensorSpec", "TabularAdapter"]
