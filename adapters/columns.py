"""One encoder per column kind: a pandas Series to tensor blocks and back.

Every encoder has the same small interface: ``fit(series, rng)``, ``blocks``,
``transform(series, rng) -> (n, width) array``, ``inverse(array, rng) -> Series``
and ``to_dict``/``from_dict``. :class:`~toolkit.adapters.tabular.TabularAdapter` picks one
per column from its kind and concatenates their blocks into the TensorSpec.
"""

from __future__ import annotations

import hashlib
import math
import re
import string
from collections.abc import Callable
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from toolkit.adapters.base import Block
from toolkit.adapters.kinds import (
    PERSONAL_KINDS,
    DateStyle,
    date_style,
    offset_text,
    parse_dates,
    read_dates,
)
from toolkit.adapters.personal import PersonalFormat
from toolkit.adapters.scalers import SCALERS, QuantileScaler, scaler_from_dict
from toolkit.exceptions import DataError


def _to_json_value(value: Any) -> Any:
    """Turn numpy scalars and any missing marker (NaN, None, pd.NA, NaT) into plain JSON values."""
    if type(value) is str:  # the most common value: nothing to turn
        return value
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _restore_dtype(values: pd.Series, dtype: str) -> pd.Series:
    """Cast generated values back to the column's original dtype where that is lossless."""
    try:
        return values.astype(dtype)
    except (TypeError, ValueError):
        return values


def nullable_integer(dtype: str) -> str:
    """The pandas nullable dtype of an integer dtype (``int64`` -> ``Int64``), else ``""``.

    Examples
    --------
    >>> nullable_integer("int64"), nullable_integer("UInt8"), nullable_integer("float64")
    ('Int64', 'UInt8', '')
    """
    lower = dtype.lower()
    if lower.startswith("uint"):
        return "UInt" + lower[4:]
    if lower.startswith("int"):
        return "Int" + lower[3:]
    return ""


def integers_as(values: np.ndarray, dtype: str, name: str) -> pd.Series:
    """Whole-number ``values`` (NaN for missing) in the column's integer dtype: nullable
    (``Int64``) when some are missing or the column was nullable, so that they are
    written as ``456``, never ``456.0``; other dtypes (float) are kept."""
    series = pd.Series(values, name=name)
    nullable = nullable_integer(dtype)
    if not nullable:
        return _restore_dtype(series, dtype)
    if dtype == nullable or np.isnan(values).any():
        return series.astype(nullable)
    return series.astype(dtype)


def _level_array(levels: list[Any]) -> np.ndarray:
    """Levels as an object array, with NaN for the missing level."""
    array = np.empty(len(levels), dtype=object)
    array[:] = [np.nan if level is None else level for level in levels]
    return array


def _entropy(counts: np.ndarray) -> float:
    """Entropy (nats) of the distribution given by ``counts``, with the Miller-Madow
    correction ``(cells - 1) / 2n`` that keeps sparse tables from looking informative."""
    counts = counts[counts > 0]
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum() + (len(counts) - 1) / (2 * counts.sum()))


