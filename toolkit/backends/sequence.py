"""An autoregressive model of patient histories: each row given the patient and the rows
before it.

A GRU reads, at every step, the patient's encoded attributes (the *context*: a row of the
patients table, with the history's length and start), the previous row (zeros before the
first) and where the step lies in the history (first row, rows left, position). A row is
drawn from a mixture of :data:`COMPONENTS` components: the GRU gives the components'
weights and, for each, the raw outputs of heads built from the events'
:class:`~toolkit.adapters.base.TensorSpec`. Within a component the columns are
independent; the mixture keeps what ties the columns of one row together (two codings of
one diagnosis, labs that move together). Histories longer than
:data:`MAX_STEPS` rows train as consecutive windows, each starting from the row before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from toolkit.adapters.base import TensorSpec
from toolkit.backends.layers import OutputHeads
from toolkit.backends.privacy import PrivacyPlan, PrivateSteps
from toolkit.backends.training import History, train
from toolkit.exceptions import TrainingError

#: rows of a history a training window holds
MAX_STEPS = 64
#: the features that say where a step lies in its history
STEP_FEATURES = 3
#: mixture components of a row's distribution
COMPONENTS = 8


@dataclass
class Histories:
    """Encoded histories, as training windows.

    Parameters
    ----------
    context : torch.Tensor of shape (n_windows, context_dim)
        Each window's patient, encoded.
    rows : torch.Tensor of shape (n_rows, width)
        Every encoded event row, grouped by patient in history order.
    starts, lengths, offsets, totals : numpy.ndarray of shape (n_windows,)
        Where each window's first row is in ``rows``, how many rows it holds, its first
        row's position in the patient's history, and the history's length.
    """

    context: torch.Tensor
    rows: torch.Tensor
    starts: np.ndarray
    lengths: np.ndarray
    offsets: np.ndarray
    totals: np.ndarray

    @classmethod
    def of(cls, context: torch.Tensor, rows: torch.Tensor, lengths: np.ndarray,
           max_steps: int = MAX_STEPS) -> Histories:
        """Windows of at most ``max_steps`` rows over histories of ``lengths`` rows (one
        context row per history)."""
        firsts = first_rows(lengths)
        owner, starts, sizes, offsets = [], [], [], []
        for patient, (first, total) in enumerate(zip(firsts, lengths, strict=True)):
            for offset in range(0, int(total), max_steps):
                owner.append(patient)
                starts.append(first + offset)
                sizes.append(min(max_steps, int(total) - offset))
                offsets.append(offset)
        owner = np.asarray(owner, dtype=np.int64)
        return cls(context[torch.from_numpy(owner)], rows, np.asarray(starts),
                   np.asarray(sizes), np.asarray(offsets), np.asarray(lengths)[owner])


def first_rows(lengths: np.ndarray) -> np.ndarray:
    """Where each history starts among rows grouped by history, of ``lengths`` rows each.

    Examples
    --------
    >>> first_rows(np.array([3, 1, 2]))
    array([0, 3, 4])
    """
    return np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)


def step_features(positions: torch.Tensor, totals: torch.Tensor) -> torch.Tensor:
    """Where each step lies in its history: first row or not, rows left after it and its
    position (both on a log scale), shape ``(..., STEP_FEATURES)``."""
    left = (totals - positions - 1).clamp_min(0)
    return torch.stack([(positions == 0).float(), torch.log1p(left.float()) / 5.0,
                        torch.log1p(positions.float()) / 5.0], dim=-1)


class HistoryModel(nn.Module):
    """The GRU over a patient's rows (see the module docstring).

    Parameters
    ----------
    spec : TensorSpec
        Layout of an encoded event row.
    context_dim : int
        Width of an encoded patient.
    hidden : int, default 128
        Width of the GRU's state and of its input and output layers.
    components : int, default COMPONENTS
        Mixture components of a row's distribution.
    """

    def __init__(self, spec: TensorSpec, context_dim: int, hidden: int = 128,
                 components: int = COMPONENTS) -> None:
        super().__init__()
        self.spec = spec
        self.components = components
        self.heads = OutputHeads(spec)
        self.start = nn.Sequential(nn.Linear(context_dim, hidden), nn.Tanh())
        self.context = nn.Sequential(nn.Linear(context_dim, hidden), nn.ReLU())
        self.embed = nn.Linear(spec.width + STEP_FEATURES, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.out = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, components * (spec.width + 1)))

    def forward(self, context: torch.Tensor, previous: torch.Tensor, steps: torch.Tensor,
                state: torch.Tensor | None = None, unrolled: bool = False
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw outputs of ``T`` steps, ``(B, T, components * (width + 1))`` (see
        :meth:`mixture`), and the GRU state after them.

        ``context`` is ``(B, context_dim)``, ``previous`` ``(B, T, width)`` (the row before
        each step), ``steps`` ``(B, T, STEP_FEATURES)``; ``unrolled`` runs the GRU step by
        step (:meth:`unrolled_gru`: the same function, which per-patient gradients need).
        """
        known = self.context(context)
        inputs = torch.relu(self.embed(torch.cat([previous, steps], dim=-1)) + known[:, None])
        if state is None:
            state = self.start(context)[None]
        hidden, state = (self.unrolled_gru if unrolled else self.gru)(inputs, state)
        raw = self.out(torch.cat([hidden, known[:, None].expand_as(hidden)], dim=-1))
        return raw, state

    def unrolled_gru(self, inputs: torch.Tensor, state: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """The GRU's recurrence written out step by step from its own weights (PyTorch's
        gate equations), ``(B, T, hidden)`` and the last state ``(1, B, hidden)``:
        :func:`torch.func.vmap` takes per-patient gradients through it, not through
        :class:`torch.nn.GRU`'s fused kernel."""
        gru = self.gru
        projected = inputs @ gru.weight_ih_l0.T + gru.bias_ih_l0
        hidden, outputs = state[0], []
        for step in range(inputs.shape[1]):
            reset_x, update_x, new_x = projected[:, step].chunk(3, dim=-1)
            reset_h, update_h, new_h = (hidden @ gru.weight_hh_l0.T + gru.bias_hh_l0).chunk(
                3, dim=-1)
            reset = torch.sigmoid(reset_x + reset_h)
            update = torch.sigmoid(update_x + update_h)
            candidate = torch.tanh(new_x + reset * new_h)
            hidden = (1 - update) * candidate + update * hidden
            outputs.append(hidden)
        return torch.stack(outputs, dim=1), hidden[None]

    def mixture(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The log-weights ``(n, components)`` and the heads' raw outputs
        ``(n * components, width)`` (component-major within a row) of ``n`` steps' raw
        outputs."""
        weights = raw[:, : self.components]
        heads = raw[:, self.components :].reshape(-1, self.spec.width)
        return torch.log_softmax(weights, dim=1), heads

    def component_losses(self, raw: torch.Tensor, target: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """The log-weights ``(n, components)`` and the negative log-likelihood of every
        part of every row of ``target`` under every component, ``(n, components, parts)``."""
        log_weights, heads = self.mixture(raw)
        repeated = target.repeat_interleave(self.components, dim=0)
        parts = self.heads.part_losses(heads, repeated)
        return log_weights, parts.reshape(len(target), self.components, -1)

    def _batch(self, histories: Histories, chosen: np.ndarray
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Padded ``(context, previous, steps, target, mask)`` of the chosen windows."""
        lengths = histories.lengths[chosen]
        steps_max = int(lengths.max())
        index = histories.starts[chosen][:, None] + np.arange(steps_max)[None]
        mask = np.arange(steps_max)[None] < lengths[:, None]
        index = np.where(mask, index, 0)
        target = histories.rows[torch.from_numpy(index)]
        before = torch.from_numpy(np.where(mask, index - 1, 0))
        previous = histories.rows[before.clamp_min(0)]
        first_of_history = torch.from_numpy((histories.offsets[chosen][:, None]
                                             + np.arange(steps_max)[None]) == 0)
        previous = previous.masked_fill(first_of_history[..., None], 0.0)
        positions = torch.from_numpy(histories.offsets[chosen][:, None]
                                     + np.arange(steps_max)[None])
        totals = torch.from_numpy(histories.totals[chosen])[:, None].expand_as(positions)
        steps = step_features(positions, totals)
        device = histories.rows.device
        return (histories.context[torch.from_numpy(chosen)], previous, steps.to(device),
                target, torch.from_numpy(mask).to(device))

    def _window_components(self, histories: Histories, chosen: np.ndarray
                           ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`component_losses` of every row of the chosen windows, in window order."""
        context, previous, steps, target, mask = self._batch(histories, chosen)
        raw, _ = self(context, previous, steps)
        return self.component_losses(raw[mask], target[mask])

    def window_losses(self, histories: Histories, chosen: np.ndarray) -> torch.Tensor:
        """Negative log-likelihood of every row of the chosen windows given the rows
        before (the mixture's), ``(rows,)``, in window order."""
        log_weights, parts = self._window_components(histories, chosen)
        return -torch.logsumexp(log_weights - parts.sum(dim=2), dim=1)

    def part_losses(self, histories: Histories, chosen: np.ndarray) -> torch.Tensor:
        """Negative log-likelihood of every part (see :meth:`OutputHeads.part_losses`) of
        every row of the chosen windows given the rows before, ``(rows, parts)``: each
        component's, weighted by how well the component explains the row (its posterior)."""
        log_weights, parts = self._window_components(histories, chosen)
        posterior = torch.softmax(log_weights - parts.sum(dim=2), dim=1)
        return (posterior[:, :, None] * parts).sum(dim=1)

    @torch.no_grad()
    def start_at_marginals(self, rows: torch.Tensor) -> None:
        """Start every component's heads at the marginals of the encoded ``rows``."""
        marginals = self.heads.init_from_marginals(rows)
        self.out[-1].bias.copy_(torch.cat([marginals.new_zeros(self.components),
                                           marginals.repeat(self.components)]))

    def fit(self, histories: Histories, epochs: int, batch_size: int, learning_rate: float,
            generator: torch.Generator) -> History:
        """Train on the windows for ``epochs`` passes of ``batch_size`` windows a step;
        return the mean loss per row of each epoch.

        Raises
        ------
        TrainingError
            When the loss becomes NaN or infinite.
        """
        self.start_at_marginals(histories.rows)
        optimizer = torch.optim.Adam(self.parameters(), lr=learning_rate)
        n = len(histories.lengths)
        batch_size = min(batch_size, n)
        history = History()
        for epoch in range(epochs):
            order = torch.randperm(n, generator=generator).numpy()
            total, rows = 0.0, 0
            for start in range(0, n - batch_size + 1, batch_size):
                losses = self.window_losses(histories, order[start : start + batch_size])
                loss = losses.mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(self.parameters(), 5.0)
                optimizer.step()
                total += losses.detach().sum().item()
                rows += len(losses)
            mean = total / max(rows, 1)
            if not math.isfinite(mean):
                raise TrainingError(f"training of the history model diverged at epoch "
                                    f"{epoch + 1}: loss is {mean}; try a lower learning_rate")
            history.append({"history_loss": mean})
        return history

    def fit_private(self, histories: Histories, plan: PrivacyPlan, batch_size: int,
                    learning_rate: float, marginal_rows: torch.Tensor,
                    generator: torch.Generator) -> None:
        """Train with DP-SGD, one patient a unit: Poisson-sampled patients, each patient's
        gradient (its whole history's loss) clipped, Gaussian noise added
        (:class:`~toolkit.backends.privacy.PrivateSteps`). Every history must fit one window.
        The heads start at ``marginal_rows`` (rows drawn from a private release), not at the
        training rows; no loss is recorded.

        Raises
        ------
        TrainingError
            When the weights become NaN or infinite.
        """
        if (histories.lengths != histories.totals).any():
            raise ValueError(f"a private fit needs every history in one window (at most "
                             f"{MAX_STEPS} rows)")
        self.start_at_marginals(marginal_rows)
        optimizer = torch.optim.Adam(self.parameters(), lr=learning_rate)
        noise = torch.Generator().manual_seed(int(torch.randint(2**62, (1,),
                                                                generator=generator)))
        patients = len(histories.lengths)
        steps = PrivateSteps(PatientLosses(self, histories), optimizer, plan, patients, noise)
        train(steps, torch.arange(patients), plan.epochs, batch_size, generator,
              poisson_rate=plan.sample_rate)
        if not all(torch.isfinite(p).all() for p in self.parameters()):
            raise TrainingError("private training of the history model diverged (non-finite "
                                "weights); try a lower learning_rate or max_grad_norm")

    @torch.no_grad()
    def sample(self, context: torch.Tensor, lengths: np.ndarray,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw histories of ``lengths`` rows for the patients ``context``; the rows come
        back grouped by patient in history order, ``(lengths.sum(), width)``."""
        n, steps_max = len(lengths), int(lengths.max()) if len(lengths) else 0
        previous = context.new_zeros(n, 1, self.spec.width)
        totals = torch.from_numpy(np.asarray(lengths))[:, None]
        state, drawn = None, []
        for position in range(steps_max):
            steps = step_features(torch.full_like(totals, position), totals).to(context.device)
            raw, state = self(context, previous, steps, state)
            log_weights, heads = self.mixture(raw[:, 0])
            chosen = torch.multinomial(log_weights.exp(), 1, generator=generator)[:, 0]
            picked = heads.reshape(n, self.components, -1)[torch.arange(n), chosen]
            row = self.heads.sample(picked, generator)
            drawn.append(row)
            previous = row[:, None]
        if not drawn:
            return context.new_zeros(0, self.spec.width)
        rows = torch.stack(drawn, dim=1)  # (n, steps, width)
        mask = torch.from_numpy(np.arange(steps_max)[None] < np.asarray(lengths)[:, None])
        return rows[mask.to(rows.device)]


class PatientLosses(nn.Module):
    """A history model's loss per patient, in the form DP-SGD's
    :class:`~toolkit.backends.privacy.PrivateSteps` takes a backend's: a batch is a tensor
    of patients (window indices); :meth:`private_inputs` gives their padded windows and
    :meth:`private_row_loss` each one's negative log-likelihood, summed over its rows."""

    def __init__(self, model: HistoryModel, histories: Histories) -> None:
        super().__init__()
        self.model = model
        self.histories = histories

    def private_inputs(self, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The padded ``(context, previous, steps, target, mask)`` of the batch's patients."""
        context, previous, steps, target, mask = self.model._batch(self.histories,
                                                                   batch.cpu().numpy())
        return context, previous, steps, target, mask.to(target.dtype)

    def private_row_loss(self, patients: torch.Tensor, context: torch.Tensor,
                         previous: torch.Tensor, steps: torch.Tensor, target: torch.Tensor,
                         mask: torch.Tensor) -> torch.Tensor:
        """Each patient's history loss, ``(B,)``."""
        raw, _ = self.model(context, previous, steps, unrolled=True)
        batch, length = mask.shape
        log_weights, parts = self.model.component_losses(raw.reshape(batch * length, -1),
                                                         target.reshape(batch * length, -1))
        losses = -torch.logsumexp(log_weights - parts.sum(dim=2), dim=1)
        return (losses.reshape(batch, length) * mask).sum(dim=1)

    def public_step(self, n: int) -> None:
        """Nothing is trained outside DP-SGD."""
