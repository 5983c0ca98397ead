"""scikit-learn style estimators: :class:`Synthesizer`."""

from __future__ import annotations

import dataclasses
import platform
import time
import warnings
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

import toolkit
from toolkit.adapters.base import Adapter, TensorSpec
from toolkit.adapters.domains import adapter_from_dict
from toolkit.adapters.histories import ROWS, HistoryLayout, sample_patients
from toolkit.adapters.kinds import infer_kinds
from toolkit.adapters.rules import Rules
from toolkit.adapters.tabular import (
    TabularAdapter,
    check_table,
    load_column_metadata,
    load_metadata,
)
from toolkit.backends import BACKENDS, Backend
from toolkit.backends.layers import load_saved_state, saved_state
from toolkit.backends.privacy import PrivacyPlan
from toolkit.backends.training import Callback, EarlyStopping, History, ProgressBar
from toolkit.config import Config, params_from_json, params_to_json
from toolkit.exceptions import DataError, ModelFileError, PrivacyWarning, UsageError
from toolkit.io.frames import check_kind, frame_kind, to_kind, to_pandas
from toolkit.io.metadata import read_metadata
from toolkit.io.modelfile import load_model, save_model
from toolkit.io.records import Records, read_records
from toolkit.models.base import LatentEstimator, resolve_device, resolve_seed, torch_threads
from toolkit.models.copies import MAX_REDRAWS, CopyGuard, modelled_columns
from toolkit.models.histories import PatientHistories, longitudinal_layout
from toolkit.models.private import PrivateFit, PrivateHistories, private_settings

SAMPLE_CHUNK = 16384
#: the model file's tensor of training-row fingerprints (see :mod:`toolkit.models.copies`)
COPY_GUARD_TENSOR = "copy_guard.fingerprints"
#: where a model file keeps the history model's tensors (longitudinal tables)
HISTORIES_PREFIX = "histories."
#: draws allowed per requested row when a condition must be met by checking
REJECTION_BUDGET = 100
#: fewer training rows than this and synthetic rows are said to risk repeating real ones
SMALL_TABLE_ROWS = 20


def _check_rows(value: Any, name: str = "num_rows") -> None:
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_int or value < 1:
        raise UsageError(f"{name} must be a positive integer, got {value!r}")


def trained_epochs(document: dict) -> int:
    """Epochs a model file's model was trained for: from its privacy plan (a private fit
    records no losses) or from its loss history."""
    privacy = document.get("privacy") or {}
    return privacy.get("epochs", History(document["history"]).epochs)


