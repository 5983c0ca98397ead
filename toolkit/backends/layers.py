"""Network pieces shared by every backend: MLPs and the output heads built from a TensorSpec."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from toolkit.adapters.base import TensorSpec
from toolkit.adapters.scalers import knot_count


def mlp(in_dim: int, hidden_dims: list[int], out_dim: int,
        activation: Callable[[], nn.Module] = nn.SiLU,
        dropout: float = 0.0) -> nn.Sequential:
    """A multi-layer perceptron: ``Linear -> activation (-> Dropout)`` per hidden width, then a
    linear output."""
    layers: list[nn.Module] = []
    width = in_dim
    for hidden in hidden_dims:
        layers += [nn.Linear(width, hidden), activation()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = hidden
    layers.append(nn.Linear(width, out_dim))
    return nn.Sequential(*layers)


def image_block(spec: TensorSpec) -> tuple[slice, tuple[int, ...]] | None:
    """Columns and ``(C, H, W)`` of the spec's image block, if it has one (at most one)."""
    for block, columns in zip(spec.blocks, spec.slices(), strict=True):
        if block.kind == "image":
            return columns, block.shape
    return None


class ConvEncoder(nn.Module):
    """DCGAN-style encoder for specs with an image block: two stride-2 convolutions over
    the image, the other columns (e.g. a label one-hot) joined before the last layer.

    Parameters
    ----------
    spec : TensorSpec
        Must hold one image block whose height and width are multiples of 4.
    out_dim : int
        Output width (``2 * latent`` for a VAE encoder, 1 for a discriminator).
    extra_dim : int, default 0
        Columns appended after the spec's (e.g. a GAN's condition vector); they join
        the other non-image columns.
    """

    def __init__(self, spec: TensorSpec, out_dim: int, channels: int = 32,
                 extra_dim: int = 0) -> None:
        super().__init__()
        (self.columns, (c, h, w)) = image_block(spec)
        self.shape = (c, h, w)
        self.others = [i for i in range(spec.width + extra_dim)
                       if not self.columns.start <= i < self.columns.stop]
        self.features = nn.Sequential(
            nn.Conv2d(c, channels, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(channels, 2 * channels, 4, 2, 1), nn.LeakyReLU(0.2), nn.Flatten())
        flat = 2 * channels * (h // 4) * (w // 4)
        self.head = nn.Sequential(nn.Linear(flat + len(self.others), 256), nn.LeakyReLU(0.2),
                                  nn.Linear(256, out_dim))

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations for spec-layout rows ``x``, ``(n, 256)``."""
        images = x[:, self.columns].reshape(-1, *self.shape)
        return self.head[1](self.head[0](torch.cat([self.features(images), x[:, self.others]],
                                                    dim=1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode spec-layout rows ``x``."""
        return self.head[2](self.hidden(x))


class ConvDecoder(nn.Module):
    """DCGAN-style decoder: latent code to the grouped raw output of a spec with an image
    block (two stride-2 transposed convolutions for the pixels, a linear head for the
    other parts), plus a learned output bias started at the data's marginals."""

    def __init__(self, spec: TensorSpec, in_dim: int, channels: int = 32) -> None:
        super().__init__()
        _, (c, h, w) = image_block(spec)
        self.start = (2 * channels, h // 4, w // 4)
        self.n_others = spec.width - c * h * w
        self.stem = nn.Sequential(nn.Linear(in_dim, 256), nn.ReLU(),
                                  nn.Linear(256, int(np.prod(self.start))), nn.ReLU())
        self.pixels = nn.Sequential(
            nn.ConvTranspose2d(2 * channels, channels, 4, 2, 1), nn.ReLU(),
            nn.ConvTranspose2d(channels, c, 4, 2, 1), nn.Flatten())
        self.others = nn.Linear(256, self.n_others) if self.n_others else None
        self.bias = nn.Parameter(torch.zeros(spec.width))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Raw output in the heads' grouped layout (other parts first, pixels last)."""
        hidden = self.stem[1](self.stem[0](z))
        grid = self.stem[3](self.stem[2](hidden)).reshape(-1, *self.start)
        parts = [self.others(hidden)] if self.others is not None else []
        return torch.cat([*parts, self.pixels(grid)], dim=1) + self.bias


class Discriminator(nn.Module):
    """A critic over (packed) rows: ``pac`` rows are concatenated and judged together (PacGAN).

    Parameters
    ----------
    in_dim : int
        Width of one row (data plus any condition vector).
    hidden_dims : list of int
        Hidden widths (LeakyReLU(0.2) and dropout 0.5 after each).
    pac : int, default 1
        Rows per packed sample; the batch size must be a multiple of it.
    """

    def __init__(self, in_dim: int, hidden_dims: list[int], pac: int = 1) -> None:
        super().__init__()
        self.pac = pac
        self.body = mlp(in_dim * pac, hidden_dims[:-1], hidden_dims[-1],
                        activation=lambda: nn.LeakyReLU(0.2), dropout=0.5)
        self.head = nn.Sequential(nn.LeakyReLU(0.2), nn.Linear(hidden_dims[-1], 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's features of packed rows, shape ``(n / pac, hidden)``."""
        return self.body(x.reshape(-1, x.shape[1] * self.pac))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One score per packed sample, shape ``(n / pac,)``."""
        return self.head(self.features(x)).squeeze(1)


class ConvDiscriminator(nn.Module):
    """DCGAN-style discriminator for specs with an image block: a :class:`ConvEncoder`
    with one output. No normalisation layers, so it also serves as a WGAN-GP critic
    (the penalty is taken per sample). Rows are judged one at a time (``pac`` is 1).

    A condition vector appended to the rows is also *projected* onto the features
    (Miyato & Koyama 2018, "cGANs with Projection Discriminator"): the score gains
    ``<embed(condition), features>``, which makes the critic judge whether an image
    fits its condition, not only whether it looks real.

    Parameters
    ----------
    spec : TensorSpec
        Layout of the data rows (one image block).
    extra_dim : int, default 0
        Width of a condition vector appended to each row.
    """

    pac = 1

    def __init__(self, spec: TensorSpec, extra_dim: int = 0) -> None:
        super().__init__()
        self.net = ConvEncoder(spec, 1, extra_dim=extra_dim)
        self.extra_dim = extra_dim
        self.embed = nn.Linear(extra_dim, 256, bias=False) if extra_dim else None

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's features, shape ``(n, 256)``."""
        return self.net.hidden(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One score per row, shape ``(n,)``."""
        hidden = self.features(x)
        score = self.net.head[2](hidden).squeeze(1)
        if self.embed is not None:
            score = score + (self.embed(x[:, -self.extra_dim:]) * hidden).sum(1)
        return score


def discriminator_for(spec: TensorSpec, hidden_dims: list[int], extra_dim: int = 0,
                      pac: int = 1) -> Discriminator | ConvDiscriminator:
    """The discriminator a spec calls for: convolutional over an image block, else an MLP
    over (``pac``-packed) rows of width ``spec.width + extra_dim``."""
    if image_block(spec) is not None:
        return ConvDiscriminator(spec, extra_dim)
    return Discriminator(spec.width + extra_dim, hidden_dims, pac=pac)


def encoder_for(spec: TensorSpec, out_dim: int, hidden_dims: list[int]) -> nn.Module:
    """The encoder a spec calls for: :class:`ConvEncoder` for an image block, else an MLP
    from the spec's width to ``out_dim``."""
    if image_block(spec) is not None:
        return ConvEncoder(spec, out_dim)
    return mlp(spec.width, hidden_dims, out_dim)


def generator_for(spec: TensorSpec, in_dim: int, hidden_dims: list[int]) -> nn.Module:
    """The decoder/generator a spec calls for: :class:`ConvDecoder` for an image block,
    else an MLP from ``in_dim`` to the spec's width."""
    if image_block(spec) is not None:
        return ConvDecoder(spec, in_dim)
    return mlp(in_dim, hidden_dims, spec.width)


def output_bias_owner(network: nn.Module) -> nn.Module:
    """The module of a decoder/generator whose ``bias`` is added last to its raw output."""
    return network if isinstance(network, ConvDecoder) else network[-1]


def gradient_penalty(critic: Discriminator | ConvDiscriminator, real: torch.Tensor,
                     fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP term: ``(||grad critic(mix)|| - 1)^2`` on random mixes of real and fake rows.

    The mixing weight is shared by the rows of one packed sample.
    """
    pac = critic.pac
    alpha = torch.rand(real.shape[0] // pac, 1, 1, device=real.device)
    alpha = alpha.expand(-1, pac, real.shape[1]).reshape(real.shape)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (gradients,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    norms = gradients.reshape(-1, pac * real.shape[1]).norm(2, dim=1)
    return ((norms - 1) ** 2).mean()


def random_like(shape: tuple[int, ...], generator: torch.Generator | None,
                device: torch.device, normal: bool = False) -> torch.Tensor:
    """Uniform (or standard normal) noise drawn from ``generator`` and moved to ``device``."""
    where = generator.device if generator is not None else device
    draw = torch.randn if normal else torch.rand
    return draw(shape, generator=generator, device=where).to(device)


#: where sampled scalars' quantiles are read for their maps (a fixed grid, so that every
#: model file holds tensors of one shape)
SCALAR_MAP_POSITIONS = torch.linspace(0.0, 1.0, 1001, dtype=torch.float64)
#: the buffers of OutputHeads that hold those maps
SCALAR_MAP_BUFFERS = ("scalar_generated", "scalar_target", "scalar_mapped")
#: where a model that holds OutputHeads as ``heads`` keeps their tensors in its state dict
HEADS_PREFIX = "heads."


def saved_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The tensors of ``model`` as a model file keeps them: without the scalar maps'
    buffers when no scalar is mapped, which a file need not hold (:func:`load_saved_state`
    restores them unmapped).

    Parameters
    ----------
    model : torch.nn.Module
        A backend or history model whose :class:`OutputHeads` is ``model.heads``.

    Returns
    -------
    dict of str to torch.Tensor
        Its state dict, less the unused maps.
    """
    tensors = dict(model.state_dict())
    if not bool(model.heads.scalar_mapped.any()):
        for name in SCALAR_MAP_BUFFERS:
            tensors.pop(HEADS_PREFIX + name, None)
    return tensors


def load_saved_state(model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Load a model file's tensors into ``model``, with the heads' uncalibrated sampling
    buffers where the file lacks them (written before them, or by :func:`saved_state`): no
    level shift, no scalar map.

    Parameters
    ----------
    model : torch.nn.Module
        A backend or history model whose :class:`OutputHeads` is ``model.heads``.
    tensors : dict of str to torch.Tensor
        The file's tensors of that model (completed in place).
    """
    for name in ("level_bias", *SCALAR_MAP_BUFFERS):
        tensors.setdefault(HEADS_PREFIX + name, getattr(model.heads, name))
    model.load_state_dict(tensors)


def _interpolate(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation of each row of ``x`` (shape ``(m, n)``) on its own
    increasing knots ``xp`` with values ``fp`` (shape ``(m, k)``); ends held flat."""
    index = torch.searchsorted(xp, x).clamp(1, xp.shape[1] - 1)
    x0, x1 = xp.gather(1, index - 1), xp.gather(1, index)
    y0, y1 = fp.gather(1, index - 1), fp.gather(1, index)
    weight = ((x - x0) / (x1 - x0).clamp_min(1e-12)).clamp(0.0, 1.0)
    return y0 + weight * (y1 - y0)


def _categorical_levels(logits: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Level indices drawn from ``softmax(logits)`` over the last axis (shape: ``logits``'
    without it), by inverting the cumulative (unnormalised) probabilities with one uniform
    number per draw: a fraction of the cost of the Gumbel-max trick, which needs
    logarithms of noise for every level."""
    weights = (logits - logits.amax(dim=-1, keepdim=True)).exp()
    cumulative = weights.cumsum(dim=-1)
    uniform = random_like((*logits.shape[:-1], 1), generator, logits.device)
    index = torch.searchsorted(cumulative, uniform * cumulative[..., -1:])
    return index.clamp_max(logits.shape[-1] - 1).squeeze(-1)


class OutputHeads(nn.Module):
    """Per-block likelihoods and samplers for a decoder's raw output, built from the spec.

    * ``numeric`` scalar: a Gaussian with a learned per-column scale; the mean
      is the raw output when the block has no mode one-hot, ``tanh`` of it when
      it has one (mode-specific values live in ``[-1, 1]``).
    * one-hot parts (``categorical`` blocks, numeric mode one-hots): softmax
      cross-entropy, sampled from the softmax.
    * ``missing`` flags: Bernoulli (binary cross-entropy), sampled.
    * ``image`` pixels (intensities in [0, 1]): binary cross-entropy per pixel
      on the logits; sampled as their mean (the sigmoid), not as noise.

    A decoder's raw output is read in a *grouped* layout: all scalars first,
    then the one-hots grouped by width (each group a contiguous
    ``(groups, width)`` run), then the flags, then the pixels. Every head is then a slice and a
    reshape, not a gather, which keeps a training step cheap. Data tensors
    (targets, samples) stay in the spec's layout.

    Parameters
    ----------
    spec : TensorSpec
        Layout of the data tensor.
    """

    def __init__(self, spec: TensorSpec) -> None:
        super().__init__()
        self.spec = spec
        scalars: list[tuple[int, int, bool]] = []  # (column, block, bounded)
        one_hots: list[tuple[slice, int]] = []  # (columns, block)
        flags: list[tuple[int, int]] = []  # (column, block)
        pixels: list[tuple[int, int]] = []  # (column, block)
        for index, (block, cols) in enumerate(zip(spec.blocks, spec.slices(), strict=True)):
            if block.kind == "numeric":
                scalars.append((cols.start, index, block.n_modes > 0))
                if block.n_modes:
                    one_hots.append((slice(cols.start + 1, cols.stop), index))
            elif block.kind == "categorical":
                one_hots.append((cols, index))
            elif block.kind == "missing":
                flags.append((cols.start, index))
            elif block.kind == "image":
                pixels += [(column, index) for column in range(cols.start, cols.stop)]
            else:
                raise ValueError(f"OutputHeads cannot model {block.kind!r} blocks")
        order = [column for column, _, _ in scalars]
        part_blocks = [block for _, block, _ in scalars]
        self.groups: list[tuple[int, int, int]] = []  # (start in grouped layout, count, width)
        for width in sorted({cols.stop - cols.start for cols, _ in one_hots}):
            members = [(cols, block) for cols, block in one_hots if cols.stop - cols.start == width]
            self.groups.append((len(order), len(members), width))
            for cols, block in members:
                order += list(range(cols.start, cols.stop))
                part_blocks.append(block)
        self.n_scalars, self.n_flags, self.n_pixels = len(scalars), len(flags), len(pixels)
        order += [column for column, _ in flags] + [column for column, _ in pixels]
        part_blocks += [block for _, block in flags] + [block for _, block in pixels]
        self.log_sigma = nn.Parameter(torch.full((len(scalars),), math.log(0.1)))
        bounded = torch.tensor([b for _, _, b in scalars], dtype=torch.bool)
        self.register_buffer("_bounded", bounded, persistent=False)
        self.register_buffer("_order", torch.tensor(order, dtype=torch.long), persistent=False)
        inverse = torch.argsort(torch.tensor(order, dtype=torch.long))
        self.register_buffer("_inverse", inverse, persistent=False)
        blocks = torch.tensor(part_blocks, dtype=torch.long)
        self.register_buffer("_part_blocks", blocks, persistent=False)
        # added to the one-hot logits when sampling only (see Backend.calibrate_sampling)
        n_levels = sum(count * width for _, count, width in self.groups)
        self.register_buffer("level_bias", torch.zeros(n_levels))
        # each sampled scalar's map from the model's quantiles to the data's, at
        # SCALAR_MAP_POSITIONS (see calibrate_scalars); only sampling reads it
        flag_of = {spec.blocks[block].name: column for column, block in flags}
        missing = [flag_of.get(spec.blocks[block].name, -1) for _, block, _ in scalars]
        self.register_buffer("_scalar_flags", torch.tensor(missing, dtype=torch.long),
                             persistent=False)
        n_map = len(SCALAR_MAP_POSITIONS)
        self.register_buffer("scalar_generated", torch.zeros(len(scalars), n_map))
        self.register_buffer("scalar_target", torch.zeros(len(scalars), n_map))
        self.register_buffer("scalar_mapped", torch.zeros(len(scalars), dtype=torch.bool))

    @torch.no_grad()
    def calibrate_scalars(self, data: torch.Tensor, generated: torch.Tensor) -> None:
        """Map every unbounded scalar the model samples onto the training data's marginal.

        ``generated`` holds rows sampled from the model (spec layout), ``data`` the
        training rows. A scalar's sampled values are sent, through their quantiles, to the
        data's quantiles (rows whose missing flag is set left out of both): a monotone map
        per column, so the columns' ranks, and with them the dependencies between columns,
        are kept, while each column's distribution becomes the data's, tails included (a
        decoder's Gaussian noise otherwise widens the tails). The data's quantiles are read
        at the resolution of its quantile scaler (:func:`~toolkit.adapters.scalers.knot_count`
        evenly spaced ones), not at every row, so that sampled values do not gather at
        training values. Mode-specific (bounded) scalars are left as they are.
        """
        positions = SCALAR_MAP_POSITIONS.to(data.device, torch.float64)
        coarse = np.linspace(0.0, 1.0, knot_count(len(data)))
        fine = positions.cpu().numpy()
        for j, (column, flag) in enumerate(zip(self._order[: self.n_scalars].tolist(),
                                               self._scalar_flags.tolist(), strict=True)):
            if self._bounded[j]:
                continue
            real, drawn = data[:, column], generated[:, column]
            if flag >= 0:
                real, drawn = real[data[:, flag] < 0.5], drawn[generated[:, flag] < 0.5]
            if len(real) < 2 or len(drawn) < 2:
                continue
            target = np.quantile(real.double().cpu().numpy(), coarse)
            self.scalar_target[j] = torch.from_numpy(
                np.interp(fine, coarse, target)).to(self.scalar_target)
            self.scalar_generated[j] = torch.quantile(drawn.double(), positions).to(
                self.scalar_generated)
            self.scalar_mapped[j] = True

    @property
    def has_free_scalars(self) -> bool:
        """Whether any scalar is unbounded (the ones :meth:`calibrate_scalars` maps)."""
        return not bool(self._bounded.all())

    def _mapped_scalars(self, values: torch.Tensor) -> torch.Tensor:
        """Sampled scalars sent through :meth:`calibrate_scalars`' maps (where there are)."""
        if not bool(self.scalar_mapped.any()):
            return values
        mapped = _interpolate(values.T.contiguous(), self.scalar_generated,
                              self.scalar_target).T
        return torch.where(self.scalar_mapped, mapped, values)

    def _scalar_means(self, raw: torch.Tensor) -> torch.Tensor:
        scalars = raw[:, : self.n_scalars]
        return torch.where(self._bounded, torch.tanh(scalars), scalars)

    def _one_hot_logits(self, raw: torch.Tensor) -> list[torch.Tensor]:
        """Each width group of the raw output as ``(n, groups, width)``."""
        return [raw[:, start : start + count * width].reshape(-1, count, width)
                for start, count, width in self.groups]

    def _sampling_logits(self, raw: torch.Tensor) -> list[torch.Tensor]:
        """:meth:`_one_hot_logits` shifted by :attr:`level_bias`."""
        logits, start = [], 0
        for (_, count, width), group in zip(self.groups, self._one_hot_logits(raw), strict=True):
            bias = self.level_bias[start : start + count * width].reshape(count, width)
            logits.append(group + bias)
            start += count * width
        return logits

    def level_frequencies(self, rows: torch.Tensor) -> torch.Tensor:
        """Mean of every one-hot column of data-space ``rows``, in :attr:`level_bias` order."""
        target = rows.index_select(1, self._order)
        return torch.cat([target[:, start : start + count * width].mean(0)
                          for start, count, width in self.groups] or [rows.new_zeros(0)])

    def level_probabilities(self, raw: torch.Tensor) -> torch.Tensor:
        """Mean sampling probability of every one-hot level over the rows of ``raw``."""
        return torch.cat([F.softmax(logits, dim=-1).mean(0).flatten()
                          for logits in self._sampling_logits(raw)] or [raw.new_zeros(0)])

    def _flag_logits(self, raw: torch.Tensor) -> torch.Tensor:
        end = raw.shape[1] - self.n_pixels
        return raw[:, end - self.n_flags : end]

    def _pixel_logits(self, raw: torch.Tensor) -> torch.Tensor:
        return raw[:, raw.shape[1] - self.n_pixels :]

    def part_losses(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood per row of every scalar, one-hot and flag, ``(n, parts)``."""
        target = target.index_select(1, self._order)
        parts = []
        if self.n_scalars:
            z = (target[:, : self.n_scalars] - self._scalar_means(raw)) / self.log_sigma.exp()
            parts.append(0.5 * z**2 + self.log_sigma + 0.5 * math.log(2 * math.pi))
        for (start, count, width), logits in zip(self.groups, self._one_hot_logits(raw),
                                                 strict=True):
            wanted = target[:, start : start + count * width].reshape(-1, count, width)
            parts.append(-(wanted * F.log_softmax(logits, dim=2)).sum(dim=2))
        for count, logits in ((self.n_flags, self._flag_logits), (self.n_pixels,
                                                                   self._pixel_logits)):
            if count:
                parts.append(F.binary_cross_entropy_with_logits(
                    logits(raw), logits(target), reduction="none"))
        return torch.cat(parts, dim=1)

    @torch.no_grad()
    def init_from_marginals(self, data: torch.Tensor) -> torch.Tensor:
        """Start the heads at the data's marginals; return the matching raw output bias.

        The scalar scales become the data's standard deviations, and the
        returned raw outputs (grouped layout) hold scalar means, log-frequencies
        of one-hot levels and log-odds of missing flags: a decoder whose output
        bias is set to them starts as the independent-marginals model instead of
        a uniform one.
        """
        target = data.index_select(1, self._order)
        scalars = target[:, : self.n_scalars]
        if self.n_scalars:
            spread = scalars.std(0, correction=0).nan_to_num(1.0).clamp_min(1e-2)
            self.log_sigma.copy_(torch.log(spread))
        parts = [scalars.mean(0)]
        for start, count, width in self.groups:
            shares = target[:, start : start + count * width].reshape(-1, count, width).mean(0)
            parts.append(torch.log(shares + 1e-3).flatten())
        for logits in (self._flag_logits, self._pixel_logits):
            rates = logits(target).mean(0).clamp(1e-3, 1 - 1e-3)
            parts.append(torch.log(rates) - torch.log1p(-rates))
        return torch.cat(parts)

    def row_losses(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each row of ``target``, shape ``(n,)``."""
        return self.part_losses(raw, target).sum(dim=1)

    @property
    def part_blocks(self) -> torch.Tensor:
        """The block (index into the spec) of every part of :meth:`part_losses`."""
        return self._part_blocks

    def block_losses(self, raw: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``target`` per row and block, shape ``(n, n_blocks)``.

        A numeric block's loss includes its mode one-hot's cross-entropy.
        """
        losses = raw.new_zeros(raw.shape[0], len(self.spec.blocks))
        return losses.index_add_(1, self._part_blocks, self.part_losses(raw, target))

    def activate(self, raw: torch.Tensor, tau: float = 0.2) -> torch.Tensor:
        """A differentiable data-space version of the raw output, for discriminators.

        Scalars take their mean activation, one-hots a Gumbel-softmax with
        temperature ``tau``, missing flags a sigmoid. Returned in the spec's layout.
        """
        parts = [self._scalar_means(raw)]
        parts += [F.gumbel_softmax(logits, tau=tau, dim=-1).flatten(1)
                  for logits in self._one_hot_logits(raw)]
        parts.append(torch.sigmoid(self._flag_logits(raw)))
        parts.append(torch.sigmoid(self._pixel_logits(raw)))
        return torch.cat(parts, dim=1).index_select(1, self._inverse)

    def expected(self, raw: torch.Tensor) -> torch.Tensor:
        """Expected data-space rows (spec layout): scalar means, level probabilities,
        missing and pixel probabilities. Deterministic; adapters decode a one-hot block
        by its largest entry and a missing flag by ``> 0.5``."""
        values = self._scalar_means(raw)
        parts = [torch.where(self._bounded, values.clamp(-1.0, 1.0), values)]
        parts += [F.softmax(logits, dim=-1).flatten(1) for logits in self._one_hot_logits(raw)]
        parts.append(torch.sigmoid(self._flag_logits(raw)))
        parts.append(torch.sigmoid(self._pixel_logits(raw)))
        return torch.cat(parts, dim=1).index_select(1, self._inverse)

    def sample(self, raw: torch.Tensor, generator: torch.Generator | None = None,
               scalar_noise: bool = True) -> torch.Tensor:
        """Draw data-space rows (spec layout) from the heads' distributions.

        With ``scalar_noise=False`` numeric scalars are the decoder's mean
        (a GAN's generator output is already a sample).
        """
        values = self._scalar_means(raw)
        if scalar_noise:
            noise = random_like(values.shape, generator, raw.device, normal=True)
            values = values + noise * self.log_sigma.exp()
        values = self._mapped_scalars(values)
        # every part is written straight to its spec columns: one-hot draws as a scatter of
        # ones, not as one-hot blocks concatenated and permuted
        rows = raw.new_zeros(len(raw), len(self._order))
        start = self.n_scalars
        rows.index_copy_(1, self._order[:start], torch.where(self._bounded,
                                                             values.clamp(-1.0, 1.0), values))
        for (_, count, width), logits in zip(self.groups, self._sampling_logits(raw),
                                             strict=True):
            level_zero = self._order[start : start + count * width : width]
            rows.scatter_(1, level_zero + _categorical_levels(logits, generator), 1.0)
            start += count * width
        probs = torch.sigmoid(self._flag_logits(raw))
        rows.index_copy_(1, self._order[start : start + self.n_flags],
                         (random_like(probs.shape, generator, raw.device) < probs).to(raw.dtype))
        rows.index_copy_(1, self._order[start + self.n_flags :],
                         torch.sigmoid(self._pixel_logits(raw)))
        return rows
