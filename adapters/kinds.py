"""What kind each column is: inference from names and values, checks of the user's overrides.

Kinds: ``continuous``, ``integer``, ``categorical``, ``boolean``, ``datetime``, ``id``,
``constant``. Identifiers get special care, since a real identifier copied into
synthetic output is the worst leak a release can have. A column is an ``id`` when

* it is **named** like one (``patient_id``, ``PatientID``, ``mrn``, ``ssn``,
  ``record_no``, ``accession_number``, ``uuid`` ...) and holds whole numbers or
  text: repeated values (several rows per patient) and blanks do not change that;
* its values have an identifier's **format** (UUIDs, ``123-45-6789``, e-mail
  addresses, codes such as ``P000123`` or ``00012345`` with many distinct values);
* it is text with **every value distinct**, given enough rows to tell (``MIN_ROWS``).

:func:`infer_kinds` returns, beside the kinds, plain-language notes on what was
guessed from little evidence (tiny tables, mixed date formats, mostly-numeric
text, identifiers inferred from names), which the adapter issues as
:class:`~toolkit.exceptions.InferenceWarning`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.personal import personal_kind
from toolkit.exceptions import DataError

#: numeric columns with at most this many distinct values are treated as categorical
MAX_NUMERIC_CATEGORIES = 10
#: observed values needed before "every value distinct" makes text an identifier
MIN_ROWS = 20
#: a text column with at least this share of numbers is reported as mixed
MOSTLY_NUMERIC = 0.9

#: personal data that is generated fresh in its own format, never drawn from the real values
PERSONAL_KINDS = ("first_name", "last_name", "full_name", "email", "phone", "address")
#: kinds whose real values must never appear in synthetic output
IDENTIFYING_KINDS = ("id", *PERSONAL_KINDS)
#: kinds that are not modelled (no tensor block): generated fresh, or repeated
UNMODELLED_KINDS = (*IDENTIFYING_KINDS, "constant")

#: words that make a column an identifier wherever they stand in its name
_ID_WORDS = {"id", "ids", "uuid", "guid", "identifier", "mrn", "ssn", "nhs", "npi",
             "accession", "pid", "mrno", "ehr", "emr"}
#: the owners whose numbers identify someone: "<owner> no / number / code", or the owner
#: alone (``Subject``, ``patient``)
_ID_OWNERS = {"record", "patient", "subject", "case", "encounter", "admission", "member",
              "account", "policy", "chart", "specimen", "participant", "person", "medical",
              "client", "resident", "donor", "proband", "mrn", "nhs", "ssn"}
_ID_SUFFIXES = {"no", "nr", "num", "number", "code"}
#: words that say whose identifier it is: a person's (or a person's record). Such an
#: identifier stays one with few distinct values; one of a test, site or batch
#: (``test_id``, ``site_id``) must have many values for its rows (see :func:`_id_by_name`)
_PERSON_WORDS = {"patient", "subject", "participant", "person", "member", "client",
                 "resident", "donor", "proband", "mrn", "nhs", "ssn", "record", "chart",
                 "medical", "encounter", "admission", "account", "ehr", "emr", "mrno",
                 "accession", "specimen"}
#: identifiers that name no owner at all: ``id``, ``uuid``
_BARE_ID_WORDS = {"id", "ids", "uuid", "guid", "identifier", "pid"}

_ID_FORMATS = (
    re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I),  # uuid
    re.compile(r"^\d{3}-\d{2}-\d{4}$"),  # social security number
)
#: digits from which a fixed-width whole number reads as a code (MRN, NHS number), not a
#: quantity
CODE_DIGITS = 7
#: share of a column's distinct values that are running numbers (step 1) for it to count
#: as a numbering
RUNNING_SHARE = 0.9
_CODE = re.compile(r"^([A-Za-z]*[-_ ]?)(\d+)$")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
#: the text formats dates are read in, tried in this order; ``%f`` reads 1 to 9 digits
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ",
                "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S.%f",
                "%Y-%m-%dT%H:%M:%S.%f",
                "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y %H:%M",
                "%m/%d/%Y %H:%M")
#: ISO date-times followed by a UTC offset (``Z``, ``+02:00`` or ``+0200``), tried after
#: :data:`DATE_FORMATS`
ZONED_FORMATS = tuple(f"{fmt}%z" for fmt in DATE_FORMATS
                      if fmt.startswith("%Y-%m-%d") and "%H" in fmt and not fmt.endswith("Z"))
#: the UTC offset ending a date-time text, and the fraction of its seconds
_OFFSET = re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})\s*$")
_FRACTION = re.compile(r"\d{2}:\d{2}:\d{2}\.(\d+)")
_BOOLEAN_WORDS = {"true", "false"}


def name_tokens(name: Any) -> list[str]:
    """The words of a column name, lower case: split on separators, on camelCase, after an
    acronym (``MRNNumber``) and between letters and digits (``patientID2``).

    Examples
    --------
    >>> name_tokens("PatientID"), name_tokens("record-no"), name_tokens("alk.phos")
    (['patient', 'id'], ['record', 'no'], ['alk', 'phos'])
    >>> name_tokens("MRNNumber"), name_tokens("patientID2"), name_tokens("patient_id2")
    (['mrn', 'number'], ['patient', 'id', '2'], ['patient', 'id', '2'])
    """
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", str(name))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([0-9])([A-Za-z])", r"\1 \2", re.sub(r"([A-Za-z])([0-9])", r"\1 \2", text))
    return [token.lower() for token in re.split(r"[^A-Za-z0-9]+", text) if token]


def _name_words(name: Any) -> list[str]:
    """The tokens of a name that are words (numbers dropped: ``patient_id2``)."""
    return [token for token in name_tokens(name) if not token.isdigit()]


def named_like_id(name: Any) -> bool:
    """Whether a column name says it may hold identifiers (its values then decide, see
    :func:`infer_kind`).

    Examples
    --------
    >>> [named_like_id(n) for n in ("patient_id", "MRNNumber", "record_no", "Subject",
    ...                             "paid", "visit_no", "patient_age")]
    [True, True, True, True, False, False, False]
    """
    words = _name_words(name)
    if any(word in _ID_WORDS for word in words) or (len(words) == 1 and words[0] in _ID_OWNERS):
        return True
    return len(words) >= 2 and words[-1] in _ID_SUFFIXES and words[-2] in _ID_OWNERS


def names_a_person(name: Any) -> bool:
    """Whether an identifier's name says it identifies a person or a person's record
    (``patient_id``, ``MRNNumber``, ``Subject``, a bare ``id``) rather than a test, a site
    or a batch (``test_id``, ``site_id``).

    Examples
    --------
    >>> [names_a_person(n) for n in ("patient_id", "NHSNumber", "Subject", "id", "test_id")]
    [True, True, True, True, False]
    """
    words = _name_words(name)
    return bool(set(words) & _PERSON_WORDS) or (len(words) == 1 and words[0] in _BARE_ID_WORDS)


def _many_values(name: Any, distinct: int, rows: int) -> bool:
    """Whether ``distinct`` values over ``rows`` rows are enough for an identifier named
    ``name``: 3 for a person's identifier, and as many as the square root of the rows
    (at least 3) for any other (``test_id`` with 2 values over 12,000 tests is a category)."""
    return distinct >= (3 if names_a_person(name) else max(3, math.sqrt(rows)))


def _numbering(values: np.ndarray) -> str | None:
    """What makes whole numbers read as identifiers rather than quantities: ``"running
    numbers"`` (most distinct values one apart) or ``"N-digit codes"`` (one width of at
    least :data:`CODE_DIGITS` digits); ``None`` for neither."""
    distinct = np.unique(values)
    if len(distinct) > 1 and np.mean(np.diff(distinct) == 1) >= RUNNING_SHARE:
        return "running numbers"
    widths = np.unique(np.char.str_len(np.abs(distinct).astype(np.int64).astype(str)))
    if len(widths) == 1 and widths[0] >= CODE_DIGITS and distinct.min() >= 0:
        return f"{widths[0]}-digit codes"
    return None


def _text_values(observed: pd.Series) -> pd.Series | None:
    """The observed values as text when they are all strings (else ``None``)."""
    if not (pd.api.types.is_object_dtype(observed.dtype)
            or pd.api.types.is_string_dtype(observed.dtype)):
        return None
    if not observed.map(lambda v: isinstance(v, str)).all():
        return None
    return observed.astype(str)


def _whole_numbers(observed: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(observed.dtype) or not pd.api.types.is_numeric_dtype(
            observed.dtype):
        return False
    values = observed.to_numpy(dtype=float)
    return bool(np.all(values == np.round(values)))


def has_id_format(text: pd.Series) -> bool:
    """Whether text values have an identifier's format (see the module docstring).

    Examples
    --------
    >>> has_id_format(pd.Series(["123-45-6789", "987-65-4321"]))  # social security numbers
    True
    >>> has_id_format(pd.Series([f"P{k:06d}" for k in range(30)]))  # prefix + digits, distinct
    True
    >>> bool(has_id_format(pd.Series(["05401", "02134", "10001"] * 10)))  # three zip codes
    False
    """
    sample = text.iloc[:2000]
    if any(sample.str.fullmatch(pattern.pattern, flags=pattern.flags).all()
           for pattern in _ID_FORMATS):
        return True
    parts = sample.str.extract(_CODE)
    if parts[1].isna().any() or parts[0].nunique() != 1:
        return False
    digits = parts[1].str.len().min()
    distinct = text.nunique()
    return (digits >= (4 if parts[0].iloc[0] else 6)
            and distinct >= MIN_ROWS and distinct >= 0.05 * len(text))


def parse_dates(series: pd.Series) -> tuple[pd.Series, str | None, bool] | None:
    """Parse ``series`` as dates: the parsed values, the text format and whether formats mix.

    Returns ``None`` when the column is not made of dates. For a datetime64 column
    the format is ``None`` (values come back as datetimes). Texts ending in a UTC offset
    (``Z``, ``+02:00``, ``+0200``) are read with a ``%z`` format as UTC instants, so that
    the offsets may differ (see :func:`date_style`). When no single format
    reads every value but each value is a date, the values are read one by one and
    the format is the one most of them have.

    Examples
    --------
    >>> parsed, fmt, mixed = parse_dates(pd.Series(["2021-03-04", "2022-11-30", None]))
    >>> parsed.tolist(), fmt, mixed
    ([Timestamp('2021-03-04 00:00:00'), Timestamp('2022-11-30 00:00:00'), NaT], '%Y-%m-%d', False)
    >>> parse_dates(pd.Series(["2021-03-04", "2021-03-05", "04/03/2021"]))[1:]
    ('%Y-%m-%d', True)
    >>> parsed, fmt, mixed = parse_dates(pd.Series(["2020-01-01T10:00:00.5+02:00"]))
    >>> parsed.tolist(), fmt, mixed
    ([Timestamp('2020-01-01 08:00:00.500000+0000', tz='UTC')], '%Y-%m-%dT%H:%M:%S.%f%z', False)
    >>> parse_dates(pd.Series(["a", "b"])) is None
    True
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        return pd.to_datetime(series), None, False
    if not (pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)):
        return None
    observed = series.dropna()
    head = observed.iloc[:100]
    if observed.empty or not all(isinstance(v, str) and _DATE_LIKE.match(v) for v in head):
        return None
    # a format must read the first values before the whole column is parsed with it
    for fmt in (*DATE_FORMATS, *ZONED_FORMATS):
        if read_dates(head, fmt).notna().all():
            parsed = read_dates(series, fmt)
            if parsed.notna().sum() == len(observed):
                return parsed, fmt, False
    if not all(isinstance(v, str) and _DATE_LIKE.match(v) for v in observed):
        return None
    counts = {fmt: int(read_dates(observed, fmt).notna().sum())
              for fmt in (*DATE_FORMATS, *ZONED_FORMATS)}
    parsed = read_dates(series, "mixed")
    if parsed.notna().sum() != len(observed):
        return None
    return parsed, max(counts, key=counts.get), True


