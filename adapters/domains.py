"""Which adapter data belongs to: the one place that picks a domain (table or images).

Everything outside ``adapters/`` goes through these functions and the :class:`Adapter`
protocol, and never asks which adapter it holds.
"""

from __future__ import annotations

from typing import Any

from toolkit.adapters.base import Adapter
from toolkit.adapters.imaging import ImageAdapter
from toolkit.adapters.tabular import TabularAdapter

#: adapter classes by the ``type`` their ``to_dict`` writes
ADAPTERS: dict[str, type] = {"tabular": TabularAdapter, "image": ImageAdapter}


def adapter_type(source: Any) -> type:
    """The adapter class for ``source``: images (an image set, an ``(N, H, W[, C])`` array,
    a folder, an image or DICOM file) or else a table.

    Examples
    --------
    >>> import pandas as pd
    >>> adapter_type(pd.DataFrame({"a": [1, 2]})).__name__
    'TabularAdapter'
    >>> adapter_type("scan.png").__name__, adapter_type("scan.dcm").__name__
    ('ImageAdapter', 'ImageAdapter')
    """
    return ImageAdapter if ImageAdapter.recognises(source) else TabularAdapter


def read_records(source: Any) -> Any:
    """``source`` (a path or in-memory data) read by the adapter of its domain.

    Raises
    ------
    DataError
        For a missing or unreadable file or folder, or data of no known domain.
    """
    return adapter_type(source).read(source)


def adapter_for(records: Any, config: Any, metadata: Any = None,
                random_state: int | None = None) -> Adapter:
    """A new, unfitted adapter for ``records`` with the settings of ``config``."""
    return adapter_type(records).from_config(config, metadata, random_state)


def adapter_from_dict(state: dict[str, Any]) -> Adapter:
    """Rebuild a fitted adapter from what its ``to_dict`` wrote.

    Raises
    ------
    KeyError
        For an unknown adapter type.
    """
    return ADAPTERS[state.get("type", "tabular")].from_dict(state)