class Synthesizer(LatentEstimator):
    """Learn a table's latent structure and generate synthetic rows like it.

    Parameters
    ----------
    backend : {"vae", "gan", "vaegan"} or None, default None
        The generative model; ``None`` takes the preset's.
    config : str, Path or Config, default "default"
        A preset name from ``configs/`` (``"default"``, ``"fast"``, ...), a
        YAML path, or a :class:`~toolkit.config.Config`. With ``epsilon`` set,
        ``"default"`` means the ``"private"`` preset.
    epochs : int or None, default None
        Overrides the preset's number of epochs.
    batch_size : int or None, default None
        Overrides the preset's batch size.
    metadata : dict, str, Path or None, default None
        Column kinds that override inference, ``{column: kind}`` or a YAML file
        (kinds: continuous, integer, categorical, boolean, datetime, id, constant).
    device : {"auto", "cpu", "cuda"} or None, default None
        Overrides the preset's device (``"auto"``: CUDA when present).
    random_state : int or None, default None
        Seed of everything random in ``fit`` and of the sampling sequence; the
        same seed gives bit-identical models and samples on CPU.
    verbose : bool, default False
        Show a progress bar on stderr while training.
    epsilon : float or None, default None
        Train with differential privacy at this ε (tables, vae backend): see
        :mod:`toolkit.backends.privacy`. The metadata must then state every column's kind and
        its ``min``/``max`` (numeric) or ``values`` (categorical), which are treated as
        public; the adapter's statistics come from a noisy histogram release.
    delta : float or None, default None
        δ of the guarantee; ``None`` uses ``1 / n^1.1`` for ``n`` rows. Must be below ``1/n``.
    max_grad_norm : float, default 1.0
        Per-row gradient clipping bound of DP-SGD (only with ``epsilon``).
    avoid_copies : bool, default True
        Never return a generated row that equals a training row on every modelled
        column (IDs and constants aside): such rows are redrawn (see
        :mod:`toolkit.models.copies`). The model then keeps a 64-bit fingerprint of each
        distinct training row, so its file is as sensitive as the training data. Tables
        only; a private fit (``epsilon``) keeps none (nothing may read the rows outside
        DP-SGD), nor does an :class:`~toolkit.AnomalyDetector`.
    subject : str or None, default None
        The column naming each row's patient, for a longitudinal table (several rows per
        patient): it is then learnt as patient histories (see
        :mod:`toolkit.models.histories`) and :meth:`sample` draws patients. ``None``: found
        when an identifier repeats (said in a warning), or the metadata's ``subject:``.
    order : str or None, default None
        The column ordering each patient's rows (a date-time or a number); ``None``: found
        (a date-time, or a number named like a time, that never decreases within a
        patient), the metadata's ``order:``, or else the row order.

    Attributes
    ----------
    adapter_ : Adapter
        The fitted encoding: a ``TabularAdapter`` for tables (column kinds in
        ``adapter_.kinds_``), an ``ImageAdapter`` for images.
    backend_ : Backend
        The trained model.
    config_ : Config
        The settings used.
    history_ : dict of str to list of float
        Per-epoch mean losses.
    fit_seconds_ : float
        Wall time of ``fit``.
    n_rows_ : int
        Rows the model learnt from: at most ``max_training_rows`` (see
        :class:`~toolkit.config.Config`), a uniform sample of a larger table.
    n_rows_seen_ : int
        Rows of the table given to ``fit`` (more than ``n_rows_`` when it was sampled).
    output_ : {"pandas", "pyarrow", "polars"}
        The kind of table :meth:`fit` was given, which :meth:`sample` gives back.
    privacy_ : dict or None
        For a private fit: ε spent (``epsilon``), ``delta``, noise multipliers,
        sampling rate, steps and the mechanism; ``None`` otherwise.
    copy_guard_ : CopyGuard or None
        The unique training rows' fingerprints that sampling redraws copies of (``None``
        without ``avoid_copies``, for a private fit or for images).
    n_copies_redrawn_ : int
        Generated rows redrawn so far because they copied a rare training row.
    rules_ : Rules or None
        The metadata's rules (:mod:`toolkit.adapters.rules`), applied around the model:
        inequalities and combinations kept by construction, expressions by redrawing.
    histories_ : PatientHistories or None
        For a longitudinal table, the history model (``adapter_`` and ``backend_`` then
        model the patients table: one row per patient); ``None`` otherwise.
    n_patients_ : int or None
        Patients the model learnt from (longitudinal tables), else ``None``.
    n_copies_kept_ : int
        Generated rows returned so far that still copy a rare training row after
        :data:`~toolkit.models.copies.MAX_REDRAWS` rounds of redrawing (a
        :class:`~toolkit.exceptions.PrivacyWarning` says so when it happens).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"age": [30.5, 41, 52, 60, 33, 47] * 10,
    ...                    "sex": ["F", "M", "F", "F", "M", "M"] * 10})
    >>> syn = Synthesizer(config="fast", epochs=2, random_state=0).fit(df)
    >>> syn.sample(5).shape
    (5, 2)
    """

    def __init__(
        self,
        backend: str | None = None,
        config: str | Path | Config = "default",
        epochs: int | None = None,
        batch_size: int | None = None,
        metadata: dict[str, Any] | str | Path | None = None,
        device: str | None = None,
        random_state: int | None = None,
        verbose: bool = False,
        epsilon: float | None = None,
        delta: float | None = None,
        max_grad_norm: float = 1.0,
        avoid_copies: bool = True,
        subject: str | None = None,
        order: str | None = None,
    ) -> None:
        self.backend = backend
        self.config = config
        self.epochs = epochs
        self.batch_size = batch_size
        self.metadata = metadata
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.epsilon = epsilon
        self.delta = delta
        self.max_grad_norm = max_grad_norm
        self.avoid_copies = avoid_copies
        self.subject = subject
        self.order = order

    fitted_attribute = "backend_"

    # fitting ---------------------------------------------------------------------------
    def preset(self, domain: type = TabularAdapter) -> str | Path | Config:
        """The ``config`` parameter; with ``epsilon``, ``"default"`` means the ``private``
        preset (tuned for DP-SGD)."""
        return "private" if self.epsilon is not None and self.config == "default" else self.config

    def resolve_config(self, domain: type = TabularAdapter) -> Config:
        """The training settings these parameters describe (preset plus overrides; for a
        private fit, what DP-SGD needs: :func:`~toolkit.models.private.private_settings`).

        Raises
        ------
        UsageError
            For an unknown preset, backend or option: checked before any work.
        """
        config = super().resolve_config(domain)
        return config if self.epsilon is None else private_settings(config)

    def fit(self, X: Any, y: Any = None) -> Synthesizer:  # noqa: N803 (scikit-learn naming)
        """Learn the table ``X``.

        Parameters
        ----------
        X : DataFrame (pandas or Polars), pyarrow.Table, 2-D array, path, image set or Records
            The real rows (a CSV or Parquet path is read; a table larger than the preset's
            ``max_training_rows`` is learnt from a uniform sample); mixed types and missing
            values are fine. :meth:`sample` gives back tables of the same kind (``output_``).
        y : ignored

        Returns
        -------
        Synthesizer
            ``self``, fitted.

        Raises
        ------
        DataError
            For an empty table, fewer than 2 rows, a column that is all missing
            or holds inf, or a table with no column to model.
        UsageError
            For an unknown backend, preset, config key or metadata kind.
        """
        started = time.perf_counter()
        config, seed = self.resolve_config(), resolve_seed(self.random_state)
        self._fit(self._read(X, config, seed), config, seed)
        self.output_ = frame_kind(X)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _read(self, X: Any, config: Config, seed: int) -> Records:  # noqa: N803
        """``X`` read once. Data in memory is sampled once its layout is known (rows of a
        flat table, patients of a longitudinal one: see :meth:`_fit`); a file while it is
        read: by rows, or by whole patients when the subject is stated or found in the
        row sample (the file is then read a second time)."""
        if not isinstance(X, (str, Path)):
            return read_records(X)
        bound = config.max_training_rows
        metadata = read_metadata(self.metadata)
        subject = self.subject or (metadata or {}).get("subject")
        records = read_records(X, max_rows=bound, random_state=seed, subject=subject)
        sampled = (records.provenance.rows or 0) > len(records.data)
        if subject is None and sampled and records.domain is TabularAdapter:
            with warnings.catch_warnings():  # said when the model is fitted
                warnings.simplefilter("ignore")
                layout = longitudinal_layout(records.data, metadata, None, self.order)
            if layout is not None:
                records = read_records(X, max_rows=bound, random_state=seed,
                                       subject=layout.subject)
        return records

    def _apply_rules(self, records: Records, metadata: dict[str, Any] | None
                     ) -> tuple[Records, dict[str, Any] | None]:
        """The records and metadata as the model learns them under the metadata's rules
        (:mod:`toolkit.adapters.rules`; sets ``rules_``)."""
        stated = Rules.from_metadata(metadata)
        if not stated:
            return records, metadata
        if self.epsilon is not None:
            raise UsageError("rules cannot be used with epsilon yet: drop the metadata's rules "
                             "or epsilon")
        data = stated.forward(records.data)
        self.rules_ = stated
        learnt = {**{k: v for k, v in (metadata or {}).items() if k in ("subject", "order")},
                  "columns": stated.learnt_metadata(load_column_metadata(metadata))}
        provenance = dataclasses.replace(records.provenance, statistics=None, labels=None)
        return Records(data, provenance), learnt

    def _fit(self, records: Records, config: Config, seed: int,
             histories: bool = True, rules: bool = True) -> torch.Tensor:
        """Prepare the adapter, encode the records, train the backend and set the fitted
        attributes (all but ``fit_seconds_``); return the encoded training rows, on the
        model's device. The anomaly detector fits its model through this step, so that
        the records it read once are encoded once (``histories=False``: its rows are
        scored one by one; ``rules=False``: it scores rows as they are).

        Records of more than ``max_training_rows`` rows are sampled: rows of a flat
        table, whole patients of a longitudinal one."""
        metadata = read_metadata(self.metadata)
        self.rules_ = None
        self.output_ = "pandas"  # fit() says the kind it was given
        if rules and records.domain is TabularAdapter:
            records, metadata = self._apply_rules(records, metadata)
        layout = None
        if histories and records.domain is TabularAdapter:
            check_table(records.data, min_rows=2)  # what no model can learn, said first
            inferred = self._kinds_to_find_layout(records.data, metadata)
            layout = longitudinal_layout(records.data, metadata, self.subject, self.order,
                                         None if inferred is None else inferred[0])
            if layout is None and inferred is not None \
                    and len(records.data) <= config.max_training_rows:  # the adapter's too
                records = Records(records.data, dataclasses.replace(records.provenance,
                                                                    kinds=inferred))
        if layout is None:
            records = read_records(records, max_rows=config.max_training_rows,
                                   random_state=seed)
            self.histories_, self.n_patients_ = None, None
            private = None if self.epsilon is None else PrivateFit(
                self.epsilon, self.delta, self.max_grad_norm, metadata)
            return self._fit_rows(records, config, seed, metadata, private)
        return self._fit_histories(records, layout, config, seed, metadata)

    def _kinds_to_find_layout(self, data: pd.DataFrame, metadata: dict[str, Any] | None
                              ) -> tuple[dict[str, str], list[Any]] | None:
        """The column kinds (and notes) that looking for a subject or order column needs,
        inferred once for it and the adapter; ``None`` when both are stated."""
        stated = metadata or {}
        if (self.subject or stated.get("subject")) and (self.order or stated.get("order")):
            return None
        return infer_kinds(data, load_metadata(metadata))

    def _fit_histories(self, records: Records, layout: HistoryLayout, config: Config,
                       seed: int, metadata: dict[str, Any] | None) -> torch.Tensor:
        """Fit the patients table with :meth:`_fit_rows`, then the histories given it (both
        privately, per patient, with ``epsilon``:
        :class:`~toolkit.models.private.PrivateHistories`)."""
        data = sample_patients(records.data, layout.subject, config.max_training_rows, seed)
        privacy = None
        if self.epsilon is not None:
            privacy = PrivateHistories(self.epsilon, self.delta, self.max_grad_norm, metadata,
                                       int(data[layout.subject].nunique(dropna=False)))
            data = privacy.bound(data, layout)
        patients, events = layout.split(data)
        patient_kinds = {column: kind for column, kind in load_metadata(
            metadata).items() if column in layout.patient_columns}
        patient_kinds[layout.subject] = "id"  # never a real subject in the output
        if patients[ROWS].nunique() == 1:  # modelled even when every history is as long
            patient_kinds[ROWS] = "integer"
        provenance = dataclasses.replace(records.provenance, rows=None, statistics=None)
        context = self._fit_rows(Records(patients, provenance), config, seed, patient_kinds,
                                 None if privacy is None else privacy.patients_fit(layout))
        if privacy is None:
            self.histories_, history = PatientHistories.fit(
                layout, patients, events, context.cpu().numpy(), data, config, seed, metadata)
            self.history_ = {**self.history_, **history.losses}
        else:
            order_dtype = None if layout.order is None else data[layout.order].dtype
            self.histories_, plan = PatientHistories.fit_private(
                layout, patients, events, context.cpu().numpy(), order_dtype, config, seed,
                privacy)
            self.privacy_ = privacy.guarantee(PrivacyPlan.from_dict(self.privacy_), plan)
        self.n_patients_, self.n_rows_ = len(patients), len(data)
        self.n_rows_seen_ = records.provenance.rows or len(records.data)
        return context

    def _fit_rows(self, records: Records, config: Config, seed: int,
                  metadata: dict[str, Any] | None, private: PrivateFit | None = None
                  ) -> torch.Tensor:
        """Fit the model of a table's rows (see :meth:`_fit`), with differential privacy when
        ``private`` is given."""
        adapter, privacy, marginals = self._prepare(records, config, seed, metadata, private)
        array = adapter.transform(records.data, random_state=seed)
        if adapter.spec.width == 0:
            raise DataError("no column to model: every column is an ID or constant")
        if privacy is None:  # a private plan fixed its batches and epochs already
            config = config.for_rows(len(array), grow_beta=adapter.small_data_beta)
        device = resolve_device(config.device)
        tensor = torch.from_numpy(array).to(device)
        if marginals is not None:
            marginals = torch.from_numpy(marginals).to(device)
        with torch.random.fork_rng(devices=[]), torch_threads(config.cpu_threads, device):
            torch.manual_seed(seed)
            backend = BACKENDS[config.backend](adapter.spec, config).to(device)
            generator = torch.Generator().manual_seed(seed)
            history = backend.fit(tensor, generator, self._callbacks(config), privacy,
                                  marginals)
        self.privacy_ = None if privacy is None else privacy.to_dict()
        self.adapter_ = adapter
        self.backend_ = backend
        self.config_ = config
        self.history_ = history.losses
        self.n_epochs_ = privacy.epochs if privacy is not None else history.epochs
        self.seed_ = seed
        self.n_rows_ = len(array)
        self.n_rows_seen_ = records.provenance.rows or self.n_rows_
        self.copy_guard_ = self._copy_guard(records.data, adapter)
        if self.copy_guard_ is not None and self.n_rows_ < SMALL_TABLE_ROWS:
            warnings.warn(PrivacyWarning(
                f"the table has only {self.n_rows_} rows, fewer than {SMALL_TABLE_ROWS}: too "
                "few to learn a distribution from, so synthetic rows may repeat real ones; "
                "rows that copy a rare training row are redrawn, and those that still copy "
                "one are counted (n_copies_kept_) and said when sampled"), stacklevel=4)
        self.n_copies_redrawn_ = self.n_copies_kept_ = 0
        self._sampling_rng = np.random.default_rng(seed)
        self._ids_issued, self._ids_step = 0, 1
        return tensor

    def _prepare(self, records: Records, config: Config, seed: int,
                 metadata: dict[str, Any] | None, private: PrivateFit | None
                 ) -> tuple[Adapter, PrivacyPlan | None, np.ndarray | None]:
        """The fitted adapter; for a private fit also the privacy plan and the encoded
        surrogate rows that start the output bias (:class:`~toolkit.models.private.PrivateFit`)."""
        if private is not None:
            return private.prepare(records, config, seed)
        adapter = records.domain.from_config(config, metadata, random_state=seed)
        return adapter.fit(records.data, records.provenance), None, None

    def _callbacks(self, config: Config) -> list[Callback]:
        callbacks: list[Callback] = []
        if config.early_stopping_patience:
            monitor = BACKENDS[config.backend].monitor
            callbacks.append(EarlyStopping(config.early_stopping_patience, monitor=monitor))
        if self.verbose:
            callbacks.append(ProgressBar())
        return callbacks

    def _copy_guard(self, records: Any, adapter: Any) -> CopyGuard | None:
        """The fingerprints of the training rows when copies are to be avoided."""
        if not self.avoid_copies or self.epsilon is not None or not isinstance(
                adapter, TabularAdapter):
            return None
        return CopyGuard.from_rows(records, modelled_columns(adapter))

    # sampling --------------------------------------------------------------------------
    def sample(
        self,
        num_rows: int,
        conditions: dict[str, Any] | pd.DataFrame | None = None,
        random_state: int | None = None,
        output: str | None = None,
    ) -> Any:
        """Generate synthetic rows, optionally with some columns fixed.

        Parameters
        ----------
        num_rows : int
            Number of rows to generate (positive).
        conditions : dict or pandas.DataFrame, optional
            ``{column: value}`` that every row must have, or a DataFrame of
            per-row conditions (``num_rows`` rows; NaN means "not fixed").
            Categorical and boolean values are generated directly (the
            backend's condition vector or conditional latent); numeric values
            and rare levels are met by drawing and checking, within a budget of
            ``REJECTION_BUDGET`` times the rows asked for.
        random_state : int or None, default None
            Seed for this call alone. ``None`` continues the model's own sampling
            sequence, which starts from the fit seed: a fitted model and the same
            model loaded from its file give the same first sample.
        output : {"pandas", "pyarrow", "polars"} or None, default None
            The kind of table to return (``None``: the kind :meth:`fit` was given,
            ``output_``; a pyarrow or Polars table of conditions is read as pandas).

        Returns
        -------
        pandas.DataFrame, pyarrow.Table or polars.DataFrame
            ``num_rows`` rows with the training columns and dtypes.

        Raises
        ------
        DataError
            For a condition on an unknown column, an unseen value, or one that
            cannot be met within the budget.
        """
        self.check_fitted()
        _check_rows(num_rows)
        kind = check_kind(output) or self.output_
        conditions = to_pandas(conditions)
        if self.histories_ is not None:
            self.histories_.check_conditions(conditions)
        return to_kind(self._sample_from(int(num_rows), self._learnt_conditions(conditions),
                                         self._rng_for(random_state)), kind)

    def _learnt_conditions(self, conditions: dict[str, Any] | pd.DataFrame | None
                           ) -> dict[str, Any] | pd.DataFrame | None:
        """Conditions as the learnt table takes them under the rules (see
        :meth:`~toolkit.adapters.rules.Rules.learnt_conditions`); per-row conditions may
        not name a column a rule rebuilds."""
        if self.rules_ is None or conditions is None:
            return conditions
        if isinstance(conditions, pd.DataFrame):
            rebuilt = [c for c in conditions.columns if c in self.rules_.rebuilt()]
            if rebuilt:
                raise UsageError(f"per-row condition on {rebuilt[0]!r}, which a rule "
                                 "rebuilds: give it as a single {column: value} condition")
            return conditions
        return self.rules_.learnt_conditions(conditions)

    def _rng_for(self, random_state: int | None) -> np.random.Generator:
        """The model's own sampling sequence, or a fresh one for ``random_state``."""
        if random_state is None:
            return self._sampling_rng
        return np.random.default_rng(resolve_seed(random_state))

    def _sample_from(self, num_rows: int, conditions: dict[str, Any] | pd.DataFrame | None,
                     rng: np.random.Generator) -> pd.DataFrame:
        generator = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        self.backend_.eval()
        rows = self._generated(num_rows, conditions, rng, generator)
        if self.rules_ is None or self.histories_ is not None:
            return rows
        for _ in range(MAX_REDRAWS):  # rules met by drawing and checking
            bad = self.rules_.unmet(rows)
            if not bad.any():
                return rows
            again = conditions.iloc[np.flatnonzero(bad)].reset_index(drop=True) \
                if isinstance(conditions, pd.DataFrame) else conditions
            rows = pd.concat([rows[~bad], self._generated(int(bad.sum()), again, rng,
                                                          generator)], ignore_index=True)
        warnings.warn(PrivacyWarning(
            f"{int(self.rules_.unmet(rows).sum())} generated rows still break a rule after "
            f"{MAX_REDRAWS} redraws and were kept"), stacklevel=4)
        return rows

    def _generated(self, num_rows: int, conditions: dict[str, Any] | pd.DataFrame | None,
                   rng: np.random.Generator, generator: torch.Generator) -> pd.DataFrame:
        """Rows (or patients' histories) drawn and decoded, IDs numbered, rules' columns
        rebuilt."""
        rows = self._sample_conditions(num_rows, conditions, rng, generator)
        # IDs are numbered across every call of this model, so no two rows share one
        rows = self.adapter_.renumber_ids(rows, self._ids_issued, self._ids_step)
        self._ids_issued += num_rows * self._ids_step
        if self.histories_ is not None:  # the rows are patients: draw their histories
            context = self.adapter_.transform(rows)
            rows = self.histories_.sample(rows, context, int(rng.integers(2**31 - 1)))
        elif isinstance(self.adapter_, TabularAdapter):  # the fitted table's own column labels
            rows = self.adapter_.labelled(rows)
        return rows if self.rules_ is None else self.rules_.inverse(rows)

    def number_ids_from(self, first: int, step: int = 1) -> Synthesizer:
        """Number the identifiers of the next rows (patients, for a longitudinal model) from
        ``first``, every ``step``-th of the fresh sequence: the engines give each partition
        its own range (or, for a dataset, its own residue of ``step`` partitions), so that
        identifiers stay unique across partitions. Returns ``self``."""
        self.check_fitted()
        self._ids_issued, self._ids_step = int(first), int(step)
        return self

    def sample_chunks(self, num_rows: int, chunk_rows: int = SAMPLE_CHUNK,
                      conditions: dict[str, Any] | None = None,
                      random_state: int | None = None) -> Iterator[pd.DataFrame]:
        """Generate ``num_rows`` rows as consecutive chunks of at most ``chunk_rows``, so
        that any number of rows can be written with the memory of one chunk.

        The chunks continue one random sequence (the same ``random_state`` gives the
        same chunks; a single chunk is what :meth:`sample` gives) and IDs are numbered
        across them; see :meth:`sample` for ``conditions`` and ``random_state``.

        Examples
        --------
        >>> df = pd.DataFrame({"x": [0.5, 1.5, 2.5, 3.5] * 10, "g": ["a", "b"] * 20})
        >>> model = Synthesizer(config="fast", epochs=1, random_state=0).fit(df)
        >>> [len(chunk) for chunk in model.sample_chunks(250, chunk_rows=100, random_state=1)]
        [100, 100, 50]
        """
        self.check_fitted()
        _check_rows(num_rows)
        _check_rows(chunk_rows, "chunk_rows")
        rng = self._rng_for(random_state)
        for start in range(0, num_rows, chunk_rows):
            yield self._sample_from(min(chunk_rows, num_rows - start), conditions, rng)

    def _sample_conditions(self, num_rows: int, conditions: dict | pd.DataFrame | None,
                           rng: np.random.Generator, generator: torch.Generator) -> pd.DataFrame:
        if conditions is None or isinstance(conditions, dict):
            return self._sample_with(num_rows, dict(conditions or {}), rng, generator)
        if not self.adapter_.row_conditions:
            raise UsageError("this model takes conditions as a dict, e.g. {'label': '3'}")
        if not isinstance(conditions, pd.DataFrame) or len(conditions) != num_rows:
            raise UsageError("conditions must be a dict or a DataFrame with num_rows rows")
        keys = conditions.astype(object).where(conditions.notna(), None)
        groups: dict[tuple, list[int]] = {}
        for position, row in enumerate(keys.itertuples(index=False, name=None)):
            groups.setdefault(row, []).append(position)
        parts, order = [], []
        for row, positions in groups.items():
            wanted = {c: v for c, v in zip(conditions.columns, row, strict=True) if v is not None}
            parts.append(self._sample_with(len(positions), wanted, rng, generator))
            order += positions
        result = pd.concat(parts, ignore_index=True)
        return result.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)

    def _draw(self, n: int, fixed: dict[int, int], rng: np.random.Generator,
              generator: torch.Generator) -> pd.DataFrame:
        # drawn and decoded a chunk at a time: no (n, width) array, and each chunk's
        # arrays stay small enough for the CPU caches
        seed = int(rng.integers(2**31 - 1))
        frames = [self._decoded(min(SAMPLE_CHUNK, n - start), fixed, generator, seed + start)
                  for start in range(0, n, SAMPLE_CHUNK)]
        rows = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        return self._without_copies(rows, fixed, generator, seed + n)

    def _decoded(self, n: int, fixed: dict[int, int], generator: torch.Generator,
                 seed: int) -> pd.DataFrame:
        raw = self.backend_.sample(n, generator, fixed).cpu().numpy()
        return self.adapter_.inverse_transform(raw, random_state=seed)

    def _without_copies(self, rows: pd.DataFrame, fixed: dict[int, int],
                        generator: torch.Generator, seed: int) -> pd.DataFrame:
        """``rows`` with every row that copies a rare training row redrawn (up to
        :data:`~toolkit.models.copies.MAX_REDRAWS` rounds; what still copies then is kept, counted
        in :attr:`n_copies_kept_` and said in a :class:`PrivacyWarning`)."""
        if self.copy_guard_ is None:
            return rows
        copies = np.flatnonzero(self.copy_guard_.copies(rows))
        for round_ in range(MAX_REDRAWS):
            if not copies.size:
                break
            self.n_copies_redrawn_ += len(copies)
            redrawn = self._decoded(len(copies), fixed, generator, seed + round_)
            rows = pd.concat([rows.drop(index=rows.index[copies]), redrawn], ignore_index=True)
            copies = len(rows) - len(redrawn) + np.flatnonzero(self.copy_guard_.copies(redrawn))
        if copies.size:
            self.n_copies_kept_ += len(copies)
            warnings.warn(PrivacyWarning(
                f"{len(copies)} of {len(rows)} generated rows still copy a training row after "
                f"{MAX_REDRAWS} redraws and were kept: the model cannot generate other rows "
                f"like them (a table of {self.n_rows_} rows is very small); drop them if they "
                "must not be released"), stacklevel=4)
        return rows

    def _sample_with(self, n: int, conditions: dict[str, Any], rng: np.random.Generator,
                     generator: torch.Generator) -> pd.DataFrame:
        # a private model has no per-level latents (fitting them would read the rows):
        # it meets every condition by drawing and checking
        if self.privacy_ is None:
            fixed, checked = self.adapter_.encode_conditions(conditions)
        else:
            fixed, checked = self.adapter_.encode_conditions(conditions, direct=False)
        if not checked:
            return self._draw(n, fixed, rng, generator)
        kept, drawn, budget = [], 0, REJECTION_BUDGET * n
        while sum(len(part) for part in kept) < n:
            if drawn >= budget:
                shown = ", ".join(f"{c}={v!r}" for c, v in conditions.items())
                raise DataError(
                    f"could not generate rows with {shown} within {budget} draws; the "
                    "condition is too rare or impossible for this model"
                )
            batch = self._draw(max(1000, 2 * n), fixed, rng, generator)
            drawn += len(batch)
            kept.append(batch[self.adapter_.matches(batch, checked)])
        return pd.concat(kept, ignore_index=True).iloc[:n].reset_index(drop=True)

    @property
    def metadata_(self) -> dict[str, str]:
        """The column kinds used (inferred or given), ``{column: kind}``."""
        self.check_fitted()
        return dict(self.adapter_.kinds_)

    # model files -----------------------------------------------------------------------
    @classmethod
    def _rebuild(cls, document: dict, tensors: dict[str, torch.Tensor],
                 device: str) -> Synthesizer:
        """The fitted model a file's document and tensors describe, checked by decoding
        two rows (a file edited into nonsense fails here, not at the user's first sample)."""
        model = cls(**params_from_json(document["params"]))
        config = Config(**document["config"]).validate()
        adapter = adapter_from_dict(document["adapter"])
        backend: Backend = BACKENDS[config.backend](adapter.spec, config)
        fingerprints = tensors.pop(COPY_GUARD_TENSOR, None)
        history_tensors = {name[len(HISTORIES_PREFIX):]: tensors.pop(name)
                           for name in list(tensors) if name.startswith(HISTORIES_PREFIX)}
        load_saved_state(backend, tensors)
        if adapter.spec != TensorSpec.from_dict(document["spec"]):
            raise ModelFileError("its adapter does not match its spec")
        problem = backend.problem()
        if problem:
            raise ModelFileError(problem)
        model.adapter_ = adapter
        model.backend_ = backend.to(resolve_device(device)).eval()
        model.config_ = config
        model.history_ = {str(k): [float(v) for v in values]
                          for k, values in dict(document["history"]).items()}
        model.seed_ = int(document["seed"])
        model.n_rows_ = int(document["n_rows"])
        model.n_rows_seen_ = int(document.get("n_rows_seen", model.n_rows_))
        model.output_ = str(document.get("output", "pandas"))
        model.fit_seconds_ = float(document["fit_seconds"])
        model.privacy_ = document.get("privacy")
        model.n_epochs_ = trained_epochs(document)
        model.copy_guard_ = None if fingerprints is None else CopyGuard.from_tensor(
            document["copy_guard_columns"], fingerprints)
        model.n_copies_redrawn_ = model.n_copies_kept_ = 0
        model.histories_ = None if document.get("histories") is None else \
            PatientHistories.from_dict(document["histories"], history_tensors)
        model.n_patients_ = document.get("n_patients")
        model.rules_ = None if document.get("rules") is None else \
            Rules.from_dict(document["rules"])
        model._sampling_rng = np.random.default_rng(model.seed_)
        model._ids_issued, model._ids_step = 0, 1
        with torch.no_grad():
            rows = model.backend_.sample(2, torch.Generator().manual_seed(0), {})
        adapter.inverse_transform(rows.cpu().numpy(), random_state=0)
        return model

    def document(self) -> dict[str, Any]:
        """Everything but the weights that a model file stores, as JSON-ready data."""
        params = params_to_json(self.get_params())
        return {
            "kind": "synthesizer",
            "backend": self.config_.backend,
            "params": params,
            "config": self.config_.to_dict(),
            "adapter": self.adapter_.to_dict(),
            "spec": self.adapter_.spec.to_dict(),
            "history": self.history_,
            "seed": self.seed_,
            "n_rows": self.n_rows_,
            "n_rows_seen": self.n_rows_seen_,
            "output": self.output_,
            "fit_seconds": self.fit_seconds_,
            "privacy": self.privacy_,
            "copy_guard_columns": None if self.copy_guard_ is None else self.copy_guard_.columns,
            "histories": None if self.histories_ is None else self.histories_.to_dict(),
            "rules": None if self.rules_ is None else self.rules_.to_dict(),
            "n_patients": self.n_patients_,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": {"toolkit": toolkit.__version__, "torch": torch.__version__,
                         "python": platform.python_version()},
        }

    def save(self, path: str | Path) -> None:
        """Save the fitted model to one safe file (safetensors weights + JSON).

        Parameters
        ----------
        path : str or Path
            Target file, conventionally ending in ``.tkm``; written atomically.
        """
        self.check_fitted()
        save_model(path, self.tensors(), self.document())

    def tensors(self) -> dict[str, torch.Tensor]:
        """Everything a model file stores as tensors: the weights, and the training rows'
        fingerprints when copies are avoided."""
        tensors = saved_state(self.backend_)
        if self.copy_guard_ is not None:
            tensors[COPY_GUARD_TENSOR] = self.copy_guard_.to_tensor()
        if self.histories_ is not None:
            tensors.update({HISTORIES_PREFIX + name: tensor for name, tensor
                            in self.histories_.state().items()})
        return tensors

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> Synthesizer:
        """Load a model saved by :meth:`save`; never unpickles.

        Parameters
        ----------
        path : str or Path
            The model file.
        device : {"auto", "cpu", "cuda"}, default "auto"
            Where to put the model.

        Raises
        ------
        ModelFileError
            When the file is missing, corrupt, modified or not a synthesizer.
        """
        return cls.restore(path, device, estimator_name="synthesizer")[0]

    @classmethod
    def restore(cls, path: str | Path, device: str, estimator_name: str
                ) -> tuple[Synthesizer, dict, dict[str, torch.Tensor]]:
        """Rebuild the fitted model of a file saved by the estimator ``estimator_name``
        (``"synthesizer"``, ``"detector"``); return it, the file's document and the tensors
        named ``"<estimator_name>.…"``: the wrapping estimator's, not the model's.

        Shared by :meth:`load` and the estimators that wrap a synthesizer (the
        anomaly detector), whose files hold the same model plus their own fields and
        tensors.
        """
        tensors, document = load_model(path)
        extra = {name: tensors.pop(name) for name in list(tensors)
                 if name.startswith(f"{estimator_name}.")}
        if document.get("kind") != estimator_name:
            found = document.get("kind")
            raise ModelFileError(f"{path} holds a {found!r} model, not a {estimator_name}")
        try:
            model = cls._rebuild(document, tensors, device)
        except Exception as error:  # noqa: BLE001 - a well-hashed file that makes no sense
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise ModelFileError(f"{path} is not a usable {estimator_name} model file: "
                                 f"{reason}") from None
        return model, document, extra
