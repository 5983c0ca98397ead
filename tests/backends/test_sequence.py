"""toolkit.backends.sequence: the GRU over patient histories."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from toolkit.adapters.base import Block, TensorSpec
from toolkit.backends.privacy import plan_privacy
from toolkit.backends.sequence import Histories, HistoryModel, PatientLosses, step_features

SPEC = TensorSpec((Block("x", "numeric", 1), Block("g", "categorical", 2)))


def alternating(patients: int, length: int) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Histories whose category alternates a, b, a, ... and whose number climbs by 1."""
    rows = []
    for _ in range(patients):
        for t in range(length):
            rows.append([t / length, float(t % 2 == 0), float(t % 2 == 1)])
    context = torch.ones(patients, 2)
    return context, torch.tensor(rows), np.full(patients, length)


def test_windows_cover_every_row_once():
    context, rows, lengths = alternating(3, 10)
    windows = Histories.of(context, rows, lengths, max_steps=4)
    assert windows.lengths.tolist() == [4, 4, 2] * 3
    assert windows.offsets.tolist() == [0, 4, 8] * 3
    assert windows.lengths.sum() == len(rows) and windows.totals.tolist() == [10] * 9


def test_step_features_say_first_row_and_rows_left():
    features = step_features(torch.tensor([0, 1, 4]), torch.tensor([5, 5, 5]))
    assert features[:, 0].tolist() == [1.0, 0.0, 0.0]
    assert features[2, 1] == 0.0 and features[0, 1] > features[1, 1]


def test_the_model_learns_what_follows_and_samples_histories_of_the_asked_lengths():
    torch.manual_seed(0)
    context, rows, lengths = alternating(40, 6)
    model = HistoryModel(SPEC, context_dim=2, hidden=32)
    history = model.fit(Histories.of(context, rows, lengths), epochs=60, batch_size=16,
                        learning_rate=0.01, generator=torch.Generator().manual_seed(0))
    assert history.losses["history_loss"][-1] < history.losses["history_loss"][0]
    drawn = model.eval().sample(torch.ones(5, 2), np.array([1, 2, 3, 6, 4]),
                                torch.Generator().manual_seed(1))
    assert drawn.shape == (16, 3)
    category = drawn[:, 1:].argmax(1).numpy()
    starts = np.r_[0, np.cumsum([1, 2, 3, 6, 4])[:-1]]
    steps = np.concatenate([np.arange(n) for n in (1, 2, 3, 6, 4)])
    assert (category == steps % 2).mean() > 0.9  # the alternation was learnt
    assert (category[starts] == 0).all()


def test_the_unrolled_gru_is_the_gru():
    torch.manual_seed(0)
    context, rows, lengths = alternating(5, 7)
    model = HistoryModel(SPEC, 2, 16)
    batch = model._batch(Histories.of(context, rows, lengths), np.arange(5))
    fused, fused_state = model(*batch[:3])
    unrolled, unrolled_state = model(*batch[:3], unrolled=True)
    torch.testing.assert_close(unrolled, fused)
    torch.testing.assert_close(unrolled_state, fused_state)


def test_a_private_fit_clips_each_patients_gradient_and_refuses_split_histories():
    torch.manual_seed(0)
    context, rows, lengths = alternating(20, 6)
    model = HistoryModel(SPEC, 2, 16)
    histories = Histories.of(context, rows, lengths)
    losses = PatientLosses(model, histories)
    patients = torch.arange(4)
    inputs = losses.private_inputs(patients)
    per_patient = losses.private_row_loss(patients, *inputs)
    # one loss per patient: the sum of its rows' losses
    assert per_patient.shape == (4,)
    rows_losses = model.window_losses(histories, np.arange(4))
    torch.testing.assert_close(per_patient.sum(), rows_losses.sum())
    plan = plan_privacy(5.0, None, 1.0, 20, 8, 2)
    before = [p.detach().clone() for p in model.parameters()]
    model.fit_private(histories, plan, 8, 1e-3, rows, torch.Generator().manual_seed(0))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    with pytest.raises(ValueError, match="every history in one window"):
        model.fit_private(Histories.of(context, rows, lengths, max_steps=4), plan, 8, 1e-3,
                          rows, torch.Generator().manual_seed(0))
