"""Records in and out: what a user passes (a path, a DataFrame, an array, a folder of
images) read once into the records an adapter learns from, with their
:class:`~toolkit.adapters.base.Provenance`; and records written where the user asked.

The *domain* of data is the adapter class that encodes it: :class:`TabularAdapter` for
tables, :class:`ImageAdapter` for images (a *kind*, by contrast, is a column's:
continuous, categorical, ...). This is the one place that tells them apart by looking at
a path or an object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.adapters.base import Provenance
from toolkit.adapters.imaging import ImageAdapter, ImageSet, image_set_from_array
from toolkit.adapters.statistics import ColumnStatistics
from toolkit.adapters.tabular import TabularAdapter, as_table
from toolkit.exceptions import DataError, UsageError
from toolkit.io.frames import to_pandas
from toolkit.io.images import (
    ALL_SUFFIXES,
    check_image_output,
    read_image_file,
    read_image_folder,
    write_image_chunks,
)
from toolkit.io.tables import (
    TABLE_SUFFIXES,
    check_parts_folder,
    check_writable,
    parquet_parts,
    parts_writer,
    read_table,
    sample_groups,
    sample_table,
    table_writer,
)


@dataclass(frozen=True)
class Records:
    """Records read once (a DataFrame or an :class:`ImageSet`) and how they were read.

    Estimators accept one in place of a path or a DataFrame: it is not read again (the
    anomaly detector reads its input once and hands the result to its model; the Spark
    and Dask engines hand over their sample with the whole table's statistics).

    Parameters
    ----------
    data : pandas.DataFrame or ImageSet
        The records.
    provenance : Provenance, default Provenance()
        What reading learnt besides them (see :class:`~toolkit.adapters.base.Provenance`).
    """

    data: Any
    provenance: Provenance = field(default_factory=Provenance)

    @property
    def domain(self) -> type:
        """The adapter class of the records (see :func:`domain_of`)."""
        return domain_of(self.data)


def holds_images(source: Any) -> bool:
    """Whether ``source`` holds images: an :class:`ImageSet`, an ``(N, H, W[, C])`` array, a
    folder that is not one of Parquet parts, or the path of an image, array or DICOM file."""
    if isinstance(source, ImageSet):
        return True
    if isinstance(source, np.ndarray):
        return source.ndim in (3, 4)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            return not parquet_parts(path)
        return path.suffix.lower() in ALL_SUFFIXES
    return False


def domain_of(source: Any) -> type:
    """The adapter class for ``source`` (or for the data of :class:`Records`): images or else
    a table.

    Examples
    --------
    >>> import pandas as pd
    >>> domain_of(pd.DataFrame({"a": [1, 2]})).__name__
    'TabularAdapter'
    >>> domain_of("scan.png").__name__, domain_of("scan.dcm").__name__
    ('ImageAdapter', 'ImageAdapter')
    """
    if isinstance(source, Records):
        source = source.data
    return ImageAdapter if holds_images(source) else TabularAdapter


def read_records(source: Any, max_rows: int | None = None,
                 random_state: int | None = None, subject: str | None = None) -> Records:
    """``source`` read as records of its domain, never changing the caller's object.

    Tables: a CSV or Parquet path (a file or a folder of Parquet parts) is read
    (:func:`~toolkit.io.tables.read_table`), a DataFrame is taken as it is, a 2-D array gets
    ``x0, x1, ...`` columns. With ``max_rows``, a larger table becomes a uniform random
    sample of ``max_rows`` rows (seeded by ``random_state``, in the table's row order); a
    file is then read in one streamed pass that never holds more than a few times
    ``max_rows`` rows (:func:`~toolkit.io.tables.sample_table`), and the provenance holds the
    rows the source had and the whole table's column statistics. Images (a folder, an
    image file, an array, an :class:`ImageSet`) are read whole. :class:`Records` come back
    as they are.

    Raises
    ------
    DataError
        For a missing or unreadable file or folder, or data that is not a 2-D table or
        images.

    Examples
    --------
    >>> records = read_records("sample_data/patients.csv", max_rows=100, random_state=0)
    >>> len(records.data), records.provenance.rows
    (100, 418)
    """
    seed = 0 if random_state is None else random_state
    source = to_pandas(source)  # a pyarrow or Polars table: read through Arrow
    if isinstance(source, Records):
        if max_rows is None or len(source.data) <= max_rows or holds_images(source.data):
            return source
        return _sampled(source.data, max_rows, seed, source.provenance)
    if holds_images(source):
        return Records(_read_images(source))
    return _read_table(source, max_rows, seed, subject)


def _read_images(source: Any) -> ImageSet:
    if isinstance(source, ImageSet):
        return source
    if isinstance(source, np.ndarray):
        return image_set_from_array(source)
    path = Path(source)
    return read_image_folder(path) if path.is_dir() else read_image_file(path)


def _read_table(source: Any, max_rows: int | None, seed: int, subject: str | None) -> Records:
    if not isinstance(source, (str, Path)):
        table, labels = as_table(source)
        provenance = Provenance(dialect=dict(table.attrs.get("csv", {})), labels=labels)
        if max_rows is not None and len(table) > max_rows:
            return _sampled(table, max_rows, seed, provenance)
        return Records(table, provenance)
    if max_rows is None:
        table = read_table(source)
        return Records(table, Provenance(dialect=dict(table.attrs.get("csv", {}))))
    statistics = ColumnStatistics()
    observe = lambda chunk: statistics.merge(ColumnStatistics.of(chunk))  # noqa: E731
    table, rows = (sample_table(source, max_rows, seed, observe=observe) if subject is None
                   else sample_groups(source, subject, max_rows, seed, observe=observe))
    sampled = rows is not None and statistics.rows > len(table)
    return Records(table, Provenance(rows=rows, statistics=statistics if sampled else None,
                                     dialect=dict(table.attrs.get("csv", {}))))


def _sampled(table: pd.DataFrame, max_rows: int, seed: int, provenance: Provenance) -> Records:
    """A uniform sample of ``max_rows`` rows of an in-memory table, in its row order, with
    the whole table's rows and column statistics."""
    chosen = np.random.default_rng(seed).choice(len(table), max_rows, replace=False)
    return Records(table.iloc[np.sort(chosen)],
                   dataclasses.replace(provenance, rows=len(table),
                                       statistics=ColumnStatistics.of(table)))


def check_records_output(domain: type, path: str | Path, what: str = "output") -> None:
    """Fail with one line unless records of ``domain`` can be written at ``path``: a table
    to a ``.csv`` or ``.parquet`` file or a folder of Parquet parts (a path without a
    suffix), images to a folder (one PNG each) or one ``.png`` grid.

    Raises
    ------
    UsageError
        For another suffix, or a path where nothing can be written.
    """
    if domain is ImageAdapter:
        check_image_output(path, what)
        return
    path = Path(path)
    if not path.suffix:
        check_parts_folder(path, what)
        return
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise UsageError(f"{what} {path}: a table model writes a "
                         f"{'/'.join(TABLE_SUFFIXES)} file or a folder of Parquet parts "
                         "(a path without a suffix)")
    check_writable(path, what)


def write_records(records: Any, path: str | Path) -> int:
    """Write records (a table, in the training file's CSV dialect, or images) at ``path``,
    atomically where it is one file; return how many were written."""
    return write_record_chunks([records], path)


def write_record_chunks(chunks: Iterable[Any], path: str | Path) -> int:
    """Write records that arrive in chunks at ``path`` and return how many there were: a
    table holding one chunk at a time, to a ``.csv`` file (in the training file's dialect)
    or a ``.parquet`` file, or, for a path without a suffix, a folder of Parquet parts (one
    per chunk); images as one set (:func:`~toolkit.io.images.write_image_chunks`). Nothing
    is left at ``path`` unless every chunk was written."""
    chunks = iter(chunks)
    first = next(chunks, None)
    if first is None:
        raise DataError("nothing to write: no records")
    if isinstance(first, ImageSet):
        return write_image_chunks(chain([first], chunks), path)
    rows = 0
    opened = parts_writer(path) if not Path(path).suffix else table_writer(path)
    with opened as write:
        for chunk in chain([first], chunks):
            write(chunk)
            rows += len(chunk)
    return rows
