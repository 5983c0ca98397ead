"""A dataset: tables linked by keys (patients → admissions → labs).

:class:`DatasetMetadata` says which column is each table's primary key, which columns point at
a parent table's key (the relationships), and, for a table whose rows are ordered within
their parent (visits, lab draws), the order column. It reads our own metadata mapping and
SDV's multi-table metadata (``tables`` with ``primary_key``, ``sequence_key`` and
``sequence_index``; ``relationships`` with ``parent_table_name``, ``parent_primary_key``,
``child_table_name`` and ``child_foreign_key``) as they are, checks them against the
tables, and gives the order in which tables are generated (parents first).
:func:`draft_dataset` drafts the keys from the tables' names and values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from toolkit.adapters.histories import find_order
from toolkit.adapters.kinds import infer_kinds
from toolkit.adapters.rules import Rule, discover_rules
from toolkit.exceptions import DataError, UsageError

#: share of a candidate foreign key's distinct values that must be parent keys
CONTAINED = 1.0
#: a relationship is a lookup when its child uses at most this many parent keys ...
LOOKUP_CODES = 100
#: ... each by this many child rows or more on average
LOOKUP_CHILDREN = 1000


@dataclass(frozen=True)
class Relationship:
    """``child.child_key`` holds values of ``parent.parent_key`` (a foreign key)."""

    parent: str
    parent_key: str
    child: str
    child_key: str

    def __str__(self) -> str:
        return f"{self.parent}.{self.parent_key} → {self.child}.{self.child_key}"


@dataclass
class TableMetadata:
    """One table of a dataset.

    Parameters
    ----------
    primary_key : str or None
        The column identifying each row (unique, never missing).
    order : str or None
        The column ordering the table's rows within their parent (a date-time or a
        number); ``None``: the row order.
    columns : dict
        Column metadata as :class:`~toolkit.Synthesizer` takes it (kinds, bounds), possibly
        empty (kinds are then inferred).
    rules : list of dict
        The table's rules (:mod:`toolkit.adapters.rules`), kept by every generated row.
    """

    primary_key: str | None = None
    order: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)
    rules: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DatasetMetadata:
    """Tables and the keys linking them.

    Parameters
    ----------
    tables : dict of str to TableMetadata
    relationships : list of Relationship
        Each child's first relationship names the parent it is generated under; others
        (a flight's destination airport) point at further parents.
    """

    tables: dict[str, TableMetadata]
    relationships: list[Relationship] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetMetadata:
        """Read our metadata mapping or SDV's multi-table metadata (said by its keys).

        Raises
        ------
        UsageError
            For a mapping without ``tables`` or a relationship missing one of its keys.
        """
        if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
            raise UsageError("dataset metadata must have a 'tables' mapping (our format or "
                             "SDV's multi-table metadata)")
        tables = {str(name): _table_from_dict(entry or {})
                  for name, entry in data["tables"].items()}
        relationships = [_relationship_from_dict(entry)
                         for entry in data.get("relationships") or []]
        return cls(tables, relationships)

    def to_dict(self) -> dict[str, Any]:
        """Our metadata mapping (YAML-ready)."""
        tables = {}
        for name, table in self.tables.items():
            entry: dict[str, Any] = {}
            if table.primary_key is not None:
                entry["primary_key"] = table.primary_key
            if table.order is not None:
                entry["order"] = table.order
            if table.columns:
                entry["columns"] = table.columns
            if table.rules:
                entry["rules"] = table.rules
            tables[name] = entry
        return {"tables": tables, "relationships": [
            {"parent": r.parent, "parent_key": r.parent_key, "child": r.child,
             "child_key": r.child_key} for r in self.relationships]}

    def parent_of(self, table: str) -> Relationship | None:
        """The relationship a table is generated under (its first), or ``None`` for a root."""
        return next((r for r in self.relationships if r.child == table), None)

    def further_parents(self, table: str) -> list[Relationship]:
        """A table's relationships after its first (keys drawn among generated parents)."""
        return [r for r in self.relationships if r.child == table][1:]

    def children_of(self, table: str) -> list[Relationship]:
        """The relationships under which tables are generated from ``table``'s rows."""
        return [r for r in (self.parent_of(t) for t in self.tables) if r and r.parent == table]

    def generation_order(self) -> list[str]:
        """The tables, every parent before the tables generated under it or pointing at it.

        Raises
        ------
        UsageError
            When the relationships go round in a circle.
        """
        done: list[str] = []
        waiting = list(self.tables)
        while waiting:
            ready = [t for t in waiting if all(r.parent in done for r in self.relationships
                                               if r.child == t and r.parent != t)]
            if not ready:
                raise UsageError(f"the relationships go round in a circle between "
                                 f"{sorted(waiting)}")
            done += ready
            waiting = [t for t in waiting if t not in ready]
        return done

    def check(self, tables: dict[str, pd.DataFrame]) -> None:
        """Check the metadata against the tables: every table and key column exists, primary
        keys are unique and complete, and every foreign key value has its parent row.

        Raises
        ------
        UsageError
            For a table or column the data does not have, or a self-relationship.
        DataError
            For a duplicated or missing primary key, or a foreign key without its parent.
        """
        missing = sorted(set(self.tables) - set(tables))
        if missing:
            raise UsageError(f"the metadata names tables the dataset does not have: {missing}; "
                             f"tables: {sorted(tables)}")
        extra = sorted(set(tables) - set(self.tables))
        if extra:
            raise UsageError(f"the dataset has tables the metadata does not describe: {extra}")
        for name, table in self.tables.items():
            for role, column in (("primary key", table.primary_key), ("order", table.order)):
                _check_column(tables, name, column, role)
            if table.primary_key is not None:
                keys = tables[name][table.primary_key]
                if keys.isna().any():
                    raise DataError(f"primary key {name}.{table.primary_key} has "
                                    f"{int(keys.isna().sum())} missing values")
                if keys.duplicated().any():
                    raise DataError(f"primary key {name}.{table.primary_key} repeats "
                                    f"{int(keys.duplicated().sum())} values, e.g. "
                                    f"{keys[keys.duplicated()].iloc[0]!r}")
        self.generation_order()
        for relation in self.relationships:
            if relation.parent == relation.child:
                raise UsageError(f"relationship {relation} links a table to itself: not "
                                 "supported")
            _check_column(tables, relation.parent, relation.parent_key, "parent key")
            _check_column(tables, relation.child, relation.child_key, "foreign key")
            parent_keys = set(tables[relation.parent][relation.parent_key].dropna())
            values = tables[relation.child][relation.child_key].dropna()
            orphans = ~values.isin(parent_keys)
            if orphans.any():
                raise DataError(f"{int(orphans.sum())} rows of {relation.child} have a "
                                f"{relation.child_key} that is not a {relation.parent}."
                                f"{relation.parent_key} (e.g. {values[orphans].iloc[0]!r})")


def _check_column(tables: dict[str, pd.DataFrame], table: str, column: str | None,
                  role: str) -> None:
    if table not in tables:
        raise UsageError(f"the metadata names table {table!r}, which the dataset does not "
                         f"have; tables: {sorted(tables)}")
    if column is not None and column not in tables[table].columns:
        raise UsageError(f"{role} {table}.{column} is not a column of {table}; columns: "
                         f"{list(map(str, tables[table].columns))}")


def _table_from_dict(entry: dict[str, Any]) -> TableMetadata:
    """One table of our mapping or of SDV's (``sdtype`` columns, ``sequence_index``)."""
    columns = {}
    for column, value in (entry.get("columns") or {}).items():
        if isinstance(value, dict) and "sdtype" in value:
            kind = _SDV_KINDS.get(value["sdtype"])
            if kind is not None:
                columns[str(column)] = kind
        else:
            columns[str(column)] = value
    rules = entry.get("rules") or []
    if not isinstance(rules, list):
        raise UsageError("a table's 'rules' must be a list of rules")
    return TableMetadata(entry.get("primary_key"), entry.get("order",
                                                             entry.get("sequence_index")),
                         columns, list(rules))


#: SDV's sdtypes and the kind each is (others: inferred)
_SDV_KINDS = {"numerical": "continuous", "categorical": "categorical", "boolean": "boolean",
              "datetime": "datetime", "id": "id"}


def _relationship_from_dict(entry: dict[str, Any]) -> Relationship:
    names = (("parent", "parent_table_name"), ("parent_key", "parent_primary_key"),
             ("child", "child_table_name"), ("child_key", "child_foreign_key"))
    values = []
    for ours, sdv in names:
        value = entry.get(ours, entry.get(sdv))
        if value is None:
            raise UsageError(f"a relationship needs '{ours}' (or SDV's '{sdv}'): {entry}")
        values.append(str(value))
    return Relationship(*values)


# drafting ----------------------------------------------------------------------------------
def _plain_name(name: str) -> str:
    """A column or table name reduced for comparison: ``Patient_ID`` → ``patient``."""
    text = re.sub(r"[^a-z0-9]", "", str(name).lower())
    return re.sub(r"(id|key|code|no|nr|num)$", "", text) or text


def _is_whole(values: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(values.dtype) or (
        pd.api.types.is_float_dtype(values.dtype) and bool((values.dropna() % 1 == 0).all()))


def draft_primary_key(name: str, table: pd.DataFrame) -> str | None:
    """The column of ``table`` that identifies its rows: unique, complete, whole numbers or
    text, named like a key (``id``, ``{table}_id``, ``…_key``, ``code``; among several, the
    first whose name is the table's), else the first column when it is such a column (an
    airport's ``faa`` code)."""
    unique = []
    for column in table.columns:
        values = table[column]
        if values.isna().any() or not values.is_unique or len(values) < 2:
            continue
        if _is_whole(values) or values.dtype == object or \
                pd.api.types.is_string_dtype(values.dtype):
            unique.append(str(column))
    named = [c for c in unique if re.search(r"(^|[^a-z])(id|key|code|nr|no)$|^id|id$",
                                            c.lower()) or _plain_name(c) == _plain_name(name)]
    preferred = [c for c in named if _plain_name(c) in (_plain_name(name),
                                                        _plain_name(name).rstrip("s"))]
    first = [str(table.columns[0])] if unique and unique[0] == str(table.columns[0]) else []
    return (preferred or named or first or [None])[0]


def draft_dataset(tables: dict[str, pd.DataFrame]) -> tuple[DatasetMetadata, list[str]]:
    """Draft a dataset's keys from the tables: each table's primary key
    (:func:`draft_primary_key`), and a relationship wherever another table's column holds
    only values of that key and is named like it (same name, or the parent table's name
    with ``id``/``key``), or, for text keys, holds only its values without the name.

    Returns
    -------
    DatasetMetadata
        The draft (no column kinds: they are inferred when fitted).
    list of str
        One line per finding, to be said to the user.
    """
    keys = {name: draft_primary_key(name, table) for name, table in tables.items()}
    notes = [f"{name}: primary key {key!r}" for name, key in keys.items() if key]
    relationships = []
    for parent, key in keys.items():
        if key is None:
            continue
        parent_values = tables[parent][key]
        allowed = set(parent_values)
        text_key = not _is_whole(parent_values)
        for child, table in tables.items():
            if child == parent:
                continue
            for column in table.columns:
                if str(column) == keys[child]:
                    continue
                values = table[column].dropna()
                if values.empty or _is_whole(values) == text_key:
                    continue
                named = _plain_name(column) in (_plain_name(key), _plain_name(parent),
                                                _plain_name(parent).rstrip("s"))
                if not named and not (text_key and values.nunique() >= 2):
                    continue
                if values.isin(allowed).mean() >= CONTAINED:
                    relationships.append(Relationship(parent, key, child, str(column)))
                    notes.append(f"{child}.{column} → {parent}.{key}")
    # a child is generated under a parent its key is named after, the largest such (a
    # lookup table of a few rows, such as wards, is a further parent)
    relationships.sort(key=lambda r: (r.child, _plain_name(r.child_key) not in (
        _plain_name(r.parent_key), _plain_name(r.parent), _plain_name(r.parent).rstrip("s")),
        -len(tables[r.parent])))
    metadata = DatasetMetadata({name: TableMetadata(key) for name, key in keys.items()},
                               relationships)
    kinds = {name: infer_kinds(table, {})[0] for name, table in tables.items()}
    for name, table in tables.items():
        keys_here = {r.child_key for r in relationships if r.child == name} | {keys[name]}
        rules = discover_rules(table, {c: k for c, k in kinds[name].items()
                                       if c not in keys_here})
        generated_under = next((r for r in relationships if r.child == name
                                and not is_lookup(r, tables)), None)
        if generated_under is not None:
            rules += discover_bounds(tables, generated_under, kinds, keys)
        if rules:
            metadata.tables[name].rules = [rule.to_dict() for rule in rules]
            notes += [f"{name}: rule {rule}" for rule in rules]
        relation = metadata.parent_of(name)
        if relation is not None:
            order = draft_order(table, relation.child_key)
            if order is not None:
                metadata.tables[name].order = order
                notes.append(f"{name} ordered by {order} within {relation.child_key}")
    return metadata, notes


def draft_order(table: pd.DataFrame, key: str) -> str | None:
    """The column ordering a child table's rows within their parent (``key``): a date-time,
    else a number named like a time (date, day, visit, ...), never missing and varying
    within some parent, whatever the table's row order
    (:func:`~toolkit.adapters.histories.find_order`)."""
    return find_order(table, key, infer_kinds(table, {})[0], in_row_order=False)


def discover_bounds(tables: dict[str, pd.DataFrame], relation: Relationship,
                    kinds: dict[str, dict[str, str]], keys: dict[str, str | None]) -> list[Rule]:
    """Inequalities between a child's numbers or date-times and its parent's
    (``PARENT.COLUMN`` on one side: a lab drawn after its admission) that hold on every child
    row, found as :func:`~toolkit.adapters.rules.discover_rules` finds a table's."""
    ordered = ("continuous", "integer", "datetime")
    parent, child = relation.parent, relation.child
    own = {c: k for c, k in kinds[child].items() if k in ordered
           and c not in (relation.child_key, keys[child])}
    theirs = {f"{parent}.{c}": k for c, k in kinds[parent].items() if k in ordered
              and c != keys[parent] and f"{parent}.{c}" not in tables[child].columns}
    if not own or not theirs:
        return []
    found = tables[parent].drop_duplicates(relation.parent_key).set_index(relation.parent_key)
    joined = tables[child][list(own)].copy()
    for column in theirs:
        joined[column] = found[column[len(parent) + 1:]].reindex(
            tables[child][relation.child_key].to_numpy()).to_numpy()
    bounds = []
    for column, kind in own.items():  # each column's tightest bound on each side
        found_here = discover_rules(joined[[column, *theirs]], {column: kind, **theirs},
                                    ({column}, set(theirs)))
        for below in (True, False):
            bounds += [rule for rule in found_here
                       if (rule.columns[1] == column) == below][:1]
    return bounds


def is_lookup(relation: Relationship, tables: dict[str, pd.DataFrame]) -> bool:
    """Whether a relationship points at a lookup table (airlines, airports, wards): its child
    rows use at most :data:`LOOKUP_CODES` parent keys, each by :data:`LOOKUP_CHILDREN` rows
    or more on average. Its key is then learnt as a category of the child's rows (with the
    other columns: a carrier's flights keep their delays) and each code used is given a
    generated parent's key when sampled, instead of the child being generated under the
    parent (a few parents with many thousands of children each, which no model of the
    parents can learn counts from)."""
    keys = tables[relation.child][relation.child_key].dropna()
    used = keys.nunique()
    return 0 < used <= LOOKUP_CODES and len(keys) / used >= LOOKUP_CHILDREN
