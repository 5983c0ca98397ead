"""Fitting with differential privacy: the settings DP-SGD needs, an adapter learnt from a
noisy release instead of the rows, and the budget of a longitudinal fit, whose unit is the
patient (see :mod:`toolkit.backends.privacy` for the guarantee and
:mod:`toolkit.adapters.dp_statistics` for the release)."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.base import Provenance
from toolkit.adapters.dp_statistics import check_private_schema, private_surrogate
from toolkit.adapters.histories import GAP, ROWS, HistoryLayout
from toolkit.adapters.tabular import TabularAdapter, check_table, load_column_metadata
from toolkit.backends import BACKENDS
from toolkit.backends.privacy import PrivacyPlan, default_delta, epsilon_of, plan_privacy
from toolkit.backends.sequence import first_rows
from toolkit.backends.training import choose_epochs
from toolkit.config import Config
from toolkit.exceptions import PrivacyWarning, UsageError
from toolkit.io.records import Records

#: rows of each patient's history a private fit learns from at most (the first ones): a
#: public bound on what one patient contributes (and on a generated history's length)
PRIVATE_MAX_ROWS = 32
#: share of ε (and δ) a longitudinal private fit spends on the patients table; the rest
#: goes to the histories
PATIENTS_SHARE = 0.5
#: a released column: does a row share its time with the row before?
REPEATS = "__repeats_time__"


def private_settings(config: Config) -> Config:
    """``config`` as a private fit runs it: nothing may read the rows outside DP-SGD, so no
    latent mixture fitted on their codes and no early stopping on their loss; a GAN's
    critic judges one row at a time, once per step (each critic step is a DP-SGD step)."""
    return dataclasses.replace(config, prior="standard", early_stopping_patience=None,
                               pac=1, discriminator_steps=1)


@dataclass(frozen=True)
class PrivateFit:
    """The private half of :meth:`Synthesizer.fit <toolkit.Synthesizer.fit>`.

    Parameters
    ----------
    epsilon, delta, max_grad_norm
        As for :class:`~toolkit.Synthesizer`.
    metadata : dict or None
        The column metadata (kinds, public bounds and levels), read.
    """

    epsilon: float
    delta: float | None
    max_grad_norm: float
    metadata: dict[str, Any] | None

    def prepare(self, records: Records, config: Config, seed: int
                ) -> tuple[TabularAdapter, PrivacyPlan, np.ndarray]:
        """The adapter, fitted on a surrogate drawn from the noisy histogram release; the
        privacy plan; and the encoded surrogate rows (for the output bias).

        Raises
        ------
        UsageError
            For images, a backend that cannot train privately, trimming, or metadata that
            does not state every column's kind and public bounds or levels.
        DataError
            For a table of fewer than 2 rows.
        """
        if not records.domain.supports_privacy:
            raise UsageError("epsilon (differential privacy) applies to tables so far, "
                             "not to images")
        data = check_table(records.data, min_rows=2)
        backend = BACKENDS[config.backend]
        if not backend.trains_privately:
            raise UsageError(f"the {config.backend} backend cannot train with differential "
                             f"privacy: {backend.private_training_note}")
        if config.trim_fraction:
            raise UsageError("trim_fraction must be 0 with epsilon: trimming looks at other "
                             "rows' losses, which per-row clipping cannot bound")
        schema = check_private_schema([str(c) for c in data.columns],
                                      load_column_metadata(self.metadata))
        epochs = choose_epochs(len(data), config.batch_size, config.epochs, config.steps,
                               config.min_epochs, config.max_epochs)
        plan = plan_privacy(self.epsilon, self.delta, self.max_grad_norm, len(data),
                            config.batch_size, epochs)
        rng = np.random.default_rng(seed)
        surrogate = private_surrogate(data, schema, plan.statistics_noise, rng)
        kinds = {column: entry["kind"] for column, entry in schema.items()}
        adapter = TabularAdapter(kinds, config.numeric_encoding, config.max_levels,
                                 random_state=seed)
        # the caller's labels and the file's dialect; never the whole table's statistics,
        # which were read outside the noisy release
        adapter.fit(surrogate, Provenance(dialect=records.provenance.dialect,
                                          labels=records.provenance.labels))
        adapter.adopt_dtypes({str(c): str(data[c].dtype) for c in data.columns})
        return adapter, plan, adapter.transform(surrogate, random_state=seed)


@dataclass(frozen=True)
class PrivateHistories:
    """The private half of a longitudinal fit: the patient, not the row, is the unit.

    Each patient contributes one row to the patients table and one history of at most
    :data:`PRIVATE_MAX_ROWS` rows (its first ones: :meth:`bound`) to the history model, so
    adding or removing a patient changes one row of every release and one unit of every
    DP-SGD step. ε and δ are split: :data:`PATIENTS_SHARE` for the patients table (its
    histogram release and DP-SGD, :class:`PrivateFit`), the rest for the histories (a
    histogram release of one row per patient, drawn at random, for the events' encoding;
    DP-SGD over patients for the history model). The ε reported is the Rényi-DP composition
    of all four mechanisms (at most the target).

    Parameters
    ----------
    epsilon, delta, max_grad_norm
        As for :class:`~toolkit.Synthesizer` (``delta`` ``None``: ``1 / patients^1.1``).
    metadata : dict or None
        The column metadata (kinds, public bounds and levels), read.
    patients : int
        Patients in the training data (treated as public, as DP-SGD's sampling rate does).
    patients_share : float, default PATIENTS_SHARE
        Share of ε and δ for the patients table (0: it is fitted elsewhere, as a dataset's
        parent table is, and the histories get it all).
    """

    epsilon: float
    delta: float | None
    max_grad_norm: float
    metadata: dict[str, Any] | None
    patients: int
    patients_share: float = PATIENTS_SHARE

    @property
    def total_delta(self) -> float:
        """δ of the whole fit."""
        return self.delta if self.delta is not None else default_delta(self.patients)

    def bound(self, data: pd.DataFrame, layout: HistoryLayout) -> pd.DataFrame:
        """At most :data:`PRIVATE_MAX_ROWS` rows of each patient: the first ones of the
        history (said in a :class:`PrivacyWarning` when a history is cut)."""
        ordered = data.iloc[layout.row_order(data)]
        position = ordered.groupby(layout.subject, sort=False).cumcount().to_numpy()
        cut = position >= PRIVATE_MAX_ROWS
        if cut.any():
            warnings.warn(PrivacyWarning(
                f"with epsilon, each patient contributes at most {PRIVATE_MAX_ROWS} rows (the "
                f"first of the history): {int(cut.sum())} later rows are not learnt from"),
                stacklevel=5)
        return ordered[~cut]

    def patients_fit(self, layout: HistoryLayout) -> PrivateFit:
        """The private fit of the patients table: the metadata of its columns, the history
        length bounded by :data:`PRIVATE_MAX_ROWS`."""
        described = load_column_metadata(self.metadata)
        columns = {c: described[c] for c in layout.patient_columns if c in described}
        columns[layout.subject] = {"kind": "id"}
        columns[ROWS] = {"kind": "integer", "min": 1, "max": PRIVATE_MAX_ROWS}
        return PrivateFit(self.patients_share * self.epsilon,
                          self.patients_share * self.total_delta,
                          self.max_grad_norm, {"columns": columns})

    def histories_plan(self, batch_size: int, epochs: int) -> PrivacyPlan:
        """Noise and sampling of the histories' release and DP-SGD over patients."""
        share = 1.0 - self.patients_share
        return plan_privacy(share * self.epsilon, share * self.total_delta, self.max_grad_norm,
                            self.patients, batch_size, epochs)

    def events_schema(self, layout: HistoryLayout) -> dict[str, dict]:
        """The checked metadata of the changing columns and of :data:`GAP` (bounded by the
        order column's stated range)."""
        described = load_column_metadata(self.metadata)
        columns = list(layout.event_columns)
        if layout.order is not None:
            columns.append(layout.order)
        schema = check_private_schema(columns, described)
        if layout.order is not None:
            order = schema.pop(layout.order)
            if "max" not in order:
                raise UsageError(f"with epsilon set, the order column {layout.order!r} needs "
                                 "kind integer or continuous with 'min' and 'max' bounds in "
                                 f"the metadata (it has kind {order['kind']!r})")
            schema[GAP] = {"kind": "continuous", "min": 0.0,
                           "max": float(order["max"]) - float(order["min"]),
                           "decimals": int(order.get("decimals", 0))}
        return schema

    def events_adapter(self, layout: HistoryLayout, events: pd.DataFrame, lengths: np.ndarray,
                       plan: PrivacyPlan, config: Config, seed: int
                       ) -> tuple[TabularAdapter, np.ndarray, float]:
        """The events' encoding, fitted on a surrogate drawn from a noisy histogram release
        of one row per patient (drawn at random; not the first of a longer history, whose
        step from the row before is always 0), the encoded surrogate rows (where the history
        model's heads start) and the smallest step to generate (:meth:`_min_gap`, from
        whether the release shows rows sharing a time)."""
        schema = self.events_schema(layout)
        rng = np.random.default_rng(seed)
        later = np.maximum(lengths - 1, 0)
        chosen = (first_rows(lengths) + (lengths > 1)
                  + np.floor(rng.random(len(lengths)) * np.maximum(later, 1)).astype(int))
        released = events.iloc[chosen].reset_index(drop=True)
        if GAP in released:  # does a row ever share its time with the row before?
            released[REPEATS] = pd.Series(released[GAP] == 0, dtype=object).where(lengths > 1)
        surrogate = private_surrogate(released, {**schema, REPEATS: {
            "kind": "boolean", "values": [False, True]}} if GAP in released else schema,
            plan.statistics_noise, rng)
        repeats = surrogate.pop(REPEATS) if GAP in released else None
        kinds = {column: entry["kind"] for column, entry in schema.items()}
        adapter = TabularAdapter(kinds, config.numeric_encoding, config.max_levels,
                                 random_state=seed)
        adapter.fit(surrogate)
        adapter.adopt_dtypes({str(c): str(events[c].dtype) for c in events.columns})
        return (adapter, adapter.transform(surrogate, random_state=seed),
                self._min_gap(layout, repeats))

    def _min_gap(self, layout: HistoryLayout, repeats: pd.Series | None) -> float:
        """The smallest generated step: the order's resolution (1 for an integer order, or
        ``10^-decimals`` when stated) when the noisy release has no repeated time, else 0."""
        if repeats is None:
            return 0.0
        entry = load_column_metadata(self.metadata)[layout.order]
        if entry["kind"] != "integer" and "decimals" not in entry:
            return 0.0
        # the surrogate holds each listed level once whatever the counts: more is released
        if repeats.eq(True).sum() > 1:
            return 0.0
        return 1.0 if entry["kind"] == "integer" else 10.0 ** -int(entry["decimals"])

    def order_adapter(self, layout: HistoryLayout, dtype: Any) -> TabularAdapter | None:
        """The order column's encoding, over the range the metadata states."""
        if layout.order is None:
            return None
        entry = load_column_metadata(self.metadata)[layout.order]
        bounds = pd.DataFrame({layout.order: pd.Series([entry["min"], entry["max"]])
                               .astype(dtype)})
        return TabularAdapter({layout.order: "continuous"}).fit(bounds)

    def guarantee(self, patients: PrivacyPlan, histories: PrivacyPlan) -> dict[str, Any]:
        """The fit's guarantee (a model's ``privacy_``): per patient, the composition of
        both parts, with each part's plan."""
        delta = self.total_delta
        return {"target_epsilon": float(self.epsilon),
                "epsilon": epsilon_of(patients.mechanisms() + histories.mechanisms(), delta),
                "delta": float(delta), "max_grad_norm": float(self.max_grad_norm),
                "epochs": patients.epochs, "accountant": "Opacus RDP",
                "mechanism": "Gaussian histogram releases of the metadata's schema + DP-SGD "
                             "on the patients table and on the histories",
                "unit": "patient",
                "contribution": f"at most {PRIVATE_MAX_ROWS} rows of each patient's history",
                "parts": {"patients": patients.to_dict(), "histories": histories.to_dict()}}
