"""Reading and writing tables: CSV or Parquet chosen by the file extension, written atomically.

CSV files are read with :mod:`toolkit.io.csvfiles` (dialect sniffed, types kept as the
file wrote them; ``.csv.gz`` and the other compressions of
:data:`~toolkit.io.csvfiles.COMPRESSIONS` decompressed as they are read) and written back in
the dialect they came in (uncompressed). Every output goes
to a temporary file in the target's folder that replaces the target only when
writing succeeded; it gets the permissions the umask gives a new file, and is
removed on an error, Ctrl-C or SIGTERM (the CLI turns SIGTERM into an exit that
runs the clean-up).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.exceptions import DataError, UsageError
from toolkit.io.csvfiles import Dialect, compression_of, iter_csv, read_csv, write_csv

#: the table files written (and read)
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def _suffix(path: Path, reading: bool = False) -> str:
    """The table format of ``path`` by its suffix: ``.csv``, ``.parquet`` or ``.pq``; a
    compressed CSV file (``.csv.gz`` ...) is ``.csv`` when ``reading``."""
    suffix = path.suffix.lower()
    if compression_of(path) and Path(path.stem).suffix.lower() == ".csv":
        if reading:
            return ".csv"
        raise UsageError(f"cannot write {path}: compressed CSV files are read, not written; "
                         "write a .csv file (and compress it afterwards) or a .parquet file")
    if suffix not in TABLE_SUFFIXES:
        raise UsageError(
            f"cannot tell the format of {path}: use a file ending in {', '.join(TABLE_SUFFIXES)}"
        )
    return suffix


def check_writable(path: str | Path, what: str = "output") -> Path:
    """Fail before any work when ``path`` cannot be written as a new or replaced file.

    Raises
    ------
    UsageError
        When ``path`` is a folder, its folder does not exist, is not a folder, or
        cannot be written to.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import check_writable
    >>> folder = tempfile.TemporaryDirectory()
    >>> check_writable(Path(folder.name) / "out.csv").name
    'out.csv'
    >>> check_writable(Path(folder.name) / "missing" / "out.csv")
    Traceback (most recent call last):
    ...
    toolkit.exceptions.UsageError: output folder does not exist: .../missing
    >>> folder.cleanup()
    """
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{what} {target} is a folder; give the path of a file to write")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.exists():
        raise UsageError(f"output folder does not exist: {folder}")
    if not folder.is_dir():
        raise UsageError(f"{what} {target}: {folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {target}: the folder {folder} is not writable")
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def check_distinct(inputs: dict[str, Path | None], outputs: dict[str, Path | None]) -> None:
    """Refuse an output path that is an input path or another output's path.

    Parameters
    ----------
    inputs, outputs : dict of str to Path or None
        ``{option name: path}``; ``None`` entries are ignored.

    Raises
    ------
    UsageError
        Naming both options, before anything is read or written.

    Examples
    --------
    >>> from toolkit.io.tables import check_distinct
    >>> check_distinct({"DATA": "visits.csv"}, {"--out": "synthetic.csv", "--json": None})
    >>> check_distinct({"DATA": "visits.csv"}, {"--out": "./visits.csv"})
    Traceback (most recent call last):
    ...
    toolkit.exceptions.UsageError: --out visits.csv is the input DATA; writing it would ...
    >>> check_distinct({}, {"--out": "a.csv", "--json": "a.csv"})
    Traceback (most recent call last):
    ...
    toolkit.exceptions.UsageError: --json and --out are the same file a.csv; give each ...
    """
    given_inputs = [(name, Path(p)) for name, p in inputs.items() if p is not None]
    given_outputs = [(name, Path(p)) for name, p in outputs.items() if p is not None]
    for position, (out_name, out) in enumerate(given_outputs):
        for in_name, source in given_inputs:
            if out.resolve() == source.resolve() or _same_file(out, source):
                raise UsageError(f"{out_name} {out} is the input {in_name}; writing it would "
                                 "destroy the input: choose another path")
        for other_name, other in given_outputs[:position]:
            if out.resolve() == other.resolve():
                raise UsageError(f"{out_name} and {other_name} are the same file {out}; "
                                 "give each output its own path")


def _new_file_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_path(path: str | Path) -> tuple[Path, Path]:
    """Return ``(target, temporary)`` paths for writing ``path`` atomically.

    Raises
    ------
    UsageError
        When ``path`` cannot be written (see :func:`check_writable`).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import atomic_path
    >>> folder = tempfile.TemporaryDirectory()
    >>> target, temporary = atomic_path(Path(folder.name) / "out.csv")
    >>> target.name, temporary.parent == target.parent, temporary.name.startswith(".out.csv.")
    ('out.csv', True, True)
    >>> temporary.exists()  # created empty: the caller writes it, then replaces the target
    True
    >>> folder.cleanup()
    """
    target = check_writable(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.",
                                             suffix=".tmp")
    except OSError as error:
        raise UsageError(f"cannot write {target}: {error.strerror}") from None
    os.close(handle)
    return target, Path(temporary)


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only when the block
    ends without an error, and is removed otherwise (no partial file is ever left).

    The file gets the permissions of a newly created file under the current umask.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import atomic_write
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_write(folder / "notes.txt") as temporary:
    ...     _ = temporary.write_text("complete")
    >>> [p.name for p in folder.iterdir()], (folder / "notes.txt").read_text()
    (['notes.txt'], 'complete')
    >>> with atomic_write(folder / "notes.txt") as temporary:
    ...     _ = temporary.write_text("half")
    ...     raise RuntimeError("the model failed")
    Traceback (most recent call last):
    ...
    RuntimeError: the model failed
    >>> [p.name for p in folder.iterdir()], (folder / "notes.txt").read_text()  # as it was
    (['notes.txt'], 'complete')
    >>> import shutil; shutil.rmtree(folder)
    """
    target, temporary = atomic_path(path)
    try:
        yield temporary
        os.chmod(temporary, _new_file_mode())
        os.replace(temporary, target)
    except OSError as error:
        raise DataError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)


