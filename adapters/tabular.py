"""Tabular adapter: a DataFrame to a float tensor laid out by a TensorSpec, and back.

Column kinds are inferred (see :func:`infer_kind`) and can be overridden with a
metadata mapping ``{column: kind}`` (or ``{column: {"kind": kind}}``), given as a
dict or as a YAML file with that mapping under ``columns:`` or at its top level.
"""

from __future__ import annotations

import reprlib
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from toolkit.adapters.base import Provenance, TensorSpec
from toolkit.adapters.columns import (
    COLUMN_KINDS,
    ENCODERS,
    CategoricalEncoder,
    ColumnEncoder,
    IdEncoder,
    NumericEncoder,
    PersonalEncoder,
    nullable_integer,
)
from toolkit.adapters.kinds import MAX_NUMERIC_CATEGORIES, infer_kind, infer_kinds
from toolkit.adapters.scalers import SCALERS
from toolkit.exceptions import DataError, InferenceWarning, NotFittedError, UsageError

__all__ = ["MAX_NUMERIC_CATEGORIES", "TabularAdapter", "check_table", "infer_kind",
           "load_column_metadata", "load_metadata"]

NUMERIC_ENCODINGS = tuple(SCALERS)


#: metadata keys that describe the table, not a column
TABLE_KEYS = ("subject", "order", "rules")


def load_column_metadata(metadata: dict[str, Any] | None) -> dict[str, dict]:
    """Metadata as ``{column: {"kind": kind, ...}}``, keeping any other keys
    (``min``/``max`` bounds and ``values`` lists, used by differentially private fits).

    Parameters
    ----------
    metadata : dict or None
        ``{column: kind}`` or ``{column: {"kind": kind, ...}}``, at the top level or under
        ``columns:`` (a YAML file is read by :func:`toolkit.io.metadata.read_metadata`).

    Raises
    ------
    UsageError
        For metadata that is not such a mapping, or an unknown kind.
    """
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise UsageError("metadata must map column names to kinds")
    columns = metadata.get("columns", {k: v for k, v in metadata.items()
                                       if k not in TABLE_KEYS})
    if not isinstance(columns, dict):
        raise UsageError("metadata 'columns' must map column names to kinds")
    described = {}
    for column, value in columns.items():
        entry = dict(value) if isinstance(value, dict) else {"kind": value}
        if entry.get("kind") not in COLUMN_KINDS:
            raise UsageError(
                f"metadata gives column {column!r} unknown kind {entry.get('kind')!r}; "
                f"valid kinds: {', '.join(COLUMN_KINDS)}"
            )
        described[str(column)] = entry
    return described


def load_metadata(metadata: dict[str, Any] | None) -> dict[str, str]:
    """Read a metadata override as ``{column: kind}`` (see :func:`load_column_metadata`)."""
    return {column: entry["kind"] for column, entry in load_column_metadata(metadata).items()}


#: cell values no column kind can hold, refused by :func:`check_table`
UNMODELLABLE = (dict, list, tuple, set, frozenset, np.ndarray, bytes, bytearray, complex,
                np.complexfloating)


def _plain_label(label: Any) -> Any:
    """A numpy scalar (a column label, a cell) as the Python value it holds."""
    return label.item() if isinstance(label, np.generic) else label


def check_labels(columns: pd.Index, what: str = "table") -> list[Any]:
    """The column labels of a table as plain Python values, when a model file can keep them.

    Text, whole numbers, finite floats and booleans are kept; the model works on their
    text (``str(label)``) and gives the labels themselves back (integers stay integers).

    Raises
    ------
    DataError
        For MultiIndex columns, another kind of label (a tuple, a date, ``None``, NaN),
        or two labels with the same text (``1`` and ``"1"``).

    Examples
    --------
    >>> check_labels(pd.Index([0, 1, "sex"]))
    [0, 1, 'sex']
    """
    if isinstance(columns, pd.MultiIndex):
        raise DataError(f"{what} has MultiIndex columns; flatten them, e.g. "
                        "df.columns = ['_'.join(map(str, c)) for c in df.columns]")
    duplicated = columns[columns.duplicated()].tolist()
    if duplicated:
        raise DataError(f"{what} has duplicate column names: {duplicated}")
    labels = [_plain_label(label) for label in columns]
    named: dict[str, Any] = {}
    for label in labels:
        if not isinstance(label, (str, int, float)) or (
                isinstance(label, float) and not np.isfinite(label)):
            raise DataError(f"{what} has column label {label!r} ({type(label).__name__}); "
                            "column labels must be text or numbers")
        other = named.setdefault(str(label), label)
        if other is not label:
            raise DataError(f"{what} has columns {other!r} and {label!r}, both named "
                            f"{str(label)!r}; rename one")
    return labels


