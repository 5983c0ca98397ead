"""CSV files as typed tables: the dialect sniffed, every column read as text, then typed.

pandas' own CSV parser guesses types value by value and loses what the file said:
``05401`` becomes the number 5401, an integer column with one blank becomes floats
(written back as ``456.0``) and ``TRUE`` comes back as ``True``. Here every column
is first read as text (pyarrow's multi-threaded reader) and then given the
narrowest type that keeps every value exactly as written:

* whole numbers without leading zeros: ``int64``, or pandas' nullable ``Int64``
  when the column has blanks;
* decimal numbers (``1.5``, ``-2e3``; with a decimal comma in ``;``-separated
  files from spreadsheets): ``float64``;
* everything else stays text (``object`` with NaN for missing values): codes with
  leading zeros, booleans in the file's own spelling, dates in their own format.

Missing markers are pandas' defaults (empty, ``NA``, ``n/a``, ``NULL``, ...). The
delimiter is sniffed among ``, ; TAB |``; a file whose delimiter cannot be told
is refused naming the candidates.

A file ending in ``.csv.gz``, ``.csv.bz2``, ``.csv.zst`` (or ``.zstd``), ``.csv.lz4`` or
``.csv.br`` is decompressed while it is read (:data:`COMPRESSIONS`). A file whose bytes are
not text (compressed, a zip archive or workbook, a PDF, binary data) is refused in one
line saying what it looks like, before any of it is parsed. Header fields that are empty
over a column that is empty in every row (``a,b,,`` as spreadsheets export trailing
columns) are dropped with an :class:`~toolkit.exceptions.InferenceWarning`.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import re
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.exceptions import DataError, InferenceWarning

#: markers read as missing values (pandas' defaults)
NA_VALUES = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
             "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null")
DELIMITERS = (",", ";", "\t", "|")
#: bytes read to sniff the dialect
SNIFF_BYTES = 1 << 16

_INTEGER = r"^\s*[+-]?(0|[1-9][0-9]*)\s*$"
#: a decimal number or infinity, matched ignoring case (``1.5``, ``-2E3``, ``Inf``)
_NUMBER = (r"^\s*[+-]?(((0|[1-9][0-9]*)({point}[0-9]*)?|{point}[0-9]+)([eE][+-]?[0-9]+)?"
           r"|inf|infinity)\s*$")
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?(0|[1-9][0-9]*),[0-9]+\s*$")


@dataclass(frozen=True)
class Dialect:
    """How a CSV file is written: field delimiter, decimal mark, text encoding, whether it
    starts with a UTF-8 byte order mark, and its line ends.

    Examples
    --------
    >>> from toolkit.io.csvfiles import Dialect
    >>> Dialect(";", ",").describe()
    "';'-separated, decimal comma, utf-8"
    >>> Dialect(bom=True, line_end="\\r\\n").describe()
    "','-separated, utf-8 with a byte order mark, CRLF line ends"
    >>> Dialect("\\t").to_dict()
    {'delimiter': '\\t', 'decimal': '.', 'encoding': 'utf-8', 'bom': False, 'line_end': '\\n'}
    >>> table = pd.DataFrame({"x": [1.5]})
    >>> table.attrs["csv"] = Dialect("|", encoding="cp1252").to_dict()  # as read_csv leaves it
    >>> Dialect.of(table), Dialect.of(pd.DataFrame())
    (Dialect(delimiter='|', decimal='.', encoding='cp1252', bom=False, line_end='\\n'),
     Dialect(delimiter=',', decimal='.', encoding='utf-8', bom=False, line_end='\\n'))
    >>> Dialect.of_dict({"delimiter": ";"})  # saved before BOMs and line ends were kept
    Dialect(delimiter=';', decimal='.', encoding='utf-8', bom=False, line_end='\\n')
    """

    delimiter: str = ","
    decimal: str = "."
    encoding: str = "utf-8"
    bom: bool = False
    line_end: str = "\n"

    def to_dict(self) -> dict[str, str | bool]:
        """The dialect as plain data (what ``DataFrame.attrs["csv"]`` holds)."""
        return {"delimiter": self.delimiter, "decimal": self.decimal, "encoding": self.encoding,
                "bom": self.bom, "line_end": self.line_end}

    @classmethod
    def of_dict(cls, data: dict) -> Dialect:
        """The dialect :meth:`to_dict` wrote; keys it lacks take their defaults."""
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Dialect:
        """The dialect a table was read in (``frame.attrs["csv"]``), else the default."""
        return cls.of_dict(frame.attrs.get("csv", {}))

    def describe(self) -> str:
        """The dialect in words, e.g. ``"';'-separated, decimal comma, utf-8"``."""
        name = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'"}[self.delimiter]
        comma = ", decimal comma" if self.decimal == "," else ""
        bom = " with a byte order mark" if self.bom else ""
        crlf = ", CRLF line ends" if self.line_end == "\r\n" else ""
        return f"{name}-separated{comma}, {self.encoding}{bom}{crlf}"


#: compressed CSV files, read as they are decompressed (pyarrow's codecs), by last suffix
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd", ".lz4": "lz4",
                ".br": "brotli"}
#: the first bytes of files that are not text, and what they are (brotli has no signature)
SIGNATURES = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"),
              (b"\x04\x22\x4d\x18", "lz4"), (b"\xfd7zXZ\x00", "xz"), (b"PK\x03\x04", "zip"),
              (b"PK\x05\x06", "zip"), (b"%PDF-", "pdf"), (b"PAR1", "parquet"),
              (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "office"), (b"\xff\xfe", "utf-16"),
              (b"\xfe\xff", "utf-16"))
_BZIP2 = re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)")
#: control characters (besides tab, line ends and form feeds) that text hardly holds
_CONTROL = re.compile(rb"[\x01-\x08\x0e-\x1a\x1c-\x1f]")


def compression_of(path: str | Path) -> str | None:
    """The codec a file is compressed with, by its last suffix (:data:`COMPRESSIONS`).

    Examples
    --------
    >>> compression_of("visits.csv.gz"), compression_of("visits.CSV.ZST"), compression_of("a.csv")
    ('gzip', 'zstd', None)
    """
    return COMPRESSIONS.get(Path(path).suffix.lower())


def signature_of(head: bytes) -> str | None:
    """What a file starting with the bytes ``head`` is, when they are the signature of a file
    that is not text (:data:`SIGNATURES`: ``"gzip"``, ``"zip"``, ``"pdf"`` ...), else ``None``.

    Examples
    --------
    >>> signature_of(b"\\x1f\\x8b\\x08\\x00"), signature_of(b"%PDF-1.7"), signature_of(b"id,age")
    ('gzip', 'pdf', None)
    """
    for prefix, kind in SIGNATURES:
        if not head.startswith(prefix):
            continue
        if kind == "bz2" and not _BZIP2.match(head):
            continue  # "BZh" is text unless a block size and a block's (or the end's) magic follow
        if kind == "parquet" and b"\x00" not in head:
            continue  # a header starting with PAR1 is text
        return kind
    return None


def _looks_like(kind: str, path: Path) -> str:
    """The words for a file ``path`` whose bytes are of ``kind`` (see :func:`signature_of`)."""
    base = path.with_suffix("") if compression_of(path) else path
    codecs_suffix = {codec: suffix for suffix, codec in reversed(COMPRESSIONS.items())}
    if kind in codecs_suffix:
        return f"it looks {kind}-compressed (rename it {base.name}{codecs_suffix[kind]})"
    return {
        "xz": "it looks xz-compressed, which is not read (decompress it first)",
        "zip": "it looks like a zip archive (an Excel .xlsx workbook is one: save the sheet "
               "as CSV)",
        "office": "it looks like an Excel .xls workbook or another Office file (save the "
                  "sheet as CSV)",
        "pdf": "it looks like a PDF document",
        "parquet": f"it looks like a Parquet file (rename it {base.with_suffix('.parquet').name})",
        "utf-16": "it is UTF-16 text, which is not read (save it as UTF-8 CSV)",
    }.get(kind, "it looks like binary data")


def open_bytes(path: str | Path):
    """The bytes of the file ``path``, decompressed when its suffix names a codec: a
    pyarrow stream (read in C++, so that pyarrow's reader runs no Python code)."""
    import pyarrow as pa

    codec = compression_of(path)
    raw = pa.OSFile(str(path))
    return raw if codec is None else pa.CompressedInputStream(raw, codec)


def _decode(sample: bytes) -> tuple[str, str] | None:
    """The sample as text and its encoding: UTF-8, else Windows-1252 (spreadsheet exports);
    ``None`` when it is neither (bytes that Windows-1252 leaves undefined)."""
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            return sample[: len(sample) - cut].decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            continue
    try:
        return sample.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return None


def _sample(path: Path) -> tuple[bytes, bool]:
    """The first :data:`SNIFF_BYTES` of the file's text (decompressed) and whether that is
    all of it, after checking that its bytes are text.

    Raises
    ------
    DataError
        For an empty file, a compressed file whose bytes are not of its codec, or bytes
        that are not text, saying what they look like.
    """
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head:
        raise DataError(f"{path} is empty")
    kind = signature_of(head)
    codec = compression_of(path)
    if codec is not None and codec != "brotli" and kind != codec:
        words = _looks_like(kind, path) if kind else (
            f"it looks like plain text (rename it {path.with_suffix('').name})")
        raise DataError(f"{path} is not {codec}-compressed: {words}")
    try:
        with open_bytes(path) as stream:
            sample = stream.read(SNIFF_BYTES)
            complete = len(stream.read(1)) == 0
    except OSError as error:  # pyarrow's decompression errors
        raise DataError(f"cannot read {path}: {error}") from None
    kind = signature_of(sample[:16]) if codec is not None else kind
    if kind is not None:
        raise DataError(f"{path} is not a text CSV: {_looks_like(kind, path)}")
    if (b"\x00" in sample or _decode(sample) is None
            or len(_CONTROL.findall(sample)) > 0.01 * len(sample)):
        raise DataError(f"{path} is not a text CSV: it looks like binary data")
    return sample, complete


def sniff_dialect(path: Path) -> Dialect:
    """Find the delimiter, decimal mark, encoding, byte order mark and line ends of a CSV
    file from its first lines.

    The delimiter is the candidate that splits the header into the most fields
    while most of the following lines have as many; a file with one field per
    line is a one-column table. The line ends are those of the first line.

    Raises
    ------
    DataError
        When the file is empty or not text (see :func:`signature_of`), or its lines
        disagree with every candidate delimiter.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.csvfiles import sniff_dialect
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "labs.csv"
    >>> _ = path.write_text("id;chol;zip\\n1;1,5;05401\\n2;;02134\\n")
    >>> sniff_dialect(path)
    Dialect(delimiter=';', decimal=',', encoding='utf-8', bom=False, line_end='\\n')
    >>> _ = path.write_bytes(b"\\xef\\xbb\\xbfid,age\\r\\n1,50\\r\\n")  # as Excel saves "CSV UTF-8"
    >>> sniff_dialect(path)
    Dialect(delimiter=',', decimal='.', encoding='utf-8', bom=True, line_end='\\r\\n')
    >>> folder.cleanup()
    """
    sample, complete = _sample(path)
    text, encoding = _decode(sample)
    bom = encoding == "utf-8" and sample.startswith(codecs.BOM_UTF8)
    end = text.find("\n")
    line_end = "\r\n" if end > 0 and text[end - 1] == "\r" else "\n"
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off
    lines = [line for line in lines[:200] if line.strip()]
    if not lines:
        return Dialect(encoding=encoding, bom=bom, line_end=line_end)
    best: tuple[int, str] | None = None
    for delimiter in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delimiter))
        width = len(rows[0])
        if width < 2:
            continue
        agreeing = sum(len(row) == width for row in rows[1:])
        if len(rows) > 1 and agreeing < 0.9 * (len(rows) - 1):
            continue
        if best is None or width > best[0]:
            best = (width, delimiter)
    if best is None:
        widths = {d: len(next(csv.reader(lines[:1], delimiter=d))) for d in DELIMITERS}
        if max(widths.values()) > 1:
            raise DataError(
                f"cannot tell the delimiter of {path}: its lines have different numbers of "
                "fields with every candidate (',', ';', tab, '|')")
        return Dialect(encoding=encoding, bom=bom, line_end=line_end)
    delimiter = best[1]
    decimal = "."
    if delimiter == ";":
        fields = [field for row in csv.reader(lines[1:], delimiter=";") for field in row]
        if any(_DECIMAL_COMMA.match(field) for field in fields):
            decimal = ","
    return Dialect(delimiter, decimal, encoding, bom, line_end)