def _same_number(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are the same number (``3``, ``3.0`` and ``"3"`` are)."""
    try:
        return not isinstance(a, bool) and float(a) == float(b)
    except (TypeError, ValueError):
        return False


def decimals_of(values: np.ndarray, most: int = 8) -> int:
    """Fewest decimals that represent every value (at most ``most``), as a rounding scheme:
    rounded to them, each value is itself up to floating-point noise (4 units in its last
    place, so that ``0.1 + 0.2`` has one decimal).

    Examples
    --------
    >>> decimals_of(np.array([1.25, 0.1 + 0.2, 7.0]))
    2
    >>> decimals_of(np.array([0.12345678901234])), decimals_of(np.array([0.12345678901234]), 17)
    (8, 14)
    >>> decimals_of(np.array([np.pi]), 17), repr(np.pi)  # the digits of a float's shortest text
    (15, '3.141592653589793')
    """
    sample = values[:10000]
    noise = 4 * np.spacing(np.abs(sample))
    with np.errstate(over="ignore", invalid="ignore"):
        for decimals in range(most):
            if np.all(np.abs(np.round(sample, decimals) - sample) <= noise):
                return decimals
    return most


#: a numeric column whose values repeat this often on average (or more) takes only values
#: seen in training (see :func:`on_a_grid`)
GRID_REPEATS = 5


def on_a_grid(values: np.ndarray) -> bool:
    """Whether numeric ``values`` lie on a grid of few repeated values (ages in years with
    months below one, times to a tenth of an hour): the synthetic values should then come
    from that grid too, not from between its points (an age of 1.3 or 14.7 years, which no
    record holds, makes synthetic rows easy to tell from real ones).

    Examples
    --------
    >>> on_a_grid(np.repeat([0.5, 1.0, 2.0], 5)), on_a_grid(np.linspace(0, 1, 15))
    (True, False)
    """
    return len(np.unique(values)) * GRID_REPEATS <= len(values)


class ColumnEncoder:
    """Base of the per-column encoders; subclasses set ``kind`` and fill in the hooks."""

    kind: ClassVar[str] = ""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def blocks(self) -> list[Block]:
        """The tensor blocks this column takes (empty when it is not modelled)."""
        return []

    @property
    def width(self) -> int:
        """Total width of :attr:`blocks`."""
        return sum(block.width for block in self.blocks)

    def fit(self, series: pd.Series, rng: np.random.Generator) -> ColumnEncoder:
        """Learn the encoding of ``series``."""
        self.dtype_ = str(series.dtype)
        return self

    def transform(self, series: pd.Series, rng: np.random.Generator,
                  clip: bool = True) -> np.ndarray:
        """Encode ``series`` as an ``(n, width)`` float array.

        With ``clip`` numeric values are first clipped to the training range
        (what a generator needs); anomaly scoring passes ``clip=False`` so that a
        value far out of range stays far out.
        """
        return np.zeros((len(series), 0))

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Decode an ``(n, width)`` array into a Series of the original kind."""
        raise NotImplementedError

    def adopt_statistics(self, missing: int, value_range: tuple[float, float] | None,
                         levels: dict[Any, int] | None) -> None:
        """Widen an encoding fitted on a sample to the whole table (its ``missing`` count,
        numeric ``value_range`` and level counts); kinds with nothing to widen ignore it."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted state as JSON-ready data."""
        return {"kind": self.kind, "name": self.name, "dtype": self.dtype_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ColumnEncoder:
        """Rebuild an encoder written by :meth:`to_dict`."""
        encoder = cls(state["name"])
        encoder.dtype_ = state["dtype"]
        return encoder


class NumericEncoder(ColumnEncoder):
    """Continuous or integer column: a normalized scalar (plus mode one-hot) and a missing flag.

    Parameters
    ----------
    name : str
        Column name.
    encoding : {"quantile", "mode"}
        Which scaler normalizes the values (see :mod:`toolkit.adapters.scalers`).
    """

    kind = "continuous"
    integer = False
    #: decode only values seen in training (else only a grid's values are, see on_a_grid)
    seen_values_only: ClassVar[bool] = False

    def __init__(self, name: str, encoding: str = "quantile") -> None:
        super().__init__(name)
        self.encoding = encoding

    def to_float(self, series: pd.Series) -> np.ndarray:
        """The column's values as floats (NaN where missing)."""
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    def novel(self, series: pd.Series, values: np.ndarray) -> np.ndarray:
        """Which values of ``series`` (read as floats: ``values``) training never had: text
        that is not a number (or date), a missing value where training had none, and under
        the quantile encoding (flat past the observed range) a number outside that range."""
        missing = np.isnan(values)
        cells = missing & series.notna().to_numpy()  # text that is not a number
        if not self.has_missing_:
            cells |= missing
        if self.encoding == "quantile":
            with np.errstate(invalid="ignore"):
                cells |= (values < self.min_) | (values > self.max_)
        return cells

    def values_of(self, floats: np.ndarray) -> pd.Series:
        """The column's values for ``floats`` in its unit (seconds since the epoch for
        date-times), rounded to the training data's resolution, in the column's form."""
        return self._from_float(self._round(np.asarray(floats, dtype=float)))

    def _round(self, values: np.ndarray) -> np.ndarray:
        """Round decoded values to the training data's resolution."""
        return np.round(values, 0 if self.integer else self.decimals_)

    def _from_float(self, values: np.ndarray) -> pd.Series:
        if self.integer:
            return integers_as(values, self.dtype_, self.name)
        return _restore_dtype(pd.Series(values, name=self.name), self.dtype_)

    @property
    def blocks(self) -> list[Block]:
        blocks = [Block(self.name, "numeric", 1 + self.scaler_.n_modes, self.scaler_.n_modes)]
        if self.has_missing_:
            blocks.append(Block(self.name, "missing", 1))
        return blocks

    def fit(self, series: pd.Series, rng: np.random.Generator) -> NumericEncoder:
        super().fit(series, rng)
        values = self.to_float(series)
        missing = np.isnan(values)
        observed = values[~missing]
        self.has_missing_ = bool(missing.any())
        self.min_, self.max_ = float(observed.min()), float(observed.max())
        if self.encoding == "quantile":
            # only a grid's values are drawn as seen; others (integers too) are interpolated
            # between quantiles, so a value that one patient holds is not handed out again
            discrete = self.seen_values_only or on_a_grid(observed)
            self.scaler_ = QuantileScaler(discrete=discrete).fit(observed, rng)
        else:
            self.scaler_ = SCALERS[self.encoding]().fit(observed, rng)
        self.fill_ = float(np.median(observed))
        self.decimals_ = decimals_of(observed, most=17)  # every digit a float's text has
        return self

    def adopt_statistics(self, missing: int, value_range: tuple[float, float] | None,
                         levels: dict[Any, int] | None) -> None:
        """Widen what was learnt from a sample to the whole table's missing values and range
        (see :mod:`toolkit.adapters.statistics`)."""
        self.has_missing_ = self.has_missing_ or missing > 0
        if value_range is not None and not isinstance(self, DatetimeEncoder):
            self.min_, self.max_ = min(self.min_, value_range[0]), max(self.max_, value_range[1])

    def match_value(self, value: Any) -> float:
        """``value`` (a number, or text such as ``"50"``) on this column's float scale.

        Raises
        ------
        DataError
            When the value is not a number (or date) or lies outside the observed range.
        """
        number = self.to_float(pd.Series([value]))[0]
        if np.isnan(number):
            raise DataError(f"condition on column {self.name!r} needs a value, got {value!r}")
        if not self.min_ <= number <= self.max_:
            raise DataError(
                f"condition {self.name}={value!r} is outside the observed range of the column"
            )
        return number

    def transform(self, series: pd.Series, rng: np.random.Generator,
                  clip: bool = True) -> np.ndarray:
        return self.encode_floats(self.to_float(series), rng, clip)

    def encode_floats(self, values: np.ndarray, rng: np.random.Generator,
                      clip: bool = True) -> np.ndarray:
        """:meth:`transform` of the column's values already read as floats
        (:meth:`to_float`), so that a pass that needs them too reads them once."""
        missing = np.isnan(values)
        if clip:
            values = np.clip(values, self.min_, self.max_)
        filled = np.where(missing, self.fill_, values)
        parts = [self.scaler_.transform(filled, rng)]
        if self.has_missing_:
            parts.append(missing[:, None].astype(float))
        return np.column_stack(parts)

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        width = 1 + self.scaler_.n_modes
        values = np.clip(self._round(self.scaler_.inverse(encoded[:, :width])), self.min_,
                         self.max_)
        if self.has_missing_:
            values = np.where(encoded[:, width] > 0.5, np.nan, values)
        return self._from_float(values)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "encoding": self.encoding,
            "has_missing": self.has_missing_,
            "min": self.min_,
            "max": self.max_,
            "fill": self.fill_,
            "decimals": self.decimals_,
            "scaler": self.scaler_.to_dict(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> NumericEncoder:
        encoder = cls(state["name"], state["encoding"])
        encoder.dtype_ = state["dtype"]
        encoder.has_missing_ = state["has_missing"]
        encoder.min_, encoder.max_ = state["min"], state["max"]
        encoder.fill_ = state["fill"]
        encoder.decimals_ = state["decimals"]
        encoder.scaler_ = scaler_from_dict(state["scaler"])
        return encoder


class IntegerEncoder(NumericEncoder):
    """Integer column: like :class:`NumericEncoder`, values come back as rounded integers."""

    kind = "integer"
    integer = True


#: formatted date texts a DatetimeEncoder keeps between decodes
FORMAT_CACHE = 1_000_000
#: seconds in a day
DAY = 86400
#: the resolutions (seconds) a date column is rounded to, coarsest first: the first that
#: every training value is a multiple of (in the column's written offset)
DATE_RESOLUTIONS = (DAY, 3600, 60, 1, 0.1, 0.01, 0.001, 1e-4, 1e-5, 1e-6)


def _stamps(seconds: np.ndarray, step: int = 1) -> pd.DatetimeIndex:
    """Seconds since the epoch as datetimes, rounded to ``step`` microseconds (NaN: NaT).

    Exact where ``pd.to_datetime(seconds, unit="s")`` is not: 0.123 s would print as .122999.
    """
    missing = np.isnan(seconds)
    micros = np.round(np.where(missing, 0.0, seconds) * 1e6 / step).astype("int64") * step
    return pd.DatetimeIndex(pd.to_datetime(micros, unit="us")).where(~missing)


def _resolution(nanoseconds: np.ndarray) -> float:
    """The coarsest of :data:`DATE_RESOLUTIONS` that all ``nanoseconds`` are multiples of
    (0: none, nanoseconds)."""
    return next((unit for unit in DATE_RESOLUTIONS
                 if np.all(nanoseconds % round(unit * 1e9) == 0)), 0)


class ClockEncoder(IntegerEncoder):
    """The time of day of a date-time column, in whole ticks: decoded as the times of day
    seen in training (with their frequencies), which the float32 tensor cannot round-trip
    to the millisecond otherwise; the day they are put on is generated."""

    seen_values_only = True


class DatetimeEncoder(NumericEncoder):
    """Date or timestamp column, modelled as seconds since the epoch.

    Values come back as dates in the original text format (or as datetime64
    when the input column was datetime64), rounded to the coarsest resolution
    (day, hour, minute, second, or a tenth down to a millionth of a second) that every
    training value has. Texts keep their time of day, ``T`` or space, the digits of their
    seconds' fraction and their UTC offset as written (``Z``, ``+02:00``, ``+0200``); a
    column whose offsets differ is read as UTC instants and written in UTC, in its
    offset style. A column that mixes formats is read value by value and written in the
    format most of its values have.

    A column with times has a second scalar besides the instant, its time of day (in the
    written offset), which decoding puts on the generated instant's day: the instant alone
    would put a clinic's visits between two knots of its quantiles, at night.
    """

    kind = "datetime"
    integer = True  # whole seconds; up to 1,000 distinct stamps round-trip exactly

    def fit(self, series: pd.Series, rng: np.random.Generator) -> DatetimeEncoder:
        parsed, self.format_, self.mixed_ = parse_dates(series) or (series, None, False)
        style = date_style(series, self.format_) if self.format_ else DateStyle()
        self.digits_, self.offset_style_ = style.digits, style.offset_style
        self.offset_ = style.offset
        stamps = self._utc(parsed)
        nanoseconds = stamps.dropna().astype("int64").to_numpy() + self.offset_ * 60 * 10**9
        self.resolution_ = _resolution(nanoseconds)
        seconds = self._seconds(stamps)
        super().fit(pd.Series(seconds), rng)
        self.dtype_ = str(series.dtype)
        self.clock_ = None
        if self.resolution_ != DAY:
            observed = seconds[~np.isnan(seconds)]
            self.clock_ = ClockEncoder(self.name, self.encoding).fit(
                pd.Series(self._clock(observed), dtype="int64"), rng)
        return self

    @property
    def blocks(self) -> list[Block]:
        blocks = super().blocks
        if self.clock_ is not None:
            blocks[1:1] = self.clock_.blocks
        return blocks

    @staticmethod
    def _utc(parsed: pd.Series) -> pd.Series:
        parsed = pd.to_datetime(parsed)
        if getattr(parsed.dt, "tz", None) is not None:  # time-zone aware: UTC
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        return parsed.astype("datetime64[ns]")

    @classmethod
    def _seconds(cls, parsed: pd.Series) -> np.ndarray:
        stamps = cls._utc(parsed)
        seconds = stamps.astype("int64").to_numpy() / 1e9
        return np.where(stamps.isna().to_numpy(), np.nan, seconds)

    @property
    def _tick(self) -> float:
        """The clock's unit (seconds): the resolution, microseconds when there is none."""
        return self.resolution_ or 1e-6

    def _clock(self, seconds: np.ndarray) -> np.ndarray:
        """The time of day of UTC ``seconds`` in the written offset, in whole ticks: whole
        numbers, which a quantile scaler gives back exactly (up to 1,000 distinct)."""
        return np.round(np.mod(seconds + self.offset_ * 60, DAY) / self._tick)

    def to_float(self, series: pd.Series) -> np.ndarray:
        if pd.api.types.is_numeric_dtype(series):
            return series.to_numpy(dtype=float, na_value=np.nan)
        if self.format_ is not None and not self.mixed_:
            return self._seconds_of_text(series)
        if self.format_ is not None:
            return self._seconds(read_dates(series, "mixed"))
        return self._seconds(series)

    def _seconds_of_text(self, series: pd.Series) -> np.ndarray:
        """Text in the column's one date format as seconds: Arrow's vectorised parser for
        the values it reads, pandas' for the rest (spaces around, odd spellings,
        fractions of seconds, which Arrow does not read), so the result is pandas' either way."""
        try:
            if "%f" in self.format_:
                raise TypeError("Arrow reads no fractions of seconds")
            text = pa.array(series, type=pa.string(), from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):  # pandas reads it
            return self._seconds(read_dates(series, self.format_))
        stamps = pc.strptime(text, format=self.format_, unit="s", error_is_null=True)
        seconds = stamps.cast(pa.int64()).to_numpy(zero_copy_only=False).astype(float)
        unread = np.flatnonzero(pc.and_(stamps.is_null(), text.is_valid()).to_numpy(
            zero_copy_only=False))
        if unread.size:
            seconds[unread] = self._seconds(read_dates(series.iloc[unread], self.format_))
        return seconds

    def encode_floats(self, values: np.ndarray, rng: np.random.Generator,
                      clip: bool = True) -> np.ndarray:
        encoded = super().encode_floats(values, rng, clip)
        if self.clock_ is None:
            return encoded
        width = 1 + self.scaler_.n_modes
        clock = self.clock_.encode_floats(self._clock(values), rng, clip)
        return np.column_stack([encoded[:, :width], clock, encoded[:, width:]])

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        if self.clock_ is None:
            return super().inverse(encoded, rng)
        width = 1 + self.scaler_.n_modes
        end = width + self.clock_.width
        shift = self.offset_ * 60
        clock = self.clock_.inverse(encoded[:, width:end], rng).to_numpy(dtype=float)
        clock *= self._tick
        # the instant nearest the generated one that has the generated time of day
        local = self.scaler_.inverse(encoded[:, :width]) + shift
        values = np.round((local - clock) / DAY) * DAY + clock - shift
        values = np.clip(self._round(values), self.min_, self.max_)
        if self.has_missing_:
            values = np.where(encoded[:, end] > 0.5, np.nan, values)
        return self._from_float(values)

    def _round(self, values: np.ndarray) -> np.ndarray:
        if self.resolution_:
            shift = self.offset_ * 60
            return np.round((values + shift) / self.resolution_) * self.resolution_ - shift
        return values

    def _from_float(self, values: np.ndarray) -> pd.Series:
        if self.format_ is None:
            stamps = pd.Series(_stamps(values), name=self.name)
            zone = getattr(pd.api.types.pandas_dtype(self.dtype_), "tz", None)
            return stamps if zone is None else stamps.dt.tz_localize("UTC").dt.tz_convert(zone)
        # format each distinct stamp once, also across calls (rounded stamps repeat:
        # hours, days), for strftime costs tens of microseconds a value
        codes, distinct = pd.factorize(values, use_na_sentinel=True)
        cache = self.__dict__.setdefault("_formatted", {})
        new = [stamp for stamp in distinct.tolist() if stamp not in cache]
        if new:
            if len(cache) + len(new) > FORMAT_CACHE:
                cache.clear()
            cache.update(zip(new, self._texts(np.array(new)), strict=True))
        text = np.array([cache[stamp] for stamp in distinct.tolist()] + [None], dtype=object)
        return pd.Series(text[codes], name=self.name, dtype=object)  # code -1: the None

    def _texts(self, seconds: np.ndarray) -> list[str]:
        """UTC ``seconds`` written in the column's format, fraction digits and offset."""
        fmt = self.format_.replace("%z", offset_text(self.offset_, self.offset_style_))
        shown = min(self.digits_, 6)  # digits past microseconds are zeros
        stamps = _stamps(seconds + self.offset_ * 60, 10 ** (6 - shown) if "%f" in fmt else 1)
        if "%f" not in fmt:
            return stamps.strftime(fmt).tolist()
        head, tail = fmt.split("%f", 1)
        fractions = [f"{micros:06d}"[:shown].ljust(self.digits_, "0")
                     for micros in stamps.microsecond]
        tails = stamps.strftime(tail) if "%" in tail else [tail] * len(stamps)
        return [f"{a}{b}{c}" for a, b, c in zip(stamps.strftime(head), fractions, tails,
                                                 strict=True)]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "format": self.format_, "mixed": self.mixed_,
                "resolution": self.resolution_, "digits": self.digits_,
                "offset_style": self.offset_style_, "offset": self.offset_,
                "clock": None if self.clock_ is None else self.clock_.to_dict()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> DatetimeEncoder:
        encoder = super().from_dict(state)
        encoder.format_ = state["format"]
        encoder.mixed_ = bool(state.get("mixed", False))
        encoder.resolution_ = state["resolution"]
        # files written before times of day, fractions and offsets were kept have none
        encoder.digits_ = state.get("digits", 0)
        encoder.offset_style_ = state.get("offset_style")
        encoder.offset_ = state.get("offset", 0)
        clock = state.get("clock")
        encoder.clock_ = None if clock is None else ClockEncoder.from_dict(clock)
        return encoder


class CategoricalEncoder(ColumnEncoder):
    """Categorical, boolean or low-cardinality column: a one-hot over its levels.

    Missing values are a level of their own, so they come back as NaN at the
    observed rate. Only the ``max_levels`` most frequent levels get a one-hot
    slot; the rest share one "other" slot, which is decoded by drawing from the
    rare levels' observed frequencies. Memory and time stay bounded for columns
    with thousands of levels, and the rare levels keep their strongest dependency:
    :meth:`link_parent` makes them drawn given the generated slot of the other
    categorical column that tells most about them (a tail number given its
    airline, a ward given its hospital). A pandas ``category`` column comes
    back with all its categories (unused ones too) and its order.

    Values are looked up by number in a column of numbers (``"3"`` finds the level
    ``3.0``) and by text in a column of text (``12`` finds ``"12"``), so a chunk read
    with other types than the training table is still encoded correctly.

    Parameters
    ----------
    name : str
        Column name.
    max_levels : int, default 100
        One-hot slots for the most frequent levels.
    """

    kind = "categorical"

    def __init__(self, name: str, max_levels: int = 100) -> None:
        super().__init__(name)
        self.max_levels = max_levels

    @property
    def blocks(self) -> list[Block]:
        return [Block(self.name, "categorical", len(self.slots_) + bool(self.other_levels_))]

    def fit(self, series: pd.Series, rng: np.random.Generator) -> CategoricalEncoder:
        super().fit(series, rng)
        self.categories_, self.ordered_ = None, False
        if isinstance(series.dtype, pd.CategoricalDtype):
            self.categories_ = [_to_json_value(v) for v in series.dtype.categories]
            self.ordered_ = bool(series.dtype.ordered)
        counts = series.value_counts(dropna=False)
        counts = counts[counts > 0]  # a category dtype lists its unused levels too
        levels = [_to_json_value(level) for level in counts.index]
        self.slots_ = levels[: self.max_levels]
        self.other_levels_ = levels[self.max_levels :]
        self._forget_levels()
        other_counts = counts.to_numpy()[self.max_levels :].astype(float)
        total = other_counts.sum()
        self.other_probs_ = (other_counts / total).tolist() if len(other_counts) else []
        self.parent_, self.rare_given_parent_ = None, []
        return self

    def adopt_statistics(self, missing: int, value_range: tuple[float, float] | None,
                         levels: dict[Any, int] | None) -> None:
        """Learn the whole table's levels when fitted on a sample: levels (or missing values)
        the sample lacks join the rare levels, and the rare levels' frequencies become the
        whole table's (see :mod:`toolkit.adapters.statistics`)."""
        if levels is None:
            return
        counts = {self._key(level): n for level, n in levels.items()}
        if missing:
            counts[None] = missing
        in_slots = {self._key(level) for level in self.slots_}
        known = {self._key(level): level for level in self.other_levels_}
        for key, level in ((self._key(level), level) for level in levels):
            if key not in in_slots and key not in known:
                known[key] = _to_json_value(level)
        if missing and None not in in_slots:
            known.setdefault(None, None)
        if not known:
            return
        self.other_levels_ = list(known.values())
        weights = np.array([counts.get(key, 0) for key in known], dtype=float) + 1e-12
        self.other_probs_ = (weights / weights.sum()).tolist()
        self._forget_levels()

    def rare_codes(self, series: pd.Series) -> np.ndarray:
        """Index of each value among :attr:`other_levels_` (-1 for the other values)."""
        lookup = {self._key(level): i for i, level in enumerate(self.other_levels_)}
        codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=False)
        return np.array([lookup.get(self._key(v), -1) for v in uniques], dtype=np.int64)[codes]

    def link_parent(self, series: pd.Series, candidates: dict[str, np.ndarray],
                    min_gain: float = 0.05) -> None:
        """Draw the rare levels given one other column's slot (see the class notes).

        Parameters
        ----------
        series : pandas.Series
            This column's training values.
        candidates : dict of str to ndarray
            The one-hot slot of every training row in each other categorical column,
            by column name (what decoding reads off the generated array).
        min_gain : float
            Share of the rare levels' entropy a parent must explain to be used.
        """
        rare = self.rare_codes(series)
        rows = rare >= 0
        if not rows.any() or not candidates:
            return
        child, n_rare = rare[rows], len(self.other_levels_)
        best, best_entropy = None, _entropy(np.bincount(child)) * (1 - min_gain)
        for name, slots in candidates.items():
            pairs = pd.Series(slots[rows] * n_rare + child).value_counts()
            parent = pairs.index.to_numpy() // n_rare
            conditional = _entropy(pairs.to_numpy()) - _entropy(np.bincount(parent))
            if conditional < best_entropy:
                best, best_entropy = name, conditional
        if best is None:
            return
        parent_slots = candidates[best][rows]
        self.parent_, self.rare_given_parent_ = best, []
        for slot in range(int(candidates[best].max()) + 1):
            found, counts = np.unique(child[parent_slots == slot], return_counts=True)
            self.rare_given_parent_.append(
                [found.tolist(), (counts / counts.sum()).tolist()] if len(found) else None)

    def _draw_rare(self, n: int, rng: np.random.Generator,
                   parent_slots: np.ndarray | None) -> np.ndarray:
        """Indexes into :attr:`other_levels_` for ``n`` rows decoded as "other"."""
        drawn = rng.choice(len(self.other_levels_), n, p=self.other_probs_)
        if parent_slots is None or self.parent_ is None:
            return drawn
        for slot in np.unique(parent_slots):
            given = (self.rare_given_parent_[slot]
                     if 0 <= slot < len(self.rare_given_parent_) else None)
            if given is not None:
                where = parent_slots == slot
                drawn[where] = rng.choice(given[0], int(where.sum()), p=given[1])
        return drawn

    def match_level(self, value: Any) -> Any:
        """The seen level equal to ``value`` (text such as ``"3"`` matches the level 3.0).

        Raises
        ------
        ValueError
            When no seen level matches.
        """
        wanted = _to_json_value(value)
        levels = [*self.slots_, *self.other_levels_]
        for level in levels:
            if level == wanted or str(level) == str(wanted) or _same_number(level, wanted):
                return level
        shown = ", ".join(map(repr, levels[:20])) + (" ..." if len(levels) > 20 else "")
        raise DataError(f"column {self.name!r} never had the value {value!r}; seen: {shown}")

    def unseen(self, series: pd.Series) -> list[Any]:
        """The distinct values of ``series`` that this column never had in training."""
        values = {_to_json_value(v) for v in series[self.is_unseen(series)].astype(object)}
        return sorted(values, key=repr)

    def is_unseen(self, series: pd.Series) -> np.ndarray:
        """Which values of ``series`` this column never had in training (a boolean mask)."""
        return self.slots_and_unseen(series)[1]

    def slots_and_unseen(self, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`hot_slots` and :meth:`is_unseen` of ``series`` from one look-up of each
        distinct value."""
        lookup = self._slot_lookup
        other = len(self.slots_) if self.other_levels_ else 0
        # look each distinct value up once, then index: fast on long columns
        codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=False)
        keys = [self._key(v) for v in uniques]
        slots = np.array([lookup.get(key, other) for key in keys], dtype=np.int64)
        known = np.array([key in self._known_keys for key in keys], dtype=bool)
        return slots[codes], ~known[codes]

    def _forget_levels(self) -> None:
        """Drop what is cached from the levels (they changed)."""
        for cached in ("_numeric_levels", "_known_keys", "_slot_lookup"):
            self.__dict__.pop(cached, None)

    @cached_property
    def _known_keys(self) -> set[Any]:
        return {self._key(level) for level in [*self.slots_, *self.other_levels_]}

    @cached_property
    def _numeric_levels(self) -> bool:
        levels = [level for level in [*self.slots_, *self.other_levels_] if level is not None]
        return bool(levels) and all(isinstance(level, (int, float)) and not isinstance(level, bool)
                                    for level in levels)

    def _key(self, value: Any) -> Any:
        """What a value is looked up by: its number in a column of numbers, else itself
        (numbers as text in a column of text)."""
        value = _to_json_value(value)
        if value is None or isinstance(value, bool):
            return value
        if self._numeric_levels:
            try:
                return float(value)
            except (TypeError, ValueError):
                return value
        return str(value) if isinstance(value, (int, float)) else value

    @cached_property
    def _slot_lookup(self) -> dict[Any, int]:
        return {self._key(level): i for i, level in enumerate(self.slots_)}

    def transform(self, series: pd.Series, rng: np.random.Generator,
                  clip: bool = True) -> np.ndarray:
        slots = self.hot_slots(series)
        one_hot = np.zeros((len(slots), self.width), dtype=np.float32)
        one_hot[np.arange(len(slots)), slots] = 1.0
        return one_hot

    def hot_slots(self, series: pd.Series) -> np.ndarray:
        """The slot each value's one-hot code sets (what :meth:`transform` writes as 1), so
        that a table's encoding can set them in place."""
        return self.slots_and_unseen(series)[0]

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator,
                parent_slots: np.ndarray | None = None) -> pd.Series:
        """Decode one-hot scores; ``parent_slots`` (the decoded slot of :attr:`parent_`
        in each row) makes rare levels drawn given the parent's level."""
        index = encoded.argmax(axis=1)
        levels = _level_array([*self.slots_, None])
        values = levels[np.minimum(index, len(self.slots_))]
        is_other = index == len(self.slots_)
        if is_other.any():
            rare = _level_array(self.other_levels_)
            given = None if parent_slots is None else parent_slots[is_other]
            values[is_other] = rare[self._draw_rare(int(is_other.sum()), rng, given)]
        if self.categories_ is not None:
            return pd.Series(pd.Categorical(values, categories=self.categories_,
                                            ordered=self.ordered_), name=self.name)
        nullable = nullable_integer(self.dtype_)
        if nullable:  # integer levels with missing values come back as 4, not 4.0
            return pd.Series(values, name=self.name).astype(nullable if pd.isna(values).any()
                                                            or nullable == self.dtype_
                                                            else self.dtype_)
        return _restore_dtype(pd.Series(values, name=self.name), self.dtype_)

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "max_levels": self.max_levels,
            "slots": self.slots_,
            "other_levels": self.other_levels_,
            "other_probs": self.other_probs_,
            "parent": self.parent_,
            "rare_given_parent": self.rare_given_parent_,
            "categories": self.categories_,
            "ordered": self.ordered_,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> CategoricalEncoder:
        encoder = cls(state["name"], state["max_levels"])
        encoder.dtype_ = state["dtype"]
        encoder.slots_ = state["slots"]
        encoder.other_levels_ = state["other_levels"]
        encoder.other_probs_ = state["other_probs"]
        encoder.parent_ = state.get("parent")
        encoder.rare_given_parent_ = state.get("rare_given_parent", [])
        encoder.categories_ = state.get("categories")
        encoder.ordered_ = bool(state.get("ordered", False))
        return encoder


class BooleanEncoder(CategoricalEncoder):
    """Boolean column: True/False values, or text in the file's own spelling
    (``TRUE``/``FALSE``, ``true``/``false`` ...), which comes back as spelled.

    A condition matches whatever the spelling or case: ``flag=true``,
    ``flag=TRUE`` and ``True`` all find the level ``"TRUE"``.
    """

    kind = "boolean"

    def adopt_statistics(self, missing: int, value_range: tuple[float, float] | None,
                         levels: dict[Any, int] | None) -> None:
        """Two values (and missing) are always in a sample: nothing to widen."""

    def _key(self, value: Any) -> Any:
        value = _to_json_value(value)
        return None if value is None else str(value).lower()

    def match_level(self, value: Any) -> Any:
        """The seen level equal to ``value``, ignoring the spelling of true and false."""
        wanted = str(_to_json_value(value)).lower()
        for level in [*self.slots_, *self.other_levels_]:
            if level is not None and str(level).lower() == wanted:
                return level
        return super().match_level(value)


_ID_PATTERN = re.compile(r"^(\D*?)(\d+)(\D*)$")
#: a free-text ID space holds at least this many values per training ID
ID_SPACE_FACTOR = 1000


def _id_digest(salt: str, value: str) -> str:
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()[:16]


def fresh_start(largest: int) -> int:
    """The first fresh ID after a largest real ID: two orders of magnitude above it.

    Examples
    --------
    >>> fresh_start(418), fresh_start(7), fresh_start(-3)
    (10000, 100, 100)
    """
    return 10 ** (len(str(max(0, largest))) + 1)


class IdEncoder(ColumnEncoder):
    """Identifier column: not modelled; generated rows get fresh unique IDs of the same format.

    Whole-number IDs (also with blanks, or stored as floats) and the numbers of text
    IDs that look like ``PREFIX`` + digits (prefix and digit count kept) start at the
    power of ten two digits above the largest training ID (``418`` -> ``10000``), so
    that they are recognisably new and clear of real IDs the model never saw (a
    holdout, later patients); other text IDs become strings of the observed
    alphabet and length (longer when that space holds fewer than
    ``ID_SPACE_FACTOR`` values per training ID), enumerated through a fixed
    permutation of the space. No training ID is ever reproduced: for free-text IDs
    only salted hashes of the training IDs are kept to rule out collisions, never
    the IDs themselves. Generated IDs are numbered: the ``first`` argument of
    :meth:`fresh` says where a batch starts, so that batches numbered one after
    another never share an ID (the :class:`~toolkit.Synthesizer` numbers all the
    rows it generates in a session this way).
    """

    kind = "id"

    def fit(self, series: pd.Series, rng: np.random.Generator) -> IdEncoder:
        super().fit(series, rng)
        observed = series.dropna()
        self.numeric_ = bool(pd.api.types.is_numeric_dtype(series.dtype))
        self.prefix_ = self.suffix_ = self.alphabet_ = self.salt_ = ""
        self.digits_ = self.start_ = self.length_ = self.stride_ = 0
        self.hashes_: set[str] = set()
        if self.numeric_:
            values = observed.to_numpy(dtype=float)
            if not np.all(values == np.round(values)):
                raise ValueError("identifiers must be whole numbers or text")
            self.start_ = fresh_start(int(values.max()))
            return self
        text = observed.astype(str)
        matches = [_ID_PATTERN.match(v) for v in text]
        if all(matches) and len({(m.group(1), m.group(3)) for m in matches}) == 1:
            self.prefix_, self.suffix_ = matches[0].group(1), matches[0].group(3)
            self.digits_ = max(len(m.group(2)) for m in matches)
            self.start_ = fresh_start(max(int(m.group(2)) for m in matches))
        else:
            self.alphabet_ = "".join(sorted(set("".join(text)))) or string.ascii_letters
            if len(self.alphabet_) == 1:
                self.alphabet_ += "0" if self.alphabet_ != "0" else "1"
            length = max(1, int(round(text.str.len().median())))
            while len(self.alphabet_) ** length < ID_SPACE_FACTOR * max(1, text.nunique()):
                length += 1
            self.length_ = length
            self.salt_ = f"{rng.integers(2**62):x}"
            self.stride_ = int(rng.integers(2**62)) | 1
            self.hashes_ = {_id_digest(self.salt_, v) for v in text.unique()}
        return self

    def _enumerator(self, length: int) -> Callable[[int], str]:
        """The ``k``-th string of ``length`` in a fixed permutation of that space."""
        base = len(self.alphabet_)
        size = base**length
        stride = self.stride_ % size or 1
        while math.gcd(stride, size) != 1:
            stride += 1
        offset = int(self.salt_, 16)

        def enumerated(k: int) -> str:
            index = (stride * k + offset) % size
            chars = []
            for _ in range(length):
                index, digit = divmod(index, base)
                chars.append(self.alphabet_[digit])
            return "".join(chars)

        return enumerated

    def _free_text_ids(self, n: int, first: int, step: int) -> list[str]:
        length = self.length_
        while len(self.alphabet_) ** length < 2 * (first + n * step):
            length += 1  # the space would run out: longer IDs, still never repeated
        enumerated = self._enumerator(length)
        values = []
        for k in range(first, first + n * step, step):
            value = enumerated(k)
            spare = length + 2  # a training ID's twin moves to a length never enumerated
            while _id_digest(self.salt_, value) in self.hashes_:
                value, spare = self._enumerator(spare)(k), spare + 1
            values.append(value)
        return values

    def fresh(self, n: int, first: int = 0, step: int = 1) -> pd.Series:
        """IDs number ``first``, ``first + step``, ... (``n`` of them) of this column's fresh
        sequence."""
        start = self.start_ + first
        if self.numeric_:
            dtype = self.dtype_ if nullable_integer(self.dtype_) else "Int64"
            return integers_as(np.arange(start, start + n * step, step, dtype=float)[:n],
                               dtype, self.name)
        if self.digits_:
            values = [f"{self.prefix_}{k:0{self.digits_}d}{self.suffix_}"
                      for k in range(start, start + n * step, step)]
            return pd.Series(values, dtype=object, name=self.name)
        return pd.Series(self._free_text_ids(n, first, step), dtype=object, name=self.name)

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        return self.fresh(len(encoded))

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "numeric": self.numeric_,
            "prefix": self.prefix_,
            "suffix": self.suffix_,
            "digits": self.digits_,
            "start": self.start_,
            "alphabet": self.alphabet_,
            "length": self.length_,
            "stride": self.stride_,
            "salt": self.salt_,
            "hashes": sorted(self.hashes_),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> IdEncoder:
        encoder = cls(state["name"])
        encoder.dtype_ = state["dtype"]
        encoder.numeric_ = state["numeric"]
        encoder.prefix_, encoder.suffix_ = state["prefix"], state["suffix"]
        encoder.digits_, encoder.start_ = state["digits"], state["start"]
        encoder.alphabet_, encoder.length_ = state["alphabet"], state["length"]
        encoder.stride_ = int(state.get("stride", 1))
        encoder.salt_, encoder.hashes_ = state["salt"], set(state["hashes"])
        return encoder


class PersonalEncoder(ColumnEncoder):
    """Personal data (a person's names, e-mail address, phone number, street address): not
    modelled; generated rows get fresh values in the column's format, never a real one (see
    :mod:`toolkit.adapters.personal`). Subclasses, one per kind of
    :data:`~toolkit.adapters.kinds.PERSONAL_KINDS`, set ``kind``.

    Columns of one table draw their values from the same generated people when given
    generators in the same state, so a row's first name, last name and e-mail agree.
    """

    def fit(self, series: pd.Series, rng: np.random.Generator) -> PersonalEncoder:
        super().fit(series, rng)
        self.format_ = PersonalFormat(self.kind).fit(series, rng)
        return self

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        return pd.Series(self.format_.generate(len(encoded), rng), dtype=object, name=self.name)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "format": self.format_.to_dict()}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> PersonalEncoder:
        encoder = super().from_dict(state)
        encoder.format_ = PersonalFormat.from_dict(cls.kind, state["format"])
        return encoder


PERSONAL_ENCODERS: dict[str, type[PersonalEncoder]] = {
    kind: type(f"{kind.title().replace('_', '')}Encoder", (PersonalEncoder,),
               {"kind": kind, "__doc__": f"Personal data of kind {kind!r} (see PersonalEncoder)."})
    for kind in PERSONAL_KINDS
}


class ConstantEncoder(ColumnEncoder):
    """Column with one value in every row: not modelled, repeated on output."""

    kind = "constant"

    def fit(self, series: pd.Series, rng: np.random.Generator) -> ConstantEncoder:
        super().fit(series, rng)
        self.value_ = _to_json_value(series.iloc[0])
        return self

    def inverse(self, encoded: np.ndarray, rng: np.random.Generator) -> pd.Series:
        return _restore_dtype(pd.Series([self.value_] * len(encoded), dtype=object), self.dtype_)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "value": self.value_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ConstantEncoder:
        encoder = super().from_dict(state)
        encoder.value_ = state["value"]
        return encoder


ENCODERS: dict[str, type[ColumnEncoder]] = {
    encoder.kind: encoder
    for encoder in (NumericEncoder, IntegerEncoder, DatetimeEncoder, CategoricalEncoder,
                    BooleanEncoder, IdEncoder, *PERSONAL_ENCODERS.values(), ConstantEncoder)
}
COLUMN_KINDS = tuple(ENCODERS)