def utc_instants(series: pd.Series) -> pd.Series:
    """Any date column (texts in any format or offsets, datetime64 with or without a time
    zone) as time-zone-naive UTC datetimes, ``NaT`` where a value is missing or no date.

    Examples
    --------
    >>> utc_instants(pd.Series(["2020-01-01T10:00:00+01:00", "2020-07-01T10:00:00+02:00",
    ...                         None])).tolist()
    [Timestamp('2020-01-01 09:00:00'), Timestamp('2020-07-01 08:00:00'), NaT]
    """
    parsed = (series if pd.api.types.is_datetime64_any_dtype(series)
              else read_dates(series.astype(object).where(series.notna(), None), "mixed"))
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


def read_dates(series: pd.Series, fmt: str) -> pd.Series:
    """``series`` read as dates in the format ``fmt`` (or ``"mixed"``: value by value).

    Values that are not dates in ``fmt`` become ``NaT``. Values with a UTC offset are
    read as UTC instants (a column whose offsets differ, winter and summer time, is one
    series of instants); next to them, values without one are taken to be in UTC.

    Parameters
    ----------
    series : pandas.Series
        Date texts.
    fmt : str
        A format of :data:`DATE_FORMATS` or :data:`ZONED_FORMATS`, or ``"mixed"``.

    Returns
    -------
    pandas.Series
        datetime64, UTC-aware when the values have offsets.

    Examples
    --------
    >>> read_dates(pd.Series(["2020-01-01T10:00:00+01:00", "2020-07-01T10:00:00+02:00",
    ...                       "soon"]), "%Y-%m-%dT%H:%M:%S%z").tolist()
    [Timestamp('2020-01-01 09:00:00+0000', tz='UTC'), Timestamp('2020-07-01 08:00:00+0000', \
tz='UTC'), NaT]
    """
    zoned = "%z" in fmt or (fmt == "mixed" and bool(
        series.astype(str).str.extract(_OFFSET, expand=False).notna().any()))
    return pd.to_datetime(series, format=fmt, errors="coerce", utc=zoned)


