"""Fitting with differential privacy: the settings DP-SGD needs, and an adapter learnt from
a noisy release instead of the rows (see :mod:`toolkit.backends.privacy` for the
guarantee and :mod:`toolkit.adapters.dp_statistics` for the release)."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.base import Provenance
from toolkit.adapters.dp_statistics import check_private_schema, private_surrogate
from toolkit.adapters.histories import HistoryLayout
from toolkit.adapters.tabular import TabularAdapter, check_table, load_column_metadata
from toolkit.backends import BACKENDS
from toolkit.backends.privacy import PrivacyPlan, plan_privacy
from toolkit.backends.training import choose_epochs
from toolkit.config import Config
from toolkit.exceptions import PrivacyWarning, UsageError
from toolkit.io.records import Records


def private_settings(config: Config) -> Config:
    """``config`` as a private fit runs it: nothing may read the rows outside DP-SGD, so no
    latent mixture fitted on their codes and no early stopping on their loss; a GAN's
    critic judges one row at a time, once per step (each critic step is a DP-SGD step)."""
    return dataclasses.replace(config, prior="standard", early_stopping_patience=None,
                               pac=1, discriminator_steps=1)


def one_row_per_patient(records: Records, layout: HistoryLayout, seed: int) -> Records:
    """One row of each patient of a longitudinal table, drawn at random (seeded), so that
    a private fit's ε counts patients: each patient then adds one row to the noisy
    histograms and to each DP-SGD step. Said in a :class:`PrivacyWarning` (histories are not
    generated privately: the output has one row per patient).
    """
    data = records.data
    codes = data.groupby(layout.subject, sort=False).ngroup().to_numpy()
    shuffled = np.random.default_rng(seed).permutation(len(data))
    chosen = np.sort(shuffled[~pd.Series(codes[shuffled]).duplicated().to_numpy()])
    warnings.warn(PrivacyWarning(
        f"with epsilon, the longitudinal table (subject {layout.subject!r}) is learnt from "
        f"one row per patient, drawn at random ({len(chosen)} of {len(data)} rows), so that "
        "the guarantee is per patient; private histories are not generated yet"),
        stacklevel=4)
    return Records(data.iloc[chosen], dataclasses.replace(records.provenance, unit="patient"))


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
