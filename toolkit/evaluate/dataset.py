"""Measuring a synthetic dataset of linked tables against the real one.

:func:`dataset_report` measures, with the same code for any generator:

* per table: sdmetrics quality (:func:`~toolkit.evaluate.report.fidelity`) against the real
  table and, with a holdout, the holdout's own (the ceiling), real primary keys that came out,
  and the rows breaking each of the table's rules;
* per relationship: referential integrity (child rows whose key has its parent), the shape of
  the number of children per parent (total-variation distance of its distribution), and a
  **parent-level classifier AUROC**: each parent's row joined with aggregates of its children
  (:func:`~toolkit.evaluate.histories.patient_features`: the count, first/last/mean/spread of
  numbers, main levels), real against synthetic parents, with the holdout's parents as the
  floor;
* per root table (the patients): a membership attack on whole entities (the root row with
  its children) when a holdout is given;
* sdmetrics' multi-table QualityReport (column shapes, pair trends, cardinality, inter-table
  trends).

:func:`split_dataset` makes the holdout: a share of the rows of every table that has
children, with all of their descendants.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.cross_table import (
    ANY_PARENT,
    CrossTableRules,
    parent_values,
    split_rules,
)
from toolkit.adapters.dataset import DatasetMetadata, Relationship
from toolkit.adapters.rules import Rules
from toolkit.evaluate.histories import patient_detection, patient_membership
from toolkit.evaluate.report import (
    _as_sdmetrics_frame,
    _sdmetrics_metadata,
    column_kinds,
    fidelity,
)

#: prefix of a child's columns in a parent's joined table
CHILD = "child."


def split_dataset(tables: dict[str, pd.DataFrame], metadata: DatasetMetadata,
                  frac: float = 0.2, random_state: int = 0
                  ) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Training and held-out datasets: ``frac`` of the rows of each root table that has
    children (the patients), drawn at random, go to the holdout with every row generated
    under them (their admissions, those admissions' labs); lookup tables (roots without
    children of their own, such as wards) stay whole on both sides."""
    rng = np.random.default_rng(random_state)
    train, held = {}, {}
    for name in metadata.generation_order():
        table = tables[name]
        relation = metadata.parent_of(name)
        if relation is None:
            if not metadata.children_of(name):
                train[name] = held[name] = table
                continue
            out = rng.random(len(table)) < frac
        else:
            out = table[relation.child_key].isin(held[relation.parent][relation.parent_key])
            out = out.to_numpy()
        train[name] = table[~out].reset_index(drop=True)
        held[name] = table[out].reset_index(drop=True)
    return train, held


def joined(parent: pd.DataFrame, relation: Relationship, child: pd.DataFrame) -> pd.DataFrame:
    """Each row of ``parent`` with every one of its children (a parent without children
    once, with empty child columns); the child's columns prefixed with :data:`CHILD`."""
    child = child.rename(columns={c: CHILD + str(c) for c in child.columns
                                  if c != relation.child_key})
    merged = parent.merge(child, how="left", left_on=relation.parent_key,
                          right_on=relation.child_key, suffixes=("", "_fk"))
    if relation.child_key != relation.parent_key:
        merged = merged.drop(columns=[relation.child_key])
    return merged


def entity_copies(real: pd.DataFrame, synthetic: pd.DataFrame, key: str,
                  kinds: dict[str, str]) -> int:
    """Synthetic entities that copy a real one whole: a parent's values and every one of its
    children's (tables as :func:`joined` gives them; keys and IDs left out, missing values
    equal, the children in any order).

    Examples
    --------
    >>> real = pd.DataFrame({"id": [1, 1, 2], "sex": ["f", "f", "m"], "child.day": [3, 5, 1]})
    >>> fake = pd.DataFrame({"id": [7, 7, 8], "sex": ["f", "f", "m"], "child.day": [5, 3, 2]})
    >>> entity_copies(real, fake, "id", {"id": "id"})
    1
    """
    values = [c for c in real.columns if c != key and kinds.get(c) != "id"]

    def fingerprints(frame: pd.DataFrame) -> pd.Series:
        rows = frame[values].astype(object).where(frame[values].notna(), None).astype(str)
        text = rows.agg("\x1f".join, axis=1) if values else pd.Series("", index=frame.index)
        return text.groupby(frame[key].to_numpy()).agg(lambda group: "\x1e".join(sorted(group)))

    return int(fingerprints(synthetic).isin(set(fingerprints(real))).sum())


