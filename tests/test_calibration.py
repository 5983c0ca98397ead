"""After training, sampling logits are shifted so that prior rows keep the data's level shares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from conftest import FAST

from toolkit import Synthesizer
from toolkit.io.modelfile import load_model, save_model


def skewed(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b", "c", "d"], n, p=[0.7, 0.2, 0.07, 0.03])
    return pd.DataFrame({"group": group, "x": rng.normal(size=n) + (group == "a")})


def test_sampled_level_shares_match_the_data():
    data = skewed()
    model = Synthesizer(**FAST, random_state=0).fit(data)
    assert model.backend_.heads.level_bias.abs().sum() > 0
    shares = model.sample(20000, random_state=1)["group"].value_counts(normalize=True)
    real = data["group"].value_counts(normalize=True)
    assert (shares - real).abs().max() < 0.02, (shares, real)


def test_calibration_moves_only_sampling_not_scores():
    data = skewed()
    model = Synthesizer(**FAST, random_state=0).fit(data)
    x = torch.from_numpy(model.adapter_.transform(data))
    before = model.backend_.part_nll(x)
    model.backend_.heads.level_bias.zero_()
    assert torch.equal(model.backend_.part_nll(x), before)


def test_a_model_file_without_the_calibration_still_loads(tmp_path):
    data = skewed(500)
    model = Synthesizer(**FAST, random_state=0).fit(data)
    path = tmp_path / "model.tkm"
    model.save(path)
    tensors, document = load_model(path)
    tensors.pop("heads.level_bias")
    document = {k: v for k, v in document.items() if k not in ("format", "format_version")}
    save_model(tmp_path / "old.tkm", tensors, document)
    old = Synthesizer.load(tmp_path / "old.tkm")
    assert old.backend_.heads.level_bias.abs().sum() == 0
    assert len(old.sample(10)) == 10
