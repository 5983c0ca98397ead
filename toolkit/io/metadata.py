"""Metadata files: the YAML a user writes to state column kinds (and, for a private fit,
their public bounds and levels)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from toolkit.exceptions import UsageError


def read_metadata(metadata: dict[str, Any] | str | Path | None) -> dict[str, Any] | None:
    """``metadata`` as a mapping: the contents of a YAML file when it is a path, else as
    it came (a dict, or ``None``).

    Raises
    ------
    UsageError
        For a missing file or one that is not valid YAML.

    Examples
    --------
    >>> read_metadata({"age": "continuous"})
    {'age': 'continuous'}
    """
    if not isinstance(metadata, (str, Path)):
        return metadata
    path = Path(metadata)
    if not path.is_file():
        raise UsageError(f"metadata file not found: {path}")
    try:
        return yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise UsageError(f"metadata file {path} is not valid YAML: {error}") from None
