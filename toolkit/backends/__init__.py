"""Generative backends built from a TensorSpec, all on :class:`~toolkit.backends.base.Backend`."""

from __future__ import annotations

from toolkit.backends.base import Backend
from toolkit.backends.gan import GANBackend
from toolkit.backends.vae import VAEBackend
from toolkit.backends.vaegan import VAEGANBackend

BACKENDS: dict[str, type[Backend]] = {
    backend.name: backend for backend in (VAEBackend, GANBackend, VAEGANBackend)
}

__all__ = ["BACKENDS", "Backend", "GANBackend", "VAEBackend", "VAEGANBackend"]
