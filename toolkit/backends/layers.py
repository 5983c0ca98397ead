"""Network pieces shared by every backend: MLPs and the output heads built from a TensorSpec."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from adapters.base import TensorSpec


def mlp(in_dim: int, hidden_dims: list[int], out_dim: int) -> nn.Sequential:
    """A multi-layer perceptron: ``Linear -> SiLU`` per hidden width, then a linear output."""
    layers: list[nn.Module] = []
    width = in_dim
    for hidden in hidden_dims:
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def random_like(shape: tuple[int, ...], generator: torch.Generator | None,
                device: torch.device, normal: bool = False) -> torch.Tensor:
    """Uniform (or standard normal) noise drawn from ``generator`` and moved to ``device``."""
    where = generator.device if generator is not None else device
    draw = torch.randn if normal else torch.rand
    return draw(shape, generator=generator, device=where).to(device)


def _gumbel_argmax(logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One-hot draws from ``softmax(logits)`` over the last axis by the Gumbel-max trick."""
    uniform = random_like(logits.shape, generator, logits.device)
    exponential = (-torch.log(uniform.clamp_min(1e-20))).clamp_min(1e-20)
    gumbel = -torch.log(exponential)
    index = (logits + gumbel).argmax(dim=-1)
    return F.one_hot(index, logits.shape[-1]).to(logits.dtype)


class OutputHeads(nn.Module):
    """Per-block likelihoods and samplers for a decoder's raw output, built from the spec.

    * ``numeric`` scalar: a Gaussian with a learned per-column scale; the mean
      is the raw output when the block has no mode one-hot, ``tanh`` of it when
      it has one (mode-specific values live in ``[-1, 1]``).
    * one-hot parts (``categorical`` blocks, numeric mode one-hots): softmax
      cross-entropy, sampled from the softmax.
    * ``missing`` flags: Bernoulli (binary cross-entropy), sampled.

    Parameters
    ----------
    spec : TensorSpec
        Layout of the tensor the decoder produces.
    """

    def __init__(self, spec: TensorSpec) -> None:
        super().__init__()
        self.spec = spec
        self.scalar_index: list[int] = []
        self.scalar_bounded: list[bool] = []
        self.one_hots: list[slice] = []
        self.flags: list[int] = []
        # the block each scalar, one-hot and flag belongs to, for per-block losses
        scalar_blocks: list[int] = []
        self.one_hot_blocks: list[int] = []
        flag_blocks: list[int] = []
        for block_index, (block, cols) in enumerate(zip(spec.blocks, spec.slices(), strict=True)):
            if block.kind == "numeric":
                self.scalar_index.append(cols.start)
                self.scalar_bounded.append(block.n_modes > 0)
                scalar_blocks.append(block_index)
                if block.n_modes:
                    self.one_hots.append(slice(cols.start + 1, cols.stop))
                    self.one_hot_blocks.append(block_index)
            elif block.kind == "categorical":
                self.one_hots.append(cols)
                self.one_hot_blocks.append(block_index)
            elif block.kind == "missing":
                self.flags.append(cols.start)
                flag_blocks.append(block_index)
            else:
                raise ValueError(f"OutputHeads cannot model {block.kind!r} blocks")
        self.log_sigma = nn.Parameter(torch.full((len(self.scalar_index),), math.log(0.1)))
        index_lists = {"_scalar_cols": self.scalar_index, "_flag_cols": self.flags,
                       "_scalar_blocks": scalar_blocks, "_flag_blocks": flag_blocks}
        for name, values in index_lists.items():
            self.register_buffer(name, torch.tensor(values, dtype=torch.long), persistent=False)
        bounded = torch.tensor(self.scalar_bounded, dtype=torch.bool)
        self.register_buffer("_bounded", bounded, persistent=False)
        # one-hots of equal width are stacked so each width costs one vectorized op
        self.one_hot_widths = sorted({cols.stop - cols.start for cols in self.one_hots})
        for width in self.one_hot_widths:
            pairs = zip(self.one_hots, self.one_hot_blocks, strict=True)
            group = [(cols, block) for cols, block in pairs if cols.stop - cols.start == width]
            columns = torch.tensor([list(range(c.start, c.stop)) for c, _ in group])
            blocks = torch.tensor([block for _, block in group], dtype=torch.long)
            self.register_buffer(f"_one_hot_cols_{width}", columns, persistent=False)
            self.register_buffer(f"_one_hot_blocks_{width}", blocks, persistent=False)

    def _one_hot_groups(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(columns (g, width), blocks (g,))`` for every one-hot width."""
        return [(getattr(self, f"_one_hot_cols_{w}"), getattr(self, f"_one_hot_blocks_{w}"))
                for w in self.one_hot_widths]

    def _scalar_means(self, raw: torch.Tensor) -> torch.Tensor:
        scalars = raw[:, self._scalar_cols]
        return torch.where(self._bounded, torch.tanh(scalars), scalars)

    def block_losses(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``target`` per row and block, shape ``(n, n_blocks)``.

        A numeric block's loss includes its mode one-hot's cross-entropy.
        """
        losses = raw.new_zeros(raw.shape[0], len(self.spec.blocks))
        if self.scalar_index:
            sigma = self.log_sigma.exp()
            z = (target[:, self._scalar_cols] - self._scalar_means(raw)) / sigma
            nll = 0.5 * z**2 + self.log_sigma + 0.5 * math.log(2 * math.pi)
            losses.index_add_(1, self._scalar_blocks, nll)
        for columns, blocks in self._one_hot_groups():
            log_probs = F.log_softmax(raw[:, columns], dim=2)  # (n, g, width)
            losses.index_add_(1, blocks, -(target[:, columns] * log_probs).sum(dim=2))
        if self.flags:
            bce = F.binary_cross_entropy_with_logits(
                raw[:, self._flag_cols], target[:, self._flag_cols], reduction="none"
            )
            losses.index_add_(1, self._flag_blocks, bce)
        return losses

    def sample(self, raw: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw data-space rows from the heads' distributions given the raw output."""
        out = torch.zeros_like(raw)
        if self.scalar_index:
            shape = (raw.shape[0], len(self.scalar_index))
            noise = random_like(shape, generator, raw.device, normal=True)
            values = self._scalar_means(raw) + noise * self.log_sigma.exp()
            values = torch.where(self._bounded, values.clamp(-1.0, 1.0), values)
            out[:, self._scalar_cols] = values
        for columns, _ in self._one_hot_groups():
            out[:, columns] = _gumbel_argmax(raw[:, columns], generator)
        if self.flags:
            probs = torch.sigmoid(raw[:, self._flag_cols])
            uniform = random_like(probs.shape, generator, raw.device)
            out[:, self._flag_cols] = (uniform < probs).to(raw.dtype)
        return out