def _arrow_options(dialect: Dialect, block_size: int | None = None) -> dict:
    """pyarrow's options for reading a file of ``dialect`` from UTF-8 (see :func:`_utf8_text`)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(**({"block_size": block_size} if block_size else {}))
    parse = pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True)
    convert = pacsv.ConvertOptions(default_column_type=pa.string(), null_values=list(NA_VALUES),
                                   strings_can_be_null=True, quoted_strings_can_be_null=True)
    return {"read_options": read, "parse_options": parse, "convert_options": convert}


def _transcode(path: Path, encoding: str, target: Path) -> None:
    """Write the text of ``path`` (decompressed), in ``encoding``, to ``target`` as UTF-8.

    Raises
    ------
    DataError
        At the first byte that is not ``encoding`` text.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open_bytes(path) as source, target.open("wb") as utf8:
        while True:
            block = source.read(1 << 22)
            try:
                utf8.write(decoder.decode(block, final=not block).encode("utf-8"))
            except UnicodeDecodeError as error:
                raise DataError(f"{path} is not a text CSV: it looks like binary data (byte "
                                f"{offset + error.start:,} is not {encoding} text)") from None
            if not block:
                return
            offset += len(block)


@contextlib.contextmanager
def _utf8_text(path: Path, dialect: Dialect) -> Iterator:
    """The text of ``path`` for pyarrow's CSV reader, as a pyarrow stream of UTF-8: the file
    itself (decompressed), or a UTF-8 copy in a temporary folder of a file in another
    encoding, removed afterwards.

    pyarrow's own transcoding runs Python's codecs on its I/O threads; one still at work
    while Python exits after an error aborts the process ("terminate called without an
    active exception", exit 134). Reading only UTF-8 from a pyarrow stream, the reader
    runs no Python code.
    """
    if dialect.encoding == "utf-8":
        with open_bytes(path) as stream:
            yield stream
        return
    with tempfile.TemporaryDirectory(prefix="toolkit-csv-") as folder:
        copy = Path(folder) / "utf-8.csv"
        _transcode(path, dialect.encoding, copy)
        with open_bytes(copy) as stream:
            yield stream


