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
column names or dtypes. Adapters never import torch models, and never read or write files:
:mod:`toolkit.io.records` reads what users pass into records plus a :class:`Provenance`,
which :meth:`Adapter.fit` takes explicitly.
"""

from __future__ import annotations

from collections.abc import Iterator
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


@dataclass(frozen=True)
class Provenance:
    """What reading records learnt besides the records, that fitting an adapter uses.

    :func:`toolkit.io.records.read_records` fills it; :meth:`Adapter.fit` takes it.

    Parameters
    ----------
    rows : int or None, default None
        Rows the source held when the records are a uniform sample of it (``None``: the
        records are the whole source).
    statistics : ColumnStatistics or None, default None
        The whole source's column statistics (levels, missing values, ranges) when the
        records are a sample of it (:mod:`toolkit.adapters.statistics`).
    dialect : dict, default {}
        The CSV dialect the source file was written in (``Dialect.to_dict``), so that
        output goes back in it; empty for other sources.
    labels : list or None, default None
        The caller's own column labels where they were not all text (records name
        columns by the labels' text; samples get the labels back).
    kinds : tuple or None, default None
        ``(kinds, notes)`` that :func:`~toolkit.adapters.kinds.infer_kinds` already gave for
        these very records and the adapter's metadata (looking for a subject column needs
        them first): a table adapter then takes them instead of inferring them again.
    """

    rows: int | None = None
    statistics: Any = None
    dialect: dict[str, Any] = field(default_factory=dict)
    labels: list[Any] | None = None
    kinds: tuple[dict[str, str], list[Any]] | None = None


@runtime_checkable
class Adapter(Protocol):
    """What every data-domain adapter provides, so that nothing outside ``adapters/`` needs
    to know which domain (table, images) it holds.

    Records (a DataFrame, an :class:`~toolkit.adapters.imaging.ImageSet`) come from
    :func:`toolkit.io.records.read_records`; :meth:`summary`, :meth:`n_features`,
    :meth:`chunks` and :meth:`unlabelled` work on them. Encoding: ``fit`` learns the
    encoding and sets :attr:`spec`, ``transform`` turns records into a float32 array laid
    out as :attr:`spec` says, and ``inverse_transform`` turns such an array (real or
    generated) back into records. Scoring: :meth:`check_known` and :meth:`novel_cells` find
    what training never had, :meth:`explain` spreads per-part likelihoods over columns or
    pixels. Sampling: :meth:`encode_conditions` and :meth:`renumber_ids`. Storage:
    :meth:`describe` says what the fitted adapter encodes, ``to_dict`` / ``from_dict`` keep
    it as plain JSON.
    """

    spec: TensorSpec
    #: whether differentially private training is implemented for this domain
    supports_privacy: bool
    #: whether sampling takes one condition per row (a DataFrame of conditions)
    row_conditions: bool
    #: the preset an AnomalyDetector trains with on this domain when none is given
    detect_preset: str
    #: whether a small training set gets a larger KL weight (Config.beta_rows)
    small_data_beta: bool

    @staticmethod
    def summary(records: Any) -> str:
        """A few words on the size of ``records`` (``"419 rows x 20 columns"``)."""
        ...

    @staticmethod
    def n_features(records: Any) -> int:
        """Number of input features of ``records`` (columns, or pixels per image)."""
        ...

    @staticmethod
    def chunks(records: Any, size: int) -> Iterator[Any]:
        """``records`` in consecutive pieces of at most ``size`` records."""
        ...

    @staticmethod
    def unlabelled(records: Any) -> Any:
        """``records`` without class labels (unsupervised use); a new object."""
        ...

    def fit(self, records: Any, provenance: Provenance | None = None) -> Adapter:
        """Learn the encoding of ``records`` (read as ``provenance`` says) and set
        :attr:`spec`; return ``self``."""
        ...

    def transform(self, records: Any, random_state: int | None = None,
                  clip: bool = True) -> Any:
        """Encode ``records`` as a float32 array laid out by :attr:`spec`."""
        ...

    def inverse_transform(self, array: Any, random_state: int | None = None) -> Any:
        """Decode an array laid out by :attr:`spec` back into records."""
        ...

    def check_known(self, records: Any) -> None:
        """Fail with one line when ``records`` hold what the model has no likelihood for
        (missing training columns, unseen levels, another image shape)."""
        ...

    def novel_cells(self, records: Any) -> Any:
        """Booleans (a DataFrame, one column per column that can hold them) marking what
        training never had: unseen levels, missing values where there were none."""
        ...

    def transform_with_novelty(self, records: Any) -> tuple[Any, Any]:
        """:meth:`transform` as anomaly scoring encodes (no clipping) and
        :meth:`novel_cells`, from one pass over ``records``."""
        ...

    def renumber_ids(self, records: Any, first: int, step: int = 1) -> Any:
        """Decoded ``records`` with identifiers numbered from ``first``, every ``step``-th
        (if it has any)."""
        ...

    def encode_conditions(self, conditions: dict[str, Any],
                          direct: bool = True) -> tuple[dict[int, int], dict]:
        """Conditions as fixed one-hot slots by block, plus values to check after decoding."""
        ...

    def explain(self, part_nll: Any, part_blocks: Any, records: Any) -> Any:
        """Per-part negative log-likelihoods (``(n, parts)``, each part's block index in
        ``part_blocks``) gathered per column (tables) or per pixel (images)."""
        ...

    def describe(self) -> dict[str, Any]:
        """What the fitted adapter encodes, as JSON-ready data (``toolkit info``)."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted adapter as JSON-ready data."""
        ...

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Adapter:
        """Rebuild a fitted adapter written by :meth:`to_dict`."""
        ...