def parquet_parts(path: str | Path) -> list[Path]:
    """The Parquet files of a folder (a table written in parts, as Spark and Dask do),
    in name order; empty when ``path`` is not a folder or holds no Parquet file."""
    path = Path(path)
    if not path.is_dir():
        return []
    return sorted(part for part in path.rglob("*") if part.is_file()
                  and part.suffix.lower() in (".parquet", ".pq")
                  and not part.name.startswith((".", "_")))


def _readable(path: str | Path) -> tuple[Path, str]:
    """``path`` and its table format, after checking that the file (or a folder of
    Parquet parts) exists."""
    path = Path(path)
    if path.is_dir():
        if not parquet_parts(path):
            raise DataError(f"{path} is a folder without Parquet files, not a table")
        return path, ".parquet"
    suffix = _suffix(path, reading=True)
    if not path.is_file():
        raise DataError(f"input file not found: {path}")
    return path, suffix


def _parquet_files(path: Path) -> list[Path]:
    return parquet_parts(path) or [path]


def count_rows(path: str | Path) -> int | None:
    """Rows of a Parquet file or folder, read from its metadata (``None`` for CSV,
    whose rows are only known once read)."""
    path, suffix = _readable(path)
    if suffix == ".csv":
        return None
    import pyarrow.parquet as pq

    with _reading(path):
        return sum(pq.ParquetFile(part).metadata.num_rows for part in _parquet_files(path))


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn the errors of reading ``path`` into one-line :class:`DataError` s."""
    import pyarrow as pa

    try:
        yield
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (OSError, ValueError, pd.errors.ParserError, pa.ArrowException) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        if "Empty CSV file" in first_line:
            raise DataError(f"{path} is empty") from None
        raise DataError(f"cannot read {path}: {first_line or type(error).__name__}") from None


def _check_scalar_columns(data: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Refuse Parquet columns of lists, maps or structs (one value per cell is modelled)."""
    for column in data.columns:
        if data[column].dtype == object:
            sample = data[column].dropna().head(100)
            nested = sample.map(lambda v: isinstance(v, (list, dict, tuple, set)) or (
                hasattr(v, "ndim") and getattr(v, "ndim", 0) > 0))
            if nested.any():
                raise DataError(f"column {column!r} of {path} holds lists or records; only one "
                                "value per cell can be modelled: flatten or drop the column")
    return data