def _check_names(names: list[str], path: Path) -> None:
    named = [name for name in names if name.strip()]
    duplicated = sorted({name for name in named if named.count(name) > 1})
    if duplicated:
        raise DataError(f"{path} has duplicate column names: {duplicated}")


def _unnamed(names: list[str]) -> list[int]:
    """Positions of the header fields that are empty (or blank)."""
    return [i for i, name in enumerate(names) if not name.strip()]


def _without_unnamed(table, unnamed: list[int], path: Path):
    """``table`` without its ``unnamed`` columns, each of which must be empty (missing or
    blank) in every row.

    Raises
    ------
    DataError
        For an unnamed column that holds a value.
    """
    import pyarrow.compute as pc

    for position in unnamed:
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(table.column(position)), ""), True)
        if not pc.all(blank).as_py():
            raise DataError(f"{path} has a column without a name in its header")
    return table.select([i for i in range(table.num_columns) if i not in unnamed])


def _warn_unnamed(unnamed: list[int], path: Path) -> None:
    if unnamed:
        warnings.warn(f"dropped {len(unnamed)} empty column(s) without a name in the header of "
                      f"{path} (field(s) {', '.join(str(i + 1) for i in unnamed)}), as "
                      "spreadsheets export trailing columns", InferenceWarning, stacklevel=3)