def _check_cells(data: pd.DataFrame) -> None:
    """Fail on the first column holding values no column kind can model (dicts, lists,
    sets, bytes, complex numbers)."""
    for column, series in data.items():
        scalar = getattr(series.dtype, "type", None)  # complex128; Arrow list, struct, binary
        if isinstance(scalar, type) and issubclass(scalar, UNMODELLABLE):
            example = series.dropna().iloc[0] if series.notna().any() else None
        elif series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in (
                "mixed", "mixed-integer", "bytes", "complex"):
            example = next((v for v in series if isinstance(v, UNMODELLABLE)), None)
        else:
            continue
        if example is not None:
            example = _plain_label(example)
            shown = reprlib.repr(example).replace("\n", " ")
            advice = ("split it into its real and imaginary parts (.real, .imag)"
                      if isinstance(example, complex)
                      else "convert it to text or split it into such columns, or drop it")
            raise DataError(f"column {column!r} holds {type(example).__name__} values (e.g. "
                            f"{shown}); a column must hold numbers, text, dates or booleans: "
                            + advice)


def check_table(data: Any, what: str = "table", min_rows: int = 1) -> pd.DataFrame:
    """Check that ``data`` is a usable table of at least ``min_rows`` rows without infinities.

    Raises
    ------
    DataError
        For a non-DataFrame, a table with no columns or too few rows, column labels
        that cannot be kept (see :func:`check_labels`), a numeric column holding
        ``inf``, or a column of values no column kind can model (dicts, lists, sets,
        bytes, complex numbers).
    """
    if not isinstance(data, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(data).__name__}")
    check_labels(data.columns, what)
    if data.shape[1] == 0:
        raise DataError(f"{what} has no columns")
    if data.shape[0] == 0:
        raise DataError(f"{what} has no rows (only a header)")
    if data.shape[0] < min_rows:
        raise DataError(f"{what} has {len(data)} row(s) (n_samples = {len(data)}); at least "
                        f"{min_rows} rows are needed to learn from")
    _check_cells(data)
    for column in data.columns:
        series = data[column]
        if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
            series.dtype
        ):
            values = series.to_numpy(dtype=float, na_value=np.nan)
            if np.isinf(values).any():
                raise DataError(f"column {column!r} contains inf; replace or drop those values")
    return data


def as_table(X: Any) -> tuple[pd.DataFrame, list[Any] | None]:  # noqa: N803
    """A DataFrame view of ``X`` (DataFrame or 2-D array); arrays get ``x0, x1, ...`` columns.

    A DataFrame whose column labels are not all text comes back as a shallow copy named
    by their text, with the labels themselves as the second value (``None`` otherwise),
    for :class:`~toolkit.adapters.base.Provenance`: :meth:`TabularAdapter.fit` keeps them,
    so that samples have them again.

    Raises
    ------
    DataError
        For sparse matrices, complex numbers, anything that is not 2-D, or column labels
        that cannot be kept (see :func:`check_labels`).
    """
    if isinstance(X, pd.DataFrame):
        labels = check_labels(X.columns)
        if all(isinstance(label, str) for label in labels):
            return X, None
        table = X.copy(deep=False)
        table.columns = [str(label) for label in labels]
        return table, labels
    if hasattr(X, "toarray") or type(X).__module__.startswith("scipy.sparse"):
        raise DataError("sparse input is not supported; pass a dense array or a DataFrame")
    array = np.asarray(X)
    if np.iscomplexobj(array):
        raise DataError("Complex data not supported")
    if array.ndim != 2:
        raise DataError(
            f"expected a 2-D array or a DataFrame, got an array with {array.ndim} dimension(s). "
            "Reshape your data either using X.reshape(-1, 1) if it has a single feature or "
            "X.reshape(1, -1) if it contains a single sample"
        )
    for size, what in ((array.shape[0], "sample"), (array.shape[1], "feature")):
        if size == 0:
            raise DataError(f"Found array with 0 {what}(s) (shape={array.shape}) while a "
                            "minimum of 1 is required.")
    names = [f"x{i}" for i in range(array.shape[1])]
    # object arrays holding numbers become numeric columns (not IDs or categories)
    return pd.DataFrame(array, columns=names).infer_objects(), None


