"""Rules across a relationship: a child row's number or date-time bounded by its parent row's
(a lab drawn within its admission), kept by construction.

A child table states them among its ``rules`` as inequalities with one side naming the
parent it is generated under as ``PARENT.COLUMN``::

    labs:
      rules:
        - {inequality: [admissions.admitted, drawn]}     # drawn on or after admission
        - {inequality: [drawn, admissions.discharged]}   # ... and by discharge

A bounded column that is not the child's order is learnt as its distance from the bound
(``drawn − admitted``; ``discharged − drawn``) or, bounded on both sides, as its place between
them (``(drawn − admitted) / (discharged − admitted)``, in 0–1), and rebuilt from the generated
parent's values. The order is bounded through its history: a lower bound as a rule of the
parent's own model (the first child's time after the parent's value, later ones after it), an
upper bound by ending each history where its time would pass the parent's value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.rules import _as_dtype, _is_time, _numbers
from toolkit.adapters.tabular import TabularAdapter
from toolkit.exceptions import DataError, UsageError


@dataclass(frozen=True)
class Bound:
    """``parent.parent_column ≤ column`` (``below``: the parent's value is a lower bound) or
    ``column ≤ parent.parent_column``; ``<`` when ``strict``."""

    column: str
    parent: str
    parent_column: str
    below: bool
    strict: bool = False

    def __str__(self) -> str:
        sign = "<" if self.strict else "≤"
        theirs = f"{self.parent}.{self.parent_column}"
        return f"{theirs} {sign} {self.column}" if self.below else \
            f"{self.column} {sign} {theirs}"

    def to_dict(self) -> dict[str, Any]:
        """The rule as the metadata states it."""
        theirs = f"{self.parent}.{self.parent_column}"
        sides = [theirs, self.column] if self.below else [self.column, theirs]
        return {"inequality": sides, **({"strict": True} if self.strict else {})}

    def broken(self, child: np.ndarray, parent: np.ndarray) -> np.ndarray:
        """Which rows break the bound (missing values break none)."""
        low, high = (parent, child) if self.below else (child, parent)
        with np.errstate(invalid="ignore"):
            bad = high <= low if self.strict else high < low
        return bad & ~np.isnan(low) & ~np.isnan(high)


#: ``parent`` of :func:`split_rules` taking bounds by any table (to count violations)
ANY_PARENT = "\x00any"


def split_rules(entries: list[dict[str, Any]], table: str, parent: str | None,
                columns: dict[str, list[str]]) -> tuple[list[dict[str, Any]], list[Bound]]:
    """A table's ``rules`` split into its own and its bounds by its ``parent`` (the table it
    is generated under; :data:`ANY_PARENT`: any table), ``columns`` giving every table's
    columns.

    Raises
    ------
    UsageError
        For a rule naming another table's column that is not an inequality between one column
        of ``table`` and one of ``parent``.
    """
    own: list[dict[str, Any]] = []
    bounds: list[Bound] = []
    for entry in entries:
        sides = [str(s) for s in entry.get("inequality") or []] \
            if isinstance(entry, dict) and isinstance(entry.get("inequality"), list) else []
        theirs = [_other_table(side, table, columns) for side in sides]
        named = _named_tables(entry, table, columns)
        if not any(theirs) and not named:
            own.append(entry)
            continue
        shown = " ≤ ".join(sides) if sides else str(entry)
        if len(sides) != 2 or sum(t is not None for t in theirs) != 1:
            raise UsageError(f"rule {shown!r} of {table} names another table's column: a rule "
                             f"across tables is an inequality between a column of {table} and "
                             "one of its parent")
        other = next(t for t in theirs if t is not None)
        if parent is not ANY_PARENT and other[0] != parent:
            raise UsageError(f"rule {shown!r} of {table} names {other[0]}, which is not the "
                             f"parent {table} is generated under ({parent or 'none'})")
        below = theirs[0] is not None
        bounds.append(Bound(sides[1] if below else sides[0], other[0], other[1], below,
                            bool(entry.get("strict"))))
    sides_seen = [(b.column, b.below) for b in bounds]
    twice = next((b for b in bounds if sides_seen.count((b.column, b.below)) > 1), None)
    if twice is not None:
        raise UsageError(f"{table}.{twice.column} has two {'lower' if twice.below else 'upper'} "
                         "bounds from its parent: state the tighter one")
    return own, bounds


def _other_table(side: str, table: str, columns: dict[str, list[str]]) -> tuple[str, str] | None:
    """``(table, column)`` when ``side`` names another table's column as ``TABLE.COLUMN``
    (a column of ``table`` itself, dots and all, comes first)."""
    if side in columns.get(table, []):
        return None
    name, _, column = side.partition(".")
    if name != table and name in columns and column in columns[name]:
        return name, column
    return None


def _named_tables(entry: Any, table: str, columns: dict[str, list[str]]) -> list[tuple]:
    """Other tables' columns named by a rule that is no inequality (refused)."""
    if not isinstance(entry, dict) or "inequality" in entry:
        return []
    named = entry.get("combination") or [entry.get("range"), entry.get("positive")]
    found = [_other_table(str(side), table, columns) for side in named if side is not None]
    return [t for t in found if t is not None]