def _whole_number_text(values):
    """Text of whole numbers as pyarrow casts it: no surrounding spaces, no leading ``+``."""
    import pyarrow.compute as pc

    return pc.utf8_ltrim(pc.utf8_trim_whitespace(values), characters="+")


#: what :func:`_whole_numbers` returns for whole numbers longer than int64
_TOO_LONG = "too long"


def _whole_numbers(values):
    """``values`` as an int64 array when every value (nulls aside) is a whole number as the
    module docstring defines them (no leading zeros), :data:`_TOO_LONG` when they are whole
    numbers but one is beyond int64 (an identifier or code), else ``None``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # the common case first: plain digits, as str(int) writes them (one cheap pass)
        numbers = pc.cast(values, pa.int64())
        if pc.all(pc.equal(pc.cast(numbers, pa.string()), values), min_count=0).as_py():
            return numbers
    except pa.ArrowInvalid:
        pass
    if not pc.all(pc.match_substring_regex(values, _INTEGER), min_count=0).as_py():
        return None  # spaces, a sign or "-0" are allowed below; leading zeros are not
    try:
        return pc.cast(_whole_number_text(values), pa.int64())
    except pa.ArrowInvalid:  # longer than int64
        return _TOO_LONG


def column_plan(values, decimal: str = ".") -> str:
    """The type a text column gets: ``"int"``, ``"float"`` or ``"text"`` (see the module doc).

    Parameters
    ----------
    values : pyarrow.Array or ChunkedArray of strings
        The column as read, nulls for missing values.
    decimal : {".", ","}
        The file's decimal mark.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from toolkit.io.csvfiles import column_plan
    >>> column_plan(pa.array(["1", " 2", None])), column_plan(pa.array(["05401", "2"]))
    ('int', 'text')
    >>> column_plan(pa.array(["1.5", "-2e3", "inf"])), column_plan(pa.array(["1,5"]), ",")
    ('float', 'float')
    >>> column_plan(pa.array(["99999999999999999999"]))  # longer than int64: a code
    'text'
    """

    if values.null_count == len(values):
        return "text"
    numbers = _whole_numbers(values)
    if numbers is _TOO_LONG:
        return "text"  # longer than int64: an identifier or code, not a quantity
    if numbers is not None:
        return "int"
    return "float" if _all_numbers(values, decimal) else "text"


def _all_numbers(values, decimal: str) -> bool:
    """Whether every value (nulls aside) is a decimal number or infinity."""
    import pyarrow.compute as pc

    number = _NUMBER.replace("{point}", re.escape(decimal))
    return pc.all(pc.match_substring_regex(values, number, ignore_case=True),
                  min_count=0).as_py()


def convert_column(values, plan: str, decimal: str = ".") -> pd.Series:
    """The text column ``values`` as a pandas Series of the ``plan``'s type.

    Raises
    ------
    ValueError
        When a value does not fit the plan (a later chunk of a streamed file).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from toolkit.io.csvfiles import convert_column
    >>> convert_column(pa.array(["1", None, "3"]), "int").tolist()  # a blank: nullable Int64
    [1, <NA>, 3]
    >>> convert_column(pa.array(["1,5", "2"]), "float", ",").tolist()
    [1.5, 2.0]
    >>> convert_column(pa.array(["1", "x"]), "int")
    Traceback (most recent call last):
    ...
    ValueError: values that are not whole numbers
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if plan == "text":
        text = values.to_numpy(zero_copy_only=False)  # object: str, None where missing
        if values.null_count:
            text[pc.is_null(values).to_numpy(zero_copy_only=False)] = np.nan
        return pd.Series(text, dtype=object)
    # each chunk is checked against its plan as the first rows were
    if plan == "int":
        numbers = _whole_numbers(values)
        if numbers is None or numbers is _TOO_LONG:
            raise ValueError("values that are not whole numbers")
        if numbers.null_count:
            return numbers.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
        return pd.Series(numbers.to_numpy(), dtype=np.int64)
    if not _all_numbers(values, decimal):
        raise ValueError("values that are not numbers")
    numbers = None
    if decimal == ".":
        # no spaces around the numbers (the usual case): no trimmed copy
        with contextlib.suppress(pa.ArrowInvalid):
            numbers = pc.cast(values, pa.float64())
    if numbers is None:
        trimmed = pc.utf8_trim_whitespace(values)
        if decimal == ",":
            trimmed = pc.replace_substring(trimmed, ",", ".")
        numbers = pc.cast(trimmed, pa.float64())
    return pd.Series(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)


