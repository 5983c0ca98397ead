"""Anomaly detection with a trained latent model: :class:`AnomalyDetector`.

A record is suspicious when the model reconstructs it badly, when its latent
code is unlikely, or when few random cuts set it apart. The detector trains the same
model a :class:`Synthesizer` trains (through the same adapter, backend and loop), grows
an isolation forest on the same encoded rows, and reads these scores off them (higher =
more anomalous):

``"ensemble"`` (default)
    ``"combined"`` and ``"isolation"``, each standardised by the mean and standard
    deviation of the training rows' scores, summed: the likelihood catches a record unlike
    the structure the model learnt, the forest one that sits apart on a few columns
    (``python -m benchmarks.ad_vs_pyod`` compares it with its parts and PyOD's detectors).
``"reconstruction"``
    ``-log p(x | z = mu(x))``: the record's likelihood under the decoder's
    per-block heads (Gaussian for numbers, categorical for one-hots, Bernoulli
    for missing flags), decoded from its posterior mean.
``"latent"``
    ``-log p(mu(x))``: how unlikely the record's posterior mean is under the
    model's latent prior (N(0, I) in the ``detect`` preset).
``"combined"``
    the negative evidence lower bound, ``-log p(x | mu(x)) + KL(q(z | x) || p(z))``
    with the N(0, I) prior the encoder was trained against: reconstruction
    and latent evidence in the one unit the model was trained on. It bounds
    ``-log p(x)`` from above (up to the point estimate of the reconstruction
    term).
``"isolation"``
    an isolation forest's score in (0, 1] (:class:`~toolkit.models.isolation.IsolationForestScore`:
    100 trees grown by scikit-learn on the encoded training rows, 256 rows each).

``"combined"``, ``"reconstruction"`` and ``"latent"`` are in nats, ``"isolation"`` in (0, 1],
``"ensemble"`` in training standard deviations.

What training never had is scored, not refused (``unseen="score"``): a level a
categorical column never had, or a missing value in a column that had none, has no
likelihood under the model, so each such cell adds :attr:`AnomalyDetector.novelty_score_`
— ``log(n + 1)`` (the rule-of-succession probability of an event not seen in ``n``
training rows, in nats) plus the spread between the median and the highest training score,
in the score's unit — so a typical row with one never-seen value scores above every
training row. ``explain`` puts that share on the column. Numbers outside the training
range are scored where they are (the Gaussian head's distance, never clipped).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import OutlierMixin
from sklearn.utils.validation import validate_data

from toolkit.adapters.histories import GAP
from toolkit.adapters.kinds import infer_kind
from toolkit.adapters.tabular import TabularAdapter, load_column_metadata
from toolkit.backends import BACKENDS
from toolkit.backends.base import NO_ENCODER
from toolkit.config import ANOMALY_SCORES as SCORES
from toolkit.config import UNSEEN, Config, params_from_json, params_to_json
from toolkit.exceptions import DataError, ModelFileError, UsageError
from toolkit.io.frames import frame_kind, to_kind
from toolkit.io.metadata import read_metadata
from toolkit.io.modelfile import save_model
from toolkit.io.records import Records, domain_of, read_records
from toolkit.models.base import LatentEstimator, resolve_seed, torch_threads
from toolkit.models.isolation import IsolationForestScore
from toolkit.models.synthesizer import Synthesizer

#: rows encoded and scored at a time; memory is bounded by this, not by the input
SCORE_CHUNK = 65536
#: rows per forward pass of the model, so that the activations stay in the CPU's cache
#: (the same scores, bit for bit, as one pass: every row is computed on its own)
FORWARD_ROWS = 8192
QUANTILES = 1001
#: trees of the isolation forest (scikit-learn's default)
FOREST_TREES = 100
#: where a detector file keeps its forest's tensors
FOREST_PREFIX = "detector.isolation."
#: the scores ``"ensemble"`` standardises and sums
ENSEMBLE_PARTS = ("combined", "isolation")
#: the scores that need the isolation forest
FOREST_SCORES = ("ensemble", "isolation")
#: the scores that are negative log-likelihoods (in nats), comparable between fits
LIKELIHOODS = ("combined", "reconstruction", "latent")


def top_columns(contributions: pd.DataFrame, n: int) -> list[str]:
    """``"col (nats); col (nats)"`` of each row's ``n`` largest contributions (a table from
    :meth:`AnomalyDetector.explain`): the ``top_columns`` that ``toolkit score --explain``
    and the Spark and Dask engines write.

    Examples
    --------
    >>> top_columns(pd.DataFrame({"chol": [9.12, 0.1], "age": [4.0, 2.5]}), 1)
    ['chol (9.1)', 'age (2.5)']
    """
    names = contributions.columns.to_numpy()
    values = contributions.to_numpy()
    order = (-values).argsort(axis=1)[:, :n]
    return ["; ".join(f"{names[j]} ({row[j]:.1f})" for j in picks)
            for row, picks in zip(values, order, strict=True)]


def numbers_as_numbers(records: Any, metadata: dict[str, Any] | str | Path | None
                       ) -> dict[str, Any] | str | Path | None:
    """``metadata`` with every non-constant column of numbers ``"continuous"`` (where
    ``metadata`` does not say otherwise): for a detector a column of a few distinct numbers
    is still a number, whose new values are scored by their distance (synthesis keeps them
    categorical). Identifiers (``patient_id``: see :func:`~toolkit.adapters.kinds.infer_kind`)
    stay identifiers, which no score reads; text, boolean and date columns are inferred as
    usual.

    Examples
    --------
    >>> table = pd.DataFrame({"id": [1, 2, 3, 4], "stage": [1, 2, 3, 2],
    ...                       "sex": ["f", "m", "f", "f"]})
    >>> numbers_as_numbers(table, None)
    {'stage': 'continuous'}
    >>> numbers_as_numbers(table, {"stage": "categorical"})
    {'stage': {'kind': 'categorical'}}
    """
    if not isinstance(records, pd.DataFrame):
        return metadata
    given = load_column_metadata(read_metadata(metadata))
    numeric = {str(column): "continuous" for column, series in records.items()
               if pd.api.types.is_numeric_dtype(series.dtype)
               and not pd.api.types.is_bool_dtype(series.dtype) and series.nunique() > 1
               and infer_kind(series) != "id"}
    return {**numeric, **given} if numeric else metadata


def column_plans(adapter: TabularAdapter) -> dict[str, str]:
    """The type each column of a CSV file to score is read as (the ``plans`` of
    :func:`toolkit.io.tables.iter_table`): the type its training column had, whole numbers
    ``"int"``, other numbers ``"float"``, anything else ``"text"``, whatever the chunks of the
    file hold; a value that is not of that type (``<5`` in a column of numbers) is kept as
    written and scored as never seen (see :meth:`TabularAdapter.novel_cells`).

    Examples
    --------
    >>> table = pd.DataFrame({"age": [61.5, 70.0, 58.2], "stage": [1, 2, 3],
    ...                       "sex": ["f", "m", "f"]})
    >>> column_plans(TabularAdapter(random_state=0).fit(table))
    {'age': 'float', 'stage': 'int', 'sex': 'text'}
    """
    plans = {}
    for encoder in adapter.encoders_:
        try:
            dtype = pd.api.types.pandas_dtype(encoder.dtype_)
        except TypeError:
            dtype = np.dtype(object)
        plans[encoder.name] = ("int" if pd.api.types.is_integer_dtype(dtype)
                               else "float" if pd.api.types.is_float_dtype(dtype) else "text")
    return plans


class AnomalyDetector(OutlierMixin, LatentEstimator):
    """Score how anomalous records are with a VAE (or VAE-GAN) trained on the data.

    Follows PyOD's conventions (``decision_function``: higher is more anomalous;
    ``predict``: 1 for outliers, 0 for inliers; ``decision_scores_``,
    ``threshold_``, ``labels_``) and scikit-learn's (``score_samples``: lower
    is more anomalous; ``fit`` returns ``self``; ``get_params``/``clone``).

    Parameters
    ----------
    anomaly_score : {"ensemble", "combined", "reconstruction", "latent", "isolation"}, \
