"""Safe model files: tensors in safetensors format, everything else as JSON in its header.

A ``.tkm`` file is one safetensors file. Its header metadata holds a JSON
document (adapter, config, versions, training history, fit time) and a SHA-256
of that JSON and every tensor, so a modified or truncated file is refused with
one clear line. Loading never unpickles: no code can run from a model file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from toolkit.exceptions import ModelFileError
from toolkit.io.tables import atomic_write

FORMAT = "toolkit-model"
FORMAT_VERSION = 1


def _digest(document: str, tensors: dict[str, torch.Tensor]) -> str:
    sha = hashlib.sha256(document.encode())
    for name in sorted(tensors):
        sha.update(name.encode())
        sha.update(tensors[name].contiguous().cpu().numpy().tobytes())
    return sha.hexdigest()


def save_model(
    path: str | Path, tensors: dict[str, torch.Tensor], document: dict[str, Any]
) -> None:
    """Write ``tensors`` and the JSON ``document`` to ``path`` atomically."""
    tensors = {name: t.detach().contiguous().cpu() for name, t in tensors.items()}
    text = json.dumps({"format": FORMAT, "format_version": FORMAT_VERSION, **document})
    with atomic_write(path) as temporary:
        save_file(tensors, str(temporary),
                  metadata={"toolkit": text, "sha256": _digest(text, tensors)})


def load_model(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a model file written by :func:`save_model`.

    Returns
    -------
    tensors : dict of str to torch.Tensor
    document : dict

    Raises
    ------
    ModelFileError
        When the file is missing or a folder, not a toolkit model, truncated or modified.
    """
    path = Path(path)
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file (.tkm)")
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        tensors = load_file(str(path))
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelFileError(
            f"{path} is not a readable toolkit model file (truncated or corrupt: {reason})"
        ) from None
    text = metadata.get("toolkit")
    if text is None:
        raise ModelFileError(f"{path} is a safetensors file but not a toolkit model file")
    if metadata.get("sha256") != _digest(text, tensors):
        raise ModelFileError(
            f"{path} failed its integrity check: the file was modified or is corrupt"
        )
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if not isinstance(document, dict):
        raise ModelFileError(f"{path} has a malformed model document; it is not a toolkit model")
    if document.get("format") != FORMAT or document.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{path} has an unsupported model format; upgrade toolkit to read it")
    return tensors, document