def convert_leniently(values, plan: str, decimal: str = ".") -> pd.Series:
    """``values`` as :func:`convert_column` types them for ``plan``, or, when some do not fit
    the plan, as an object column of what each one is: a number where the text is one
    (under the ``"int"`` plan whole numbers as ``int``), else the text as written; missing
    values are NaN either way.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from toolkit.io.csvfiles import convert_leniently
    >>> convert_leniently(pa.array(["1", "2"]), "int").dtype  # all fit: typed as the plan
    dtype('int64')
    >>> convert_leniently(pa.array(["1", "<5", None, "2,5"]), "int", ",").tolist()
    [1, '<5', nan, 2.5]
    """
    import pyarrow.compute as pc

    with contextlib.suppress(ValueError):
        return convert_column(values, plan, decimal)
    cells = convert_column(values, "text").to_numpy()
    number = _NUMBER.replace("{point}", re.escape(decimal))
    is_number = pc.fill_null(pc.match_substring_regex(values, number, ignore_case=True), False)
    mask = is_number.to_numpy(zero_copy_only=False)
    if mask.any():
        numbers = values.filter(is_number)
        found = convert_column(numbers, "float", decimal).to_numpy().astype(object)
        if plan == "int":
            whole = pc.match_substring_regex(numbers, _INTEGER).to_numpy(zero_copy_only=False)
            found[whole] = [int(text) for text in cells[mask][whole]]
        cells[mask] = found
    return pd.Series(cells, dtype=object)