def children_counts(parent: pd.DataFrame, relation: Relationship,
                    child: pd.DataFrame) -> np.ndarray:
    """The number of children of each parent row (zeros included)."""
    counts = child[relation.child_key].value_counts()
    return parent[relation.parent_key].map(counts).fillna(0).to_numpy(dtype=int)


def counts_tv(real: np.ndarray, synthetic: np.ndarray) -> float:
    """Total-variation distance between two distributions of counts."""
    top = int(max(real.max(initial=0), synthetic.max(initial=0))) + 1
    p = np.bincount(real, minlength=top) / max(len(real), 1)
    q = np.bincount(synthetic, minlength=top) / max(len(synthetic), 1)
    return float(0.5 * np.abs(p - q).sum())


def _key_kinds(name: str, table: pd.DataFrame, metadata: DatasetMetadata) -> dict[str, str]:
    """The column kinds of a table, its keys as IDs."""
    kinds = column_kinds(table, metadata.tables[name].columns or None)
    keys = {metadata.tables[name].primary_key}
    keys |= {r.child_key for r in metadata.relationships if r.child == name}
    keys |= {r.parent_key for r in metadata.relationships if r.parent == name}
    return {c: ("id" if c in keys else k) for c, k in kinds.items()}


def _table_part(name: str, real_tables: dict[str, pd.DataFrame],
                synthetic_tables: dict[str, pd.DataFrame], holdout: pd.DataFrame | None,
                metadata: DatasetMetadata) -> dict[str, Any]:
    real, synthetic = real_tables[name], synthetic_tables[name]
    kinds = _key_kinds(name, real, metadata)
    part: dict[str, Any] = {"real_rows": len(real), "synthetic_rows": len(synthetic)}
    measured = [c for c, k in kinds.items() if k != "id"]
    if measured and len(synthetic):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            part["quality"] = fidelity(real, synthetic[list(real.columns)], kinds)["quality"]
            part["quality_ceiling"] = None if holdout is None or len(holdout) < 2 else \
                fidelity(real, holdout, kinds)["quality"]
    key = metadata.tables[name].primary_key
    part["real_keys"] = 0 if key is None else int(synthetic[key].isin(real[key]).sum())
    own, bounds = split_rules(metadata.tables[name].rules, name, ANY_PARENT,
                              {n: [str(c) for c in t.columns] for n, t in real_tables.items()})
    rules = Rules.from_metadata({"rules": own})
    if rules:
        rules.forward(real)
        part["rule_violations"] = rules.violations(synthetic)
    for bound in bounds:  # counted against the parent row each child row points at
        relation = next((r for r in metadata.relationships
                         if r.child == name and r.parent == bound.parent), None)
        if relation is None:
            continue
        parents = parent_values(synthetic, relation.child_key, synthetic_tables[bound.parent],
                                relation.parent_key, [bound.parent_column])
        part.setdefault("rule_violations", {}).update(
            CrossTableRules([bound], None).violations(synthetic, parents))
    return part


