"""The shared training loop (toolkit.backends.training), driven by tiny stand-in backends."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import seeded

from toolkit.backends.training import (
    Callback,
    EarlyStopping,
    History,
    ProgressBar,
    choose_epochs,
    cosine_factor,
    steps_per_epoch,
    train,
)
from toolkit.exceptions import TrainingError


class Recorder:
    """A backend that keeps every batch it is given and reports scripted losses."""

    def __init__(self, losses=None):
        self.batches: list[torch.Tensor] = []
        self.losses = losses or (lambda step, batch: {"loss": float(batch.sum())})

    def training_step(self, batch: torch.Tensor) -> dict[str, float]:
        self.batches.append(batch.clone())
        return self.losses(len(self.batches) - 1, batch)


class Log(Callback):
    def __init__(self, stop_at: int | None = None):
        self.events: list = []
        self.stop_at = stop_at

    def on_train_begin(self, epochs):
        self.events.append(("begin", epochs))

    def on_epoch_end(self, epoch, logs):
        self.events.append(("epoch", epoch, dict(logs)))
        return epoch == self.stop_at

    def on_train_end(self):
        self.events.append(("end",))


def rows(n: int) -> torch.Tensor:
    """``n`` rows whose single value is the row number (so batches show which rows they hold)."""
    return torch.arange(n, dtype=torch.float32)[:, None]




# helpers ----------------------------------------------------------------------------------
def test_history_keeps_each_loss_per_epoch_in_order():
    history = History()
    assert history.epochs == 0
    for epoch in range(3):
        history.append({"loss": 1.0 / (epoch + 1), "kl": float(epoch)})
    assert history.epochs == 3
    assert history.losses == {"loss": [1.0, 0.5, 1.0 / 3], "kl": [0.0, 1.0, 2.0]}


@pytest.mark.parametrize("step, factor", [(0, 1.0), (25, 0.1 + 0.9 * 0.5 * (1 + math.cos(
    math.pi / 4))), (100, 0.1), (250, 0.1)])
def test_cosine_factor_decays_to_the_floor_and_stays(step, factor):
    assert cosine_factor(step, 100) == pytest.approx(factor)


def test_cosine_factor_is_monotone_and_safe_for_zero_steps():
    values = [cosine_factor(step, 40, floor=0.2) for step in range(41)]
    assert all(a >= b for a, b in zip(values, values[1:], strict=False))
    assert values[-1] == pytest.approx(0.2)
    assert (cosine_factor(0, 0), cosine_factor(1, 0)) == (1.0, pytest.approx(0.1))  # no / 0


@pytest.mark.parametrize("n_rows, batch_size, steps", [(10, 4, 2), (8, 4, 2), (3, 512, 1),
                                                       (1, 1, 1), (1000, 333, 3)])
def test_steps_per_epoch_counts_full_batches(n_rows, batch_size, steps):
    assert steps_per_epoch(n_rows, batch_size) == steps


def test_choose_epochs_keeps_given_epochs_and_clamps_automatic_ones():
    assert choose_epochs(1000, 250, 7, steps=500, min_epochs=10, max_epochs=500) == 7
    assert choose_epochs(10, 512, None, steps=10_000, min_epochs=10, max_epochs=300) == 300
    assert choose_epochs(1000, 100, None, steps=25, min_epochs=1, max_epochs=500) == 3  # ceil


def test_early_stopping_counts_epochs_without_improvement_and_resets():
    stopper = EarlyStopping(patience=2, monitor="recon", min_delta=0.1)
    decisions = [stopper.on_epoch_end(i, {"recon": value, "loss": 0.0})
                 for i, value in enumerate([1.0, 0.95, 0.8, 0.75, 0.72])]
    # 0.95 is not 0.1 better than 1.0; 0.8 is (reset); 0.75 and 0.72 are not: stop
    assert decisions == [False, False, False, False, True]
    assert stopper.best == 0.8


# the loop ---------------------------------------------------------------------------------
def test_each_epoch_sees_distinct_rows_in_full_batches():
    backend = Recorder()
    history = train(backend, rows(10), epochs=3, batch_size=4, generator=seeded())
    assert history.epochs == 3 and len(backend.batches) == 3 * 2
    for epoch in range(3):
        seen = torch.cat(backend.batches[2 * epoch: 2 * epoch + 2]).flatten()
        assert [len(b) for b in backend.batches[2 * epoch: 2 * epoch + 2]] == [4, 4]
        assert len(set(seen.tolist())) == 8  # no row twice in an epoch; 2 rows sit it out


def test_epoch_loss_is_the_mean_over_its_batches():
    backend = Recorder(lambda step, batch: {"loss": float(step), "rows": float(len(batch))})
    history = train(backend, rows(12), epochs=2, batch_size=4, generator=seeded())
    assert history.losses == {"loss": [1.0, 4.0], "rows": [4.0, 4.0]}  # steps 0-2, then 3-5


def test_batch_larger_than_the_table_is_the_whole_table():
    backend = Recorder()
    train(backend, rows(5), epochs=2, batch_size=512, generator=seeded())
    assert [sorted(b.flatten().tolist()) for b in backend.batches] == [[0, 1, 2, 3, 4]] * 2


def test_shuffling_follows_the_generator_seed():
    def order(seed):
        backend = Recorder()
        train(backend, rows(16), epochs=2, batch_size=4, generator=seeded(seed))
        return torch.cat(backend.batches).flatten().tolist()

    assert order(3) == order(3)
    assert order(3) != order(4)
    first, second = order(3)[:16], order(3)[16:]
    assert first != second  # reshuffled every epoch


def test_after_step_runs_after_every_optimizer_step():
    calls = []
    backend = Recorder()
    train(backend, rows(9), epochs=2, batch_size=3, generator=seeded(),
          after_step=lambda: calls.append(len(backend.batches)))
    assert calls == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_non_finite_loss_stops_training_naming_the_loss_and_epoch(bad):
    backend = Recorder(lambda step, batch: {"recon": 1.0, "kl": bad if step >= 2 else 0.5})
    callback = Log()
    with pytest.raises(TrainingError, match=r"training diverged at epoch 2: loss 'kl' is "
                                            rf"{bad}; try a lower learning_rate"):
        train(backend, rows(4), epochs=5, batch_size=2, generator=seeded(),
              callbacks=[callback])
    assert [e[0] for e in callback.events] == ["begin", "epoch", "end"]  # end still runs


def test_callbacks_see_every_epoch_and_one_can_stop_training():
    backend = Recorder(lambda step, batch: {"loss": 10.0 - step})
    log, other = Log(stop_at=1), Log()
    history = train(backend, rows(4), epochs=6, batch_size=4, generator=seeded(),
                    callbacks=[log, other])
    assert history.epochs == 2 and len(backend.batches) == 2
    assert log.events == other.events == [("begin", 6), ("epoch", 0, {"loss": 10.0}),
                                          ("epoch", 1, {"loss": 9.0}), ("end",)]


def test_early_stopping_ends_the_loop_when_the_loss_plateaus():
    plateau = [3.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    backend = Recorder(lambda step, batch: {"loss": plateau[step]})
    history = train(backend, rows(4), epochs=8, batch_size=4, generator=seeded(),
                    callbacks=[EarlyStopping(patience=3)])
    assert history.losses["loss"] == [3.0, 2.0, 1.0, 1.0, 1.0, 1.0]


def test_poisson_batches_vary_in_size_but_keep_the_step_count():
    backend = Recorder()
    train(backend, rows(200), epochs=3, batch_size=20, generator=seeded(),
          poisson_rate=0.1)
    sizes = [len(b) for b in backend.batches]
    assert len(sizes) == 3 * 10
    assert len(set(sizes)) > 1 and 10 < sum(sizes) / len(sizes) < 30
    for batch in backend.batches:
        assert len(set(batch.flatten().tolist())) == len(batch)  # a row at most once per batch


@pytest.mark.parametrize("rate, size", [(0.0, 0), (1.0, 6)])
def test_poisson_rate_extremes_give_empty_or_full_batches(rate, size):
    backend = Recorder()
    train(backend, rows(6), epochs=1, batch_size=2, generator=seeded(), poisson_rate=rate)
    assert [len(b) for b in backend.batches] == [size] * 3


def test_progress_bar_reports_on_stderr_and_closes(capsys):
    backend = Recorder(lambda step, batch: {"loss": 0.25})
    bar = ProgressBar()
    train(backend, rows(4), epochs=3, batch_size=4, generator=seeded(), callbacks=[bar])
    assert bar.bar.n == 3 and bar.bar.total == 3
    assert bar.bar.disable  # closed by on_train_end
    captured = capsys.readouterr()
    assert "training:" in captured.err and "0/3" in captured.err and captured.out == ""