def _typed_frame(table, plans: dict[str, str], dialect: Dialect, offset: int = 0,
                 lenient: bool = False) -> pd.DataFrame:
    columns = {}
    for name, values in zip(table.column_names, table.columns, strict=True):
        if lenient:
            columns[name] = convert_leniently(values, plans[name], dialect.decimal)
            continue
        try:
            columns[name] = convert_column(values, plans[name], dialect.decimal)
        except ValueError as error:
            raise DataError(f"column {name!r} changes type after row {offset:,}: it holds "
                            f"{error} below the rows the reader typed it from") from None
    return pd.DataFrame(columns)


def read_csv(path: Path) -> pd.DataFrame:
    """Read a whole CSV file (or a compressed one: see :data:`COMPRESSIONS`) as a typed
    DataFrame (see the module docstring).

    The dialect is kept in ``frame.attrs["csv"]`` (as :meth:`Dialect.to_dict`), so
    that output can be written in the same dialect.

    Raises
    ------
    DataError
        For an unreadable file or one that is not text, duplicate column names, a column
        without a name that holds values, or a ragged row.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.csvfiles import read_csv
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "labs.csv"
    >>> _ = path.write_text("id;chol;zip\\n1;1,5;05401\\n2;;02134\\n")
    >>> table = read_csv(path)
    >>> table.to_dict("list")  # leading zeros kept, decimal commas read
    {'id': [1, 2], 'chol': [1.5, nan], 'zip': ['05401', '02134']}
    >>> table.attrs["csv"]
    {'delimiter': ';', 'decimal': ',', 'encoding': 'utf-8', 'bom': False, 'line_end': '\\n'}
    >>> folder.cleanup()
    """
    import pyarrow.csv as pacsv

    dialect = sniff_dialect(path)
    with _utf8_text(path, dialect) as text:
        table = pacsv.read_csv(text, **_arrow_options(dialect))
    _check_names(table.column_names, path)
    unnamed = _unnamed(table.column_names)
    table = _without_unnamed(table, unnamed, path)
    _warn_unnamed(unnamed, path)
    plans = {name: column_plan(table.column(name), dialect.decimal)
             for name in table.column_names}
    frame = _typed_frame(table, plans, dialect)
    frame.attrs["csv"] = dialect.to_dict()
    return frame