@dataclass(frozen=True)
class DateStyle:
    """How a column's date texts are written beyond their format.

    Parameters
    ----------
    digits : int, default 0
        Digits of the seconds' fraction (``%f``), the most any value has.
    offset_style : {"Z", "+hh:mm", "+hhmm"} or None, default None
        How UTC offsets (``%z``) are written, the way most values write them.
    offsets : tuple of int, default ()
        The distinct UTC offsets of the values, in minutes east of UTC.
    """

    digits: int = 0
    offset_style: str | None = None
    offsets: tuple[int, ...] = ()

    @property
    def offset(self) -> int:
        """The offset to write values in (minutes): the one all values share, else 0 (UTC)."""
        return self.offsets[0] if len(self.offsets) == 1 else 0


def date_style(texts: pd.Series, fmt: str) -> DateStyle:
    """The fraction digits and UTC offsets of date ``texts`` read in the format ``fmt``.

    Parameters
    ----------
    texts : pandas.Series
        A column's date texts (missing values are left out).
    fmt : str
        The format they are read in: fractions count only with ``%f``, offsets with ``%z``.

    Returns
    -------
    DateStyle

    Examples
    --------
    >>> date_style(pd.Series(["2020-01-01T10:00:00.120+01:00", "2020-07-01T10:00:00.5+02:00"]),
    ...            "%Y-%m-%dT%H:%M:%S.%f%z")
    DateStyle(digits=3, offset_style='+hh:mm', offsets=(60, 120))
    """
    text = texts.dropna().astype(str)
    digits = 0
    if "%f" in fmt:
        fractions = text.str.extract(_FRACTION, expand=False).dropna()
        digits = int(fractions.str.len().max()) if len(fractions) else 0
    if "%z" not in fmt:
        return DateStyle(digits)
    written = text.str.extract(_OFFSET, expand=False).value_counts()
    styles = written.groupby(written.index.map(_offset_style)).sum()
    return DateStyle(digits, str(styles.idxmax()),
                     tuple(sorted({_offset_minutes(offset) for offset in written.index})))


