"""Reading and writing tables: CSV or Parquet chosen by the file extension, written atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from toolkit.exceptions import DataError, UsageError

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise UsageError(
            f"cannot tell the format of {path}: use a file ending in {', '.join(TABLE_SUFFIXES)}"
        )
    return suffix


def atomic_path(path: str | Path) -> tuple[Path, Path]:
    """Return ``(target, temporary)`` paths for writing ``path`` atomically.

    Raises
    ------
    UsageError
        When the folder of ``path`` does not exist.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"output folder does not exist: {folder}")
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    return target, Path(temporary)


def _readable(path: str | Path) -> tuple[Path, str]:
    """``path`` and its table format, after checking that the file exists."""
    path = Path(path)
    suffix = _suffix(path)
    if not path.is_file():
        raise DataError(f"input file not found: {path}")
    return path, suffix


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn the errors of reading ``path`` into one-line :class:`DataError` s."""
    try:
        yield
    except pd.errors.EmptyDataError:
        raise DataError(f"{path} is empty") from None
    except (OSError, ValueError, pd.errors.ParserError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"cannot read {path}: {first_line}") from None


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table.

    Raises
    ------
    UsageError
        For an unsupported extension.
    DataError
        For a missing, unreadable or empty file.
    """
    path, suffix = _readable(path)
    with _reading(path):
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it replaces ``path`` only when the block
    ends without an error, and is removed otherwise (no partial file is ever left)."""
    target, temporary = atomic_path(path)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_table(data: pd.DataFrame, path: str | Path) -> None:
    """Write ``data`` as CSV or Parquet, atomically (no partial file on failure)."""
    suffix = _suffix(Path(path))
    with atomic_write(path) as temporary:
        if suffix == ".csv":
            data.to_csv(temporary, index=False)
        else:
            data.to_parquet(temporary, index=False)


def iter_table(path: str | Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """Read a CSV or Parquet table ``chunk_rows`` rows at a time (memory bounded by the chunk).

    Raises the same errors as :func:`read_table`.
    """
    path, suffix = _readable(path)
    with _reading(path):
        if suffix == ".csv":
            with pd.read_csv(path, chunksize=chunk_rows) as reader:
                yield from reader
        else:
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()


@contextmanager
def table_writer(path: str | Path) -> Iterator[Callable[[pd.DataFrame], None]]:
    """Write a table chunk by chunk: yields ``write(chunk)``; the file appears only on success.

    The chunks go to a temporary file in the target's folder, which replaces
    ``path`` when the block ends without an error and is removed otherwise.
    """
    suffix = _suffix(Path(path))
    parquet_writer = None

    def write(chunk: pd.DataFrame) -> None:
        nonlocal parquet_writer
        if suffix == ".csv":
            first = temporary.stat().st_size == 0
            chunk.to_csv(temporary, index=False, header=first, mode="w" if first else "a")
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        batch = pa.Table.from_pandas(chunk, preserve_index=False)
        if parquet_writer is None:
            parquet_writer = pq.ParquetWriter(temporary, batch.schema)
        parquet_writer.write_table(batch.cast(parquet_writer.schema))

    with atomic_write(path) as temporary:
        try:
            yield write
        finally:
            if parquet_writer is not None:
                parquet_writer.close()


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically: no partial file on failure."""
    with atomic_write(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