def _relation_part(relation: Relationship, real: dict[str, pd.DataFrame],
                   synthetic: dict[str, pd.DataFrame], holdout: dict[str, pd.DataFrame] | None,
                   metadata: DatasetMetadata, random_state: int) -> dict[str, Any]:
    parent, child = relation.parent, relation.child
    keys = synthetic[child][relation.child_key].dropna()
    part: dict[str, Any] = {"integrity": float(keys.isin(
        synthetic[parent][relation.parent_key]).mean()) if len(keys) else 1.0}
    real_counts = children_counts(real[parent], relation, real[child])
    part["cardinality_tv"] = counts_tv(real_counts, children_counts(
        synthetic[parent], relation, synthetic[child]))
    if holdout is not None:
        part["cardinality_tv_floor"] = counts_tv(real_counts, children_counts(
            holdout[parent], relation, holdout[child]))
    if metadata.parent_of(child) != relation:
        return part
    order = metadata.tables[child].order
    order = None if order is None else CHILD + order
    kinds = _joined_kinds(parent, child, metadata, real)
    sides = {"real": joined(real[parent], relation, real[child]),
             "synthetic": joined(synthetic[parent], relation, synthetic[child])}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        detected = patient_detection(sides["real"], sides["synthetic"], relation.parent_key,
                                     order, random_state, kinds)
        part["parent_auroc"] = detected["auroc"]
        part["top_features"] = detected["top_features"]
        if holdout is not None:
            floor = joined(holdout[parent], relation, holdout[child])
            part["parent_auroc_floor"] = patient_detection(
                sides["real"], floor, relation.parent_key, order, random_state, kinds,
                importances=False)["auroc"]
            if metadata.parent_of(parent) is None:
                part["membership_auc"] = patient_membership(
                    sides["real"], sides["synthetic"], floor, relation.parent_key, order,
                    kinds, random_state)["auc"]
    if metadata.parent_of(parent) is None:  # whole root entities copied, children and all
        part["entity_copies"] = entity_copies(sides["real"], sides["synthetic"],
                                              relation.parent_key, kinds)
    return part


def _joined_kinds(parent: str, child: str, metadata: DatasetMetadata,
                  real: dict[str, pd.DataFrame]) -> dict[str, str]:
    kinds = _key_kinds(parent, real[parent], metadata)
    kinds.update({CHILD + c: k for c, k in _key_kinds(child, real[child], metadata).items()})
    return kinds


def sdmetrics_quality(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                      metadata: DatasetMetadata) -> dict[str, Any]:
    """sdmetrics' multi-table QualityReport: the overall score and each property's."""
    from sdmetrics.reports import QualityReport

    tables, frames, fakes = {}, {}, {}
    for name, table in real.items():
        kinds = _key_kinds(name, table, metadata)
        tables[name] = {"primary_key": metadata.tables[name].primary_key,
                        **_sdmetrics_metadata(kinds)["tables"]["table"]}
        frames[name] = _as_sdmetrics_frame(table, kinds)
        fakes[name] = _as_sdmetrics_frame(synthetic[name][list(table.columns)], kinds)
    sdv = {"tables": tables, "relationships": [
        {"parent_table_name": r.parent, "parent_primary_key": r.parent_key,
         "child_table_name": r.child, "child_foreign_key": r.child_key}
        for r in metadata.relationships]}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(frames, fakes, sdv, verbose=False)
    properties = report.get_properties().set_index("Property")["Score"]
    return {"score": float(report.get_score()),
            "properties": {str(k): float(v) for k, v in properties.items()}}


def dataset_report(real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame],
                   metadata: DatasetMetadata, holdout: dict[str, pd.DataFrame] | None = None,
                   random_state: int = 0) -> dict[str, Any]:
    """Measure a synthetic dataset (see the module docstring); JSON-ready.

    Parameters
    ----------
    real, synthetic : dict of str to pandas.DataFrame
        The training tables and the generated ones, by name.
    metadata : DatasetMetadata
        Keys, orders and rules.
    holdout : dict, optional
        Held-out real tables (:func:`split_dataset`): the ceilings, floors and the
        membership attack.
    random_state : int, default 0
    """
    tables = {name: _table_part(name, real, synthetic,
                                None if holdout is None else holdout[name], metadata)
              for name in metadata.generation_order()}
    relations = {str(r): _relation_part(r, real, synthetic, holdout, metadata, random_state)
                 for r in metadata.relationships}
    return {"tables": tables, "relationships": relations,
            "sdmetrics": sdmetrics_quality(real, synthetic, metadata)}