def _offset_style(offset: str) -> str:
    return "Z" if offset == "Z" else "+hh:mm" if ":" in offset else "+hhmm"


def _offset_minutes(offset: str) -> int:
    if offset == "Z":
        return 0
    minutes = int(offset[1:3]) * 60 + int(offset[-2:])
    return -minutes if offset[0] == "-" else minutes


def offset_text(minutes: int, style: str | None) -> str:
    """A UTC offset of ``minutes`` written in ``style`` (see :class:`DateStyle`); Python's
    ``strftime`` has no ``%:z`` before 3.12.

    Parameters
    ----------
    minutes : int
        The offset, minutes east of UTC.
    style : {"Z", "+hh:mm", "+hhmm"} or None
        ``"Z"`` writes a zero offset as ``Z`` (others as ``+hh:mm``); None as ``"+hh:mm"``.

    Returns
    -------
    str

    Examples
    --------
    >>> offset_text(120, "+hh:mm"), offset_text(-330, "+hhmm"), offset_text(0, "Z")
    ('+02:00', '-0530', 'Z')
    """
    if style == "Z" and minutes == 0:
        return "Z"
    hours, rest = divmod(abs(minutes), 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{hours:02d}{rest:02d}" if style == "+hhmm" else f"{sign}{hours:02d}:{rest:02d}"


def infer_kind(series: pd.Series) -> str:
    """Guess the kind of one column (see :func:`infer_kinds` for the notes).

    Parameters
    ----------
    series : pandas.Series
        The column, as read from the file (its name is used: ``patient_id`` is an ID).

    Returns
    -------
    str
        One of ``"constant"``, ``"boolean"``, ``"datetime"``, ``"id"``,
        ``"categorical"`` (text, or numbers with at most
        ``MAX_NUMERIC_CATEGORIES`` distinct values), ``"integer"`` or ``"continuous"``.

    Examples
    --------
    >>> infer_kind(pd.Series(np.arange(12) * 1.5))
    'continuous'
    >>> infer_kind(pd.Series([1.5, 2.25, 3.0]))  # few distinct numbers
    'categorical'
    >>> infer_kind(pd.Series(["a", "b", "a"]))
    'categorical'
    >>> infer_kind(pd.Series([7, 7, 8, 8, 9], name="patient_id"))
    'id'
    >>> infer_kind(pd.Series(["covid"] * 99 + ["xcvd1"], name="test_id"))  # 2 values: a category
    'categorical'
    """
    return _infer(series)[0]


def _infer(series: pd.Series) -> tuple[str, str | None]:
    """The kind of ``series`` and a note when it was guessed from weak evidence."""
    observed = series.dropna()
    name = series.name
    if series.nunique(dropna=False) == 1:
        return "constant", None
    if pd.api.types.is_bool_dtype(series.dtype) or (
        len(observed) and observed.map(type).isin([bool, np.bool_]).all()
    ):
        return "boolean", None
    text = _text_values(observed)
    if text is not None and set(text.str.lower().unique()) <= _BOOLEAN_WORDS:
        return "boolean", None
    dates = parse_dates(series)
    if dates is not None:
        note = None
        if dates[2]:
            note = (f"column {name!r} mixes date formats; each value was read on its own and "
                    f"dates are written back as {dates[1]}")
        elif dates[1] is not None and "%z" in dates[1]:
            style = date_style(observed, dates[1])
            if len(style.offsets) > 1:
                seen = ", ".join(offset_text(m, style.offset_style) for m in style.offsets)
                note = (f"column {name!r} mixes UTC offsets ({seen}); its values were read as "
                        "UTC instants and are written back in UTC "
                        f"({offset_text(0, style.offset_style)})")
        return "datetime", note
    if text is not None:
        personal, note = personal_kind(name_tokens(name), text.rename(name))
        if personal is not None:
            return personal, note
    identifier, note = _identifier(name, observed, text)
    if identifier:
        return "id", note
    if text is not None:
        if observed.nunique() == len(observed) and len(observed) >= MIN_ROWS:
            return "id", None
        numeric = text.str.match(_NUMBER.pattern)
        if MOSTLY_NUMERIC <= numeric.mean() < 1.0:
            examples = sorted(text[~numeric].unique().tolist())[:3]
            return "categorical", (
                f"column {name!r} is mostly numbers but also holds text (e.g. {examples}); it "
                "is modelled as categorical: clean the text or declare it in the metadata")
        return "categorical", note
    if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
        series.dtype
    ):
        return "categorical", note
    values = observed.to_numpy(dtype=float)
    if len(np.unique(values)) <= MAX_NUMERIC_CATEGORIES:
        return "categorical", note
    return ("integer" if np.all(values == np.round(values)) else "continuous"), note


