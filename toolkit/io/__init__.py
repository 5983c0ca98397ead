"""Files in and out: tables (CSV, Parquet), CSV dialects and model files.

The public functions users call directly are re-exported here:
``from toolkit.io import read_table, write_table``.
"""

from toolkit.io.tables import count_rows, iter_table, read_table, sample_table, write_table

__all__ = ["count_rows", "iter_table", "read_table", "sample_table", "write_table"]
