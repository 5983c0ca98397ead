"""Data domains to tensors and back: the adapters and the TensorSpec they share with backends."""

from toolkit.adapters.base import Adapter, Block, TensorSpec
from toolkit.adapters.domains import adapter_for, adapter_from_dict, adapter_type, read_records
from toolkit.adapters.imaging import ImageAdapter, ImageSet
from toolkit.adapters.tabular import TabularAdapter

__all__ = ["Adapter", "Block", "ImageAdapter", "ImageSet", "TabularAdapter", "TensorSpec",
           "adapter_for", "adapter_from_dict", "adapter_type", "read_records"]