def _identifier(name: Any, observed: pd.Series, text: pd.Series | None
                ) -> tuple[bool, str | None]:
    """Whether a column is an identifier by its name and values together, or by its values
    alone, and the note that says so (or, for a name whose values identify nobody, why it is
    not one)."""
    distinct, rows = observed.nunique(), len(observed)
    whole = _whole_numbers(observed)
    if named_like_id(name) and (text is not None or whole):
        if not _many_values(name, distinct, rows):
            return False, (f"column {name!r} is named like an identifier but holds only "
                           f"{distinct} distinct values in {rows} rows, so it is modelled as a "
                           "category; give it kind id in the metadata if its values identify "
                           "people")
        if distinct < rows:
            return True, (f"column {name!r} is named like an identifier and treated as one "
                          f"(fresh IDs are generated; {distinct} distinct values in {rows} "
                          "rows); give it another kind in the metadata if its values identify "
                          "nobody")
        return True, None
    if text is not None and has_id_format(text):
        return True, (f"column {name!r} holds identifier-like codes (e.g. {text.iloc[0]!r}) "
                      "and is treated as an id")
    if whole and distinct >= MIN_ROWS and distinct >= 0.95 * rows:
        numbering = _numbering(observed.to_numpy(dtype=float))
        if numbering:
            return True, (f"column {name!r} holds {numbering}, one per row, and is treated as "
                          "an identifier (fresh IDs are generated); give it another kind in "
                          "the metadata if its values identify nobody")
    return False, None


