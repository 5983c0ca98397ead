"""Rules a table's rows obey (a stay ends after it begins; a city lies in one state), kept by
construction.

Rules are stated in the metadata under ``rules:`` (``toolkit metadata`` drafts the ones that
hold on every real row: :func:`discover_rules`), one mapping each:

* ``{inequality: [low, high]}`` (``strict: true`` for ``<``): two numbers or two date-times.
  The model learns ``high − low`` (never negative in training, and generated values stay
  within the training range) in ``high``'s place; ``high`` is rebuilt as ``low`` plus it.
* ``{combination: [city, state, ...]}``: only the combinations of these columns seen in
  training occur. They are learnt as one column (each seen combination a level) and split
  back, so a dependent column (state) always goes with its determinant (city).
* ``{range: column, min: 0, max: 120}`` and ``{positive: column}``: a number's bounds; the
  generated values lie within the training range, which the real rows must already respect.
* ``{expression: "systolic > diastolic"}``: any pandas expression over the columns; such
  rows are met by drawing and checking.

:class:`Rules` applies them: :meth:`Rules.forward` turns a table into what the model learns,
:meth:`Rules.inverse` turns generated rows back, :meth:`Rules.violations` counts the rows
that break each rule.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.tabular import TabularAdapter
from toolkit.exceptions import DataError, UsageError

#: separates the values of a combination's columns in its one learnt column
JOIN = "\x1f"
#: a rule is drafted only when this many rows have both its columns
MIN_SUPPORT = 20
#: two numbers are on one scale when their medians are within this ratio
SCALE_RATIO = 3.0
#: an inequality is drafted when rows paired at random would keep it with less chance
RULE_CHANCE = 1e-3
#: a combination's determinant must repeat: at most this share of its values are unique
MAX_UNIQUE_SHARE = 0.5


def _is_time(series: pd.Series) -> bool:
    """Whether a column holds date-times: as such, or as text that reads as dates."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return True
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return False
    return _dates(series) is not None


def _dates(series: pd.Series) -> pd.Series | None:
    """Text read as UTC date-times, or ``None`` when some value is no date."""
    present = series.notna()
    if not present.any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(series.where(present, None), errors="coerce", format="mixed",
                                utc=True)
    return parsed if parsed[present].notna().all() else None


