"""A dataset of linked tables learnt with differential privacy per root entity (the patient).

Each root table's row is one entity; everything under it is that entity's: each child table
generated under the root contributes the entity's first :data:`PRIVATE_MAX_ROWS` rows as one
history. The root table is fitted by a private :class:`~toolkit.Synthesizer` (a noisy
histogram release of the metadata's schema and DP-SGD over rows), each child table by private
histories (a noisy release of one row per entity and DP-SGD over entities:
:class:`~toolkit.models.private.PrivateHistories`). ε and δ are split evenly between the
root and its child tables, and the guarantee per entity is the Rényi-DP composition of every
mechanism that reads its rows. Entities of different root tables (patients, wards) are
different people or things: each root's tree is composed on its own, and the guarantee is the
largest.

What would read the data outside those mechanisms is not done: the keys, orders and column
kinds and bounds come from the metadata (nothing is drafted), no column is moved to its
parent for being constant within it, no relationship is taken for a lookup, and rules are
refused. A child table must hang directly under its root (patients → admissions, not → labs).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.dataset import DatasetMetadata
from toolkit.adapters.tabular import load_column_metadata
from toolkit.backends.privacy import PrivacyPlan, default_delta, epsilon_of
from toolkit.exceptions import PrivacyWarning, UsageError
from toolkit.models.private import PRIVATE_MAX_ROWS, PrivateFit, PrivateHistories


@dataclass(frozen=True)
class PrivateDataset:
    """The private half of :meth:`MultiTableSynthesizer.fit`.

    Parameters
    ----------
    epsilon, delta, max_grad_norm
        As for :class:`~toolkit.Synthesizer` (``delta`` ``None``: ``1 / entities^1.1`` of
        each root table).
    metadata : DatasetMetadata
        The stated keys, orders and column metadata.
    """

    epsilon: float
    delta: float | None
    max_grad_norm: float
    metadata: DatasetMetadata

    def check(self, parents: dict[str, str | None]) -> None:
        """Refuse what a private fit cannot do (``parents``: each table's generation
        parent).

        Raises
        ------
        UsageError
            For rules or a grandchild table (a column without its kind and bounds is refused
            by the fits).
        """
        for name, table in self.metadata.tables.items():
            if table.rules:
                raise UsageError(f"rules cannot be used with epsilon yet: drop the rules of "
                                 f"{name} or epsilon")
            parent = parents[name]
            if parent is not None and parents[parent] is not None:
                raise UsageError(f"with epsilon, every table must hang directly under a root "
                                 f"table so far: {name} is under {parent}, which is under "
                                 f"{parents[parent]}")

    def delta_of(self, entities: int) -> float:
        """δ of a root table's tree."""
        return self.delta if self.delta is not None else default_delta(entities)

    def root_fit(self, children: list[str], entities: int, columns: dict[str, Any]
                 ) -> PrivateFit:
        """The private fit of a root table (``columns``: its modelled columns' metadata)."""
        share = 1.0 / (1 + len(children))
        return PrivateFit(share * self.epsilon, share * self.delta_of(entities),
                          self.max_grad_norm, {"columns": columns})

    def child_fit(self, columns: dict[str, Any], siblings: int, entities: int, units: int
                  ) -> PrivateHistories:
        """The private histories of a child table (``columns``: its metadata), one of
        ``siblings`` under a root of ``entities`` rows (``units``: the entities with rows in
        it)."""
        share = 1.0 / (1 + siblings)
        return PrivateHistories(share * self.epsilon, share * self.delta_of(entities),
                                self.max_grad_norm, {"columns": columns}, units, 0.0)

    def column_metadata(self, name: str) -> dict[str, dict[str, Any]]:
        """A table's stated column metadata, read."""
        return load_column_metadata({"columns": self.metadata.tables[name].columns})

    def guarantee(self, roots: dict[str, tuple[int, PrivacyPlan, list[PrivacyPlan]]]
                  ) -> dict[str, Any]:
        """The fit's guarantee (``privacy_``): per root table (its entities, its plan and its
        children's), the composition of its tree's mechanisms; the largest is the
        dataset's."""
        parts = {}
        for root, (entities, plan, children) in roots.items():
            delta = self.delta_of(entities)
            parts[root] = {"epsilon": epsilon_of(plan.mechanisms() + [
                mechanism for child in children for mechanism in child.mechanisms()], delta),
                "delta": float(delta), "entities": int(entities)}
        worst = max(parts.values(), key=lambda part: part["epsilon"])
        return {"target_epsilon": float(self.epsilon), "epsilon": worst["epsilon"],
                "delta": worst["delta"], "max_grad_norm": float(self.max_grad_norm),
                "accountant": "Opacus RDP",
                "mechanism": "per root table, a private Synthesizer on its rows and private "
                             "histories on each child table (Gaussian histogram releases of "
                             "the metadata's schema + DP-SGD)",
                "unit": "root entity (a root table's row with everything under it)",
                "contribution": f"at most {PRIVATE_MAX_ROWS} rows of each child table per "
                                "entity",
                "roots": parts}


def first_children(ordered: pd.DataFrame, owner: np.ndarray
                   ) -> tuple[pd.DataFrame, np.ndarray]:
    """Child rows grouped by parent (``owner``, sorted) cut to each parent's first
    :data:`PRIVATE_MAX_ROWS` (said in a :class:`PrivacyWarning` when some are cut)."""
    position = pd.Series(owner).groupby(owner).cumcount().to_numpy()
    keep = position < PRIVATE_MAX_ROWS
    if not keep.all():
        warnings.warn(PrivacyWarning(
            f"with epsilon, each entity contributes at most {PRIVATE_MAX_ROWS} rows of a child "
            f"table (its first): {int((~keep).sum())} later rows are not learnt from"),
            stacklevel=4)
    return ordered[keep], owner[keep]