def infer_kinds(data: pd.DataFrame, overrides: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Every column's kind (the overrides where given) and notes on the guesses.

    Raises
    ------
    DataError
        When an override does not fit the column (see :func:`check_override`).

    Examples
    --------
    >>> visits = pd.DataFrame({"patient_id": [1, 1, 2, 3], "age": [61.5, 70.25, 48.0, 50.5],
    ...                        "sex": ["F", "M", "F", "M"]})
    >>> kinds, notes = infer_kinds(visits, {"age": "continuous"})
    >>> kinds
    {'patient_id': 'id', 'age': 'continuous', 'sex': 'categorical'}
    >>> for note in notes:
    ...     print(note[:60])
    column 'patient_id' is named like an identifier and treated
    the table has only 4 rows: the kinds of ['patient_id', 'sex'
    """
    kinds, notes = {}, []
    for original in data.columns:
        column = str(original)
        if column in overrides:
            check_override(data[original], overrides[column])
            kinds[column] = overrides[column]
            continue
        kinds[column], note = _infer(data[original])
        if kinds[column] in ("integer", "categorical"):
            companion = grouped_key(data, original)
            if companion is not None:
                kinds[column] = "id"
                note = (f"column {column!r} holds codes that each fill one block of consecutive "
                        f"rows, within which {companion!r} never changes: it is treated as an "
                        "identifier of whom the rows belong to (fresh IDs are generated); give "
                        "it another kind in the metadata if its values identify nobody")
        if note:
            notes.append(note)
    guessed = [c for c in kinds if c not in overrides]
    if guessed and len(data) < MIN_ROWS:
        notes.append(f"the table has only {len(data)} rows: the kinds of {guessed} were guessed "
                     "from very few values; check them (metadata_, toolkit info) and state "
                     "them in the metadata")
    return kinds, notes


#: a companion column is constant within this share of a key's multi-row blocks, at least,
#: and in this many points more than when its values are shuffled (chance)
COMPANION_CONSTANT = 0.95
COMPANION_ABOVE_CHANCE = 0.25
#: ... and its value must change between at least this share of neighbouring blocks: a
#: flag computed from a sorted measure (a mother's age and "mature mother") changes once
COMPANION_CHANGES = 0.1


def grouped_key(data: pd.DataFrame, column: Any) -> Any | None:
    """Whether ``column`` reads as the key of whom several rows belong to, from its values
    alone: whole numbers or text, at least :data:`MIN_ROWS` distinct values that each fill
    one block of consecutive rows (a table sorted by patient), with another column constant
    within the blocks far more often than chance gives (a patient's sex, a subject's trial
    arm) whose value also changes between neighbouring blocks (not a flag computed from a
    sorted measure). Returns that companion column (``None`` when the column is no such
    key).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> visits = pd.DataFrame({"code": np.repeat(np.arange(100, 130), 3),
    ...                        "arm": np.repeat(rng.choice(["a", "b"], 30), 3),
    ...                        "value": rng.normal(size=90)})
    >>> grouped_key(visits, "code"), grouped_key(visits.sample(frac=1, random_state=0), "code")
    ('arm', None)
    >>> mothers = pd.DataFrame({"mage": np.sort(rng.integers(15, 45, 300))})
    >>> grouped_key(mothers.assign(mature=mothers["mage"] >= 35), "mage") is None
    True
    """
    series = data[column]
    observed = series.dropna()
    if _text_values(observed) is None and not _whole_numbers(observed):
        return None
    codes = pd.factorize(series)[0]
    distinct = int(codes.max()) + 1
    if distinct < MIN_ROWS or len(series) < 1.5 * distinct:
        return None
    if 1 + np.count_nonzero(codes[1:] != codes[:-1]) != distinct:
        return None  # some value comes back after other values: not blocks of rows
    sizes = np.bincount(codes[codes >= 0])
    several = np.flatnonzero(sizes >= 2)
    shuffle = np.random.default_rng(0).permutation(len(series))
    for other in data.columns:
        values = data[other]
        if other == column or not 2 <= values.nunique() <= len(values) / 2:
            continue
        own, chance = (
            pd.Series(pd.factorize(v)[0]).groupby(codes).nunique().reindex(several).eq(1).mean()
            for v in (values.to_numpy(), values.to_numpy()[shuffle]))
        if own < COMPANION_CONSTANT or own - chance < COMPANION_ABOVE_CHANCE:
            continue
        per_block = pd.Series(pd.factorize(values.to_numpy())[0]).groupby(codes).first()
        changes = np.count_nonzero(np.diff(per_block.drop(-1, errors="ignore").to_numpy()))
        if changes >= COMPANION_CHANGES * (distinct - 1):
            return other
    return None


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value it holds (for messages)."""
    return value.item() if isinstance(value, np.generic) else value


def check_override(series: pd.Series, kind: str) -> None:
    """Refuse a metadata kind that cannot describe the column's values.

    Raises
    ------
    DataError
        Naming the column, the kind and what the values are instead.

    Examples
    --------
    >>> check_override(pd.Series(["1", "2"], name="visits"), "integer")  # numbers as text fit
    >>> check_override(pd.Series(["F", "M"], name="sex"), "integer")
    Traceback (most recent call last):
    ...
    toolkit.exceptions.DataError: metadata gives column 'sex' kind 'integer', but it holds ...
    """
    observed = series.dropna()
    name = series.name
    problem = None
    if kind == "constant" and series.nunique(dropna=False) > 1:
        problem = f"it has {series.nunique(dropna=False)} distinct values"
    elif kind in ("continuous", "integer"):
        numbers = pd.to_numeric(observed.astype(object) if _text_values(observed) is not None
                                else observed, errors="coerce")
        if pd.api.types.is_bool_dtype(observed.dtype) or numbers.isna().any():
            bad = observed[numbers.isna()].iloc[0] if numbers.isna().any() else observed.iloc[0]
            problem = f"it holds values that are not numbers (e.g. {_plain(bad)!r})"
        elif kind == "integer" and not np.all(numbers == np.round(numbers)):
            problem = "it holds numbers that are not whole"
    elif kind == "datetime" and parse_dates(series) is None:
        problem = (f"its values are not dates (e.g. {_plain(observed.iloc[0])!r})"
                   if len(observed)
                   else "it has no values")
    elif kind == "boolean" and observed.nunique() > 2:
        problem = f"it has {observed.nunique()} distinct values, not two"
    if problem:
        raise DataError(f"metadata gives column {name!r} kind {kind!r}, but {problem}; "
                         "choose a kind that fits or fix the column")
