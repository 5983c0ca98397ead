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

import re
from typing import Any

import numpy as np
import pandas as pd

from toolkit.exceptions import DataError

#: numeric columns with at most this many distinct values are treated as categorical
MAX_NUMERIC_CATEGORIES = 10
#: observed values needed before "every value distinct" makes text an identifier
MIN_ROWS = 20
#: a text column with at least this share of numbers is reported as mixed
MOSTLY_NUMERIC = 0.9

#: words that make a column an identifier wherever they stand in its name
_ID_WORDS = {"id", "ids", "uuid", "guid", "identifier", "mrn", "ssn", "nhs", "npi",
             "accession", "pid"}
#: "<owner> no / number / code" names: the owners whose numbers identify someone
_ID_OWNERS = {"record", "patient", "subject", "case", "encounter", "admission", "member",
              "account", "policy", "chart", "specimen", "participant", "person", "medical"}
_ID_SUFFIXES = {"no", "nr", "num", "number", "code"}

_ID_FORMATS = (
    re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I),  # uuid
    re.compile(r"^\d{3}-\d{2}-\d{4}$"),  # social security number
    re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$"),  # e-mail address
)
_CODE = re.compile(r"^([A-Za-z]*[-_ ]?)(\d+)$")
_NUMBER = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_DATE_LIKE = re.compile(r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ",
                "%Y-%m-%d %H:%M",
                "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%d/%m/%Y %H:%M",
                "%m/%d/%Y %H:%M")
_BOOLEAN_WORDS = {"true", "false"}


def name_tokens(name: Any) -> list[str]:
    """The words of a column name: split on separators and camelCase, lower case.

    Examples
    --------
    >>> name_tokens("PatientID"), name_tokens("record-no"), name_tokens("alk.phos")
    (['patient', 'id'], ['record', 'no'], ['alk', 'phos'])
    """
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [token.lower() for token in re.split(r"[^A-Za-z0-9]+", text) if token]


def named_like_id(name: Any) -> bool:
    """Whether a column name says it holds identifiers.

    Examples
    --------
    >>> [named_like_id(n) for n in ("patient_id", "MRN", "record_no", "paid", "visit_no")]
    [True, True, True, False, False]
    """
    tokens = name_tokens(name)
    if any(token in _ID_WORDS for token in tokens) or tokens == ["record"]:
        return True
    return len(tokens) >= 2 and tokens[-1] in _ID_SUFFIXES and tokens[-2] in _ID_OWNERS


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
    the format is ``None`` (values come back as datetimes). When no single format
    reads every value but each value is a date, the values are read one by one and
    the format is the one most of them have.

    Examples
    --------
    >>> parsed, fmt, mixed = parse_dates(pd.Series(["2021-03-04", "2022-11-30", None]))
    >>> parsed.tolist(), fmt, mixed
    ([Timestamp('2021-03-04 00:00:00'), Timestamp('2022-11-30 00:00:00'), NaT], '%Y-%m-%d', False)
    >>> parse_dates(pd.Series(["2021-03-04", "2021-03-05", "04/03/2021"]))[1:]
    ('%Y-%m-%d', True)
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
    for fmt in DATE_FORMATS:
        if pd.to_datetime(head, format=fmt, errors="coerce").notna().all():
            parsed = pd.to_datetime(series, format=fmt, errors="coerce")
            if parsed.notna().sum() == len(observed):
                return parsed, fmt, False
    if not all(isinstance(v, str) and _DATE_LIKE.match(v) for v in observed):
        return None
    counts = {fmt: int(pd.to_datetime(observed, format=fmt, errors="coerce").notna().sum())
              for fmt in DATE_FORMATS}
    parsed = pd.to_datetime(series, format="mixed", errors="coerce")
    if parsed.notna().sum() != len(observed):
        return None
    return parsed, max(counts, key=counts.get), True


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
    >>> infer_kind(pd.Series([7, 7, 8, 8], name="patient_id"))
    'id'
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
        return "datetime", note
    is_named = named_like_id(name)
    if is_named and (text is not None or _whole_numbers(observed)):
        note = None
        if observed.nunique() < len(observed):
            note = (f"column {name!r} is named like an identifier and treated as one (fresh "
                    "IDs are generated); give it another kind in the metadata if its values "
                    "identify nobody")
        return "id", note
    if text is not None:
        if has_id_format(text):
            return "id", (f"column {name!r} holds identifier-like codes (e.g. "
                          f"{text.iloc[0]!r}) and is treated as an id")
        if observed.nunique() == len(observed) and len(observed) >= MIN_ROWS:
            return "id", None
        numeric = text.str.match(_NUMBER.pattern)
        if MOSTLY_NUMERIC <= numeric.mean() < 1.0:
            examples = sorted(text[~numeric].unique().tolist())[:3]
            return "categorical", (
                f"column {name!r} is mostly numbers but also holds text (e.g. {examples}); it "
                "is modelled as categorical: clean the text or declare it in the metadata")
        return "categorical", None
    if isinstance(series.dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(
        series.dtype
    ):
        return "categorical", None
    values = observed.to_numpy(dtype=float)
    if len(np.unique(values)) <= MAX_NUMERIC_CATEGORIES:
        return "categorical", None
    return ("integer" if np.all(values == np.round(values)) else "continuous"), None


def infer_kinds(data: pd.DataFrame, overrides: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Every column's kind (the overrides where given) and notes on the guesses.

    Raises
    ------
    DataError
        When an override does not fit the column (see :func:`check_override`).

    Examples
    --------
    >>> visits = pd.DataFrame({"patient_id": [1, 1, 2], "age": [61.5, 70.25, 48.0],
    ...                        "sex": ["F", "M", "F"]})
    >>> kinds, notes = infer_kinds(visits, {"age": "continuous"})
    >>> kinds
    {'patient_id': 'id', 'age': 'continuous', 'sex': 'categorical'}
    >>> for note in notes:
    ...     print(note[:60])
    column 'patient_id' is named like an identifier and treated
    the table has only 3 rows: the kinds of ['patient_id', 'sex'
    """
    kinds, notes = {}, []
    for original in data.columns:
        column = str(original)
        if column in overrides:
            check_override(data[original], overrides[column])
            kinds[column] = overrides[column]
            continue
        kinds[column], note = _infer(data[original])
        if note:
            notes.append(note)
    guessed = [c for c in kinds if c not in overrides]
    if guessed and len(data) < MIN_ROWS:
        notes.append(f"the table has only {len(data)} rows: the kinds of {guessed} were guessed "
                     "from very few values; check them (metadata_, toolkit info) and state "
                     "them in the metadata")
    return kinds, notes


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
