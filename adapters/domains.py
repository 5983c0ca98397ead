"""The adapter classes by name: the one place that maps a model file's adapter ``type`` to
its class. Which class data belongs to is told by :func:`toolkit.io.records.domain_of`.
"""

from __future__ import annotations

from typing import Any

from toolkit.adapters.base import Adapter
from toolkit.adapters.imaging import ImageAdapter
from toolkit.adapters.tabular import TabularAdapter

#: adapter classes by the ``type`` their ``to_dict`` writes
ADAPTERS: dict[str, type] = {"tabular": TabularAdapter, "image": ImageAdapter}


def adapter_from_dict(state: dict[str, Any]) -> Adapter:
    """Rebuild a fitted adapter from what its ``to_dict`` wrote.

    Raises
    ------
    KeyError
        For an unknown adapter type.
    """
    return ADAPTERS[state.get("type", "tabular")].from_dict(state)
