"""toolkit.backends.sequence: the GRU over patient histories."""

from __future__ import annotations

import numpy as np
import torch

from toolkit.adapters.base import Block, TensorSpec
from toolkit.backends.sequence import Histories, HistoryModel, step_features

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
