"""No generated row copies a training row: fingerprints at fit, redraws at sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from toolkit import AnomalyDetector, Synthesizer
from toolkit.cli import cli
from toolkit.config import load_config
from toolkit.exceptions import PrivacyWarning
from toolkit.io.modelfile import load_model, save_model
from toolkit.models.copies import (
    CHANCE_COPIES,
    MAX_REDRAWS,
    CopyGuard,
    chance_copies,
    row_fingerprints,
)
from toolkit.models.synthesizer import COPY_GUARD_TENSOR, SMALL_TABLE_ROWS

FAST = {"config": "fast", "epochs": 3, "random_state": 0}


@pytest.fixture(scope="module")
def coarse() -> pd.DataFrame:
    """Few distinct values: a model reproduces training rows often."""
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({"pid": np.arange(n), "stage": rng.integers(1, 5, n),
                         "sex": rng.choice(["F", "M"], n),
                         "score": np.round(rng.normal(0, 1, n), 1),
                         "site": rng.choice(["a", "b", "c", "d", "e", "f"], n)})


def training_rows(table: pd.DataFrame) -> set:
    return set(row_fingerprints(table, ["stage", "sex", "score", "site"]))


def copies_of_rows(train: pd.DataFrame, synthetic: pd.DataFrame) -> int:
    prints = row_fingerprints(synthetic, ["stage", "sex", "score", "site"])
    return int(pd.Series(prints).isin(training_rows(train)).sum())


@pytest.mark.slow
def test_sampled_rows_never_copy_a_training_row(coarse):
    guarded = Synthesizer(**FAST).fit(coarse)
    free = Synthesizer(**FAST, avoid_copies=False).fit(coarse)
    assert copies_of_rows(coarse, free.sample(3000)) > 0  # the risk is real here
    rows = guarded.sample(3000)
    assert len(rows) == 3000 and copies_of_rows(coarse, rows) == 0
    assert guarded.n_copies_redrawn_ > 0
    assert rows["pid"].is_unique
    rare = chance_copies(coarse, ["stage", "sex", "score", "site"]) < CHANCE_COPIES
    assert len(guarded.copy_guard_.fingerprints) == len(training_rows(coarse[rare]))


def test_conditional_and_chunked_samples_are_guarded_too(coarse):
    model = Synthesizer(**FAST).fit(coarse)
    wanted = model.sample(2000, conditions={"site": "a"})
    assert (wanted["site"] == "a").all() and copies_of_rows(coarse, wanted) == 0
    chunks = list(model.sample_chunks(2500, chunk_rows=1000, random_state=4))
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    assert copies_of_rows(coarse, pd.concat(chunks)) == 0


def test_the_guard_survives_the_model_file_and_seeds_still_fix_the_rows(coarse, tmp_path):
    model = Synthesizer(**FAST).fit(coarse)
    model.save(tmp_path / "m.tkm")
    loaded = Synthesizer.load(tmp_path / "m.tkm")
    np.testing.assert_array_equal(loaded.copy_guard_.fingerprints,
                                  model.copy_guard_.fingerprints)
    pd.testing.assert_frame_equal(loaded.sample(500, random_state=7),
                                  model.sample(500, random_state=7))


def test_a_model_file_without_fingerprints_loads_unguarded(coarse, tmp_path):
    model = Synthesizer(**FAST).fit(coarse)
    model.save(tmp_path / "m.tkm")
    tensors, document = load_model(tmp_path / "m.tkm")
    del tensors[COPY_GUARD_TENSOR]
    document.pop("copy_guard_columns")
    document = {k: v for k, v in document.items() if k not in ("format", "format_version")}
    save_model(tmp_path / "old.tkm", tensors, document)
    assert Synthesizer.load(tmp_path / "old.tkm").copy_guard_ is None


def test_detectors_and_unguarded_models_keep_no_fingerprints(coarse, tmp_path):
    detector = AnomalyDetector(config="fast", epochs=2, random_state=0).fit(coarse)
    assert detector.model_.copy_guard_ is None
    detector.save(tmp_path / "d.tkm")
    assert COPY_GUARD_TENSOR not in load_model(tmp_path / "d.tkm")[0]
    free = Synthesizer(**FAST, avoid_copies=False).fit(coarse)
    assert free.copy_guard_ is None and "avoid_copies" in free.get_params()


def test_guard_compares_typed_values_exactly():
    train = pd.DataFrame({"x": [0.1, 0.2, -0.0], "d": ["2024-01-01", None, "2024-01-03"]})
    guard = CopyGuard.from_rows(train, ["x", "d"])
    probe = pd.DataFrame({"x": [0.1, 0.1 + 1e-12, 0.0, 0.2], "d": ["2024-01-01"] * 2
                          + ["2024-01-03", np.nan]})
    assert guard.copies(probe).tolist() == [True, False, True, True]


def test_cli_says_how_many_rows_were_redrawn_and_allow_copies_keeps_them(coarse, tmp_path,
                                                                        monkeypatch):
    monkeypatch.chdir(tmp_path)
    coarse.to_csv("coarse.csv", index=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["synth", "coarse.csv", "--out", "s.csv", "--config", "fast",
                                 "--epochs", "3", "--seed", "0", "--rows", "3000"])
    assert result.exit_code == 0, result.output
    assert "copied a training row were redrawn" in result.output
    assert copies_of_rows(coarse, pd.read_csv("s.csv")) == 0
    kept = runner.invoke(cli, ["synth", "coarse.csv", "--out", "k.csv", "--config", "fast",
                               "--epochs", "3", "--seed", "0", "--rows", "3000",
                               "--allow-copies"])
    assert kept.exit_code == 0, kept.output
    assert "redrawn" not in kept.output
    assert copies_of_rows(coarse, pd.read_csv("k.csv")) > 0


def test_the_guard_does_not_skew_a_low_cardinality_table():
    # age in years x sex: most generated rows equal some training row by chance, as unseen
    # real rows do; only rare combinations are evidence of memorisation
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"age": rng.integers(20, 80, 300), "sex": rng.choice(["f", "m"], 300,
                                                                              p=[0.47, 0.53])})
    guarded = Synthesizer(**FAST).fit(table)
    free = Synthesizer(**FAST, avoid_copies=False).fit(table)
    shares = [(model.sample(20_000)["sex"] == "f").mean() for model in (guarded, free)]
    assert abs(shares[0] - shares[1]) <= 0.01
    assert guarded.n_copies_redrawn_ < 0.05 * 20_000


def test_a_tiny_table_is_said_and_copies_that_remain_are_counted_not_called_redrawn(tmp_path,
                                                                                     monkeypatch):
    # two patients, three columns that always agree: the model can only repeat them
    tiny = pd.DataFrame({"bili": [1.5, 2.5] * 2, "sex": ["f", "m"] * 2, "stage": ["I", "IV"] * 2})
    memorising = load_config("fast", beta_rows=0)  # the small-table KL weight would blur them
    with pytest.warns(PrivacyWarning, match=f"only 4 rows, fewer than {SMALL_TABLE_ROWS}"):
        model = Synthesizer(**{**FAST, "config": memorising, "epochs": 50}).fit(tiny)
    with pytest.warns(PrivacyWarning, match=f"still copy a training row after {MAX_REDRAWS}"):
        rows = model.sample(200)
    copies = int(model.copy_guard_.copies(rows).sum())
    assert copies == model.n_copies_kept_ > 0
    monkeypatch.chdir(tmp_path)
    tiny.to_csv("tiny.csv", index=False)
    Path("memorising.yaml").write_text("extends: fast\nbeta_rows: 0\n")
    result = CliRunner().invoke(cli, ["synth", "tiny.csv", "--out", "s.csv", "--rows", "200",
                                      "--config", "memorising.yaml", "--epochs", "50",
                                      "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "Warning: the table has only 4 rows" in result.output
    assert "rows still copy one and were kept" in result.output
    assert "were redrawn" not in result.output
