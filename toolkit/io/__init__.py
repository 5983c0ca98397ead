"""Files in and out: tables (CSV, Parquet), datasets (a folder of tables), CSV dialects and
model files.

The public functions users call directly are re-exported here:
``from toolkit.io import read_table, write_table, read_dataset, write_dataset``.
"""

from toolkit.io.datasets import read_dataset, write_dataset
from toolkit.io.tables import count_rows, iter_table, read_table, sample_table, write_table

__all__ = ["count_rows", "iter_table", "read_dataset", "read_table", "sample_table",
           "write_dataset", "write_table"]
