"""The longitudinal half of a :class:`~toolkit.Synthesizer`: patient histories.

A table with several rows per patient (see :mod:`toolkit.adapters.histories`) is learnt as
patients and their histories. The patients table (one row per patient: the subject, the
attributes constant within a patient, the history's start and its number of rows) is
learnt by the synthesizer's own model, so that conditions, the copy guard and the model
file work per patient; this module learns the rows of each history given its patient and
the rows before (:class:`~toolkit.backends.sequence.HistoryModel`) and puts sampled
patients and rows back together:

* every patient attribute is the same on all of a patient's rows (generated once);
* the order column is the generated start plus the cumulated generated gaps (never
  negative), so it never decreases within a patient, and it stays within the training
  range: a history ends where its next time would pass the range's end;
* a level that training only ever has on a patient's last row (death, discharge) ends
  the generated history where it is drawn.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from toolkit.adapters.histories import (
    GAP,
    ROWS,
    HistoryLayout,
    find_order,
    find_subject,
)
from toolkit.adapters.kinds import infer_kinds
from toolkit.adapters.tabular import TabularAdapter, load_metadata
from toolkit.backends.layers import load_saved_state, saved_state
from toolkit.backends.privacy import PrivacyPlan
from toolkit.backends.sequence import Histories, HistoryModel, first_rows
from toolkit.backends.training import History, choose_epochs
from toolkit.config import Config
from toolkit.exceptions import DataError, InferenceWarning, UsageError
from toolkit.models.private import PRIVATE_MAX_ROWS, PrivateHistories

#: histories (or windows of one) per training step of the history model, at least
HISTORY_BATCH = 64
#: training steps per window of the largest batch a history model takes
HISTORY_BATCH_STEPS = 200
#: the history model takes this many times the steps the row model of as many rows would
#: (the preset's ``for_rows``), at most the preset's ``max_steps``
HISTORY_STEPS_FACTOR = 2
#: passes over the histories at most (unless ``epochs`` is given): more passes let the model
#: of a small table learn its patients one by one (membership inference finds them)
HISTORY_MAX_EPOCHS = 80
#: width of the history model's GRU
HISTORY_HIDDEN = 128
#: a level is terminal when training has it on this many last rows and on no other row
MIN_TERMINAL = 3


def longitudinal_layout(data: pd.DataFrame, metadata: dict[str, Any] | None,
                        subject: str | None, order: str | None,
                        kinds: dict[str, str] | None = None) -> HistoryLayout | None:
    """The history layout of ``data``: with the subject (and order) given, or found when an
    identifier repeats (said in an :class:`InferenceWarning`); ``None`` for a table of one
    row per patient. ``kinds``: the columns' kinds when already inferred (else inferred
    here, if the subject or order is to be found).

    Raises
    ------
    UsageError
        For a subject or order column the table does not have, or an order without a
        subject.
    """
    given = metadata or {}
    subject = subject or given.get("subject")
    order = order or given.get("order")
    if subject is None and order is not None:
        raise UsageError(f"order {order!r} needs a subject column (whose rows it orders)")
    found = subject is None
    if subject is None:
        if kinds is None:
            kinds, _ = infer_kinds(data, load_metadata(metadata))
        subject = find_subject(data, kinds)
        if subject is None:
            return None
    if str(subject) not in map(str, data.columns):
        raise UsageError(f"subject column {subject!r} is not in the table; columns: "
                         f"{list(map(str, data.columns))}")
    if order is None:
        if kinds is None:
            kinds, _ = infer_kinds(data, load_metadata(metadata))
        order = find_order(data, subject, kinds)
    layout = HistoryLayout.of(data, str(subject), None if order is None else str(order))
    if found:
        warnings.warn(InferenceWarning(
            f"several rows per patient: modelled as patient histories, subject "
            f"{layout.subject!r}, order {layout.order or 'the row order'!r}; patient "
            f"attributes {[c for c in layout.patient_columns if c != layout.subject]}; "
            "state them with subject/order (metadata, --subject/--order) to change this"),
            stacklevel=4)
    return layout


def history_batch(windows: int) -> int:
    """Windows per training step: :data:`HISTORY_BATCH`, and for many histories the power
    of two that makes about :data:`HISTORY_BATCH_STEPS` steps an epoch (at most 1,024).

    Examples
    --------
    >>> history_batch(300), history_batch(100_000)
    (64, 512)
    """
    grown = 2 ** round(math.log2(max(1.0, windows / HISTORY_BATCH_STEPS)))
    return min(1024, max(HISTORY_BATCH, grown))


def _epochs(config: Config, rows: int, windows: int, batch: int) -> int:
    """Passes of the history model over ``windows`` windows of ``rows`` rows in all: the
    steps of :data:`HISTORY_STEPS_FACTOR` row models, at most :data:`HISTORY_MAX_EPOCHS`."""
    steps = min(config.max_steps, HISTORY_STEPS_FACTOR * config.for_rows(rows).steps)
    return choose_epochs(windows, batch, config.epochs, steps, config.min_epochs,
                         min(config.max_epochs, HISTORY_MAX_EPOCHS))


def _metadata_for(columns: list[str], metadata: dict[str, Any] | None) -> dict[str, str]:
    kinds = load_metadata(metadata)
    return {column: kind for column, kind in kinds.items() if column in columns}


@dataclass
class PatientHistories:
    """The fitted history part of a longitudinal synthesizer.

    Parameters
    ----------
    layout : HistoryLayout
        Subject, order, patient and event columns.
    events : TabularAdapter
        The encoding of an event row (its changing columns and :data:`GAP`).
    order : TabularAdapter or None
        The order column's encoding (its kind, format and range), when there is one.
    model : HistoryModel
        The rows of a history given the patient.
    terminal : dict of str to list
        Per event column, the levels training has only on a history's last row.
    max_rows : int
        The longest history of the training data.
    min_gap : float
        The smallest step of the order between two rows of a training history (0 when some
        patient has two rows at one time): generated steps are at least this.
    """

    layout: HistoryLayout
    events: TabularAdapter
    order: TabularAdapter | None
    model: HistoryModel
    terminal: dict[str, list[Any]]
    max_rows: int
    min_gap: float

    @classmethod
    def fit(cls, layout: HistoryLayout, patients: pd.DataFrame, events: pd.DataFrame,
            context: np.ndarray, data: pd.DataFrame, config: Config, seed: int,
            metadata: dict[str, Any] | None) -> tuple[PatientHistories, History]:
        """Learn the histories of the split table (``patients`` with :data:`ROWS`,
        ``events``), ``context`` being the patients encoded by the patient model."""
        kinds = _metadata_for(layout.event_columns, metadata)
        adapter = TabularAdapter({**kinds, GAP: "continuous"} if GAP in events else kinds,
                                 config.numeric_encoding, config.max_levels,
                                 random_state=seed)
        if not layout.event_columns and GAP not in events:
            raise DataError("every column is constant within a patient: there is nothing "
                            "to model within a history (drop the subject to model rows)")
        adapter.fit(events)
        order = None
        if layout.order is not None:
            order_kind = "datetime" if _is_datetime(data[layout.order]) else "continuous"
            order = TabularAdapter({layout.order: order_kind}, random_state=seed)
            order.fit(data[[layout.order]])
        lengths = patients[ROWS].to_numpy(dtype=int)
        rows = torch.from_numpy(adapter.transform(events, random_state=seed))
        histories = Histories.of(torch.from_numpy(context), rows, lengths)
        batch = history_batch(len(histories.lengths))
        epochs = _epochs(config, len(events), len(histories.lengths), batch)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = HistoryModel(adapter.spec, context.shape[1], HISTORY_HIDDEN)
            history = model.fit(histories, epochs, batch, config.learning_rate,
                                torch.Generator().manual_seed(seed))
        return cls(layout, adapter, order, model.eval(), _terminal_levels(events, lengths),
                   int(lengths.max()), _min_gap(events, lengths)), history

    @classmethod
    def fit_private(cls, layout: HistoryLayout, patients: pd.DataFrame, events: pd.DataFrame,
                    context: np.ndarray, order_dtype: Any, config: Config, seed: int,
                    privacy: PrivateHistories) -> tuple[PatientHistories, PrivacyPlan]:
        """Learn the histories with differential privacy per patient (see
        :class:`~toolkit.models.private.PrivateHistories`): the events' encoding from a noisy
        release, the history model by DP-SGD over patients. Nothing else reads the rows:
        no terminal levels (histories are not ended early), the order's range from the
        metadata, the longest history the public bound."""
        lengths = patients[ROWS].to_numpy(dtype=int)
        batch = history_batch(len(lengths))
        plan = privacy.histories_plan(batch, _epochs(config, len(events), len(lengths), batch))
        adapter, marginal_rows, min_gap = privacy.events_adapter(layout, events, lengths, plan,
                                                                 config, seed)
        rows = torch.from_numpy(adapter.transform(events, random_state=seed))
        histories = Histories.of(torch.from_numpy(context), rows, lengths)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = HistoryModel(adapter.spec, context.shape[1], HISTORY_HIDDEN)
            model.fit_private(histories, plan, batch, config.learning_rate,
                              torch.from_numpy(marginal_rows),
                              torch.Generator().manual_seed(seed))
        return cls(layout, adapter, privacy.order_adapter(layout, order_dtype), model.eval(),
                   {}, PRIVATE_MAX_ROWS, min_gap), plan

    def sample(self, patients: pd.DataFrame, context: np.ndarray, seed: int
               ) -> pd.DataFrame:
        """The rows of generated ``patients`` (their encoded ``context`` beside), one history
        each, as a table of the training columns."""
        return self.layout.join(*self.draw(patients, context, seed))

    def draw(self, patients: pd.DataFrame, context: np.ndarray, seed: int,
             ends: tuple[np.ndarray, bool] | None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series | None]:
        """The histories of generated ``patients`` before they are joined: the patients with
        the number of rows each kept (:data:`ROWS`), the event rows grouped by patient (with
        :data:`GAP`) and each row's order value (``None`` without an order column).

        ``ends``: per patient, a time (in the order's float unit: seconds for date-times) its
        history may not pass, and whether it must stay below it; rows after it are dropped
        (a child's rows within its parent's stay, :mod:`toolkit.adapters.cross_table`)."""
        lengths = np.clip(patients[ROWS].to_numpy(dtype=int), 1, self.max_rows)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            rows = self.model.sample(torch.from_numpy(context), lengths, generator)
        events = self.events.inverse_transform(rows.numpy(), random_state=seed)
        keep = self._before_terminal(events, lengths)
        if self.order is not None:  # a history ends where its time would pass the range
            times = self._times(patients, events, lengths)
            keep &= times <= self.order.encoders_[0].max_
            if ends is not None:  # ... or its parent's end, as the time is written
                encoder = self.order.encoders_[0]
                written = encoder.to_float(encoder.values_of(np.clip(
                    times, encoder.min_, encoder.max_)))
                limit = np.repeat(ends[0], lengths)
                with np.errstate(invalid="ignore"):
                    keep &= ~(written >= limit if ends[1] else written > limit)
        if not keep.all():
            owner = np.repeat(np.arange(len(lengths)), lengths)
            lengths = np.bincount(owner[keep], minlength=len(lengths))
            events = events[keep].reset_index(drop=True)
        patients = patients.assign(**{ROWS: lengths})
        return patients, events, self._order(patients, events, lengths)

    def check_conditions(self, conditions: dict[str, Any] | pd.DataFrame | None) -> None:
        """Refuse a condition on a column that changes within a history (a longitudinal model
        is conditioned on patient attributes) with one line naming it.

        Raises
        ------
        UsageError
            For such a condition.
        """
        columns = list(conditions.columns if isinstance(conditions, pd.DataFrame)
                       else (conditions or {}))
        changing = [c for c in columns if c in self.layout.event_columns or c == self.layout.order]
        if changing:
            attributes = [c for c in self.layout.patient_columns
                          if c not in (self.layout.subject, self.layout.order)]
            raise UsageError(f"condition on {changing[0]!r}, which changes within a patient's "
                             f"history: a longitudinal model is conditioned on patient "
                             f"attributes ({', '.join(map(repr, attributes)) or 'none'})")

    def part_losses(self, patients: TabularAdapter, data: pd.DataFrame
                    ) -> tuple[np.ndarray, pd.DataFrame]:
        """How unlikely each row of ``data`` is given its patient (encoded by ``patients``,
        the patient model's adapter) and the patient's earlier rows: the negative
        log-likelihood of every part of the row's changing columns, ``(rows, parts)``, in
        ``data``'s row order, and those columns (with :data:`GAP`) in the same order."""
        order = self.layout.row_order(data)
        table, events = self.layout.split(data)
        context = torch.from_numpy(patients.transform(table, clip=False))
        rows = torch.from_numpy(self.events.transform(events, clip=False))
        histories = Histories.of(context, rows, table[ROWS].to_numpy(dtype=int))
        windows = np.arange(len(histories.lengths))
        with torch.no_grad():
            parts = torch.cat([self.model.part_losses(histories, windows[start:start + 512])
                               for start in range(0, len(windows), 512)])
        back = np.empty_like(order)
        back[order] = np.arange(len(order))
        return parts.double().numpy()[back], events.iloc[back].reset_index(drop=True)

    def _before_terminal(self, events: pd.DataFrame, lengths: np.ndarray) -> np.ndarray:
        """Which generated rows to keep: those up to a history's first terminal row."""
        if not self.terminal:
            return np.ones(len(events), dtype=bool)
        ended = np.zeros(len(events), dtype=bool)
        for column, levels in self.terminal.items():
            ended |= events[column].isin(levels).to_numpy()
        owner = np.repeat(np.arange(len(lengths)), lengths)
        after = pd.Series(ended).groupby(owner).cumsum().to_numpy()
        return (after == 0) | (ended & (after == 1))

    def _times(self, patients: pd.DataFrame, events: pd.DataFrame,
               lengths: np.ndarray) -> np.ndarray:
        """Each row's order value as a number: its patient's start plus the cumulated gaps
        (each at least :attr:`min_gap`)."""
        starts = self.order.encoders_[0].to_float(patients[self.layout.order])
        gaps = np.clip(events[GAP].to_numpy(dtype=float), self.min_gap, None)
        owner = np.repeat(np.arange(len(lengths)), lengths)
        firsts = first_rows(lengths)
        gaps[firsts[lengths > 0]] = 0.0
        return starts[owner] + pd.Series(gaps).groupby(owner).cumsum().to_numpy()

    def _order(self, patients: pd.DataFrame, events: pd.DataFrame,
               lengths: np.ndarray) -> pd.Series | None:
        """Each row's order value (:meth:`_times`), within the training range, in the
        column's own form."""
        if self.order is None:
            return None
        encoder = self.order.encoders_[0]
        times = self._times(patients, events, lengths)
        return encoder.values_of(np.clip(times, encoder.min_, encoder.max_))

    def to_dict(self) -> dict[str, Any]:
        """Everything but the weights, as JSON-ready data."""
        return {"layout": self.layout.to_dict(), "events": self.events.to_dict(),
                "order": None if self.order is None else self.order.to_dict(),
                "context_dim": self.model.start[0].in_features,
                "components": self.model.components,
                "terminal": self.terminal, "max_rows": self.max_rows,
                "min_gap": self.min_gap}

    def state(self) -> dict[str, torch.Tensor]:
        """The model's tensors as a model file keeps them (see :meth:`from_dict`)."""
        return saved_state(self.model)

    @classmethod
    def from_dict(cls, state: dict[str, Any], tensors: dict[str, torch.Tensor]
                  ) -> PatientHistories:
        """Rebuild from :meth:`to_dict`'s data and the model's tensors."""
        events = TabularAdapter.from_dict(state["events"])
        model = HistoryModel(events.spec, int(state["context_dim"]), HISTORY_HIDDEN,
                             int(state["components"]))
        load_saved_state(model, tensors)
        order = None if state["order"] is None else TabularAdapter.from_dict(state["order"])
        return cls(HistoryLayout.from_dict(state["layout"]), events, order, model.eval(),
                   {str(k): list(v) for k, v in state["terminal"].items()},
                   int(state["max_rows"]), float(state["min_gap"]))


def _min_gap(events: pd.DataFrame, lengths: np.ndarray) -> float:
    """The smallest :data:`GAP` of a row that is not its history's first (0 without an
    order or without such rows)."""
    if GAP not in events:
        return 0.0
    later = np.ones(len(events), dtype=bool)
    later[first_rows(lengths)] = False
    gaps = events[GAP].to_numpy(dtype=float)[later]
    gaps = gaps[~np.isnan(gaps)]
    return float(max(gaps.min(), 0.0)) if len(gaps) else 0.0


def _is_datetime(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series.dtype)


def _terminal_levels(events: pd.DataFrame, lengths: np.ndarray) -> dict[str, list[Any]]:
    """Per categorical event column, the levels found on at least :data:`MIN_TERMINAL`
    last rows of histories and on no other row."""
    last = np.zeros(len(events), dtype=bool)
    last[np.cumsum(lengths) - 1] = True
    terminal = {}
    for column in events.columns:
        if column == GAP or pd.api.types.is_float_dtype(events[column].dtype):
            continue
        values = events[column]
        at_end = set(values[last].dropna().value_counts().loc[lambda c: c >= MIN_TERMINAL]
                     .index)
        levels = sorted(at_end - set(values[~last].dropna()), key=str)
        if levels:
            terminal[column] = [_plain(level) for level in levels]
    return terminal


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value