class TabularAdapter:
    """Encode a DataFrame as a float32 array described by a :class:`TensorSpec`.

    Parameters
    ----------
    metadata : dict or None, default None
        Column kinds that override inference (see :func:`load_metadata`).
    numeric_encoding : {"quantile", "mode", "standard"}, default "quantile"
        How numeric columns are normalized (see :mod:`toolkit.adapters.scalers`).
    max_levels : int, default 100
        One-hot slots kept for a categorical column's most frequent levels.
    random_state : int or None, default None
        Seed of the randomness used while fitting (mixture fits, mode draws).

    Examples
    --------
    >>> df = pd.DataFrame({"age": np.round(np.linspace(20, 80, 30), 2),
    ...                    "sex": ["F", "M", "F"] * 10})
    >>> adapter = TabularAdapter(random_state=0).fit(df)
    >>> adapter.kinds_
    {'age': 'continuous', 'sex': 'categorical'}
    >>> adapter.inverse_transform(adapter.transform(df)).equals(df)
    True
    """

    def __init__(
        self,
        metadata: dict[str, Any] | None = None,
        numeric_encoding: str = "quantile",
        max_levels: int = 100,
        random_state: int | None = None,
    ) -> None:
        self.metadata = metadata
        self.numeric_encoding = numeric_encoding
        self.max_levels = max_levels
        self.random_state = random_state

    supports_privacy: ClassVar[bool] = True
    row_conditions: ClassVar[bool] = True
    detect_preset: ClassVar[str] = "detect"
    #: a small table gets a larger KL weight (``beta_rows``: a row is a patient to protect)
    small_data_beta: ClassVar[bool] = True

    @classmethod
    def from_config(cls, config: Any, metadata: dict[str, Any] | None = None,
                    random_state: int | None = None) -> TabularAdapter:
        """The adapter a training configuration (``numeric_encoding``, ``max_levels``)
        describes, with column kinds from ``metadata``."""
        return cls(metadata, config.numeric_encoding, config.max_levels,
                   random_state=random_state)

    @staticmethod
    def summary(records: pd.DataFrame) -> str:
        """``"419 rows x 20 columns"``."""
        return f"{len(records)} rows x {records.shape[1]} columns"

    @staticmethod
    def n_features(records: pd.DataFrame) -> int:
        """Number of columns."""
        return int(records.shape[1])

    @staticmethod
    def chunks(records: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
        """Consecutive row slices of at most ``size`` rows."""
        for start in range(0, len(records), size):
            yield records.iloc[start : start + size]

    @staticmethod
    def unlabelled(records: pd.DataFrame) -> pd.DataFrame:
        """A table has no separate labels: ``records`` itself."""
        return records

    def _make_encoder(self, column: str, kind: str) -> ColumnEncoder:
        encoder_class = ENCODERS[kind]
        if issubclass(encoder_class, NumericEncoder):
            return encoder_class(column, self.numeric_encoding)
        if issubclass(encoder_class, CategoricalEncoder):
            return encoder_class(column, self.max_levels)
        return encoder_class(column)

    def fit(self, data: pd.DataFrame, provenance: Provenance | None = None) -> TabularAdapter:
        """Infer column kinds and learn each column's encoding.

        Parameters
        ----------
        data : pandas.DataFrame
            The training rows.
        provenance : Provenance or None, default None
            How ``data`` was read: the caller's column labels, the CSV dialect to write
            output in, and, when ``data`` is a sample, the whole table's column statistics
            (whose levels, missing values and ranges the encoders adopt).

        Raises
        ------
        DataError
            For a table of fewer than 2 rows, a column with no values or a column with inf.
        UsageError
            For metadata naming unknown columns or kinds.
        """
        provenance = provenance or Provenance()
        data = check_table(data, min_rows=2)
        if self.numeric_encoding not in NUMERIC_ENCODINGS:
            raise UsageError(
                f"unknown numeric_encoding {self.numeric_encoding!r}; "
                f"valid: {', '.join(NUMERIC_ENCODINGS)}"
            )
        overrides = load_metadata(self.metadata)
        unknown = sorted(set(overrides) - set(map(str, data.columns)))
        if unknown:
            raise DataError(
                f"metadata names columns not in the table: {unknown}; "
                f"table columns: {list(map(str, data.columns))}"
            )
        empty = [str(c) for c in data.columns if data[c].isna().all()]
        if empty:
            raise DataError(f"column(s) {empty} have no values (all missing); drop them first")
        rng = np.random.default_rng(self.random_state)
        self.columns_ = [str(c) for c in data.columns]
        given = provenance.labels  # the caller's own labels (see as_table)
        self.labels_ = (list(given) if given is not None
                        and [str(label) for label in given] == self.columns_
                        else check_labels(data.columns))
        self.kinds_, self.notes_ = (dict(provenance.kinds[0]), list(provenance.kinds[1])) \
            if provenance.kinds is not None else infer_kinds(data, overrides)
        for note in self.notes_:
            warnings.warn(note, InferenceWarning, stacklevel=2)
        self.encoders_ = []
        for column, original in zip(self.columns_, data.columns, strict=True):
            encoder = self._make_encoder(column, self.kinds_[column])
            try:
                encoder.fit(data[original], rng)
            except (TypeError, ValueError) as error:
                raise DataError(
                    f"column {column!r} cannot be used as {self.kinds_[column]}: {error}"
                ) from None
            self.encoders_.append(encoder)
        statistics = provenance.statistics
        if statistics is not None:  # fitted on a sample: adopt the whole table's levels
            for encoder in self.encoders_:
                encoder.adopt_statistics(statistics.missing.get(encoder.name, 0),
                                             statistics.ranges.get(encoder.name),
                                             statistics.levels.get(encoder.name))
        self._link_rare_levels(data)
        self.spec = TensorSpec(tuple(b for enc in self.encoders_ for b in enc.blocks))
        self.csv_dialect_ = dict(provenance.dialect)
        return self

    def _link_rare_levels(self, data: pd.DataFrame) -> None:
        """Let each categorical column with rare levels draw them given the generated slot of
        the other categorical column that tells most about them (see
        :class:`CategoricalEncoder`)."""
        categorical = [(enc, original) for enc, original in zip(self.encoders_, data.columns,
                                                               strict=True)
                       if isinstance(enc, CategoricalEncoder)]
        with_rare = [(enc, original) for enc, original in categorical if enc.other_levels_]
        if not with_rare:
            return
        slots = {enc.name: enc.hot_slots(data[original]) for enc, original in categorical
                 if enc.width > 1}
        for encoder, original in with_rare:
            encoder.link_parent(data[original],
                                {name: s for name, s in slots.items() if name != encoder.name})

    def check_fitted(self) -> None:
        if not hasattr(self, "encoders_"):
            raise NotFittedError("this TabularAdapter is not fitted; call fit first")

    def encode_conditions(
        self, conditions: dict[str, Any], direct: bool = True
    ) -> tuple[dict[int, int], dict[str, Any]]:
        """Split ``{column: value}`` conditions into what the model can generate directly
        and what must be checked on decoded rows.

        With ``direct=False`` every condition is to be checked (for models that cannot
        generate levels directly).

        Returns
        -------
        fixed : dict of int to int
            Categorical and boolean conditions as ``{block index: one-hot slot}``.
        checked : dict of str to object
            The other conditions (numeric, dates, rare levels sharing the "other"
            slot), as ``{column: value}`` in the column's own type, to be met by
            rejection.

        Raises
        ------
        DataError
            For an unknown column, an ID column, or a value the column never had.
        """
        self.check_fitted()
        fixed: dict[int, int] = {}
        checked: dict[str, Any] = {}
        first_block = {}
        index = 0
        for encoder in self.encoders_:
            first_block[encoder.name] = index
            index += len(encoder.blocks)
        encoders = {encoder.name: encoder for encoder in self.encoders_}
        for column, value in conditions.items():
            encoder = encoders.get(str(column))
            if encoder is None:
                raise DataError(
                    f"condition names unknown column {column!r}; columns: {self.labels_}"
                )
            if isinstance(encoder, CategoricalEncoder):
                level = encoder.match_level(value)
                slot = encoder.slots_.index(level) if level in encoder.slots_ else None
                if slot is None or not direct:
                    checked[encoder.name] = level
                else:
                    fixed[first_block[encoder.name]] = slot
            elif isinstance(encoder, NumericEncoder):
                checked[encoder.name] = encoder.match_value(value)
            else:
                raise DataError(f"cannot condition on {encoder.kind} column {column!r}")
        return fixed, checked

    def matches(self, data: pd.DataFrame, checked: dict[str, Any]) -> np.ndarray:
        """Boolean mask of the decoded rows of ``data`` that meet the ``checked`` conditions."""
        mask = np.ones(len(data), dtype=bool)
        encoders = {encoder.name: encoder for encoder in self.encoders_}
        for column, wanted in checked.items():
            encoder = encoders[column]
            if isinstance(encoder, NumericEncoder):
                values = encoder.to_float(data[column])
                mask &= np.isclose(values, wanted, rtol=1e-9, atol=1e-9)
            else:
                mask &= np.array([v == wanted for v in data[column].astype(object)], dtype=bool)
        return mask

    def check_columns(self, data: pd.DataFrame) -> pd.DataFrame:
        """Return ``data`` with exactly the training columns, in training order.

        Raises
        ------
        DataError
            When a training column is missing.
        """
        self.check_fitted()
        return self.select_columns(check_table(data))

    def select_columns(self, data: pd.DataFrame) -> pd.DataFrame:
        """The training columns of ``data``, in training order, without
        :meth:`check_columns`' checks of the values (for a table they are about to run on).

        Raises
        ------
        DataError
            When a training column is missing.
        """
        if list(data.columns) == self.columns_:  # already so: no copy
            return data
        data = data.rename(columns=str)
        missing = [label for label, name in zip(self.labels_, self.columns_, strict=True)
                   if name not in data.columns]
        if missing:
            raise DataError(
                f"table lacks column(s) {missing} that the model was trained on; "
                f"expected columns: {self.labels_}"
            )
        return data[self.columns_]

    def novel_cells(self, data: pd.DataFrame) -> pd.DataFrame:
        """Which cells of ``data`` hold what training never had: a level a categorical
        column never had, a text that is not a number (or date) in a numeric (or date)
        column (``<5``; a missing-value marker is read as missing), a missing value in a
        numeric column that had none, or, under the quantile encoding (whose map is flat
        past the observed range), a number outside the training range. The model has no
        likelihood for them, or none that tells them apart (an anomaly detector scores them).

        Returns
        -------
        pandas.DataFrame
            Booleans, one column per such categorical or numeric column, ``data``'s index.

        Raises
        ------
        DataError
            When a training column is missing.
        """
        data = self.check_columns(data)
        novel = {}
        for encoder in self.encoders_:
            series = data[encoder.name]
            if isinstance(encoder, NumericEncoder):
                novel[encoder.name] = encoder.novel(series, encoder.to_float(series))
            elif isinstance(encoder, CategoricalEncoder):
                novel[encoder.name] = encoder.is_unseen(series)
        return pd.DataFrame(novel, index=data.index, dtype=bool)

    def transform_with_novelty(self, data: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """:meth:`transform` without clipping (as anomaly scoring encodes) and
        :meth:`novel_cells`, from one check and one read of every column.

        Returns
        -------
        tuple of (numpy.ndarray, pandas.DataFrame)
            The encoded rows and the novel-cell booleans.

        Raises
        ------
        DataError
            When a training column is missing.
        """
        data = self.check_columns(data)
        novel: dict[str, np.ndarray] = {}
        encoded = self._encode(data, np.random.default_rng(), clip=False, novel=novel)
        return encoded, pd.DataFrame(novel, index=data.index, dtype=bool)

    def check_known(self, data: pd.DataFrame) -> None:
        """Check that ``data`` holds only what the fitted model has a likelihood for.

        Raises
        ------
        DataError
            For the first row's first cell that :meth:`novel_cells` finds (so that the
            error does not depend on how a table is cut into chunks): text that is not a
            number (or date) in a numeric (or date) column, naming the value; a missing
            value in a numeric column without missing values in training; a level a
            categorical column never had; or a quantile-encoded number outside the training
            range.
        """
        data = self.check_columns(data)
        novel = self.novel_cells(data)
        cells = np.argwhere(novel.to_numpy())  # row by row
        if not len(cells):
            return
        row, column = cells[0]
        name = novel.columns[column]
        encoder = next(e for e in self.encoders_ if e.name == name)
        if isinstance(encoder, CategoricalEncoder):
            raise DataError(
                f"column {name!r} has value(s) never seen in training: "
                f"{encoder.unseen(data[name])[:5]}; refit on data that has them"
            )
        cell = data[name].iloc[row]
        values = encoder.to_float(data[name])
        if np.isnan(values[row]) and not pd.isna(cell):
            kind = "date" if encoder.kind == "datetime" else "number"
            raise DataError(f"column {name!r} holds {cell!r}, which is not a {kind}; correct "
                            "or remove it, or score it as never seen (unseen 'score')")
        missing = int(np.isnan(values).sum())
        if missing and not encoder.has_missing_:
            raise DataError(
                f"column {name!r} has {missing} missing or non-numeric value(s) but had "
                "none in training; impute them or refit on such data"
            )
        raise DataError(
            f"column {name!r} has {int(novel[name].sum())} value(s) outside the training "
            f"range [{encoder.min_:g}, {encoder.max_:g}]; refit on data that has them"
        )

    def transform(self, data: pd.DataFrame, random_state: int | None = None,
                  clip: bool = True) -> np.ndarray:
        """Encode ``data`` (with the training columns) as a float32 array.

        Parameters
        ----------
        data : pandas.DataFrame
            Rows to encode.
        random_state : int or None
            Seed for encodings that draw (the mixture mode under ``"mode"``).
        clip : bool, default True
            Clip numeric values to the training range first; anomaly scoring
            turns this off so that out-of-range values keep their distance.

        Returns
        -------
        numpy.ndarray of shape (n_rows, spec.width)
        """
        return self._encode(self.check_columns(data), np.random.default_rng(random_state),
                            clip)

    def _encode(self, data: pd.DataFrame, rng: np.random.Generator, clip: bool,
                novel: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """:meth:`transform` of checked ``data``; with ``novel`` given, each numeric and
        categorical column's :meth:`novel_cells` put in it from the same read."""
        encoded = np.zeros((len(data), self.spec.width), dtype=np.float32)
        rows = np.arange(len(data))
        start = 0
        for encoder in self.encoders_:  # one column at a time: memory of one float32 table
            width, series = encoder.width, data[encoder.name]
            if isinstance(encoder, CategoricalEncoder):  # its ones set in place
                slots, unseen = encoder.slots_and_unseen(series)
                if novel is not None:
                    novel[encoder.name] = unseen
                if width:
                    encoded[rows, start + slots] = 1.0
            elif isinstance(encoder, NumericEncoder):
                values = encoder.to_float(series)
                if novel is not None:
                    novel[encoder.name] = encoder.novel(series, values)
                if width:
                    encoded[:, start : start + width] = encoder.encode_floats(values, rng, clip)
            elif width:
                encoded[:, start : start + width] = encoder.transform(series, rng, clip)
            start += width
        return encoded

    def inverse_transform(self, array: np.ndarray, random_state: int | None = None) -> pd.DataFrame:
        """Decode an array laid out by :attr:`spec` into a DataFrame of the training columns.

        Parameters
        ----------
        array : numpy.ndarray of shape (n_rows, spec.width)
            Encoded rows, real or generated. One-hot blocks may hold scores or
            probabilities: the largest entry wins.
        random_state : int or None
            Seed for the parts that draw (rare categorical levels, fresh IDs).

        Returns
        -------
        pandas.DataFrame
        """
        self.check_fitted()
        array = np.asarray(array)
        rng = np.random.default_rng(random_state)
        parts, start = {}, 0
        for encoder in self.encoders_:
            width = encoder.width
            parts[encoder.name] = (array[:, start : start + width] if width
                                   else np.zeros((len(array), 0)))
            start += width
        columns = {}
        # the personal-data columns of a row describe one generated person: each draws from
        # a generator in the same state
        people = (int(rng.integers(2**63)) if any(isinstance(e, PersonalEncoder)
                                                  for e in self.encoders_) else None)
        for encoder in self.encoders_:
            parent = getattr(encoder, "parent_", None)
            if isinstance(encoder, PersonalEncoder):
                columns[encoder.name] = encoder.inverse(parts[encoder.name],
                                                        np.random.default_rng(people))
            elif parent is None:
                columns[encoder.name] = encoder.inverse(parts[encoder.name], rng)
            else:  # rare levels drawn given the parent column's generated level
                columns[encoder.name] = encoder.inverse(parts[encoder.name], rng,
                                                        parts[parent].argmax(axis=1))
        frame = pd.DataFrame({encoder.name: columns[encoder.name].reset_index(drop=True)
                              for encoder in self.encoders_})
        if self.csv_dialect_:  # written back as the training CSV was (delimiter, decimals)
            frame.attrs["csv"] = dict(self.csv_dialect_)
        return frame

    def labelled(self, data: pd.DataFrame) -> pd.DataFrame:
        """``data`` (decoded rows, or any of the training columns, named by their text as in
        :attr:`columns_`) with the training table's own column labels: integer labels come
        back as integers. The columns are renamed in place.

        Examples
        --------
        >>> df = pd.DataFrame({0: np.linspace(20, 80, 30), 1: ["F", "M", "F"] * 10})
        >>> adapter = TabularAdapter(random_state=0).fit(df)
        >>> adapter.columns_, adapter.labels_
        (['0', '1'], [0, 1])
        >>> adapter.labelled(adapter.inverse_transform(adapter.transform(df))).columns.tolist()
        [0, 1]
        """
        self.check_fitted()
        if self.labels_ != self.columns_:
            label = dict(zip(self.columns_, self.labels_, strict=True))
            data.columns = [label[name] for name in data.columns]
        return data

    def adopt_dtypes(self, dtypes: dict[str, str]) -> TabularAdapter:
        """Decode into these dtypes (the real table's) instead of the fitted table's.

        A differentially private fit learns from a surrogate table; its output takes
        the real columns' dtypes, integers as nullable ``Int64`` (the noisy release
        may give any integer column missing values).
        """
        self.check_fitted()
        for encoder in self.encoders_:
            dtype = dtypes.get(encoder.name, encoder.dtype_)
            encoder.dtype_ = nullable_integer(dtype) or dtype
        return self

    def renumber_ids(self, data: pd.DataFrame, first: int, step: int = 1) -> pd.DataFrame:
        """``data`` (decoded rows) with each ID column holding IDs number ``first``,
        ``first + step``, ... of its fresh sequence: rows numbered in consecutive ranges (or
        with ``step`` partitions each taking its own residue) never share an ID."""
        self.check_fitted()
        for encoder in self.encoders_:
            if isinstance(encoder, IdEncoder):
                data[encoder.name] = encoder.fresh(len(data), first, step).set_axis(data.index)
        return data

    def explain(self, part_nll: np.ndarray, part_blocks: np.ndarray,
                records: pd.DataFrame) -> pd.DataFrame:
        """Each modelled column's negative log-likelihood (its value and missing flag), one
        row per record; ID and constant columns have none and are left out."""
        self.check_fitted()
        names = [block.name for block in self.spec.blocks]
        columns = list(dict.fromkeys(names))
        owner = np.array([columns.index(names[b]) for b in np.asarray(part_blocks)])
        values = np.zeros((len(part_nll), len(columns)))
        np.add.at(values.T, owner, np.asarray(part_nll, dtype=float).T)
        return pd.DataFrame(values, columns=columns, index=records.index)

    def describe(self) -> dict[str, Any]:
        """``{"domain": "tables", "columns": {name: kind}}``."""
        self.check_fitted()
        return {"domain": "tables", "columns": dict(self.kinds_)}

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted adapter as JSON-ready data."""
        self.check_fitted()
        return {
            "type": "tabular",
            "numeric_encoding": self.numeric_encoding,
            "max_levels": self.max_levels,
            "columns": self.columns_,
            "labels": self.labels_,
            "kinds": self.kinds_,
            "csv_dialect": self.csv_dialect_,
            "encoders": [encoder.to_dict() for encoder in self.encoders_],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabularAdapter:
        """Rebuild a fitted adapter written by :meth:`to_dict`."""
        adapter = cls(numeric_encoding=data["numeric_encoding"], max_levels=data["max_levels"])
        adapter.columns_ = list(data["columns"])
        adapter.labels_ = list(data.get("labels", adapter.columns_))  # files before labels
        adapter.kinds_ = dict(data["kinds"])
        adapter.csv_dialect_ = dict(data.get("csv_dialect") or {})
        adapter.encoders_ = [ENCODERS[state["kind"]].from_dict(state) for state in data["encoders"]]
        adapter.spec = TensorSpec(tuple(b for enc in adapter.encoders_ for b in enc.blocks))
        return adapter
