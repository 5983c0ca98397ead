"""Personal data: person names, e-mail addresses, phone numbers and street addresses.

Such columns are never modelled and their real values never reach synthetic output:
fresh values are generated in the column's own format (an e-mail stays an e-mail, a
phone number keeps its layout, names keep their case and order). Recognising names and
generating fresh ones needs curated name lists of many languages: those of Faker
(``faker.providers.person``), a well-kept library, read as plain data (first names, last
names, street suffixes) and drawn from with numpy, which is seeded like everything else
and fast enough for millions of rows.

:func:`personal_kind` says whether a column holds personal data, from its name and its
values together; :class:`PersonalFormat` learns a column's format and generates values.
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections import Counter
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

#: locales whose name lists recognise names (generation uses the first two)
NAME_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR",
                "sv_SE", "en_IN", "tr_TR")
GENERATION_LOCALES = NAME_LOCALES[:2]
#: reserved example domains (RFC 2606): a generated address can never reach anyone
EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
#: share of a named column's distinct values that must read as names
NAMED_SHARE = 0.5
#: share needed when nothing but the values says so (and distinct values needed)
UNNAMED_SHARE = 0.9
UNNAMED_MIN_VALUES = 10

EMAIL = re.compile(r"^[\w.+'-]+@[\w-]+(\.[\w-]+)+$")
PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")
_WORD = re.compile(r"^[^\W\d_]+(['-][^\W\d_]+)*\.?$")

_EMAIL_WORDS = {"email", "mail", "emailaddress"}
_PHONE_WORDS = {"phone", "telephone", "tel", "mobile", "cell", "fax", "phonenumber",
                "telefon", "telefono", "telephoneno"}
_ADDRESS_WORDS = {"address", "addr", "street", "streetaddress", "adresse", "direccion"}
_FIRST_WORDS = {"firstname", "forename", "givenname", "fname", "vorname", "prenom"}
_LAST_WORDS = {"lastname", "surname", "familyname", "lname", "nachname", "maidenname"}
#: words that, before "name", make it a person's name (``patient_name``, ``mother name``)
_PEOPLE = {"patient", "person", "subject", "participant", "member", "client", "mother",
           "father", "parent", "guardian", "spouse", "doctor", "physician", "nurse",
           "contact", "caregiver", "kin", "employee", "staff", "user", "customer", "full",
           "legal", "maiden", "birth"}


def _words(tokens: list[str]) -> list[str]:
    """The tokens that are words (digits dropped), with adjacent pairs joined too."""
    words = [t for t in tokens if not t.isdigit()]
    return words + [a + b for a, b in zip(words, words[1:], strict=False)]


def name_hint(tokens: list[str]) -> str | None:
    """What a column name says about personal data: a personal kind, ``"name"`` (a
    person's name, first or full to be told by the values) or ``None``.

    Examples
    --------
    >>> [name_hint(t) for t in (["e", "mail"], ["mobile"], ["first", "name"], ["surname"],
    ...                          ["patient", "name"], ["name"], ["drug", "name"], ["age"])]
    ['email', 'phone', 'first_name', 'last_name', 'name', 'name', None, None]
    """
    words = set(_words(tokens))
    if words & _EMAIL_WORDS:
        return "email"
    if words & _PHONE_WORDS:
        return "phone"
    if words & _ADDRESS_WORDS:
        return "address"
    if words & _FIRST_WORDS or {"first", "given"} & words and "name" in words:
        return "first_name"
    if words & _LAST_WORDS or {"last", "family"} & words and "name" in words:
        return "last_name"
    plain = [t for t in tokens if not t.isdigit()]
    if plain == ["name"] or (len(plain) == 2 and plain[1] == "name" and plain[0] in _PEOPLE):
        return "name"
    return None


@cache
def _provider(locale: str, module: str) -> Any:
    return importlib.import_module(f"faker.providers.{module}.{locale}").Provider


def _names(locale: str, attributes: tuple[str, ...]) -> list[str]:
    provider = _provider(locale, "person")
    found: list[str] = []
    for attribute in attributes:
        found += list(getattr(provider, attribute, None) or ())
    return found


@cache
def known_first_names() -> frozenset[str]:
    """Lower-case first names of every locale in :data:`NAME_LOCALES`."""
    return frozenset(name.lower() for locale in NAME_LOCALES for name in _names(
        locale, ("first_names", "first_names_female", "first_names_male")))


@cache
def known_last_names() -> frozenset[str]:
    """Lower-case last names of every locale in :data:`NAME_LOCALES`."""
    return frozenset(name.lower() for locale in NAME_LOCALES
                     for name in _names(locale, ("last_names",)))


def _share(values: pd.Series, test: Any) -> float:
    distinct = values.drop_duplicates()
    return float(distinct.map(test).mean()) if len(distinct) else 0.0


def _is_first_name(value: str) -> bool:
    return value.strip().lower() in known_first_names()


def _parts(value: str) -> list[str]:
    """The words of a full name, ``"Last, First"`` turned into ``["First", "Last"]``."""
    head, comma, tail = value.partition(",")
    words = (tail.split() + head.split()) if comma else value.split()
    return [w.strip(".") for w in words if w.strip(".")]


def _is_full_name(value: str) -> bool:
    parts = _parts(value)
    return (2 <= len(parts) <= 4 and all(_WORD.match(p) for p in parts)
            and parts[0].lower() in known_first_names()
            and (parts[-1].lower() in known_last_names() or len(parts[-1]) > 1))


def _is_word(value: str) -> bool:
    return bool(_WORD.match(value.strip()))


def personal_kind(tokens: list[str], text: pd.Series) -> tuple[str | None, str | None]:
    """Whether a text column holds personal data, from its name's ``tokens`` and its
    values ``text`` together: the personal kind (or ``None``) and a note when only the
    values said so.

    A name alone decides nothing (a ``name`` column of drug names is not a person's
    name); the values alone decide only when they leave no doubt (every value an
    e-mail address; nearly every distinct value a known first name or first-and-last
    name).

    Examples
    --------
    >>> text = pd.Series(["Anna", "John", "Maria", "Peter"] * 5)
    >>> personal_kind(["name"], text)
    ('first_name', None)
    >>> personal_kind(["name"], pd.Series(["aspirin", "ibuprofen"] * 10))
    (None, None)
    >>> personal_kind(["contact"], pd.Series(["a.b@x.org", "c@y.com"]))
    ('email', None)
    """
    hint = name_hint(tokens)
    sample = text.iloc[:5000].astype(str)
    if hint is None:
        if sample.str.fullmatch(EMAIL.pattern).all():
            return "email", None
        distinct = sample.nunique()
        if distinct >= UNNAMED_MIN_VALUES and _share(sample, _is_first_name) >= UNNAMED_SHARE:
            return "first_name", _values_note(text.name, "first names")
        if distinct >= UNNAMED_MIN_VALUES and _share(sample, _is_full_name) >= UNNAMED_SHARE:
            return "full_name", _values_note(text.name, "people's full names")
        return None, None
    if hint == "email":
        return ("email", None) if sample.str.fullmatch(EMAIL.pattern).mean() >= 0.9 else (
            None, None)
    if hint == "phone":
        digits = sample.str.count(r"\d")
        phone = sample.str.fullmatch(PHONE.pattern) & (digits >= 7)
        return ("phone", None) if phone.mean() >= 0.9 else (None, None)
    if hint == "address":
        has_letters = sample.str.contains(r"[^\W\d_]", regex=True)
        return ("address", None) if has_letters.mean() >= 0.9 else (None, None)
    if hint == "last_name":
        return ("last_name", None) if _share(sample, _is_word) >= 0.9 else (None, None)
    if hint == "first_name":
        return ("first_name", None) if _share(sample, _is_word) >= 0.9 else (None, None)
    # "name": a person's first name or full name, as the values say
    if _share(sample, _is_full_name) >= NAMED_SHARE:
        return "full_name", None
    if _share(sample, _is_first_name) >= NAMED_SHARE:
        return "first_name", None
    return None, None


def _values_note(name: Any, what: str) -> str:
    return (f"column {name!r} holds {what} and is treated as personal data (fresh values "
            "are generated, never the real ones); give it another kind in the metadata if "
            "it holds something else")


# generation --------------------------------------------------------------------------------
def _case_style(values: pd.Series) -> str:
    """``"upper"``, ``"lower"`` or ``"title"``: how most values are written."""
    letters = values.astype(str).str.replace(r"[^\w]", "", regex=True)
    styles = np.where(letters.str.isupper(), "upper",
                      np.where(letters.str.islower(), "lower", "title"))
    return Counter(styles.tolist()).most_common(1)[0][0] if len(styles) else "title"


def _styled(values: np.ndarray, style: str) -> np.ndarray:
    series = pd.Series(values, dtype=object).astype(str)
    if style == "upper":
        return series.str.upper().to_numpy(dtype=object)
    if style == "lower":
        return series.str.lower().to_numpy(dtype=object)
    return series.to_numpy(dtype=object)


def phone_template(value: str) -> str:
    """A phone number's layout: digits as ``#``, a leading ``+`` country code kept.

    Examples
    --------
    >>> phone_template("+44 20 7946 0958"), phone_template("(555) 123-4567")
    ('+44 ## #### ####', '(###) ###-####')
    """
    match = re.match(r"^(\+\d{1,3})(.*)$", value)
    head, rest = (match.group(1), match.group(2)) if match else ("", value)
    return head + re.sub(r"\d", "#", rest)


@cache
def _generation_lists() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Names to generate from, with their relative frequencies (uniform where a list has
    none), and street suffixes."""
    lists: dict[str, tuple[list[str], list[float]]] = {"first": ([], []), "last": ([], []),
                                                       "suffix": ([], [])}
    for locale in GENERATION_LOCALES:
        provider = _provider(locale, "person")
        for key, attributes in (("first", ("first_names_female", "first_names_male")),
                                ("last", ("last_names",))):
            for attribute in attributes:
                names = getattr(provider, attribute, None) or ()
                weights = (list(names.values()) if isinstance(names, dict)
                           else [1.0 / max(len(names), 1)] * len(names))
                lists[key][0].extend(names)
                lists[key][1].extend(float(w) for w in weights)
        suffixes = getattr(_provider(locale, "address"), "street_suffixes", ())
        lists["suffix"][0].extend(suffixes)
        lists["suffix"][1].extend([1.0] * len(suffixes))
    out = {}
    for key, (names, weights) in lists.items():
        frame = pd.DataFrame({"name": names, "weight": weights}).groupby("name").sum()
        probabilities = frame["weight"].to_numpy(dtype=float)
        out[key] = (frame.index.to_numpy(dtype=object), probabilities / probabilities.sum())
    return out


def _digest(salt: str, value: str) -> str:
    return hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()[:16]


class PersonalFormat:
    """The format of one personal-data column, and fresh values in it.

    Learnt from the real values: their case (``ANNA``, ``anna``, ``Anna``), the order of
    full names (``First Last`` or ``Last, First``), the layouts of phone numbers (with
    their frequencies; a leading ``+`` country code kept). Salted hashes of the real
    values (never the values) rule out generating one of them; e-mail addresses use the
    reserved ``example.*`` domains, so no generated address can belong to anyone.

    Parameters
    ----------
    kind : str
        One of :data:`toolkit.adapters.kinds.PERSONAL_KINDS`.

    Examples
    --------
    >>> fmt = PersonalFormat("phone").fit(pd.Series(["(555) 123-4567", "(555) 987-6543"]),
    ...                                    np.random.default_rng(0))
    >>> values = fmt.generate(3, np.random.default_rng(1))
    >>> all(re.fullmatch(r"\\(\\d{3}\\) \\d{3}-\\d{4}", v) for v in values)
    True
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def fit(self, series: pd.Series, rng: np.random.Generator) -> PersonalFormat:
        """Learn the format of the real values ``series``."""
        text = series.dropna().astype(str)
        self.style_ = _case_style(text)
        self.comma_ = bool(self.kind == "full_name" and text.str.contains(",").mean() > 0.5)
        templates = Counter(phone_template(v.strip()) for v in text) if self.kind == "phone" \
            else Counter()
        common = templates.most_common(10) or [("###-###-####", 1)]
        self.templates_ = [t for t, _ in common]
        total = sum(c for _, c in common)
        self.template_weights_ = [c / total for _, c in common]
        self.salt_ = f"{rng.integers(2**62):x}"
        self.hashes_ = {self._digest(v) for v in text.unique()}
        return self

    def _digest(self, value: Any) -> str:
        """The salted hash a value is compared by: of its digits for a phone number (any
        layout), else of its lower-case text."""
        text = str(value).strip().lower()
        return _digest(self.salt_, re.sub(r"\D", "", text) if self.kind == "phone" else text)

    def _people(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        lists = _generation_lists()
        first = rng.choice(lists["first"][0], n, p=lists["first"][1])
        last = rng.choice(lists["last"][0], n, p=lists["last"][1])
        return first, last

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        first, last = self._people(n, rng)
        if self.kind == "first_name":
            return _styled(first, self.style_)
        if self.kind == "last_name":
            return _styled(last, self.style_)
        if self.kind == "full_name":
            joined = [f"{b}, {a}" if self.comma_ else f"{a} {b}"
                      for a, b in zip(first, last, strict=True)]
            return _styled(np.array(joined, dtype=object), self.style_)
        if self.kind == "email":
            number = rng.integers(1, 100, n)
            domain = rng.choice(EMAIL_DOMAINS, n)
            local = [f"{a}.{b}{k}".lower().replace(" ", "").replace("'", "")
                     for a, b, k in zip(first, last, number, strict=True)]
            return np.array([f"{p}@{d}" for p, d in zip(local, domain, strict=True)],
                            dtype=object)
        if self.kind == "phone":
            chosen = rng.choice(len(self.templates_), n, p=self.template_weights_)
            return np.array([self._fill(self.templates_[k], rng) for k in chosen], dtype=object)
        lists = _generation_lists()
        numbers = rng.integers(1, 9999, n)
        names = rng.choice(lists["last"][0], n, p=lists["last"][1])
        street = rng.choice(lists["suffix"][0], n, p=lists["suffix"][1])
        values = [f"{k} {b} {s}" for k, b, s in zip(numbers, names, street, strict=True)]
        return _styled(np.array(values, dtype=object), self.style_)

    @staticmethod
    def _fill(template: str, rng: np.random.Generator) -> str:
        digits = iter(rng.integers(0, 10, template.count("#")).tolist())
        return re.sub("#", lambda _: str(next(digits)), template)

    def generate(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` fresh values in the column's format, none of them a real value."""
        values = self._draw(n, rng)
        for _ in range(20):
            real = np.array([self._digest(v) in self.hashes_ for v in values])
            if not real.any():
                return values
            values[real] = self._draw(int(real.sum()), rng)
        real = np.array([self._digest(v) in self.hashes_ for v in values])
        values[real] = [f"{v}{k}" for k, v in enumerate(values[real])]  # a name space this small
        return values

    def to_dict(self) -> dict[str, Any]:
        """The learnt format as JSON-ready data (hashes, never the real values)."""
        return {"style": self.style_, "comma": self.comma_, "templates": self.templates_,
                "template_weights": self.template_weights_, "salt": self.salt_,
                "hashes": sorted(self.hashes_)}

    @classmethod
    def from_dict(cls, kind: str, state: dict[str, Any]) -> PersonalFormat:
        """Rebuild a format written by :meth:`to_dict`."""
        fmt = cls(kind)
        fmt.style_, fmt.comma_ = state["style"], bool(state["comma"])
        fmt.templates_ = list(state["templates"])
        fmt.template_weights_ = [float(w) for w in state["template_weights"]]
        fmt.salt_, fmt.hashes_ = state["salt"], set(state["hashes"])
        return fmt