def iter_csv(path: Path, chunk_rows: int,
             plans: dict[str, str] | None = None) -> Iterator[pd.DataFrame]:
    """Read a CSV file ``chunk_rows`` rows at a time, every chunk typed like the first.

    Parameters
    ----------
    path : Path
        A CSV file, or a compressed one (see :data:`COMPRESSIONS`).
    chunk_rows : int
    plans : dict of str to {"int", "float", "text"}, optional
        The type of each column, instead of the first chunk's (what a model expects:
        the types then do not depend on where the chunks start). No chunk is refused:
        a value that does not fit its column's plan is kept (see
        :func:`convert_leniently`). Columns ``plans`` does not name are text.

    Raises
    ------
    DataError
        As :func:`read_csv`, and, without ``plans``, when a later chunk holds a value that
        does not fit the type of its column in the first chunk (e.g. text in a number
        column).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.csvfiles import iter_csv
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "counts.csv"
    >>> _ = path.write_text("x\\n0\\n1\\n2\\n<5\\n4\\n")
    >>> [chunk["x"].tolist() for chunk in iter_csv(path, 2, plans={"x": "int"})]
    [[0, 1], [2, '<5'], [4]]
    >>> next(iter_csv(path, 2))["x"].dtype, next(iter_csv(path, 4))["x"].dtype
    (dtype('int64'), dtype('O'))
    >>> folder.cleanup()
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    dialect = sniff_dialect(path)
    lenient = plans is not None
    with _utf8_text(path, dialect) as text:
        reader = pacsv.open_csv(text, **_arrow_options(dialect, block_size=1 << 22))
        _check_names(reader.schema.names, path)
        unnamed = _unnamed(reader.schema.names)
        if plans is not None:
            plans = {name: plans.get(name, "text") for name in reader.schema.names}
        pending: list = []
        rows = offset = 0

        def emit(batches: list) -> pd.DataFrame:
            nonlocal plans
            table = pa.Table.from_batches(batches, schema=reader.schema)
            table = _without_unnamed(table, unnamed, path)
            if plans is None:
                plans = {name: column_plan(table.column(name), dialect.decimal)
                         for name in table.column_names}
            if offset == 0:
                _warn_unnamed(unnamed, path)
            frame = _typed_frame(table, plans, dialect, offset, lenient)
            frame.attrs["csv"] = dialect.to_dict()
            return frame

        for batch in reader:
            pending.append(batch)
            rows += batch.num_rows
            while rows >= chunk_rows:
                table = pa.Table.from_batches(pending, schema=reader.schema)
                head, tail = table.slice(0, chunk_rows), table.slice(chunk_rows)
                yield emit(head.to_batches())
                offset += chunk_rows
                pending, rows = tail.to_batches(), tail.num_rows
        if rows:
            yield emit(pending)


def _quoted(text, delimiter: str, line_end: str = "\n"):
    """Quote the fields of the Arrow string array ``text`` as Python's ``csv`` module does
    (``QUOTE_MINIMAL``): a field holding the delimiter, a quote, a newline or a character
    of the line end is enclosed in quotes, with its quotes doubled."""
    import pyarrow.compute as pc

    special = pc.match_substring_regex(text, "[" + re.escape(delimiter + line_end) + '"\n]')
    if not pc.any(special).as_py():
        return text
    doubled = pc.replace_substring(text, '"', '""')
    wrapped = pc.binary_join_element_wise('"', doubled, '"', "")
    return pc.if_else(special, wrapped, text)


def _csv_field_text(series: pd.Series, delimiter: str, line_end: str = "\n"):
    """The column as the Arrow strings ``DataFrame.to_csv`` writes for it (decimal point,
    missing values empty), or ``None`` for a type this fast path leaves to pandas."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "O":
        values = series.to_numpy()
        missing = pd.isna(values)
        try:
            text = pa.array(values, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            text = None
        if text is None or not (pa.types.is_string(text.type) or pa.types.is_null(text.type)):
            # numbers, booleans or a mix: str() of each value, as the csv module does
            text = pa.array([None if gone else str(v) for v, gone in zip(values, missing,
                                                                         strict=True)],
                            type=pa.string())
        return _quoted(text.cast(pa.string()), delimiter, line_end)
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
        return pc.if_else(pa.array(series.to_numpy()), "True", "False")
    if pd.api.types.is_integer_dtype(dtype):  # int64 and the nullable Int64 family
        return pa.array(series, from_pandas=True).cast(pa.string())
    if dtype == np.float64:
        # numpy's str() of a float64, which is Python's repr(): whole numbers below 1e16
        # (not -0.0) are written "517.0", and Arrow's shortest text of the others from 1e-4
        # to 1e9 is repr's (tested on 20 million values; Arrow turns to exponents elsewhere)
        floats = series.to_numpy()
        size = np.abs(floats)
        whole = (size < 1e16) & (floats == np.round(floats)) & ~((floats == 0) &
                                                                 np.signbit(floats))
        missing = np.isnan(floats)
        text = pc.binary_join_element_wise(
            pa.array(np.where(whole, floats, 0).astype(np.int64)).cast(pa.string()), ".0", "")
        fractions = ~whole & ~missing
        if fractions.any():
            text = pc.if_else(pa.array(whole), text, pa.array(floats).cast(pa.string()))
        others = fractions & ~((size >= 1e-4) & (size < 1e9))
        if others.any():  # very small or large: repr() itself
            spelled = np.full(len(floats), None, dtype=object)
            spelled[others] = list(map(repr, floats[others].tolist()))
            text = pc.if_else(pa.array(others), pa.array(spelled, type=pa.string()), text)
        return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text)
    return None