default "ensemble"
        Which score (see the module docstring): ``"ensemble"`` sums the negative ELBO
        (``"combined"``) and the isolation forest's score, each standardised on the
        training rows. (Not ``score``: that name is scikit-learn's :meth:`score` method,
        which pipelines and searches call.)
    contamination : float in (0, 0.5], default 0.1
        Expected share of outliers in the training data; sets ``threshold_``
        at that upper quantile of the training scores. Fitted on known-normal rows
        (a clean reference), it is the share of normal rows to flag: the threshold is
        then that quantile of the reference's scores.
    unseen : {"score", "refuse"}, default "score"
        What scoring does with a categorical level never seen in training or a missing
        value in a column that had none: add :attr:`novelty_score_` per such cell
        (``"score"``), or raise :class:`~toolkit.exceptions.DataError` naming the column
        (``"refuse"``).
    backend : {"vae", "vaegan"} or None, default None
        The latent model; ``None`` takes the preset's. The GAN has no encoder
        and is refused.
    config : str, Path, Config or None, default None
        A preset name, YAML path or :class:`~toolkit.config.Config`; ``None`` takes
        ``"detect"`` for tables and ``"detect-images"`` for images (the adapter's
        ``detect_preset``).
    epochs, batch_size : int or None, default None
        Override the preset.
    metadata : dict, str, Path or None, default None
        Column kinds that override inference, as for :class:`Synthesizer`. Columns of
        numbers are numeric even with few distinct values (:func:`numbers_as_numbers`).
    device : {"auto", "cpu", "cuda"} or None, default None
        Overrides the preset's device.
    random_state : int or None, default None
        Seed; the same seed gives bit-identical scores on CPU.
    verbose : bool, default False
        Show a progress bar while training.
    subject : str or None, default None
        For a longitudinal table (several rows per patient), the column naming each row's
        patient (or the metadata's ``subject:``): each row is then scored *in context*, by
        how unlikely its changing values are given the patient's attributes and earlier
        rows (the history model of :mod:`toolkit.models.histories`), in nats; a lab value
        unusual for this patient scores high even when it is common in the population.
        ``anomaly_score`` does not apply then. ``None``: rows are scored one by one.
    order : str or None, default None
        The column ordering each patient's rows (with ``subject``); ``None``: found, else
        the row order.

    Attributes
    ----------
    model_ : Synthesizer
        The trained latent model (it can also generate rows).
    forest_ : IsolationForestScore
        The isolation forest grown on the encoded training rows.
    part_scales_ : dict of str to (float, float)
        Mean and standard deviation of the training rows' ``"combined"`` and
        ``"isolation"`` scores: what ``"ensemble"`` standardises them by.
    decision_scores_ : ndarray of shape (n_samples,)
        Anomaly scores of the training rows.
    threshold_ : float
        Scores above it are outliers.
    labels_ : ndarray of shape (n_samples,)
        0/1 outlier labels of the training rows.
    novelty_score_ : float
        What each never-seen level or unexpected missing value adds to a row's score,
        in nats (see the module docstring).
    offset_ : float
        ``-threshold_``, scikit-learn's offset: ``score_samples - offset_``
        is positive for outliers here (PyOD's sign).
    n_features_in_ : int
        Number of columns seen in ``fit``.
    n_rows_seen_ : int
        Rows of the table given to ``fit``; a table of more than ``max_training_rows``
        is learnt, scored for ``decision_scores_`` and thresholded from a uniform sample
        of that many rows (``model_.n_rows_``), knowing every level of the whole table.
    feature_names_in_ : ndarray of str
        Column names seen in ``fit`` when ``X`` was a DataFrame.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> X[:5] += 6
    >>> det = AnomalyDetector(config="fast", epochs=5, random_state=0).fit(X)
    >>> det.decision_function(X).shape
    (200,)
    """

    def __init__(
        self,
        anomaly_score: str = "ensemble",
        contamination: float = 0.1,
        unseen: str = "score",
        backend: str | None = None,
        config: str | Path | Config | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        metadata: dict[str, Any] | str | Path | None = None,
        device: str | None = None,
        random_state: int | None = None,
        verbose: bool = False,
        subject: str | None = None,
        order: str | None = None,
    ) -> None:
        self.anomaly_score = anomaly_score
        self.contamination = contamination
        self.unseen = unseen
        self.backend = backend
        self.config = config
        self.epochs = epochs
        self.batch_size = batch_size
        self.metadata = metadata
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.subject = subject
        self.order = order

    fitted_attribute = "model_"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are modelled (missing flags)
        tags.input_tags.string = True  # categorical text columns are one-hot encoded
        tags.non_deterministic = False
        return tags

    # fitting ---------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.anomaly_score not in SCORES:
            raise UsageError(f"unknown anomaly score {self.anomaly_score!r}; "
                             f"valid: {', '.join(SCORES)}")
        contamination = self.contamination
        if isinstance(contamination, bool) or not isinstance(contamination, (int, float)) \
                or not 0.0 < contamination <= 0.5:
            raise UsageError(f"contamination must be a float in (0, 0.5], got {contamination!r}")
        if self.unseen not in UNSEEN:
            raise UsageError(f"unknown unseen {self.unseen!r}; valid: {', '.join(UNSEEN)}")

    def fit(self, X: Any, y: Any = None) -> AnomalyDetector:  # noqa: N803
        """Train the latent model on ``X`` (no labels) and score its rows.

        ``X`` is read once (a table larger than the preset's ``max_training_rows`` as a
        uniform sample of that many rows) and encoded once: the model trains on the
        encoded rows, and the isolation forest and the training scores read the same.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Mixed types and missing values are fine.
        y : ignored

        Returns
        -------
        AnomalyDetector
            ``self``, fitted.
        """
        started = time.perf_counter()
        domain = domain_of(X)
        config, seed = self.resolve_config(domain), resolve_seed(self.random_state)
        read = read_records(X, max_rows=config.max_training_rows, random_state=seed)
        # detection is unsupervised: labels unused
        records = Records(domain.unlabelled(read.data), read.provenance)
        if isinstance(records.data, pd.DataFrame):  # scikit-learn input: names and count
            try:
                validate_data(self, X.data if isinstance(X, Records) else X,
                              skip_check_array=True, reset=True)
            except TypeError as error:  # column labels that mix text and numbers
                raise DataError(str(error)) from None
        model = self._new_model(domain, numbers_as_numbers(records.data, self.metadata))
        if self._in_context():
            return self._fit_in_context(model, records, config, seed, started)
        encoded = model._fit(records, config, seed, histories=False,  # encoded once
                             rules=False)
        model.fit_seconds_ = time.perf_counter() - started
        self.model_ = model
        self.n_features_in_ = domain.n_features(records.data)
        self.n_rows_seen_ = model.n_rows_seen_
        self.forest_ = IsolationForestScore.fit(self._flat(encoded), FOREST_TREES, model.seed_)
        # one pass over the training rows: the ensemble's parts (and a likelihood asked for)
        wanted = dict.fromkeys(score for score in (*ENSEMBLE_PARTS, self.anomaly_score)
                               if score != "ensemble")
        parts = self._score_table(records.data, tuple(wanted), encoded)
        self.part_scales_ = {part: (float(parts[part].mean()), float(parts[part].std()))
                             for part in ENSEMBLE_PARTS}
        self.decision_scores_ = (self._ensemble(parts) if self.anomaly_score == "ensemble"
                                 else parts[self.anomaly_score])
        # 1,001 quantiles of the training scores: enough to move the threshold later
        # (set_contamination) without keeping every training score
        self._score_quantiles = np.quantile(self.decision_scores_,
                                            np.linspace(0.0, 1.0, QUANTILES))
        self._process_decision_scores()
        return self

    def _in_context(self) -> bool:
        """Whether rows are scored given their patient's history (a subject is stated)."""
        metadata = read_metadata(self.metadata)
        return self.subject is not None or bool((metadata or {}).get("subject"))

    def _fit_in_context(self, model: Synthesizer, records: Records, config: Config,
                        seed: int, started: float) -> AnomalyDetector:
        """:meth:`fit` for a longitudinal table: the patients and their histories are
        learnt, the training rows scored in context."""
        model._fit(records, config, seed, rules=False)
        if model.histories_ is None:
            raise DataError(f"subject {self.subject!r}: every patient has one row, so there "
                            "is no history to score rows in; leave subject out")
        model.fit_seconds_ = time.perf_counter() - started
        self.model_, self.forest_, self.part_scales_ = model, None, None
        self.n_features_in_ = records.data.shape[1]
        self.n_rows_seen_ = model.n_rows_seen_
        self.decision_scores_ = self._history_scores(records.data)
        self._score_quantiles = np.quantile(self.decision_scores_,
                                            np.linspace(0.0, 1.0, QUANTILES))
        self._process_decision_scores()
        return self

    def _history_parts(self, data: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Per-part negative log-likelihoods of ``data``'s rows given their histories."""
        histories = self.model_.histories_
        device = next(self.model_.backend_.parameters()).device
        with torch_threads(self.model_.config_.cpu_threads, device):
            return histories.part_losses(self.model_.adapter_, data)

    def _history_scores(self, data: pd.DataFrame) -> np.ndarray:
        """Each row's negative log-likelihood given its patient's history, in nats."""
        scores = self._history_parts(data)[0].sum(axis=1)
        if not np.isfinite(scores).all():
            raise DataError("scores are not finite: the table holds values too extreme "
                            "to score")
        return scores

    @staticmethod
    def _flat(x: torch.Tensor) -> np.ndarray:
        """Encoded rows (or images, flattened) as the forest reads them."""
        return x.reshape(len(x), -1).cpu().numpy()

    def _ensemble(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        """``"ensemble"``: the :data:`ENSEMBLE_PARTS` of ``parts`` standardised by
        :attr:`part_scales_` and summed."""
        total = np.zeros_like(parts[ENSEMBLE_PARTS[0]])
        for part in ENSEMBLE_PARTS:
            mean, std = self.part_scales_[part]
            total += (parts[part] - mean) / (std if std > 0 else 1.0)
        return total

    def _new_model(self, domain: type, metadata: dict[str, Any] | str | Path | None
                   ) -> Synthesizer:
        """The unfitted latent model these parameters describe for data of the adapter class
        ``domain``, with ``metadata`` (keeping no fingerprints of the training rows: a
        detector's file should not identify them)."""
        stated = read_metadata(self.metadata) or {}
        return Synthesizer(**{**self.model_parameters(), "config": self.preset(domain),
                              "metadata": metadata}, avoid_copies=False,
                           subject=self.subject or stated.get("subject"),
                           order=self.order or stated.get("order"))

    def preset(self, domain: type = TabularAdapter) -> str | Path | Config:
        """The ``config`` parameter, or when it is ``None`` the domain's ``detect_preset``."""
        return domain.detect_preset if self.config is None else self.config

    def resolve_config(self, domain: type = TabularAdapter) -> Config:
        """The resolved training settings for data of the adapter class ``domain`` (tables
        unless said); fails on a backend that cannot score.

        Raises
        ------
        UsageError
            For an unknown anomaly score, contamination, preset or option, or the ``gan``
            backend.
        """
        self._check_params()
        config = super().resolve_config(domain)
        if not BACKENDS[config.backend].has_encoder:
            raise UsageError(f"the {config.backend} backend cannot score anomalies: "
                             f"{NO_ENCODER}; use backend 'vae' or 'vaegan'")
        return config

    def _process_decision_scores(self) -> None:
        """Everything the training scores' quantiles set, in one place (PyOD's
        ``_process_decision_scores``): ``threshold_`` and ``offset_`` at the
        ``contamination``, the score range of :meth:`predict_proba`,
        :attr:`novelty_score_`, and ``labels_`` when the training scores are at hand."""
        grid = np.linspace(0.0, 1.0, QUANTILES)
        quantiles = self._score_quantiles
        self.threshold_ = float(np.interp(1.0 - self.contamination, grid, quantiles))
        self.offset_ = -self.threshold_
        self._score_range = (float(quantiles[0]), float(quantiles[-1]))
        median = float(np.interp(0.5, grid, quantiles))
        self.novelty_score_ = float(np.log1p(self.n_rows_seen_) + quantiles[-1] - median)
        if hasattr(self, "decision_scores_"):
            self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)

    def set_contamination(self, contamination: float) -> AnomalyDetector:
        """Move the threshold of a fitted detector to a new expected outlier share.

        The threshold becomes that upper quantile of the training scores (kept
        as 1,001 quantiles, also in model files); ``labels_`` follows it.
        """
        self.check_fitted()
        self.contamination = contamination
        self._check_params()
        self._process_decision_scores()
        return self

    # scoring ---------------------------------------------------------------------------
    def _records(self, X: Any) -> Any:  # noqa: N803
        """``X`` read as the model's records and checked against the training input."""
        self.check_fitted()
        adapter = self.model_.adapter_
        if domain_of(X) is not type(adapter):
            raise DataError(f"this detector was trained on {adapter.describe()['domain']}; "
                            "give it data of that kind")
        records = read_records(X).data
        if isinstance(records, pd.DataFrame):  # scikit-learn input: feature names and count
            try:
                validate_data(self, X, skip_check_array=True, reset=False)
            except (TypeError, ValueError) as error:  # wrong number or names of columns
                raise DataError(str(error)) from None
            if not isinstance(X, pd.DataFrame):
                records.columns = adapter.columns_
        if len(records) == 0:
            raise DataError("cannot score an empty table (0 rows)")
        return records

    def _chunks(self, records: Any) -> Iterator[tuple[torch.Tensor, pd.DataFrame]]:
        """``records`` encoded for the model, ``SCORE_CHUNK`` at a time (out-of-range
        numbers kept where they are, so that they keep their distance), each with its
        cells training never had (:meth:`TabularAdapter.novel_cells`); with
        ``unseen="refuse"`` a :class:`DataError` naming the first such cell instead."""
        adapter = self.model_.adapter_
        if self.unseen == "refuse":
            adapter.check_known(records)
        device = next(self.model_.backend_.parameters()).device
        for chunk in adapter.chunks(records, SCORE_CHUNK):
            encoded, novel = adapter.transform_with_novelty(chunk)
            yield torch.from_numpy(encoded).to(device), novel

    def _chunk_scores(self, chunks: Iterable[tuple[torch.Tensor, pd.DataFrame]],
                      scores: tuple[str, ...]) -> Iterator[tuple[dict[str, np.ndarray], Any]]:
        """The ``scores`` of every encoded chunk (:meth:`_chunks`), float64 on CPU, from one
        pass, each with the chunk's novel cells passed through.

        The model and the forest run on :data:`FORWARD_ROWS` rows at a time, the model with
        the preset's ``cpu_threads`` (1), so that on a shared machine processes do not
        contend for cores, and the command line keeps the other cores busy reading and
        writing (see
        :func:`toolkit.cli.common.read_ahead`).
        """
        backend = self.model_.backend_.eval()
        device = next(backend.parameters()).device
        with torch_threads(self.model_.config_.cpu_threads, device), torch.inference_mode():
            for x, novel in chunks:
                batches = [self._score_rows(backend, x[start : start + FORWARD_ROWS], scores)
                           for start in range(0, len(x), FORWARD_ROWS)]
                yield ({score: np.concatenate([batch[score] for batch in batches])
                        for score in scores}, novel)

    def _score_rows(self, backend: Any, x: torch.Tensor, scores: tuple[str, ...]
                    ) -> dict[str, np.ndarray]:
        """The ``scores`` of the encoded rows ``x``: the forest and the model run only
        where one of them is needed."""
        parts = {}
        if set(FOREST_SCORES) & set(scores):
            parts["isolation"] = self.forest_.score(self._flat(x))
        if set(scores) - {"isolation"}:
            block_nll, kl, latent_nll = (part.cpu().double().numpy()
                                         for part in backend.anomaly_parts(x))
            parts["reconstruction"] = block_nll.sum(axis=1)
            parts["combined"] = parts["reconstruction"] + kl
            parts["latent"] = latent_nll
        if "ensemble" in scores:
            parts["ensemble"] = self._ensemble(parts)
        return {score: parts[score] for score in scores}

    def _scores(self, records: Any, score: str) -> np.ndarray:
        """``score`` of every row of ``records``."""
        return self._score_table(records, (score,))[score]

    def _score_table(self, records: Any, scores: tuple[str, ...],
                     encoded: torch.Tensor | None = None) -> dict[str, np.ndarray]:
        """Each of ``scores`` for every row of ``records``, from one pass over them, with
        :attr:`novelty_score_` per never-seen cell; ``encoded`` are the rows already
        encoded, if at hand."""
        self._check_params()
        lacking = [score for score in scores if score in FOREST_SCORES]
        if lacking and self.forest_ is None:
            raise UsageError(f"anomaly score {lacking[0]!r} needs an isolation forest, which "
                             "this detector's file (saved before there was one) lacks; refit "
                             "it, or use 'combined', 'reconstruction' or 'latent'")
        chunks = list(self._chunk_scores(
            self._chunks(records) if encoded is None
            else [(encoded, self.model_.adapter_.novel_cells(records))], scores))
        novel_counts = np.concatenate([novel.sum(axis=1).to_numpy() for _, novel in chunks])
        table = {}
        for score in scores:
            values = np.concatenate([chunk[score] for chunk, _ in chunks])
            if novel_counts.any():  # never the training rows: fit has no novelty_score_ yet
                values = values + novel_counts * self.novelty_score_
            if not np.isfinite(values).all():
                raise DataError("scores are not finite: the table holds values too extreme "
                                "to score")
            table[score] = values
        return table

    def decision_function(self, X: Any) -> np.ndarray:  # noqa: N803
        """Anomaly scores of ``X``; higher is more anomalous (PyOD's sign).

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
            Rows with the training columns.

        Returns
        -------
        ndarray of shape (n_samples,)

        Raises
        ------
        DataError
            For missing training columns, or (``unseen="refuse"``) NaN in a column that
            had none in training or a categorical level never seen.
        """
        records = self._records(X)
        if self.model_.histories_ is not None:
            return self._history_scores(records)
        return self._scores(records, self.anomaly_score)

    def score_samples(self, X: Any) -> np.ndarray:  # noqa: N803
        """scikit-learn's sign: the negated anomaly score (lower is more anomalous)."""
        return -self.decision_function(X)

    def score(self, X: Any, y: Any = None) -> float:  # noqa: N803
        """Mean log-likelihood of ``X``: higher when the model finds the rows likely.

        The mean of :meth:`score_samples` for the likelihood scores; for
        ``anomaly_score="ensemble"`` or ``"isolation"``, whose units are relative to each
        fit's own training rows, the ``"combined"`` one: the mean evidence lower bound per
        row, in nats, as :meth:`sklearn.mixture.GaussianMixture.score` is a mean
        log-likelihood. It is what ``Pipeline.score`` and ``GridSearchCV`` without
        ``scoring=`` maximise: the setting that finds held-out normal rows most likely.

        Parameters
        ----------
        X : pandas.DataFrame or array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        float
        """
        records = self._records(X)
        if self.model_.histories_ is not None:
            return float(-np.mean(self._history_scores(records)))
        score = self.anomaly_score if self.anomaly_score in LIKELIHOODS else "combined"
        return float(-np.mean(self._scores(records, score)))

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """1 for outliers (score above ``threshold_``), 0 for inliers (PyOD's labels)."""
        return (self.decision_function(X) > self.threshold_).astype(int)

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:  # noqa: N803
        """Fit on ``X`` and return its 0/1 outlier labels (``labels_``)."""
        return self.fit(X).labels_

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        """Outlier probability by PyOD's ``"linear"`` method.

        The scores are min-max scaled by the training scores' range and
        clipped to [0, 1].

        Returns
        -------
        ndarray of shape (n_samples, 2)
            Columns: probability of inlier, probability of outlier.
        """
        self.check_fitted()
        low, high = self._score_range
        outlier = np.clip((self.decision_function(X) - low) / max(high - low, 1e-12), 0.0, 1.0)
        return np.column_stack([1.0 - outlier, outlier])

    def explain(self, X: Any) -> pd.DataFrame | np.ndarray:  # noqa: N803
        """Each modelled column's (or pixel's) share of each record's reconstruction score.

        Parameters
        ----------
        X : pandas.DataFrame, pyarrow.Table, polars.DataFrame or array-like
            Of shape (n_samples, n_features).

        Returns
        -------
        pandas.DataFrame (or X's kind of table)
            One row per input row, one column per modelled column (ID and
            constant columns have no likelihood and are left out), in nats.
            A column's value is the negative log-likelihood of its blocks (its
            value and, when it has one, its missing flag), plus
            :attr:`novelty_score_` where it holds what training never had; each row
            sums to the ``"reconstruction"`` score. For images: an ``(N, H, W)`` array of
            per-pixel negative log-likelihoods (channels summed), each map
            summing to the image's reconstruction score.
        """
        kind = frame_kind(X)
        records = self._records(X)
        if self.model_.histories_ is not None:
            return to_kind(self._explain_in_context(records), kind)
        adapter, backend = self.model_.adapter_, self.model_.backend_.eval()
        device = next(backend.parameters()).device
        with torch_threads(self.model_.config_.cpu_threads, device):
            chunks = [(backend.part_nll(x).cpu(), novel) for x, novel in self._chunks(records)]
        parts = torch.cat([part for part, _ in chunks])
        novel = pd.concat([novel for _, novel in chunks])
        shares = adapter.explain(parts.double().numpy(),
                                 backend.heads.part_blocks.cpu().numpy(), records)
        if novel.to_numpy().any():
            novelty = novel.set_axis(shares.index) * self.novelty_score_
            shares[novel.columns] = shares[novel.columns] + novelty
        return to_kind(adapter.labelled(shares), kind) if isinstance(shares, pd.DataFrame) \
            else shares

    def _explain_in_context(self, data: pd.DataFrame) -> pd.DataFrame:
        """:meth:`explain` for a detector scoring in context: each changing column's share
        of each row's score (the time since the patient's previous row counted on the
        order column)."""
        histories = self.model_.histories_
        parts, events = self._history_parts(data)
        shares = histories.events.explain(parts, histories.model.heads.part_blocks.numpy(),
                                          events)
        order = histories.layout.order
        return shares.rename(columns={GAP: order}) if order else shares

    # model files -----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Save the fitted detector (model, threshold, settings) to one safe file."""
        self.check_fitted()
        tensors = self.model_.tensors()
        if self.forest_ is not None:
            tensors.update(self.forest_.to_tensors(FOREST_PREFIX))
        document = {**self.model_.document(), "kind": "detector", "detector": {
            "params": params_to_json(self.get_params()),
            "score_quantiles": self._score_quantiles.tolist(),
            "part_scales": self.part_scales_,
            "n_features_in": self.n_features_in_,
            "feature_names_in": (list(map(str, self.feature_names_in_))
                                 if hasattr(self, "feature_names_in_") else None),
        }}
        save_model(path, tensors, document)

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> AnomalyDetector:
        """Load a detector saved by :meth:`save`; never unpickles.

        Raises
        ------
        ModelFileError
            When the file is missing, corrupt, modified or not a detector.
        """
        model, document, extra = Synthesizer.restore(path, device, estimator_name="detector")
        try:
            fields = document["detector"]
            params = params_from_json(fields["params"])
            if "score" in params:  # files written before the parameter was renamed
                params["anomaly_score"] = params.pop("score")
            detector = cls(**params)
            detector._score_quantiles = np.asarray(fields["score_quantiles"], dtype=float)
            if detector._score_quantiles.shape != (QUANTILES,):
                raise ValueError("score_quantiles has the wrong length")
            detector.n_features_in_ = int(fields["n_features_in"])
            names = fields["feature_names_in"]
            scales = fields.get("part_scales")
            if scales is None and not extra:  # written before the isolation forest
                detector.part_scales_, detector.forest_ = None, None
            else:
                detector.part_scales_ = {part: (float(scales[part][0]), float(scales[part][1]))
                                         for part in ENSEMBLE_PARTS}
                detector.forest_ = IsolationForestScore.from_tensors(extra, FOREST_PREFIX)
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise ModelFileError(f"{path} is not a valid detector file: {error}") from None
        if names is not None:
            detector.feature_names_in_ = np.asarray(names, dtype=object)
        detector.model_ = model
        detector.n_rows_seen_ = model.n_rows_seen_
        detector._process_decision_scores()
        return detector