def _parquet_frame(table, path: Path) -> pd.DataFrame:
    """An Arrow table or batch as pandas, integer columns with nulls as nullable ``Int64``
    (pandas' default turns them into floats, which would be written back as floats)."""
    import pyarrow as pa

    nullable = {pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(),
                pa.int32(): pd.Int32Dtype(), pa.int64(): pd.Int64Dtype(),
                pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
                pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype()}
    with_nulls = {field.name for field, column in zip(table.schema, table.columns, strict=True)
                  if field.type in nullable and column.null_count}
    frame = table.to_pandas()
    if with_nulls:
        typed = table.select(sorted(with_nulls)).to_pandas(types_mapper=nullable.get)
        for name in with_nulls:
            frame[name] = typed[name]
    return _check_scalar_columns(frame, path)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table, keeping types as the file wrote them.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` file (dialect sniffed: see :mod:`toolkit.io.csvfiles`) or a
        ``.parquet``/``.pq`` file.

    Returns
    -------
    pandas.DataFrame
        For CSV files, ``attrs["csv"]`` holds the dialect
        (see :class:`~toolkit.io.csvfiles.Dialect`).

    Raises
    ------
    UsageError
        For an unsupported extension.
    DataError
        For a missing, unreadable or empty file, or a Parquet column of lists.

    Examples
    --------
    >>> table = read_table("sample_data/patients.csv")
    >>> str(table["chol"].dtype), table.shape
    ('Int64', (418, 20))
    """
    path, suffix = _readable(path)
    with _reading(path):
        if suffix == ".csv":
            return read_csv(path)
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = [pq.read_table(part) for part in _parquet_files(path)]
        return _parquet_frame(pa.concat_tables(parts, promote_options="default"), path)


def write_table(data: pd.DataFrame, path: str | Path, dialect: Dialect | None = None) -> None:
    """Write ``data`` as CSV or Parquet, atomically (no partial file on failure).

    Parameters
    ----------
    data : pandas.DataFrame
    path : str or Path
    dialect : Dialect, optional
        The CSV dialect (delimiter, decimal mark, encoding) to write; by default
        ``data.attrs["csv"]`` when present, else plain comma-separated UTF-8.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.csvfiles import Dialect
    >>> from toolkit.io.tables import read_table, write_table
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "labs.csv"
    >>> table = pd.DataFrame({"id": [1, 2], "chol": [1.5, None]})
    >>> write_table(table, path, Dialect(";", ","))
    >>> path.read_text()
    'id;chol\\n1;1,5\\n2;\\n'
    >>> back = read_table(path)
    >>> back.equals(table), back.attrs["csv"]["delimiter"]
    (True, ';')
    >>> write_table(table, Path(folder.name) / "labs.parquet")
    >>> read_table(Path(folder.name) / "labs.parquet").equals(table)
    True
    >>> folder.cleanup()
    """
    suffix = _suffix(Path(path))
    with atomic_write(path) as temporary:
        if suffix == ".csv":
            _write_csv(data, temporary, dialect or Dialect.of(data))
        else:
            data.to_parquet(temporary, index=False)


def _write_csv(chunk: pd.DataFrame, path: Path, dialect: Dialect, header: bool = True,
               mode: str = "w") -> None:
    write_csv(chunk, path, dialect, header=header, mode=mode)  # DataFrame.to_csv's bytes


def iter_table(path: str | Path, chunk_rows: int,
               plans: dict[str, str] | None = None) -> Iterator[pd.DataFrame]:
    """Read a CSV or Parquet table ``chunk_rows`` rows at a time (memory bounded by the chunk).

    Raises the same errors as :func:`read_table`; a CSV chunk whose values do not fit
    the types read from the first chunk fails naming the column. With ``plans`` (the
    type of each CSV column: ``{"chol": "int", ...}``, see
    :func:`~toolkit.io.csvfiles.iter_csv`) a CSV file's columns are typed by them instead,
    whatever the chunks hold, and no chunk is refused; Parquet columns keep their types.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import iter_table, write_table
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "counts.parquet"
    >>> write_table(pd.DataFrame({"x": [0, 1, 2, 3, 4]}), path)
    >>> [chunk["x"].tolist() for chunk in iter_table(path, 2)]
    [[0, 1], [2, 3], [4]]
    >>> folder.cleanup()
    """
    path, suffix = _readable(path)
    with _reading(path):
        if suffix == ".csv":
            yield from iter_csv(path, chunk_rows, plans)
        else:
            import pyarrow.parquet as pq

            for part in _parquet_files(path):
                for batch in pq.ParquetFile(part).iter_batches(batch_size=chunk_rows):
                    yield _parquet_frame(batch, path)


def sample_table(path: str | Path, max_rows: int, seed: int, chunk_rows: int = 1 << 18,
                 observe: Callable[[pd.DataFrame], None] | None = None
                 ) -> tuple[pd.DataFrame, int]:
    """A uniform random sample of at most ``max_rows`` rows of a table file, read in one
    streamed pass, and the number of rows the file holds.

    Memory is bounded by about ``3 * max(max_rows, chunk_rows)`` rows whatever the size
    of the file: every row gets a random key and the ``max_rows`` smallest keys are kept
    (a bottom-k sample, uniform without replacement). A file of at most ``max_rows``
    rows is read whole. The sample keeps the file's row order and, for CSV, its
    dialect in ``attrs["csv"]``; a CSV file's column types are read from its first
    ``max(max_rows, chunk_rows)`` rows. ``observe`` is called with every chunk of a
    sampled file (to gather whole-table statistics in the same pass).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import sample_table, write_table
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "counts.parquet"
    >>> write_table(pd.DataFrame({"x": range(1000)}), path)
    >>> sample, rows = sample_table(path, 10, seed=0, chunk_rows=64)
    >>> len(sample), rows, sample["x"].is_monotonic_increasing
    (10, 1000, True)
    >>> folder.cleanup()
    """
    rows = count_rows(path)
    if rows is not None and rows <= max_rows:
        table = read_table(path)
        return table, len(table)
    rng = np.random.default_rng(seed)
    kept: list[pd.DataFrame] = []
    keys: list[np.ndarray] = []
    threshold, seen, attrs = np.inf, 0, {}

    def compact() -> float:
        nonlocal kept, keys
        frame, key = pd.concat(kept), np.concatenate(keys)
        order = np.argsort(key, kind="stable")[:max_rows]
        kept, keys = [frame.iloc[np.sort(order)]], [key[np.sort(order)]]
        return float(key[order[-1]]) if len(order) == max_rows else np.inf

    for chunk in iter_table(path, max(chunk_rows, max_rows)):
        attrs = chunk.attrs
        if observe is not None:
            observe(chunk)
        chunk_keys = rng.random(len(chunk))
        chunk.index = pd.RangeIndex(seen, seen + len(chunk))
        seen += len(chunk)
        chosen = chunk_keys < threshold
        kept.append(chunk[chosen])
        keys.append(chunk_keys[chosen])
        if sum(len(key) for key in keys) >= 2 * max_rows:
            threshold = compact()
    if not kept:
        return read_table(path), 0
    compact()
    sample = kept[0].reset_index(drop=True)
    sample.attrs = dict(attrs)
    return sample, seen


def sample_groups(path: str | Path, column: str, max_rows: int, seed: int,
                  chunk_rows: int = 1 << 18,
                  observe: Callable[[pd.DataFrame], None] | None = None
                  ) -> tuple[pd.DataFrame, int]:
    """A uniform random sample of whole groups of rows (the rows sharing a value of
    ``column``: a patient's history), at most ``max_rows`` rows in all (at least one group),
    read in one streamed pass, and the number of rows the file holds.

    As :func:`sample_table`, a bottom-k sample with memory bounded by about
    ``3 * max(max_rows, chunk_rows)`` rows, but the random key is a seeded hash of the
    group's value, shared by all its rows, so a group is kept or dropped whole wherever its
    rows lie in the file.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import sample_groups, write_table
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "visits.parquet"
    >>> write_table(pd.DataFrame({"id": [i % 50 for i in range(1000)]}), path)
    >>> sample, rows = sample_groups(path, "id", 100, seed=0, chunk_rows=64)
    >>> len(sample), rows, set(sample.groupby("id").size())
    (100, 1000, {20})
    >>> folder.cleanup()
    """
    rows = count_rows(path)
    if rows is not None and rows <= max_rows:
        table = read_table(path)
        return table, len(table)
    salt = f"{seed % 10**16:016d}"
    kept: list[pd.DataFrame] = []
    keys: list[np.ndarray] = []
    threshold, seen, attrs = np.inf, 0, {}

    def compact() -> float:
        nonlocal kept, keys
        frame, key = pd.concat(kept), np.concatenate(keys)
        distinct, sizes = np.unique(key, return_counts=True)
        fitting = max(1, int(np.searchsorted(np.cumsum(sizes), max_rows, side="right")))
        chosen = key <= distinct[fitting - 1]
        kept, keys = [frame[chosen]], [key[chosen]]
        return float(distinct[fitting]) if fitting < len(distinct) else np.inf

    for chunk in iter_table(path, max(chunk_rows, max_rows)):
        if column not in chunk.columns:
            raise DataError(f"{path} has no column {column!r} to sample patients by")
        attrs = chunk.attrs
        if observe is not None:
            observe(chunk)
        values = chunk[column].astype(str).to_numpy(dtype=object)
        chunk_keys = pd.util.hash_array(values, hash_key=salt) / 2.0**64
        chunk.index = pd.RangeIndex(seen, seen + len(chunk))
        seen += len(chunk)
        chosen = chunk_keys < threshold
        kept.append(chunk[chosen])
        keys.append(chunk_keys[chosen])
        if sum(len(key) for key in keys) >= 2 * max_rows:
            threshold = compact()
    if not kept:
        return read_table(path), 0
    compact()
    sample = kept[0].sort_index().reset_index(drop=True)
    sample.attrs = dict(attrs)
    return sample, seen


def _arrow_chunk(chunk: pd.DataFrame, schema):
    """``chunk`` as an Arrow table of ``schema`` (None: inferred, all-missing columns as text).

    Raises
    ------
    DataError
        For a column whose values do not fit one Parquet type (text among numbers, as
        :func:`~toolkit.io.csvfiles.convert_leniently` keeps them) or the column's type in
        ``schema``.
    """
    import pyarrow as pa

    if schema is None:
        try:
            table = pa.Table.from_pandas(chunk, preserve_index=False)
        except (pa.ArrowException, TypeError, ValueError):
            for column in chunk.columns:
                try:
                    pa.array(chunk[column], from_pandas=True)
                except (pa.ArrowException, TypeError, ValueError):
                    raise _misfit(chunk[column]) from None
            raise
        fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                  for f in table.schema]
        return table.cast(pa.schema(fields, metadata=table.schema.metadata))
    columns = {}
    for field in schema:
        values = chunk[field.name]
        try:
            columns[field.name] = pa.array(values, type=field.type, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            text = values.astype(str).where(values.notna(), None)  # e.g. numbers in a text column
            try:
                columns[field.name] = pa.array(text, type=pa.string()).cast(field.type)
            except (pa.ArrowException, TypeError, ValueError):
                raise _misfit(values) from None
    return pa.table(columns, schema=schema)


def _misfit(values: pd.Series) -> DataError:
    """The error for a column of a Parquet output whose ``values`` do not fit one type."""
    observed = values.dropna()
    example = next((v for v in observed if isinstance(v, str)),
                   observed.iloc[0] if len(observed) else None)
    return DataError(f"column {values.name!r} holds {example!r} among values of another type, "
                     "which a Parquet column cannot hold; write a .csv file, which keeps every "
                     "value as written")


@contextmanager
def table_writer(path: str | Path, dialect: Dialect | None = None
                 ) -> Iterator[Callable[[pd.DataFrame], None]]:
    """Write a table chunk by chunk: yields ``write(chunk)``; the file appears only on success.

    The chunks go to a temporary file in the target's folder, which replaces
    ``path`` when the block ends without an error and is removed otherwise. A
    Parquet file takes its schema from the first chunk (a column that is all
    missing there is text); CSV chunks are written in ``dialect`` (default: the
    first chunk's ``attrs["csv"]``, else comma-separated).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import table_writer
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = Path(folder.name) / "scores.csv"
    >>> with table_writer(path) as write:
    ...     write(pd.DataFrame({"x": [1, 2]}))
    ...     write(pd.DataFrame({"x": [3]}))
    >>> path.read_text()  # one header
    'x\\n1\\n2\\n3\\n'
    >>> folder.cleanup()
    """
    suffix = _suffix(Path(path))
    parquet_writer = None
    csv_dialect = dialect

    def write(chunk: pd.DataFrame) -> None:
        nonlocal parquet_writer, csv_dialect
        if suffix == ".csv":
            first = temporary.stat().st_size == 0
            csv_dialect = csv_dialect or Dialect.of(chunk)
            _write_csv(chunk, temporary, csv_dialect, header=first, mode="w" if first else "a")
            return
        import pyarrow.parquet as pq

        if parquet_writer is None:
            batch = _arrow_chunk(chunk, None)
            parquet_writer = pq.ParquetWriter(temporary, batch.schema)
        else:
            batch = _arrow_chunk(chunk, parquet_writer.schema)
        parquet_writer.write_table(batch)

    with atomic_write(path) as temporary:
        try:
            yield write
        finally:
            if parquet_writer is not None:
                parquet_writer.close()


@contextmanager
def parts_writer(folder: str | Path) -> Iterator[Callable[[pd.DataFrame], None]]:
    """Write a table as a folder of Parquet parts (``part-00000.parquet``, ...), one per
    chunk: yields ``write(chunk)``. The parts go to a hidden folder beside ``folder``
    that takes its place only when the block ends without an error (a folder of parts
    already there is replaced; any other folder is refused first, see
    :func:`check_parts_folder`). Every part has the first chunk's schema.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import parts_writer, read_table
    >>> folder = Path(tempfile.mkdtemp())
    >>> with parts_writer(folder / "synthetic") as write:
    ...     write(pd.DataFrame({"x": [1, 2]}))
    ...     write(pd.DataFrame({"x": [3]}))
    >>> sorted(p.name for p in (folder / "synthetic").iterdir())
    ['part-00000.parquet', 'part-00001.parquet']
    >>> read_table(folder / "synthetic")["x"].tolist()
    [1, 2, 3]
    >>> import shutil; shutil.rmtree(folder)
    """
    import shutil

    import pyarrow.parquet as pq

    target = check_parts_folder(folder)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    schema = None

    def write(chunk: pd.DataFrame) -> None:
        nonlocal schema
        batch = _arrow_chunk(chunk, schema)
        schema = batch.schema
        part = staging / f"part-{len(list(staging.iterdir())):05d}.parquet"
        pq.write_table(batch, part)

    try:
        yield write
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except OSError as error:
        raise DataError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_parts_folder(folder: str | Path, what: str = "output") -> Path:
    """Fail before any work when ``folder`` cannot take a table written in Parquet parts:
    it must be new, empty, or a folder of Parquet parts (which is replaced).

    Raises
    ------
    UsageError
        For a file there, a folder holding other files, or a parent folder that is
        missing or not writable.
    """
    target = Path(folder)
    if target.is_file():
        raise UsageError(f"{what} {target} is a file; a table in parts is written to a folder")
    if target.is_dir():
        others = [p for p in target.iterdir() if p.suffix.lower() not in (".parquet", ".pq")
                  and p.name != "_SUCCESS"]
        if others:
            raise UsageError(f"{what} {target} is a folder holding other files than Parquet "
                             "parts; give a new or empty folder")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{what} {target}: the folder {parent} is not writable")
    return target


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: no partial file on failure.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from toolkit.io.tables import write_text
    >>> folder = tempfile.TemporaryDirectory()
    >>> write_text(Path(folder.name) / "summary.txt", "quality 0.91 \u2713")
    >>> (Path(folder.name) / "summary.txt").read_bytes()
    b'quality 0.91 \\xe2\\x9c\\x93'
    >>> folder.cleanup()
    """
    with atomic_write(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