def write_csv(frame: pd.DataFrame, path: str | Path, dialect: Dialect | None = None,
              header: bool = True, mode: str = "w") -> None:
    """Write ``frame`` as CSV text, byte for byte what ``DataFrame.to_csv`` writes.

    The same text as ``frame.to_csv(path, index=False, header=header, mode=mode,
    sep=dialect.delimiter, decimal=dialect.decimal, encoding=dialect.encoding,
    lineterminator=dialect.line_end)``, with a UTF-8 byte order mark first when the dialect
    has one and the file is new (``mode="w"``), built column by column with Arrow instead
    of row by row. Columns of other types than
    text, integers, booleans and ``float64`` (dates, categories, ``float32`` ...), and a
    decimal comma, are written by pandas itself.

    Parameters
    ----------
    frame : pandas.DataFrame
    path : str or Path
    dialect : Dialect, optional
        Delimiter, decimal mark, encoding, byte order mark and line ends [default:
        comma-separated UTF-8, ``\\n``].
    header : bool, default True
        Write the column names first.
    mode : {"w", "a"}
        Replace the file or append to it.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.csvfiles import write_csv
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "visits.csv"
    >>> table = pd.DataFrame({"id": [1, 2], "note": ["a;b", None], "bmi": [21.5, 30.0]})
    >>> write_csv(table, path, Dialect(";"))
    >>> path.read_text() == table.to_csv(index=False, sep=";")
    True
    >>> path.read_text()
    'id;note;bmi\\n1;"a;b";21.5\\n2;;30.0\\n'
    >>> write_csv(table, path, Dialect(bom=True, line_end="\\r\\n"))  # as Excel saves CSV UTF-8
    >>> path.read_bytes()[:16]
    b'\\xef\\xbb\\xbfid,note,bmi\\r\\n'
    >>> folder.cleanup()
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    dialect = dialect or Dialect()
    delimiter, line_end = dialect.delimiter, dialect.line_end
    bom = dialect.bom and mode == "w" and dialect.encoding == "utf-8"
    fields = None
    if dialect.decimal == "." and len(frame.columns) > 1 and len(frame) > 0:
        fields = []
        for position in range(len(frame.columns)):
            text = _csv_field_text(frame.iloc[:, position], delimiter, line_end)
            if text is None:
                fields = None
                break
            fields.append(pc.fill_null(text, ""))
    if fields is None:  # what the fast path does not cover (or gains nothing on)
        frame.to_csv(path, index=False, header=header, mode=mode, sep=delimiter,
                     decimal=dialect.decimal, lineterminator=line_end,
                     encoding="utf-8-sig" if bom else dialect.encoding)
        return
    rows = pc.binary_join_element_wise(*fields, delimiter)
    lines = pc.binary_join_element_wise(rows, "", line_end)  # each row and its line end
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[lines.offset:]
    body = memoryview(lines.buffers()[2])[offsets[0] : offsets[len(lines)]]
    with open(path, mode + "b") as handle:
        if bom:
            handle.write(codecs.BOM_UTF8)
        if header:
            names = _quoted(pa.array([str(name) for name in frame.columns], pa.string()),
                            delimiter, line_end)
            handle.write((delimiter.join(names.to_pylist()) + line_end).encode(dialect.encoding))
        if dialect.encoding.replace("-", "").lower() == "utf8":
            handle.write(body)
        else:
            handle.write(bytes(body).decode("utf-8").encode(dialect.encoding))
