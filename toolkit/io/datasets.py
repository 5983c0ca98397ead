"""Datasets on disk: a folder with one CSV or Parquet file per table, read and written whole.

A table's name is its file's name without the extension (``admissions.csv`` →
``admissions``). Output folders are written atomically: the tables go to a hidden folder
beside the target, which is renamed into place once every table is written, so a failure
leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pandas as pd

from toolkit.exceptions import DataError, UsageError
from toolkit.io.tables import read_table, write_table

#: the files a dataset folder's tables may be
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def is_dataset_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding table files (a dataset), not images."""
    path = Path(path)
    return path.is_dir() and any(p.suffix.lower() in TABLE_SUFFIXES and not
                                 p.name.startswith(".") for p in path.iterdir())


def dataset_files(folder: str | Path) -> dict[str, Path]:
    """The table files of a dataset folder, by table name.

    Raises
    ------
    UsageError
        For a missing folder, one without table files, or two files of one table name.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"dataset folder not found: {folder}")
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in TABLE_SUFFIXES or path.name.startswith("."):
            continue
        if path.stem in files:
            raise UsageError(f"two files for table {path.stem!r} in {folder}: "
                             f"{files[path.stem].name} and {path.name}")
        files[path.stem] = path
    if not files:
        raise UsageError(f"{folder} holds no table files ({', '.join(TABLE_SUFFIXES)})")
    return files


def read_dataset(folder: str | Path) -> dict[str, pd.DataFrame]:
    """Every table of a dataset folder (see :func:`~toolkit.io.tables.read_table`).

    Raises
    ------
    UsageError
        See :func:`dataset_files`.
    DataError
        For an empty table, naming it.
    """
    tables = {}
    for name, path in dataset_files(folder).items():
        table = read_table(path)
        if table.empty:
            raise DataError(f"table {name!r} ({path.name}) has no rows")
        tables[name] = table
    return tables


def write_dataset(tables: dict[str, pd.DataFrame], folder: str | Path,
                  suffixes: dict[str, str] | None = None) -> dict[str, Path]:
    """Write each table to ``folder/<name><suffix>`` (``suffixes`` by table name, ``.csv``
    where not given; a table read from a CSV file keeps its dialect), atomically; returns
    the files written by table name.

    Raises
    ------
    UsageError
        When ``folder`` exists and is not an empty folder, or for an unknown suffix.
    """
    folder = Path(folder)
    chosen = {name: (suffixes or {}).get(name, ".csv").lower() for name in tables}
    unknown = sorted(set(chosen.values()) - set(TABLE_SUFFIXES))
    if unknown:
        raise UsageError(f"tables are written as {', '.join(TABLE_SUFFIXES)}, not {unknown}")
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise UsageError(f"{folder} exists and is not an empty folder: choose a new output "
                         "folder")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.partial"
    staging.mkdir()
    try:
        for name, table in tables.items():
            write_table(table, staging / f"{name}{chosen[name]}")
        if folder.exists():
            folder.rmdir()
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {name: folder / f"{name}{chosen[name]}" for name in tables}
