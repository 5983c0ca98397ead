"""The contract between adapters and backends: :class:`TensorSpec` and the adapter protocol.

A spec is an ordered list of :class:`Block` objects. Each block covers a run of
columns of the model tensor and says what they mean:

``numeric``
    one normalized scalar, optionally followed by a one-hot of its mixture mode
    (``n_modes > 0``), so its width is ``1 + n_modes``.
``categorical``
    a one-hot over ``width`` levels.
``missing``
    one 0/1 flag that says whether a column's value was missing.
``image``
    ``C x H x W`` pixels in ``[0, 1]``.

Backends build their heads and losses from the spec alone; they never see
column names or dtypes. Adapters never import torch models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

BLOCK_KINDS = ("numeric", "categorical", "missing", "image")


@dataclass(frozen=True)
class Block:
    """One run of tensor columns with a single meaning.

    Parameters
    ----------
    name : str
        The source column (or image set) the block encodes; informative only.
    kind : {"numeric", "categorical", "missing", "image"}
        What the columns mean.
    width : int
        Number of tensor columns the block takes.
    n_modes : int, default 0
        For ``numeric`` blocks, the size of the mode one-hot that follows the scalar.
    shape : tuple of int, default ()
        For ``image`` blocks, ``(C, H, W)``.
    """

    name: str
    kind: str
    width: int
    n_modes: int = 0
    shape: tuple[int, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.kind not in BLOCK_KINDS:
            raise ValueError(f"unknown block kind {self.kind!r}; valid kinds: {BLOCK_KINDS}")
        if self.width < 1:
            raise ValueError(f"block {self.name!r} must have a positive width")


@dataclass(frozen=True)
class TensorSpec:
    """The ordered blocks of a model tensor.

    Parameters
    ----------
    blocks : tuple of Block
        The blocks, in tensor column order.

    Examples
    --------
    >>> spec = TensorSpec((Block("age", "numeric", 1), Block("sex", "categorical", 2)))
    >>> spec.width, [s for s in spec.slices()]
    (3, [slice(0, 1, None), slice(1, 3, None)])
    """

    blocks: tuple[Block, ...]

    @property
    def width(self) -> int:
        """Total number of tensor columns."""
        return sum(block.width for block in self.blocks)

    def slices(self) -> list[slice]:
        """Return the column slice of each block, in order."""
        out, start = [], 0
        for block in self.blocks:
            out.append(slice(start, start + block.width))
            start += block.width
        return out

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready description of the spec."""
        return {"blocks": [asdict(block) for block in self.blocks]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TensorSpec:
        """Rebuild a spec written by :meth:`to_dict`."""
        return cls(
            tuple(
                Block(**{**block, "shape": tuple(block.get("shape", ()))})
                for block in data["blocks"]
            )
        )


@runtime_checkable
class Adapter(Protocol):
    """What every data-domain adapter provides.

    ``fit`` learns the encoding from raw data, ``transform`` turns raw data into
    a float32 array laid out as :attr:`spec` says, ``inverse_transform`` turns
    such an array (real or generated) back into raw data, and
    ``to_dict``/``from_dict`` store the fitted adapter as plain JSON.
    """

    spec: TensorSpec

    def fit(self, data: Any) -> Adapter:
        """Learn the encoding of ``data`` and set :attr:`spec`; return ``self``."""
        ...

    def transform(self, data: Any) -> Any:
        """Encode ``data`` as a float32 array laid out by :attr:`spec`."""
        ...

    def inverse_transform(self, array: Any) -> Any:
        """Decode an array laid out by :attr:`spec` back into the data's own form."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted adapter as JSON-ready data."""
        ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Adapter:
        """Rebuild a fitted adapter written by :meth:`to_dict`."""
        ...
