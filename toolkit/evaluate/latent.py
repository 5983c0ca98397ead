"""Working in a trained model's latent space: encode, decode, reconstruct, interpolate, and
the influence of each latent dimension on each feature.

These work on a fitted :class:`~toolkit.Synthesizer` (tables or images). Encoding
needs an encoder (VAE and VAE-GAN); decoding and the influence map work for
every backend. Decoding is deterministic: each feature takes its expected value
(a numeric column its mean, a categorical column its most likely level, an
image its pixel intensities).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from toolkit.backends.base import NO_ENCODER
from toolkit.exceptions import UsageError
from toolkit.io.records import domain_of, read_records

#: latent values visited per dimension by :func:`influence` (in prior standard deviations)
TRAVERSAL = np.linspace(-2.0, 2.0, 9)


def _encoded(model: Any, data: Any) -> torch.Tensor:
    """``data`` in the model's tensor layout (tables: checked columns; images: same shape)."""
    adapter = model.adapter_
    if domain_of(data) is not type(adapter):
        raise UsageError(f"this model was trained on {adapter.describe()['domain']}; "
                         "give it data of that kind")
    # one rule wherever a model reads given records (scores, codes, reconstructions):
    # values are encoded as they are, not clipped to the training range
    array = adapter.transform(read_records(data).data, random_state=model.seed_, clip=False)
    return torch.from_numpy(array).to(next(model.backend_.parameters()).device)


def _check_encoder(model: Any) -> None:
    model.check_fitted()
    if not model.backend_.has_encoder:
        raise UsageError(f"the {model.backend_.name} backend cannot encode records: "
                         f"{NO_ENCODER}")


@torch.no_grad()
def encode(model: Any, data: Any) -> np.ndarray:
    """Posterior means of the records of ``data``, shape ``(n, latent_dim)``."""
    _check_encoder(model)
    model.backend_.eval()
    return model.backend_.encode(_encoded(model, data))[0].cpu().numpy()


@torch.no_grad()
def decode(model: Any, codes: np.ndarray) -> Any:
    """Records decoded from latent ``codes`` (a DataFrame, or an image set)."""
    model.check_fitted()
    codes = np.asarray(codes, dtype=np.float32)
    latent = model.config_.latent_dim
    if codes.ndim != 2 or codes.shape[1] != latent:
        raise UsageError(f"codes must be an (n, {latent}) array, got shape {codes.shape}")
    if not np.isfinite(codes).all():
        raise UsageError("codes hold NaN or inf")
    backend = model.backend_.eval()
    z = torch.from_numpy(codes).to(next(backend.parameters()).device)
    raw = backend.decode(z, backend.condition_vector({}, len(z)).zero_())
    return model.adapter_.inverse_transform(backend.heads.expected(raw).cpu().numpy(),
                                            random_state=model.seed_)


@torch.no_grad()
def reconstruction_error(model: Any, data: Any) -> np.ndarray:
    """Per-record negative log-likelihood of ``data`` decoded from its own posterior mean."""
    _check_encoder(model)
    backend = model.backend_.eval()
    x = _encoded(model, data)
    return backend.heads.row_losses(backend.reconstruction(x)[2], x).cpu().numpy()


def reconstruct(model: Any, data: Any) -> Any:
    """``data`` passed through the model: encoded, then decoded."""
    return decode(model, encode(model, data))


def interpolate(model: Any, start: Any, end: Any, steps: int = 8) -> Any:
    """Records decoded along the straight line between the codes of ``start`` and ``end``.

    ``start`` and ``end`` are one record each (the first of what is given).
    """
    if steps < 2:
        raise UsageError(f"steps must be at least 2, got {steps}")
    a, b = encode(model, start)[:1], encode(model, end)[:1]
    weights = np.linspace(0.0, 1.0, steps)[:, None]
    return decode(model, (1.0 - weights) * a + weights * b)


@torch.no_grad()
def influence(model: Any) -> pd.DataFrame:
    """How much each latent dimension moves each feature (a latent traversal).

    Every dimension is moved alone through ``TRAVERSAL`` (from −2 to 2) with
    the others at 0, the output decoded to expected values, and each feature's
    range over the traversal measured (max − min): of a numeric value or pixel
    in model units, of the most-moved level probability for a categorical or
    missing block (a column's value and missing flag: the larger).

    Returns
    -------
    pandas.DataFrame
        One row per latent dimension, one column per feature (tables: the
        modelled columns; images: ``pixel_r_c`` (first channel) and ``label``).
    """
    model.check_fitted()
    backend = model.backend_.eval()
    latent = model.config_.latent_dim
    codes = np.zeros((latent * len(TRAVERSAL), latent), dtype=np.float32)
    for dim in range(latent):
        codes[dim * len(TRAVERSAL):(dim + 1) * len(TRAVERSAL), dim] = TRAVERSAL
    z = torch.from_numpy(codes).to(next(backend.parameters()).device)
    raw = backend.decode(z, backend.condition_vector({}, len(z)).zero_())
    values = backend.heads.expected(raw).cpu().numpy().reshape(latent, len(TRAVERSAL), -1)
    spread = np.ptp(values, axis=1)  # (latent, width): how far each output moves
    columns, names = [], []
    for block, cols in zip(model.adapter_.spec.blocks, model.adapter_.spec.slices(), strict=True):
        part = spread[:, cols]
        if block.kind == "image":
            c, h, w = block.shape
            columns.append(part.reshape(latent, c, h, w)[:, 0].reshape(latent, -1))
            names += [f"pixel_{r}_{q}" for r in range(h) for q in range(w)]
        else:
            columns.append(part.max(axis=1, keepdims=True))
            names.append(block.name)
    table = pd.DataFrame(np.hstack(columns), columns=names,
                         index=[f"z{d}" for d in range(latent)])
    return table.T.groupby(level=0, sort=False).max().T


def influence_heatmap(table: pd.DataFrame, path: Any, image_shape: tuple[int, int] | None = None,
                      ) -> None:
    """Save :func:`influence` as a PNG: a dimension × feature heatmap for tables; for
    images one small map per latent dimension of how much each pixel moves."""
    from toolkit.evaluate.page import canvas

    if image_shape is None:
        figure, axes = canvas(min(12.0, 2 + 0.35 * table.shape[1]),
                               min(10.0, 1.5 + 0.3 * table.shape[0]))
        image = axes.imshow(table.to_numpy(), cmap="viridis", aspect="auto")
        axes.set_xticks(range(table.shape[1]), [c[:14] for c in table.columns], rotation=90,
                        fontsize=6)
        axes.set_yticks(range(table.shape[0]), table.index, fontsize=6)
        axes.set_title("Influence of each latent dimension on each feature (range over a "
                       "traversal from -2 to 2)", fontsize=8)
        figure.colorbar(image, ax=axes, shrink=0.7)
    else:
        pixels = table[[c for c in table.columns if c.startswith("pixel_")]].to_numpy()
        n = len(pixels)
        cols = min(8, n)
        rows = -(-n // cols)
        figure, grid = canvas(cols * 1.1, rows * 1.2)
        grid.remove()
        for index in range(n):
            axes = figure.add_subplot(rows, cols, index + 1)
            axes.imshow(pixels[index].reshape(image_shape), cmap="magma")
            axes.set_title(table.index[index], fontsize=6)
            axes.axis("off")
    figure.savefig(path, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