def parent_values(child: pd.DataFrame, key: str, parents: pd.DataFrame, parent_key: str,
                  columns: list[str]) -> pd.DataFrame:
    """The parent row's ``columns`` beside each child row (by ``key``), in the child's order."""
    found = parents.drop_duplicates(parent_key).set_index(parent_key)[columns]
    return found.reindex(child[key].to_numpy()).reset_index(drop=True)


class CrossTableRules:
    """A child table's bounds by its parent, applied around its model.

    Parameters
    ----------
    bounds : list of Bound
    order : str or None
        The child's order column (bounded through its histories, not rebuilt).
    """

    def __init__(self, bounds: list[Bound], order: str | None) -> None:
        self.bounds = list(bounds)
        self.order = order
        self.dtypes: dict[str, str] = {}
        self.writers: dict[str, TabularAdapter] = {}

    def __bool__(self) -> bool:
        return bool(self.bounds)

    @property
    def parent_columns(self) -> list[str]:
        """The parent's columns the bounds read."""
        return list(dict.fromkeys(b.parent_column for b in self.bounds))

    @property
    def rebuilt(self) -> list[str]:
        """The child's columns learnt from their bounds (all but the order)."""
        return list(dict.fromkeys(b.column for b in self.bounds if b.column != self.order))

    def check(self, child: pd.DataFrame, parents: pd.DataFrame) -> None:
        """Check the sides are numbers or date-times alike and hold on every real row.

        Raises
        ------
        UsageError
            For a column the child lacks, or sides of different kinds.
        DataError
            For a bound the real rows break, with how many.
        """
        for bound in self.bounds:
            if bound.column not in child.columns:
                raise UsageError(f"rule '{bound}' names {bound.column!r}, which is not a column")
            sides = [child[bound.column], parents[bound.parent_column]]
            kinds = {_is_time(s) for s in sides}
            if len(kinds) > 1 or not all(_is_time(s) or (pd.api.types.is_numeric_dtype(s.dtype)
                                                         and not pd.api.types.is_bool_dtype(
                                                             s.dtype)) for s in sides):
                raise UsageError(f"rule '{bound}' needs two numbers or two date-times")
            broken = bound.broken(_numbers(sides[0]), _numbers(sides[1]))
            if broken.any():
                raise DataError(f"rule '{bound}' is broken by {int(broken.sum())} real rows "
                                f"(first: row {int(np.flatnonzero(broken)[0])}): confirmed "
                                "rules must hold on the data")

    def forward(self, child: pd.DataFrame, parents: pd.DataFrame) -> pd.DataFrame:
        """The child's rows as its model learns them: each bounded column (but the order) as
        its distance from its bound, or its place between two (remembers what
        :meth:`inverse` needs)."""
        self.check(child, parents)
        child = child.copy()
        for column in self.rebuilt:
            self.dtypes[column] = str(child[column].dtype)
            if _is_time(child[column]) and not pd.api.types.is_datetime64_any_dtype(
                    child[column].dtype):  # text dates: written back in their format
                self.writers[column] = TabularAdapter({column: "datetime"}).fit(child[[column]])
            low, high = self._bounds_of(column, parents)
            values = _numbers(child[column])
            if low is not None and high is not None:
                span = high - low
                with np.errstate(invalid="ignore", divide="ignore"):
                    child[column] = np.where(span > 0, (values - low) / span, 0.0)
            else:
                child[column] = values - low if low is not None else high - values
        return child

    def inverse(self, child: pd.DataFrame, parents: pd.DataFrame) -> pd.DataFrame:
        """Generated rows back as the child's columns, each bounded column rebuilt from its
        generated parent's values."""
        child = child.copy()
        for column in self.rebuilt:
            learnt = pd.to_numeric(child[column], errors="coerce").to_numpy(dtype=float)
            low, high = self._bounds_of(column, parents)
            if low is not None and high is not None:
                values = low + np.clip(learnt, 0.0, 1.0) * (high - low)
            else:
                learnt = np.clip(learnt, 0.0, None)
                values = low + learnt if low is not None else high - learnt
            child[column] = self._as_column(column, values)
        return child

    def ends(self, parents: pd.DataFrame) -> tuple[np.ndarray, bool] | None:
        """The upper bound of the order per parent row (UTC seconds for date-times) and
        whether it is strict; ``None`` without one."""
        bound = next((b for b in self.bounds if b.column == self.order and not b.below), None)
        if bound is None:
            return None
        return _numbers(parents[bound.parent_column]), bound.strict

    def parent_rules(self, start: str) -> list[dict[str, Any]]:
        """Rules for the parent's own model: the first child's time (its column ``start``)
        after a lower bound of the order."""
        return [{"inequality": [b.parent_column, start], **({"strict": True} if b.strict
                                                             else {})}
                for b in self.bounds if b.column == self.order and b.below]

    def violations(self, child: pd.DataFrame, parents: pd.DataFrame) -> dict[str, int]:
        """Rows of ``child`` breaking each bound, by rule text."""
        return {str(b): int(b.broken(_numbers(child[b.column]),
                                     _numbers(parents[b.parent_column])).sum())
                for b in self.bounds}

    def _bounds_of(self, column: str, parents: pd.DataFrame
                   ) -> tuple[np.ndarray | None, np.ndarray | None]:
        low = next((b for b in self.bounds if b.column == column and b.below), None)
        high = next((b for b in self.bounds if b.column == column and not b.below), None)
        return tuple(None if b is None else _numbers(parents[b.parent_column])
                     for b in (low, high))  # type: ignore[return-value]

    def _as_column(self, column: str, values: np.ndarray) -> Any:
        """Numbers (UTC seconds for date-times) in the column's own form."""
        if column in self.writers:
            return self.writers[column].encoders_[0].values_of(values).to_numpy()
        dtype = self.dtypes[column]
        if dtype.startswith("datetime64"):
            stamps = pd.to_datetime(pd.Series(np.round(values * 1e9)), unit="ns")  # NaN: NaT
            zone = getattr(pd.api.types.pandas_dtype(dtype), "tz", None)
            return (stamps.dt.tz_localize("UTC").dt.tz_convert(zone) if zone else stamps).array
        return _as_dtype(pd.Series(values), dtype).array

    def to_dict(self) -> dict[str, Any]:
        """The bounds and what :meth:`inverse` needs, JSON-ready."""
        return {"bounds": [{"column": b.column, "parent": b.parent,
                            "parent_column": b.parent_column, "below": b.below,
                            "strict": b.strict} for b in self.bounds],
                "order": self.order, "dtypes": self.dtypes,
                "writers": {c: a.to_dict() for c, a in self.writers.items()}}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> CrossTableRules:
        """Rebuild from :meth:`to_dict`."""
        rules = cls([Bound(str(b["column"]), str(b["parent"]), str(b["parent_column"]),
                           bool(b["below"]), bool(b["strict"])) for b in state["bounds"]],
                    state["order"])
        rules.dtypes = {str(c): str(t) for c, t in state["dtypes"].items()}
        rules.writers = {c: TabularAdapter.from_dict(a) for c, a in state["writers"].items()}
        return rules