def _numbers(series: pd.Series) -> np.ndarray:
    """A number or date-time column (also as text) as floats, date-times in UTC seconds,
    NaN where missing."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        stamps = series
        if getattr(series.dt, "tz", None) is not None:
            stamps = series.dt.tz_convert("UTC").dt.tz_localize(None)
    elif pd.api.types.is_numeric_dtype(series.dtype) or (dates := _dates(series)) is None:
        return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    else:
        stamps = dates.dt.tz_localize(None)
    values = stamps.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
    values[stamps.isna().to_numpy()] = np.nan
    return values / 1e9


@dataclass(frozen=True)
class Rule:
    """One rule (see the module docstring for its forms)."""

    kind: str
    columns: tuple[str, ...]
    strict: bool = False
    low: float | None = None
    high: float | None = None
    expression: str | None = None

    @classmethod
    def from_dict(cls, entry: Any) -> Rule:
        """Read one rule of the metadata.

        Raises
        ------
        UsageError
            For a rule of no known form, naming it.
        """
        if not isinstance(entry, dict):
            raise UsageError(f"a rule is a mapping such as {{inequality: [low, high]}}, got "
                             f"{entry!r}")
        if "inequality" in entry:
            columns = entry["inequality"]
            if not (isinstance(columns, list) and len(columns) == 2):
                raise UsageError(f"inequality needs two columns [low, high], got {columns!r}")
            return cls("inequality", tuple(map(str, columns)), bool(entry.get("strict")))
        if "combination" in entry:
            columns = entry["combination"]
            if not (isinstance(columns, list) and len(columns) >= 2):
                raise UsageError(f"combination needs two columns or more, got {columns!r}")
            return cls("combination", tuple(map(str, columns)))
        if "range" in entry or "positive" in entry:
            column = str(entry.get("range", entry.get("positive")))
            low, high = (0.0, None) if "positive" in entry else (entry.get("min"),
                                                                 entry.get("max"))
            for bound in (low, high):
                if bound is not None and not (isinstance(bound, (int, float))
                                              and math.isfinite(bound)):
                    raise UsageError(f"range bounds of {column!r} must be numbers, got {bound!r}")
            return cls("range", (column,), "positive" in entry,
                       None if low is None else float(low), None if high is None else float(high))
        if "expression" in entry:
            return cls("expression", (), expression=str(entry["expression"]))
        raise UsageError(f"unknown rule {entry!r}: use inequality, combination, range, "
                         "positive or expression")

    def to_dict(self) -> dict[str, Any]:
        """The rule as the metadata states it."""
        if self.kind == "inequality":
            return {"inequality": list(self.columns), **({"strict": True} if self.strict else {})}
        if self.kind == "combination":
            return {"combination": list(self.columns)}
        if self.kind == "range":
            if self.strict:
                return {"positive": self.columns[0]}
            return {"range": self.columns[0], **({"min": self.low} if self.low is not None
                                                 else {}),
                    **({"max": self.high} if self.high is not None else {})}
        return {"expression": self.expression}

    def __str__(self) -> str:
        if self.kind == "inequality":
            return f"{self.columns[0]} {'<' if self.strict else '≤'} {self.columns[1]}"
        if self.kind == "combination":
            return f"only seen combinations of {', '.join(self.columns)}"
        if self.kind == "range":
            if self.strict:
                return f"{self.columns[0]} > 0"
            return f"{self.low if self.low is not None else '-∞'} ≤ {self.columns[0]} ≤ " \
                   f"{self.high if self.high is not None else '∞'}"
        return str(self.expression)

    def broken(self, data: pd.DataFrame, seen: set[tuple] | None = None) -> np.ndarray:
        """Which rows of ``data`` break the rule (missing values break none); a combination
        is checked against the ``seen`` combinations."""
        if self.kind == "inequality":
            low, high = (_numbers(data[c]) for c in self.columns)
            with np.errstate(invalid="ignore"):
                bad = high <= low if self.strict else high < low
            return bad & ~np.isnan(low) & ~np.isnan(high)
        if self.kind == "combination":
            if seen is None:
                return np.zeros(len(data), dtype=bool)
            rows = data[list(self.columns)].astype(object).where(data[list(self.columns)]
                                                                 .notna(), None)
            return np.array([tuple(row) not in seen for row in rows.itertuples(index=False)])
        if self.kind == "range":
            values = _numbers(data[self.columns[0]])
            with np.errstate(invalid="ignore"):
                bad = (values <= 0) if self.strict else np.zeros(len(values), dtype=bool)
                if self.low is not None and not self.strict:
                    bad |= values < self.low
                if self.high is not None:
                    bad |= values > self.high
            return bad & ~np.isnan(values)
        try:
            holds = data.eval(self.expression)
        except Exception as error:  # noqa: BLE001 - a user's expression; say why it fails
            raise UsageError(f"rule expression {self.expression!r} cannot be evaluated: "
                             f"{error}") from None
        return ~np.asarray(holds, dtype=bool)


class Rules:
    """A table's rules, applied around its model.

    Parameters
    ----------
    rules : list of Rule
    """

    def __init__(self, rules: list[Rule]) -> None:
        # inequalities are taken apart before combinations merge columns, and rebuilt after
        # they are split, so an inequality may use a combination's column
        self.rules = sorted(rules, key=lambda r: ("inequality", "combination").index(r.kind)
                            if r.kind in ("inequality", "combination") else 2)
        highs = [r.columns[1] for r in self.rules if r.kind == "inequality"]
        twice = sorted({c for c in highs if highs.count(c) > 1})
        if twice:
            raise UsageError(f"column {twice[0]!r} is the upper side of two inequalities: state "
                             "a chain as a ≤ b and b ≤ c")
        combined = [c for r in self.rules if r.kind == "combination" for c in r.columns]
        overlap = sorted({c for c in combined if combined.count(c) > 1} | (set(combined)
                                                                           & set(highs)))
        if overlap:
            raise UsageError(f"column {overlap[0]!r} is in two rules that rebuild it "
                             "(combinations, or a combination and an inequality's upper side)")
        self.seen: dict[int, set[tuple]] = {}
        self.dtypes: dict[str, str] = {}
        self.columns: list[str] = []
        self.writers: dict[str, TabularAdapter] = {}

    @classmethod
    def from_metadata(cls, metadata: dict[str, Any] | None) -> Rules:
        """The ``rules:`` of a metadata mapping (none when it has none)."""
        entries = (metadata or {}).get("rules") or []
        if not isinstance(entries, list):
            raise UsageError("metadata 'rules' must be a list of rules")
        return cls([Rule.from_dict(entry) for entry in entries])

    def __bool__(self) -> bool:
        return bool(self.rules)

    def check(self, data: pd.DataFrame) -> None:
        """Check that the rules name the table's columns and hold on every real row.

        Raises
        ------
        UsageError
            For a rule naming a column the table does not have.
        DataError
            For a rule the real rows break, with how many and the first.
        """
        columns = set(map(str, data.columns))
        for rule in self.rules:
            missing = [c for c in rule.columns if c not in columns]
            if missing:
                raise UsageError(f"rule '{rule}' names {missing[0]!r}, which is not a column")
            if rule.kind == "inequality":
                kinds = {_is_time(data[c]) for c in rule.columns}
                if len(kinds) > 1 or not all(_is_time(data[c]) or pd.api.types.is_numeric_dtype(
                        data[c].dtype) for c in rule.columns) or pd.api.types.is_bool_dtype(
                        data[rule.columns[0]].dtype):
                    raise UsageError(f"rule '{rule}' needs two numbers or two date-times")
            broken = rule.broken(data)
            if broken.any():
                first = int(np.flatnonzero(broken)[0])
                raise DataError(f"rule '{rule}' is broken by {int(broken.sum())} real rows "
                                f"(first: row {first}): confirmed rules must hold on the data")

    def forward(self, data: pd.DataFrame) -> pd.DataFrame:
        """The table as the model learns it (remembers what :meth:`inverse` needs)."""
        self.check(data)
        data = data.copy()
        self.dtypes = {str(c): str(data[c].dtype) for c in data.columns}
        self.columns = [str(c) for c in data.columns]
        for index, rule in enumerate(self.rules):
            if rule.kind == "inequality":
                low, high = rule.columns
                if _is_time(data[high]) and not pd.api.types.is_datetime64_any_dtype(
                        data[high].dtype):  # text dates: written back in their format
                    self.writers[high] = TabularAdapter({high: "datetime"}).fit(data[[high]])
                data[high] = _numbers(data[high]) - _numbers(data[low])
            elif rule.kind == "combination":
                parts = data[list(rule.columns)]
                self.seen[index] = {tuple(row) for row in parts.astype(object).where(
                    parts.notna(), None).itertuples(index=False)}
                data[rule.columns[0]] = [JOIN.join(_text(v) for v in row)
                                         for row in parts.itertuples(index=False)]
                data = data.drop(columns=list(rule.columns[1:]))
        return data

    def learnt_kinds(self) -> dict[str, str]:
        """Kinds of the columns :meth:`forward` changes: a difference is continuous, a
        combination categorical."""
        kinds = {}
        for rule in self.rules:
            if rule.kind == "inequality":
                kinds[rule.columns[1]] = "continuous"
            elif rule.kind == "combination":
                kinds[rule.columns[0]] = "categorical"
        return kinds

    def learnt_metadata(self, described: dict[str, dict]) -> dict[str, dict]:
        """Column metadata (:func:`~toolkit.adapters.tabular.load_column_metadata`'s form) of
        the learnt table: a combination's other columns gone, changed columns' kinds."""
        dropped = {c for r in self.rules if r.kind == "combination" for c in r.columns[1:]}
        learnt = {c: dict(entry) for c, entry in described.items() if c not in dropped}
        for column, kind in self.learnt_kinds().items():
            learnt[column] = {"kind": kind}
        return learnt

    def rebuilt(self) -> list[str]:
        """The columns generated rows get from a rule: an inequality's upper side, a
        combination's columns."""
        return [c for r in self.rules for c in (r.columns[1:] if r.kind == "inequality"
                                                else r.columns if r.kind == "combination"
                                                else ())]

    def learnt_conditions(self, conditions: dict[str, Any]) -> dict[str, Any]:
        """``{column: value}`` conditions as the learnt table takes them: values of a
        combination's columns become the one seen combination they fix.

        Raises
        ------
        UsageError
            For a condition on an inequality's upper side, or values of a combination's
            columns that fix no seen combination or several.
        """
        learnt = dict(conditions)
        for index, rule in enumerate(self.rules):
            given = [c for c in rule.columns if c in conditions]
            if rule.kind == "inequality" and rule.columns[1] in conditions:
                raise UsageError(f"condition on {rule.columns[1]!r}, which the rule '{rule}' "
                                 f"rebuilds: condition on {rule.columns[0]!r} instead")
            if rule.kind != "combination" or not given:
                continue
            position = [rule.columns.index(c) for c in given]
            wanted = [_text(conditions[c]) for c in given]
            matches = sorted({JOIN.join(_text(v) for v in row) for row in self.seen[index]
                              if [_text(row[i]) for i in position] == wanted})
            if len(matches) != 1:
                shown = ", ".join(f"{c}={conditions[c]!r}" for c in given)
                raise UsageError(f"condition {shown} fixes {len(matches)} of the seen "
                                 f"combinations of {', '.join(rule.columns)}; fix the others "
                                 "too" if matches else f"condition {shown} is no seen "
                                 f"combination of {', '.join(rule.columns)}")
            for column in given:
                del learnt[column]
            learnt[rule.columns[0]] = matches[0]
        return learnt

    def inverse(self, data: pd.DataFrame) -> pd.DataFrame:
        """Generated rows of the learnt table back as the real table's columns."""
        data = data.copy()
        for index in reversed(range(len(self.rules))):
            rule = self.rules[index]
            if rule.kind == "inequality":
                low, high = rule.columns
                difference = pd.to_numeric(data[high], errors="coerce").to_numpy(dtype=float)
                if high in self.writers:
                    values = _numbers(data[low]) + difference
                    data[high] = self.writers[high].encoders_[0].values_of(values).to_numpy()
                elif "datetime" in self.dtypes[high]:
                    data[high] = data[low] + pd.to_timedelta(np.round(difference * 1e9), unit="ns")
                else:
                    data[high] = _numbers(data[low]) + difference
                    data[high] = _as_dtype(data[high], self.dtypes[high])
            elif rule.kind == "combination":
                values = [self._split(v, rule) for v in data[rule.columns[0]]]
                for position, column in enumerate(rule.columns):
                    data[column] = _as_dtype(pd.Series([row[position] for row in values],
                                                       index=data.index), self.dtypes[column])
        return data[self.columns]

    def _split(self, value: Any, rule: Rule) -> tuple:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (None,) * len(rule.columns)
        return tuple(None if part == _MISSING else part for part in str(value).split(JOIN))

    def violations(self, data: pd.DataFrame) -> dict[str, int]:
        """Rows of ``data`` (the real table's columns) breaking each rule, by rule text."""
        return {str(rule): int(rule.broken(data, self.seen.get(index)).sum())
                for index, rule in enumerate(self.rules)}

    def unmet(self, data: pd.DataFrame) -> np.ndarray:
        """Rows breaking a rule that is met by drawing and checking (expressions, and ranges
        as a safeguard: generated numbers lie within the training range)."""
        bad = np.zeros(len(data), dtype=bool)
        for rule in self.rules:
            if rule.kind in ("expression", "range"):
                bad |= rule.broken(data)
        return bad

    def to_dict(self) -> dict[str, Any]:
        """The rules and what :meth:`inverse` needs, JSON-ready."""
        return {"rules": [rule.to_dict() for rule in self.rules], "dtypes": self.dtypes,
                "columns": self.columns,
                "writers": {c: adapter.to_dict() for c, adapter in self.writers.items()},
                "seen": {str(i): [list(row) for row in sorted(seen, key=str)]
                         for i, seen in self.seen.items()}}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Rules:
        """Rebuild from :meth:`to_dict`."""
        rules = cls([Rule.from_dict(entry) for entry in state["rules"]])
        rules.dtypes = dict(state["dtypes"])
        rules.columns = list(state["columns"])
        rules.writers = {c: TabularAdapter.from_dict(a) for c, a in state["writers"].items()}
        rules.seen = {int(i): {tuple(row) for row in rows} for i, rows in state["seen"].items()}
        return rules


_MISSING = "\x00"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return _MISSING
    return str(value)


def _as_dtype(series: pd.Series, dtype: str) -> pd.Series:
    """``series`` in the real column's ``dtype`` where it can be."""
    try:
        if dtype.startswith(("int", "Int", "uint")):
            return pd.to_numeric(series).round().astype("Int64" if series.isna().any()
                                                         else dtype)
        if dtype.startswith("float"):
            return pd.to_numeric(series).astype(dtype)
        if dtype == "bool":
            return series.astype(bool)
    except (TypeError, ValueError):
        return series
    return series


# discovery ---------------------------------------------------------------------------------
def discover_rules(data: pd.DataFrame, kinds: dict[str, str],
                   sides: tuple[set[str], set[str]] | None = None) -> list[Rule]:
    """Candidate rules that hold on every real row, with support enough to matter:

    * ``low ≤ high`` for two numbers or two date-times on one scale that differ on some
      row, seen together on at least :data:`MIN_SUPPORT` rows, when the rule says more than
      the columns' values do (:func:`_says_something`); each column the upper side of one
      inequality at most (the tightest);
    * a combination ``determinant → dependent`` of two categorical columns where every value
      of the determinant that repeats comes with one dependent value, the determinant
      having more levels than the dependent (at least 2) and repeating (at most
      :data:`MAX_UNIQUE_SHARE` of its values unique).

    ``kinds``: the columns' kinds (IDs and free text are left out). ``sides``: two sets of
    columns an inequality must join (a child's and its parent's), when given.
    """
    rules: list[Rule] = []
    ordered = [c for c, k in kinds.items() if k in ("continuous", "integer", "datetime")]
    best: dict[str, tuple[float, Rule]] = {}
    for low in ordered:
        for high in ordered:
            if low == high or (kinds[low] == "datetime") != (kinds[high] == "datetime"):
                continue
            if sides is not None and not ({low, high} & sides[0] and {low, high} & sides[1]):
                continue
            a, b = _numbers(data[low]), _numbers(data[high])
            both = ~np.isnan(a) & ~np.isnan(b)
            if both.sum() < MIN_SUPPORT:
                continue
            a, b = a[both], b[both]
            if (b < a).any() or not (b > a).any() or not _says_something(a, b, kinds[low]):
                continue
            gap = float(np.median(b - a)) / (float(np.std(b)) + 1e-12)
            if high not in best or gap < best[high][0]:
                best[high] = (gap, Rule("inequality", (low, high), strict=not (b == a).any()))
    rules += [rule for _, rule in sorted(best.values(), key=lambda item: item[0])]
    categorical = [c for c, k in kinds.items() if k in ("categorical", "boolean")]
    dependents: set[str] = set()
    for determinant in categorical:
        values = data[determinant]
        counts = values.value_counts()
        if len(counts) < 3 or (counts == 1).mean() > MAX_UNIQUE_SHARE:
            continue
        for dependent in categorical:
            if dependent in (determinant,) or dependent in dependents:
                continue
            pairs = data[[determinant, dependent]].dropna()
            levels = pairs[dependent].nunique()
            if len(pairs) < MIN_SUPPORT or levels < 2 or pairs[determinant].nunique() <= levels:
                continue
            if (pairs.groupby(determinant)[dependent].nunique() == 1).all():
                rules.append(Rule("combination", (determinant, dependent)))
                dependents.add(dependent)
    return _without_conflicts(rules)


def _says_something(low: np.ndarray, high: np.ndarray, kind: str) -> bool:
    """Whether ``low ≤ high`` on every row tells more than the two columns' values do: the
    columns are on one scale (date-times, or numbers whose medians are within
    :data:`SCALE_RATIO` of each other: two blood pressures, not bilirubin and age), and the
    rows pair their values so that a random pairing would break the rule often enough for
    none of them breaking it to be no accident (chance below :data:`RULE_CHANCE`)."""
    if kind != "datetime":
        centres = np.abs([np.median(low), np.median(high)])
        if centres.min() <= 0 or centres.max() / centres.min() > SCALE_RATIO:
            return False
    shuffled = np.random.default_rng(0).permutation(high)
    breaks = float(np.mean(shuffled < low))
    return breaks > 0 and (1.0 - breaks) ** len(low) < RULE_CHANCE


def _without_conflicts(rules: list[Rule]) -> list[Rule]:
    """Drop combinations whose columns another rule rebuilds (a column in two rules)."""
    kept: list[Rule] = []
    rebuilt: set[str] = set()
    for rule in rules:
        touched = set(rule.columns[1:]) if rule.kind == "inequality" else set(rule.columns)
        if touched & rebuilt:
            continue
        kept.append(rule)
        rebuilt |= touched
    return kept
