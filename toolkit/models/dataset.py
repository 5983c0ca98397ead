"""Synthesizing a dataset of linked tables (patients → admissions → labs), parents first.

Each table is learnt with the models the longitudinal synthesizer already has:

* a **root** table (no parent) by a :class:`~toolkit.Synthesizer`, its rows augmented, for
  every table generated under it, with the number of child rows each row has and, for an
  ordered child, the first child's order value (so a patient's number of admissions and
  when they start are learnt with the patient's attributes);
* a **child** table as histories given its parent row
  (:class:`~toolkit.models.histories.PatientHistories`): its rows grouped by parent, in
  order, each generated given the parent's encoded row (which holds the count and start) and
  the rows before. A child's rows carry their own children's counts and starts the same way,
  so a grandchild table is generated given its child rows: any depth.

A child's columns that never change within its parent (a school's mean SES on each of its
students) are learnt with the parent and repeated on its children. A table's rules
(:mod:`toolkit.adapters.rules`) are kept as for one table, and a child's bounds by its parent
(a lab drawn within its admission: :mod:`toolkit.adapters.cross_table`) through the child's
learnt columns, the parent's model (the first child's time) and the histories' ends.

Keys are fresh: every primary key is numbered anew, and every foreign key is the generated
parent's key, so referential integrity holds by construction. A relationship to a lookup
table (:func:`is_lookup`: airlines, airports) is learnt as a category of the rows that use
it, each code used getting the key of the generated parent nearest its real row
(:func:`nearest_keys`); any other further parent (a second
foreign key) is drawn among the generated parent rows at random: that link is not learnt.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator

from toolkit.adapters.columns import decimals_of
from toolkit.adapters.cross_table import CrossTableRules, parent_values, split_rules
from toolkit.adapters.dataset import (
    DatasetMetadata,
    Relationship,
    draft_dataset,
    is_lookup,
)
from toolkit.adapters.histories import (
    GAP,
    ROWS,
    HistoryLayout,
    constant_within,
    order_values,
)
from toolkit.adapters.kinds import infer_kinds
from toolkit.adapters.rules import Rules
from toolkit.backends.privacy import PrivacyPlan
from toolkit.backends.sequence import first_rows
from toolkit.config import Config
from toolkit.exceptions import (
    DataError,
    InferenceWarning,
    ModelFileError,
    NotFittedError,
    UsageError,
)
from toolkit.io.datasets import read_dataset
from toolkit.io.frames import check_kind, frame_kind, to_kind, to_pandas
from toolkit.io.metadata import read_metadata
from toolkit.io.records import Records
from toolkit.models.base import resolve_seed
from toolkit.models.histories import PatientHistories
from toolkit.models.private import PRIVATE_MAX_ROWS
from toolkit.models.private_dataset import PrivateDataset, first_children
from toolkit.models.synthesizer import Synthesizer

#: prefix of a parent's column counting its rows in a child table
COUNT = "__count__."
#: prefix of a parent's column saying whether it has rows in a child table (learnt as a
#: level, with the parent's other levels and missing values, apart from how many)
HAS = "__has__."
#: prefix of a parent's column holding the mean of a child's number over its rows
MEAN = "__mean__."
#: a child's numbers are learnt around their parent's mean when its parents have this many
#: rows each on average (a school's students; not a patient's few visits, whose mean is noise)
CENTRED_MIN_ROWS = 10
#: prefix of a parent's column holding its first child row's order value
START = "__start__."
#: model-file tensors holding the encoded real rows of the lookup codes used
LOOKUP_TENSOR = "__lookup__/"
#: generated tables as the models hold them: per table, its rows and their encoding
Generated = dict[str, tuple[pd.DataFrame, np.ndarray]]
#: prefix of a parent's column holding a child column constant within the parent
CONSTANT = "__constant__."


def _constant(child: str, column: str) -> str:
    return f"{CONSTANT}{child}.{column}"


def nearest_keys(codes: list[Any], known: list[str], rows: np.ndarray, keys: np.ndarray,
                 encoded: np.ndarray, rng: np.random.Generator) -> dict[Any, Any]:
    """Each lookup code a child's generated rows use, mapped to a generated parent's key: the
    generated parent nearest (in the parent model's encoding) to the code's real row
    (``known`` codes and their encoded ``rows``), a different one for each code while
    there are (the most used codes choose first); a code without a known row gets one at
    random."""
    rows_of = dict(zip(known, rows, strict=True))
    free = np.ones(len(keys), dtype=bool)
    mapping = {}
    for code in codes:
        if not len(keys):
            break
        if str(code) in rows_of:
            distances = ((np.asarray(encoded, dtype=np.float32) - rows_of[str(code)]) ** 2).sum(1)
            if free.any():
                distances = np.where(free, distances, np.inf)
            chosen = int(np.argmin(distances))
        else:
            chosen = int(rng.integers(len(keys)))
        free[chosen] = False
        mapping[code] = keys[chosen]
    return mapping


def _filled(values: np.ndarray, seed: int) -> np.ndarray:
    """Values a parent with children must have (its first child's time, a constant of its
    children), the missing ones drawn among the others: in training only a parent without
    children has none, which the parent's model may pair with a count of children."""
    values = pd.Series(values)
    missing = values.isna().to_numpy()
    if missing.any() and (~missing).any():
        rng = np.random.default_rng(seed)
        values[missing] = values[~missing].to_numpy()[rng.integers(0, (~missing).sum(),
                                                                   missing.sum())]
    return values.to_numpy()


def _in_dtype(values: pd.Series, dtype: str) -> pd.Series:
    """Values in a column's dtype where they fit it (integers with gaps: nullable)."""
    try:
        if dtype.startswith(("int", "uint")) and values.isna().any():
            return values.astype("Int64")
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values


def check_scale(scale: Any) -> float:
    """``scale`` of :meth:`MultiTableSynthesizer.sample`, checked.

    Raises
    ------
    UsageError
        For a scale that is not a positive number.
    """
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0 \
            or not np.isfinite(scale):
        raise UsageError(f"scale must be a positive number, got {scale!r}")
    return float(scale)


def _count(child: str) -> str:
    return COUNT + child


def _has(child: str) -> str:
    return HAS + child


def _mean(child: str, column: str) -> str:
    return f"{MEAN}{child}.{column}"


def _start(child: str) -> str:
    return START + child


class MultiTableSynthesizer(BaseEstimator):
    """Learn a dataset of linked tables and generate a synthetic one with fresh keys.

    Parameters
    ----------
    metadata : dict, str, Path or None, default None
        The tables' keys (:class:`~adapters.dataset.DatasetMetadata`: our mapping or SDV's
        multi-table metadata, or a YAML/JSON file of either); ``None`` drafts them from the
        tables' names and values (said in an :class:`~toolkit.exceptions.InferenceWarning`).
    config : str, Path or Config, default "default"
        The preset every table's model uses.
    epochs : int or None, default None
        Training passes (``None``: the preset's budget for each table's size).
    random_state : int or None, default None
        Seed of the fit (and of the first sample).
    epsilon : float or None, default None
        Learn with differential privacy at this ε per root entity (a patient with everything
        under it): :mod:`toolkit.models.private_dataset`. The metadata must then be given,
        stating every column's kind and public bounds or levels.
    delta : float or None, default None
        δ of the guarantee (``None``: ``1 / entities^1.1``).
    max_grad_norm : float, default 1.0
        Per-unit gradient clipping bound of DP-SGD (only with ``epsilon``).

    Attributes
    ----------
    metadata_ : DatasetMetadata
        The keys used (given or drafted).
    models_ : dict
        Per table, its :class:`~toolkit.Synthesizer` (a root) or its
        :class:`~toolkit.models.histories.PatientHistories` (a child).
    order_ : list of str
        The tables in the order they are generated (parents first).
    rules_ : dict of str to Rules
        A child table's rules (a root's are its Synthesizer's ``rules_``).
    cross_rules_ : dict of str to CrossTableRules
        A child table's bounds by its parent (:mod:`toolkit.adapters.cross_table`).
    lookups_ : list of str
        The relationships learnt as lookups (:func:`is_lookup`).
    lookup_rows_ : dict
        Per lookup relationship, the codes the child uses and their real rows as the
        parent's model encodes them (which generated parent each code goes to).
    constants_ : dict of str to list of str
        Per child table, its columns generated once per parent.
    n_rows_ : dict of str to int
        Training rows per table.
    fit_seconds_ : float
        Seconds the fit took.
    output_ : {"pandas", "pyarrow", "polars"}
        The kind of tables :meth:`fit` was given, which :meth:`sample` gives back.
    privacy_ : dict or None
        For a private fit, the guarantee per root entity (ε spent, δ, each root's part).
    """

    def __init__(self, metadata: dict[str, Any] | str | Path | None = None,
                 config: str | Path | Config = "default", epochs: int | None = None,
                 random_state: int | None = None, epsilon: float | None = None,
                 delta: float | None = None, max_grad_norm: float = 1.0) -> None:
        self.metadata = metadata
        self.config = config
        self.epochs = epochs
        self.random_state = random_state
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm

    # fitting ---------------------------------------------------------------------------
    def fit(self, tables: dict[str, pd.DataFrame] | str | Path) -> MultiTableSynthesizer:
        """Learn the dataset.

        Parameters
        ----------
        tables : dict of str to DataFrame (pandas or Polars) or pyarrow.Table, or a folder
            The tables by name, or a folder of one CSV/Parquet file per table; :meth:`sample`
            gives back tables of the same kind (``output_``).

        Raises
        ------
        UsageError
            For metadata that does not match the tables or relationships in a circle.
        DataError
            For a duplicated primary key or a foreign key without its parent.
        """
        started = time.perf_counter()
        tables = read_dataset(tables) if isinstance(tables, (str, Path)) else dict(tables)
        if not tables:
            raise UsageError("a dataset needs at least one table")
        self.output_ = frame_kind(next(iter(tables.values())))
        tables = {name: to_pandas(table) for name, table in tables.items()}
        privately = self._private(tables)
        metadata = self.resolve_metadata(tables)
        metadata.check(tables)
        seed = resolve_seed(self.random_state)
        self.metadata_ = metadata
        self.order_ = metadata.generation_order()
        self.columns_ = {name: [str(c) for c in table.columns] for name, table in tables.items()}
        self.n_rows_ = {name: len(table) for name, table in tables.items()}
        self.models_: dict[str, Any] = {}
        self.rules_: dict[str, Rules] = {}
        # a private fit reads the rows through its mechanisms only: no lookups, no constants
        self.lookups_ = [] if privately else [str(r) for r in metadata.relationships
                                              if is_lookup(r, tables)]
        private = None
        if privately:
            private = PrivateDataset(float(self.epsilon), self.delta, self.max_grad_norm,
                                     metadata)
            private.check({name: getattr(self._parent(name), "parent", None)
                           for name in tables})
        self.cross_rules_, self._own_rules = self._split_rules(tables)
        self.constants_ = {name: [] if privately else self._constants(name, tables)
                           for name in tables}
        self.centred_ = {name: {} if privately else self._centred(name, tables)
                         for name in tables}
        self.dtypes_ = {name: {str(c): str(t[c].dtype) for c in t.columns}
                        for name, t in tables.items()}
        config = Synthesizer(config=self.config, epochs=self.epochs,
                             epsilon=self.epsilon).resolve_config()
        plans: dict[str, PrivacyPlan] = {}
        fitted: Generated = {}
        for index, name in enumerate(self.order_):
            table = self._modelled(name, tables)
            relation = self._parent(name)
            if relation is None:
                fitted[name] = self._fit_root(name, table, seed + index, private)
            else:
                fitted[name] = self._fit_child(name, relation, table, fitted[relation.parent],
                                               tables[relation.parent], config, seed + index,
                                               private, plans)
        self.lookup_rows_ = {}
        for relation in (r for r in metadata.relationships if str(r) in self.lookups_):
            rows, encoded = fitted[relation.parent]
            used = rows[relation.parent_key].isin(tables[relation.child][relation.child_key])
            self.lookup_rows_[str(relation)] = (
                [str(code) for code in rows[relation.parent_key][used]],
                np.asarray(encoded, dtype=np.float32)[used.to_numpy()])
        self.seed_ = seed
        self.privacy_ = None if private is None else private.guarantee({
            root: (self.n_rows_[root], PrivacyPlan.from_dict(self.models_[root].privacy_),
                   [plans[r.child] for r in self._children(root)]) for root in self.roots()})
        self._sampling_rng = np.random.default_rng(seed)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _private(self, tables: dict[str, pd.DataFrame]) -> bool:
        """Whether the fit is private, its settings checked.

        Raises
        ------
        UsageError
            For an ε that is not a positive number, or no metadata given.
        """
        if self.epsilon is None:
            return False
        if isinstance(self.epsilon, bool) or not isinstance(self.epsilon, (int, float)) \
                or not self.epsilon > 0 or not np.isfinite(self.epsilon):
            raise UsageError(f"epsilon must be a positive number, got {self.epsilon!r}")
        if self.metadata is None:
            raise UsageError("with epsilon, give the dataset's metadata (keys, orders and "
                             "every column's kind and public bounds or levels): drafting it "
                             "would read the data")
        return True

    def resolve_metadata(self, tables: dict[str, pd.DataFrame]) -> DatasetMetadata:
        """The keys :meth:`fit` uses for ``tables``: the ``metadata`` parameter's, or drafted
        (said in an :class:`~toolkit.exceptions.InferenceWarning`)."""
        given = read_metadata(self.metadata) if isinstance(self.metadata, (str, Path)) \
            else self.metadata
        if given is not None:
            return DatasetMetadata.from_dict(given)
        drafted, notes = draft_dataset(tables)
        warnings.warn(InferenceWarning(
            "dataset keys drafted from names and values: " + "; ".join(notes or ["none found"])
            + "; state them in the metadata (toolkit metadata DIR drafts a file) to change "
            "this"), stacklevel=3)
        return drafted

    def _split_rules(self, tables: dict[str, pd.DataFrame]
                     ) -> tuple[dict[str, CrossTableRules], dict[str, list[dict[str, Any]]]]:
        """Each table's rules apart: bounds by the parent it is generated under, and its own
        rules with those its children's bounds put on its model (the first child's time)."""
        columns = {name: [str(c) for c in table.columns] for name, table in tables.items()}
        cross: dict[str, CrossTableRules] = {}
        own: dict[str, list[dict[str, Any]]] = {}
        for name in tables:
            relation = self._parent(name)
            own[name], bounds = split_rules(self.metadata_.tables[name].rules, name,
                                            None if relation is None else relation.parent,
                                            columns)
            if bounds:
                cross[name] = CrossTableRules(bounds, self.metadata_.tables[name].order)
        for name, rules in cross.items():
            relation = self._parent(name)
            own[relation.parent] = rules.parent_rules(_start(name)) + own[relation.parent]
        return cross, own

    def _kinds(self, name: str, columns: list[str]) -> dict[str, Any]:
        """Column metadata of a table's modelled columns: the given, keys as IDs, counts as
        integers."""
        table = self.metadata_.tables[name]
        kinds = {c: v for c, v in table.columns.items() if c in columns}
        keys = {table.primary_key} | {r.parent_key for r in self.metadata_.relationships
                                      if r.parent == name}
        kinds.update({key: "id" for key in keys if key in columns})
        kinds.update({r.child_key: "categorical" for r in self._lookups(name)})
        kinds.update({c: "integer" for c in columns if c.startswith(COUNT)})
        kinds.update({c: "boolean" for c in columns if c.startswith(HAS)})
        return kinds

    def _constants(self, name: str, tables: dict[str, pd.DataFrame]) -> list[str]:
        """The columns of a child table that never change within a parent (a school's mean
        SES on each of its students): generated once per parent, with the parent."""
        relation = self._parent(name)
        if relation is None:
            return []
        fixed = self._structural(name, relation)
        return [str(c) for c in constant_within(tables[name], relation.child_key)
                if c not in fixed]

    def _structural(self, name: str, relation: Relationship) -> set[Any]:
        """A child table's columns that hold its structure and stay as they are: its keys,
        its order, the columns its rules name."""
        table = self.metadata_.tables[name]
        ruled = {str(c) for rule in table.rules for value in rule.values()
                 for c in (value if isinstance(value, list) else [value])}
        return {relation.child_key, table.primary_key, table.order} | ruled | {
            r.child_key for r in self._further(name)} | {
            r.parent_key for r in self._children(name)}

    def _centred(self, name: str, tables: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
        """A child table's continuous numbers learnt around their parent's mean (a school's
        students' SES around the school's mean SES: the mean is learnt with the parent, each
        row's distance from it by the child's model), with the training range and dtype they
        are rebuilt into; none when its parents have fewer than :data:`CENTRED_MIN_ROWS` rows
        each on average."""
        relation = self._parent(name)
        if relation is None:
            return {}
        table = tables[name]
        keys = table[relation.child_key].dropna()
        if keys.empty or len(keys) < CENTRED_MIN_ROWS * keys.nunique():
            return {}
        stated = {c: v if isinstance(v, str) else v.get("kind") for c, v in
                  self.metadata_.tables[name].columns.items() if c in table.columns}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kinds = infer_kinds(table, {c: k for c, k in stated.items() if k})[0]
        skip = self._structural(name, relation) | set(self.constants_[name]) | {
            r.child_key for r in self._lookups(name)}
        centred = {}
        for column, kind in kinds.items():
            values = table[column]
            if kind != "continuous" or column in skip or not pd.api.types.is_numeric_dtype(
                    values.dtype) or pd.api.types.is_bool_dtype(values.dtype) \
                    or values.notna().sum() < 2:
                continue
            present = values.dropna().to_numpy(dtype=float)
            centred[str(column)] = {"min": float(present.min()), "max": float(present.max()),
                                    "mean": float(present.mean()), "dtype": str(values.dtype),
                                    "decimals": decimals_of(present, most=17)}
        return centred

    def _modelled(self, name: str, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """A table as its model learns it: its columns without further parents' keys and
        without the columns constant within its parent, with each child table's count (and
        start, for an ordered child, and the child's constant columns) per row."""
        table = tables[name].copy()
        table.columns = [str(c) for c in table.columns]
        further = [r.child_key for r in self._further(name)]
        table = table.drop(columns=further + self.constants_.get(name, []))
        for relation in self._children(name):
            child = tables[relation.child]
            keys = table[relation.parent_key]
            firsts = child.drop_duplicates(relation.child_key).set_index(relation.child_key)
            for column in self.constants_.get(relation.child, []):
                table[_constant(relation.child, column)] = keys.map(firsts[column]).to_numpy()
            centred = list(self.centred_.get(relation.child, {}))
            if centred:
                means = child.groupby(relation.child_key)[centred].mean()
                for column in centred:
                    table[_mean(relation.child, column)] = keys.map(means[column]).to_numpy()
            counts = keys.map(child[relation.child_key].value_counts()).fillna(0).astype(int)
            if self.epsilon is not None:  # a private fit learns the first rows of each
                counts = counts.clip(upper=PRIVATE_MAX_ROWS)
            table[_count(relation.child)] = counts.to_numpy()
            table[_has(relation.child)] = (counts > 0).to_numpy()
            order = self.metadata_.tables[relation.child].order
            if order is not None:
                first = child.assign(_time=order_values(child[order])).sort_values(
                    "_time", kind="stable").drop_duplicates(relation.child_key)
                table[_start(relation.child)] = keys.map(
                    first.set_index(relation.child_key)[order]).to_numpy()
        return table

    def _fit_root(self, name: str, table: pd.DataFrame, seed: int,
                  private: PrivateDataset | None) -> tuple[pd.DataFrame, np.ndarray]:
        """Fit a root table's synthesizer (privately, with ``private``); return its rows and
        their encoding."""
        started = time.perf_counter()
        if private:
            fit = private.root_fit([r.child for r in self._children(name)], len(table),
                                   self._private_columns(name, list(table.columns), private))
            model = Synthesizer(config=self.config, epochs=self.epochs, random_state=seed,
                                epsilon=fit.epsilon, delta=fit.delta,
                                max_grad_norm=fit.max_grad_norm, metadata=fit.metadata)
        else:
            model = Synthesizer(config=self.config, epochs=self.epochs, random_state=seed,
                                metadata={"columns": self._kinds(name, list(table.columns)),
                                          "rules": self._own_rules[name]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InferenceWarning)
            model._fit(Records(table), model.resolve_config(), seed, histories=False)
        model.fit_seconds_ = time.perf_counter() - started
        self.models_[name] = model
        return table, model.adapter_.transform(table)

    def _private_columns(self, name: str, columns: list[str], private: PrivateDataset
                         ) -> dict[str, Any]:
        """Column metadata of a root table's modelled columns for its private fit: the
        stated, keys as IDs, each child's count (bounded) and first time (the order's
        stated bounds)."""
        described = private.column_metadata(name)
        kinds: dict[str, Any] = {c: described[c] for c in columns if c in described}
        kinds.update({c: {"kind": "id"} for c, k in self._kinds(name, columns).items()
                      if k == "id"})
        for relation in self._children(name):
            child = relation.child
            kinds[_count(child)] = {"kind": "integer", "min": 0, "max": PRIVATE_MAX_ROWS}
            kinds[_has(child)] = {"kind": "boolean"}
            order = self.metadata_.tables[child].order
            if order is not None:
                if order not in private.column_metadata(child):
                    raise UsageError(f"with epsilon, the metadata must state {child}.{order} "
                                     "(its order) with its kind and public bounds")
                kinds[_start(child)] = private.column_metadata(child)[order]
        return kinds

    def _fit_child(self, name: str, relation: Relationship, table: pd.DataFrame,
                   parent: tuple[pd.DataFrame, np.ndarray], parent_table: pd.DataFrame,
                   config: Config, seed: int, private: PrivateDataset | None = None,
                   plans: dict[str, PrivacyPlan] | None = None
                   ) -> tuple[pd.DataFrame, np.ndarray]:
        """Fit a child table's histories given its parent rows (``parent_table``: the real
        parent, for bounds by it); return its rows in history order and their encoding.
        With ``private``, each parent's first rows are learnt by private histories (their
        plan put in ``plans``)."""
        parent_rows, parent_encoded = parent
        key, order = relation.child_key, self.metadata_.tables[name].order
        rules = Rules.from_metadata({"rules": self._own_rules[name]})
        cross = self.cross_rules_.get(name)
        bounded = [] if cross is None else cross.rebuilt
        clash = sorted({key, order, self.metadata_.tables[name].primary_key}
                       & set(rules.rebuilt()) | set(bounded) & set(rules.rebuilt()), key=str)
        if clash:
            raise UsageError(f"a rule of {name} rebuilds {clash[0]!r}, a key, the order or a "
                             "column bounded by its parent: state it the other way")
        kinds = self._kinds(name, list(table.columns))
        if rules:
            table = rules.forward(table)
            kinds = rules.learnt_metadata({c: v if isinstance(v, dict) else {"kind": v}
                                           for c, v in kinds.items()})
            self.rules_[name] = rules
        if cross is not None:
            table = cross.forward(table, parent_values(
                table, key, parent_table, relation.parent_key, cross.parent_columns))
            kinds.update({c: "continuous" for c in bounded})
        centred = list(self.centred_.get(name, {}))
        if centred:  # each number as its distance from its parent's mean
            table = table.copy()
            means = table.groupby(key)[centred].transform("mean")
            table[centred] = table[centred] - means
            kinds.update({c: "continuous" for c in centred})
        orphans = table[key].isna()
        if orphans.any():
            warnings.warn(InferenceWarning(
                f"{int(orphans.sum())} rows of {name} have no {key} (no parent): they are "
                "not learnt from"), stacklevel=4)
            table = table[~orphans]
        owner = pd.Index(parent_rows[relation.parent_key]).get_indexer(table[key])
        times = order_values(table[order]) if order is not None else np.zeros(len(table))
        ordered = table.iloc[np.lexsort((np.arange(len(table)), times, owner))]
        owner = np.sort(owner)
        if private:
            ordered, owner = first_children(ordered, owner)
        lengths = np.bincount(owner, minlength=len(parent_rows))
        has = lengths > 0
        layout = HistoryLayout(key, order, [key] + ([order] if order else []),
                               [c for c in ordered.columns if c not in (key, order)],
                               list(ordered.columns))
        events = ordered[layout.event_columns].reset_index(drop=True)
        patients = pd.DataFrame({ROWS: lengths[has]})
        if order is not None:
            ordered_times = order_values(ordered[order])
            gaps = np.diff(ordered_times, prepend=ordered_times[:1])
            starts = first_rows(lengths[has])
            gaps[starts] = 0.0
            events[GAP] = gaps
            patients[order] = ordered[order].iloc[starts].to_numpy()
        if private and plans is not None:
            described = private.column_metadata(name)
            columns = {c: described.get(c, {"kind": v} if isinstance(v, str) else v)
                       for c, v in kinds.items()}
            privacy = private.child_fit(columns, len(self._children(relation.parent)),
                                        len(parent_rows), int(has.sum()))
            histories, plans[name] = PatientHistories.fit_private(
                layout, patients, events, parent_encoded[has],
                None if order is None else ordered[order].dtype, config, seed, privacy)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", InferenceWarning)
                histories, _ = PatientHistories.fit(
                    layout, patients, events, parent_encoded[has], ordered, config, seed,
                    {"columns": {c: v for c, v in kinds.items() if c in layout.event_columns}})
        self.models_[name] = histories
        return ordered.reset_index(drop=True), histories.events.transform(events)

    # sampling --------------------------------------------------------------------------
    def sample(self, scale: float = 1.0, random_state: int | None = None,
               conditions: dict[str, Any] | None = None, output: str | None = None
               ) -> dict[str, Any]:
        """Generate a synthetic dataset.

        Parameters
        ----------
        scale : float, default 1.0
            Root rows to generate, as a share of the training rows (0.5: half as many
            patients); child tables follow from their generated parents.
        random_state : int or None, default None
            Seed for this call; ``None`` continues the model's own sequence.
        conditions : dict, optional
            Values every generated row of a root table has, its children following from
            them: ``{table: {column: value}}``, or ``{column: value}`` for columns of one
            root table (``"table.column"`` names the table where several have the column).
            Met as :meth:`toolkit.Synthesizer.sample` meets them; a conditioned root still
            gets ``scale`` times its training rows.
        output : {"pandas", "pyarrow", "polars"} or None, default None
            The kind of tables to return (``None``: the kind :meth:`fit` was given).

        Returns
        -------
        dict of str to pandas.DataFrame
            Every table, with its training columns, fresh keys and every foreign key
            pointing at a generated parent row.

        Raises
        ------
        UsageError
            For a scale that is not a positive number, or a condition on a table that is not
            a root, an unknown column or a key.
        DataError
            For a condition the root's model cannot meet (see :meth:`toolkit.Synthesizer.sample`).
        """
        self._check_fitted()
        check_scale(scale)
        wanted = self.root_conditions(conditions)
        rng = self._sampling_rng if random_state is None else np.random.default_rng(
            resolve_seed(random_state))
        kind = check_kind(output) or self.output_
        roots = {name: max(1, round(scale * self.n_rows_[name])) for name in self.roots()}
        return {name: to_kind(table, kind)
                for name, table in self._sample_tables(roots, wanted, rng)[0].items()}

    def roots(self) -> list[str]:
        """The tables generated without a parent, in generation order."""
        self._check_fitted()
        return [name for name in self.order_ if self._parent(name) is None]

    def shared_roots(self) -> list[str]:
        """The root tables other tables point at by a lookup or a second key (wards,
        airlines): the engines generate them once, whole, and every partition uses them."""
        linked = {r.parent for name in self.order_ for r in self._further(name)
                  + self._lookups(name)}
        return [name for name in self.roots() if name in linked]

    def generated_under(self, name: str) -> Relationship | None:
        """The relationship table ``name`` is generated under (``None`` for a root)."""
        self._check_fitted()
        return self._parent(name)

    def root_of(self, name: str) -> str:
        """The root table ``name`` is generated under (itself for a root)."""
        relation = self._parent(name)
        return name if relation is None else self.root_of(relation.parent)

    def sample_tables(self, root_rows: dict[str, int], random_state: int,
                      conditions: dict[str, Any] | None = None,
                      given: Generated | None = None,
                      partition: tuple[int, int] = (0, 1)
                      ) -> tuple[dict[str, pd.DataFrame], Generated]:
        """Generate the tables under some roots: what the engines run on each partition.

        Parameters
        ----------
        root_rows : dict of str to int
            Rows of each root table to generate (0 allowed); the tables under those roots
            follow. Roots not named are not generated.
        random_state : int
            Seed of this part.
        conditions : dict, optional
            As for :meth:`sample`.
        given : dict, optional
            Tables generated before (the second value this method returns), used as the
            parents of lookups and second keys: :meth:`shared_roots` generated once.
        partition : (int, int), default (0, 1)
            ``(index, count)``: keys are every ``count``-th of each table's fresh sequence,
            from ``index``, so partitions never share a key.

        Returns
        -------
        tables : dict of str to pandas.DataFrame
            The generated tables, as :meth:`sample` returns them.
        generated : dict
            The generated rows as the models hold them (what ``given`` takes).
        """
        self._check_fitted()
        return self._sample_tables(root_rows, self.root_conditions(conditions),
                                   np.random.default_rng(resolve_seed(random_state)), given,
                                   partition)

    def _sample_tables(self, root_rows: dict[str, int], wanted: dict[str, dict[str, Any]],
                       rng: np.random.Generator,
                       given: Generated | None = None,
                       partition: tuple[int, int] = (0, 1)
                       ) -> tuple[dict[str, pd.DataFrame], Generated]:
        generated = dict(given or {})
        made = [name for name in self.order_ if self.root_of(name) in root_rows]
        for name in self.order_:
            seed = int(rng.integers(2**31 - 1))  # one draw a table: parts stay aligned
            if name not in made:
                continue
            relation = self._parent(name)
            if relation is None:
                generated[name] = self._sample_root(name, root_rows[name], wanted.get(name),
                                                    seed, partition)
            else:
                generated[name] = self._sample_child(name, relation, generated[relation.parent],
                                                     seed, partition)
        tables = {name: self._output(name, generated, rng) for name in self.columns_
                  if name in made}
        return tables, {name: generated[name] for name in made}

    def _sample_root(self, name: str, rows: int, conditions: dict[str, Any] | None, seed: int,
                     partition: tuple[int, int]) -> tuple[pd.DataFrame, np.ndarray]:
        """A root table's rows (keys numbered as the children's) and their encoding."""
        model = self.models_[name].number_ids_from(*partition)
        drawn = model.sample(max(rows, 1), conditions=conditions, random_state=seed)
        drawn = drawn.iloc[:rows].reset_index(drop=True)
        return drawn, model.adapter_.transform(drawn) if rows else \
            np.zeros((0, model.adapter_.spec.width), dtype=np.float32)

    def root_conditions(self, conditions: dict[str, Any] | None
                        ) -> dict[str, dict[str, Any]]:
        """``conditions`` of :meth:`sample` as ``{root table: {column: value}}``.

        Raises
        ------
        UsageError
            For a table that is not a root, or a column that is no root table's (or is a key).
        """
        self._check_fitted()
        if not conditions:
            return {}
        if not isinstance(conditions, dict):
            raise UsageError("conditions must be a dict: {table: {column: value}} or "
                             f"{{column: value}}, got {type(conditions).__name__}")
        roots = [n for n in self.order_ if self._parent(n) is None]
        per_table: dict[str, dict[str, Any]] = {}
        for key, value in conditions.items():
            if isinstance(value, dict):
                if key not in self.columns_:
                    raise UsageError(f"conditions name table {key!r}, which the dataset does "
                                     f"not have (tables: {', '.join(self.columns_)})")
                for column, level in value.items():
                    per_table.setdefault(key, {})[str(column)] = level
                continue
            owners = [n for n in roots if str(key) in self.columns_[n]]
            table, _, column = str(key).partition(".")
            if not owners and table in roots and column in self.columns_[table]:
                owners, key = [table], column
            if len(owners) > 1:
                raise UsageError(f"condition column {key!r} is in the root tables "
                                 f"{' and '.join(owners)}: name it as TABLE.{key}")
            if not owners:
                raise UsageError(f"no root table has a column {key!r} to condition on (root "
                                 f"tables: {', '.join(roots)})")
            per_table.setdefault(owners[0], {})[str(key)] = value
        for table, columns in per_table.items():
            relation = self._parent(table)
            if relation is not None:
                raise UsageError(f"conditions apply to root tables ({', '.join(roots)}); "
                                 f"{table} is generated from its parent {relation.parent}")
            keys = {self.metadata_.tables[table].primary_key} | {
                r.parent_key for r in self.metadata_.relationships if r.parent == table}
            for column in columns:
                if column not in self.columns_[table]:
                    raise UsageError(f"table {table} has no column {column!r} to condition on")
                if column in keys:
                    raise UsageError(f"{table}.{column} is a key: generated keys are fresh, "
                                     "so they cannot be conditioned on")
        return per_table

    def _sample_child(self, name: str, relation: Relationship,
                      parent: tuple[pd.DataFrame, np.ndarray], seed: int,
                      partition: tuple[int, int]) -> tuple[pd.DataFrame, np.ndarray]:
        parent_rows, parent_encoded = parent
        histories: PatientHistories = self.models_[name]
        counts = pd.to_numeric(parent_rows[_count(name)], errors="coerce").fillna(0)
        counts = counts.round().clip(lower=0).to_numpy(dtype=int)
        has = parent_rows[_has(name)].astype(bool).to_numpy()
        counts = np.where(has, np.maximum(counts, 1), 0)
        has = counts > 0
        patients = pd.DataFrame({ROWS: counts[has]})
        order = histories.layout.order
        if order is not None:
            patients[order] = _filled(parent_rows[_start(name)].to_numpy()[has], seed)
        if not has.any():
            empty = pd.DataFrame({c: pd.Series(dtype=object) for c in histories.layout.columns})
            return empty, np.zeros((0, histories.events.spec.width), dtype=np.float32)
        cross = self.cross_rules_.get(name)
        ends = None if cross is None else cross.ends(parent_rows[has])
        kept, events, times = histories.draw(patients, parent_encoded[has], seed, ends)
        owner = np.repeat(np.flatnonzero(has), kept[ROWS].to_numpy(dtype=int))
        rows = events.drop(columns=[GAP], errors="ignore")
        rows[relation.child_key] = parent_rows[relation.parent_key].to_numpy()[owner]
        if order is not None:
            rows[order] = times.to_numpy()
        rows = histories.events.renumber_ids(rows, *partition)[histories.layout.columns]
        per_row = np.repeat(np.flatnonzero(has), kept[ROWS].to_numpy(dtype=int))
        for column, known in self.centred_.get(name, {}).items():
            means = pd.to_numeric(parent_rows[_mean(name, column)], errors="coerce")
            means = means.fillna(known["mean"]).to_numpy(dtype=float)[per_row]
            values = pd.to_numeric(rows[column], errors="coerce").to_numpy(dtype=float) + means
            values = np.round(np.clip(values, known["min"], known["max"]), known["decimals"])
            rows[column] = _in_dtype(pd.Series(values), known["dtype"]).to_numpy()
        if cross is not None:
            rows = cross.inverse(rows, parent_values(rows, relation.child_key, parent_rows,
                                                     relation.parent_key, cross.parent_columns))
        if name in self.rules_:
            rows = self.rules_[name].inverse(rows)
        for column in self.constants_[name]:
            values = _filled(parent_rows[_constant(name, column)].to_numpy()[has], seed)
            rows[column] = _in_dtype(pd.Series(np.repeat(values, kept[ROWS].to_numpy(
                dtype=int))), self.dtypes_[name][column])
        return rows, histories.events.transform(events)

    def _output(self, name: str, generated: Generated,
                rng: np.random.Generator) -> pd.DataFrame:
        """A generated table as the user's: further parents' keys drawn among the generated
        parent rows, the training columns in their order, no counts or starts."""
        rows = generated[name][0].copy()
        for relation in self._further(name):
            keys = generated[relation.parent][0][relation.parent_key].to_numpy()
            rows[relation.child_key] = keys[rng.integers(0, len(keys), len(rows))] \
                if len(keys) else None
        for relation in self._lookups(name):  # each code used: a generated parent's key
            parents, encoded = generated[relation.parent]
            codes = rows[relation.child_key].dropna().value_counts().index.tolist()
            mapping = nearest_keys(codes, *self.lookup_rows_[str(relation)],
                                   parents[relation.parent_key].to_numpy(), encoded, rng)
            rows[relation.child_key] = rows[relation.child_key].map(mapping)
        return rows[self.columns_[name]].reset_index(drop=True)

    # which relationships do what -------------------------------------------------------
    def _relations(self, name: str) -> list[Relationship]:
        return [r for r in self.metadata_.relationships if r.child == name]

    def _parent(self, name: str) -> Relationship | None:
        """The relationship a table is generated under: its first that is no lookup."""
        return next((r for r in self._relations(name) if str(r) not in self.lookups_), None)

    def _further(self, name: str) -> list[Relationship]:
        """A table's other relationships that are no lookups (keys drawn at random)."""
        parent = self._parent(name)
        return [r for r in self._relations(name) if r != parent and str(r) not in self.lookups_]

    def _lookups(self, name: str) -> list[Relationship]:
        """A table's lookup relationships (codes learnt as categories, see
        :func:`is_lookup`)."""
        return [r for r in self._relations(name) if str(r) in self.lookups_]

    def _children(self, name: str) -> list[Relationship]:
        """The relationships under which tables are generated from ``name``'s rows."""
        return [r for r in (self._parent(t) for t in self.metadata_.tables)
                if r is not None and r.parent == name]

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise NotFittedError("this MultiTableSynthesizer is not fitted yet: call fit first")

    # model files -----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Save the fitted dataset model to one ``.tkm`` file (every table's model)."""
        from toolkit.io.modelfile import save_model

        self._check_fitted()
        tensors: dict[str, torch.Tensor] = {}
        documents: dict[str, Any] = {}
        for name, model in self.models_.items():
            if isinstance(model, Synthesizer):
                documents[name] = {"root": model.document()}
                state = model.tensors()
            else:
                documents[name] = {"child": model.to_dict(), "rules": None if name not in
                                   self.rules_ else self.rules_[name].to_dict(),
                                   "cross_rules": None if name not in self.cross_rules_
                                   else self.cross_rules_[name].to_dict()}
                state = model.state()
            tensors.update({f"{name}/{key}": value for key, value in state.items()})
        for index, (_, rows) in enumerate(self.lookup_rows_.values()):
            tensors[f"{LOOKUP_TENSOR}{index}"] = torch.from_numpy(rows)
        save_model(path, tensors, {
            "kind": "dataset", "metadata": self.metadata_.to_dict(), "order": self.order_,
            "columns": self.columns_, "n_rows": self.n_rows_, "seed": self.seed_,
            "constants": self.constants_, "centred": self.centred_, "dtypes": self.dtypes_,
            "lookups": self.lookups_,
            "lookup_codes": {rel: codes for rel, (codes, _) in self.lookup_rows_.items()},
            "fit_seconds": self.fit_seconds_, "tables": documents, "privacy": self.privacy_,
            "output": self.output_,
            "params": {"config": str(self.config) if not isinstance(self.config, Config)
                       else "custom", "epochs": self.epochs, "random_state": self.random_state,
                       "epsilon": self.epsilon, "delta": self.delta,
                       "max_grad_norm": self.max_grad_norm},
        })

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> MultiTableSynthesizer:
        """Load a model saved by :meth:`save`; never unpickles.

        Raises
        ------
        ModelFileError
            When the file is missing, corrupt or not a dataset model.
        """
        from toolkit.io.modelfile import load_model

        tensors, document = load_model(path)
        if document.get("kind") != "dataset":
            raise ModelFileError(f"{path} holds a {document.get('kind')!r} model, not a dataset "
                                 "model (MultiTableSynthesizer)")
        params = document["params"]
        model = cls(random_state=params.get("random_state"), epochs=params.get("epochs"),
                    epsilon=params.get("epsilon"), delta=params.get("delta"),
                    max_grad_norm=params.get("max_grad_norm", 1.0))
        try:
            model.metadata_ = DatasetMetadata.from_dict(document["metadata"])
            model.order_ = [str(name) for name in document["order"]]
            model.columns_ = {str(k): list(v) for k, v in document["columns"].items()}
            model.n_rows_ = {str(k): int(v) for k, v in document["n_rows"].items()}
            model.constants_ = {str(k): list(v) for k, v in document["constants"].items()}
            model.centred_ = {str(k): dict(v) for k, v in document["centred"].items()}
            model.lookups_ = [str(r) for r in document["lookups"]]
            model.lookup_rows_ = {
                str(rel): ([str(c) for c in codes],
                           tensors.pop(f"{LOOKUP_TENSOR}{index}").numpy())
                for index, (rel, codes) in enumerate(document["lookup_codes"].items())}
            model.dtypes_ = {str(k): dict(v) for k, v in document["dtypes"].items()}
            model.models_, model.rules_, model.cross_rules_ = {}, {}, {}
            for name, entry in document["tables"].items():
                if entry.get("rules") is not None:
                    model.rules_[name] = Rules.from_dict(entry["rules"])
                if entry.get("cross_rules") is not None:
                    model.cross_rules_[name] = CrossTableRules.from_dict(entry["cross_rules"])
                own = {key[len(name) + 1:]: value for key, value in tensors.items()
                       if key.startswith(f"{name}/")}
                if "root" in entry:
                    model.models_[name] = Synthesizer._rebuild(entry["root"], own, device)
                else:
                    model.models_[name] = PatientHistories.from_dict(entry["child"], own)
            model.seed_ = int(document["seed"])
            model.fit_seconds_ = float(document["fit_seconds"])
            model.privacy_ = document.get("privacy")
            model.output_ = str(document.get("output", "pandas"))
        except (KeyError, TypeError, ValueError, RuntimeError, UsageError, DataError) as error:
            raise ModelFileError(f"{path} is not a valid dataset model: {error}") from None
        model._sampling_rng = np.random.default_rng(model.seed_)
        return model
