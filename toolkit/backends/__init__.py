"""Generative backends built from a TensorSpec, all on :class:`~toolkit.backends.base.Backend`."""

from __future__ import annotations

from toolkit.backends.base import Backend
from toolkit.backends.vae import VAEBackend

BACKENDS: dict[str, type[Backend]] = {VAEBackend.name: VAEBackend}

__all__ = ["BACKENDS", "Backend", "VAEBackend"]
