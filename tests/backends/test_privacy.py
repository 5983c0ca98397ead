"""Differential privacy: the accountant's plan, the private adapter statistics, DP-SGD fits,
model files, the CLI and bad input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import dp_metadata, dp_table, run

from toolkit import Synthesizer
from toolkit.backends.privacy import (
    PrivacyPlan,
    composed_epsilon,
    default_delta,
    epsilon_of,
    plan_privacy,
)
from toolkit.exceptions import UsageError

FAST = {"config": "fast", "epochs": 3}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return dp_table()


@pytest.fixture(scope="module")
def metadata() -> dict:
    return dp_metadata()


@pytest.fixture(scope="module")
def private(table, metadata) -> Synthesizer:
    return Synthesizer(epsilon=1.0, metadata=metadata, random_state=0, **FAST).fit(table)


# the plan -----------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("epsilon", [0.5, 1.0, 3.0, 10.0])
def test_the_accountant_spends_the_target_epsilon_within_tolerance(epsilon):
    plan = plan_privacy(epsilon, None, 1.0, 1000, 100, 20)
    assert plan.delta == pytest.approx(default_delta(1000))
    assert plan.steps == 20 * 10 and plan.sample_rate == pytest.approx(0.1)
    assert 0.99 * epsilon <= plan.epsilon <= epsilon
    # recomputed independently of the plan, by the same accountant
    assert composed_epsilon(plan.statistics_noise, plan.training_noise, plan.sample_rate,
                            plan.steps, plan.delta) == pytest.approx(plan.epsilon)


def test_mechanisms_compose_and_each_one_costs_epsilon():
    plan = plan_privacy(2.0, None, 1.0, 1000, 100, 5)
    once = epsilon_of(plan.mechanisms(), plan.delta)
    assert once == pytest.approx(composed_epsilon(plan.statistics_noise, plan.training_noise,
                                                  plan.sample_rate, plan.steps, plan.delta))
    twice = epsilon_of(plan.mechanisms() * 2, plan.delta)
    assert once < twice < 2 * once  # Renyi composition: less than spending each ε in turn
    assert PrivacyPlan.from_dict(plan.to_dict()) == plan


@pytest.mark.slow
def test_a_smaller_epsilon_needs_more_noise():
    loose, tight = plan_privacy(10.0, None, 1.0, 1000, 100, 20), plan_privacy(0.5, None, 1.0,
                                                                             1000, 100, 20)
    assert tight.training_noise > loose.training_noise
    assert tight.statistics_noise > loose.statistics_noise


@pytest.mark.parametrize(("epsilon", "delta", "message"), [
    (0.0, None, "epsilon must be a positive number"),
    (-1.0, None, "epsilon must be a positive number"),
    (float("nan"), None, "epsilon must be a positive number"),
    (1.0, 0.01, r"delta must be in \(0, 1/n\)"),
    (1.0, 0.0, r"delta must be in \(0, 1/n\)"),
])
def test_bad_budgets_are_refused_with_one_line(epsilon, delta, message):
    with pytest.raises(UsageError, match=message):
        plan_privacy(epsilon, delta, 1.0, 1000, 100, 20)


def test_an_unreachable_budget_is_refused():
    with pytest.raises(UsageError, match="cannot be met"):
        plan_privacy(1e-9, None, 1.0, 1000, 1000, 5000)


# private fits --------------------------------------------------------------------------------
def test_a_private_model_records_its_guarantee(private):
    privacy = private.privacy_
    assert privacy["target_epsilon"] == 1.0
    assert 0.99 <= privacy["epsilon"] <= 1.0
    assert privacy["delta"] == pytest.approx(default_delta(600))
    assert privacy["epochs"] == 3 and private.n_epochs_ == 3
    assert private.history_ == {}  # no data-dependent loss is kept


def test_a_private_model_samples_valid_rows(private, table):
    rows = private.sample(300)
    assert list(rows.columns) == list(table.columns)
    assert rows["age"].between(0, 120).all() and set(rows["sex"]) <= {"F", "M"}
    assert set(rows["stage"]) <= {1, 2, 3, 4}
    assert rows["pid"].is_unique


def test_private_conditions_are_met_by_checking(private):
    rows = private.sample(20, conditions={"sex": "M"})
    assert (rows["sex"] == "M").all()


@pytest.mark.slow
def test_private_fits_are_reproducible_and_survive_the_model_file(table, metadata, private,
                                                                  tmp_path):
    again = Synthesizer(epsilon=1.0, metadata=metadata, random_state=0, **FAST).fit(table)
    pd.testing.assert_frame_equal(again.sample(50, random_state=2).drop(columns="pid"),
                                  private.sample(50, random_state=2).drop(columns="pid"))
    private.save(tmp_path / "dp.tkm")
    loaded = Synthesizer.load(tmp_path / "dp.tkm")
    assert loaded.privacy_ == private.privacy_ and loaded.n_epochs_ == 3
    # nothing reads the rows outside DP-SGD: no fingerprints of them to refuse copies with
    assert private.copy_guard_ is None and loaded.copy_guard_ is None
    pd.testing.assert_frame_equal(loaded.sample(50, random_state=2).drop(columns="pid"),
                                  private.sample(50, random_state=2).drop(columns="pid"))


@pytest.mark.slow
def test_the_private_weights_differ_from_the_plain_ones(table, metadata):
    plain = Synthesizer(metadata={k: (v["kind"] if isinstance(v, dict) else v)
                                  for k, v in metadata.items()}, random_state=0, **FAST)
    plain.fit(table)
    assert plain.privacy_ is None and plain.history_  # the non-DP path records losses
    noisy = Synthesizer(epsilon=0.5, metadata=metadata, random_state=0, **FAST).fit(table)
    assert noisy.privacy_["training_noise"] > 1.0


@pytest.fixture(scope="module")
def private_gan(table, metadata) -> Synthesizer:
    return Synthesizer(backend="gan", epsilon=2.0, metadata=metadata, random_state=0,
                       **FAST).fit(table)


@pytest.mark.slow
def test_a_private_gan_trains_its_critic_privately(table, metadata, private_gan):
    model = private_gan
    assert model.config_.pac == 1 and model.config_.discriminator_steps == 1
    assert 1.98 <= model.privacy_["epsilon"] <= 2.0 and model.history_ == {}
    rows = model.sample(50, random_state=1)
    assert set(rows["sex"]) <= {"F", "M"} and rows["age"].between(0, 120).all()
    again = Synthesizer(backend="gan", epsilon=2.0, metadata=metadata, random_state=0, **FAST)
    pd.testing.assert_frame_equal(again.fit(table).sample(50, random_state=1), rows)


@pytest.mark.slow
def test_the_gan_critic_loss_is_per_row(table, private_gan):
    import torch

    model = private_gan
    backend = model.backend_
    rows = torch.from_numpy(model.adapter_.transform(table.head(6)))
    inputs = backend.private_inputs(rows)
    together = backend.private_row_loss(rows, *inputs)
    alone = torch.cat([backend.private_row_loss(rows[i:i + 1], *(x[i:i + 1] for x in inputs))
                       for i in range(6)])
    assert together.shape == (6,)
    torch.testing.assert_close(together, alone)  # no row's loss depends on another row


@pytest.mark.parametrize(("params", "message"), [
    ({"backend": "vaegan"}, "the vaegan backend cannot train with differential privacy: its "
                            "encoder, decoder and discriminator all read real rows"),
    ({"epsilon": 0.0}, "epsilon must be a positive number"),
    ({"delta": 0.5}, r"delta must be in \(0, 1/n\)"),
    ({"max_grad_norm": 0.0}, "max_grad_norm must be positive"),
    ({"config": "detect"}, "trim_fraction must be 0 with epsilon"),
])
def test_bad_private_settings_are_refused(table, metadata, params, message):
    settings = {"epsilon": 1.0, "metadata": metadata, **FAST, **params}
    with pytest.raises(UsageError, match=message):
        Synthesizer(**settings).fit(table)


def test_images_are_not_fitted_privately():
    images = np.random.default_rng(0).random((20, 8, 8))
    with pytest.raises(UsageError, match="applies to tables"):
        Synthesizer(epsilon=1.0, **FAST).fit(images)


@pytest.mark.slow
def test_cli_private_synth_info_and_report(table, metadata, tmp_path):
    data, meta = tmp_path / "t.csv", tmp_path / "meta.yaml"
    table.to_csv(data, index=False)
    meta.write_text(yaml.safe_dump(metadata))
    result = run("synth", data, "--out", tmp_path / "s.csv", "--model-out", tmp_path / "m.tkm",
                 "--metadata", meta, "--epsilon", "2", "--epochs", "2", "--config", "fast",
                 "--report", tmp_path / "r.html", "--seed", "1")
    assert result.exit_code == 0, result.output
    assert "differential privacy per row" in result.output
    assert len(pd.read_csv(tmp_path / "s.csv")) == 480  # 20 % holdout kept out
    info = run("info", tmp_path / "m.tkm")
    assert "privacy:    (2, " in info.output and "spent 1.9" in info.output
    assert "Formal guarantee:</b> (2, " in (tmp_path / "r.html").read_text()


def test_cli_refuses_private_input_without_bounds(table, tmp_path):
    data = tmp_path / "t.csv"
    table.to_csv(data, index=False)
    result = run("synth", data, "--out", tmp_path / "s.csv", "--epsilon", "1")
    assert result.exit_code != 0
    assert "the metadata must describe every column" in result.output
    assert not (tmp_path / "s.csv").exists()
    result = run("synth", data, "--out", tmp_path / "s.csv", "--delta", "1e-5")
    assert result.exit_code != 0 and "--delta needs --epsilon" in result.output
    result = run("fit", data, "--model-out", tmp_path / "m.tkm", "--task", "detect",
                 "--epsilon", "1")
    assert result.exit_code != 0 and "--epsilon applies to --task synthesize" in result.output


@pytest.mark.slow
def test_cli_metadata_drafts_a_schema_a_private_fit_accepts(table, tmp_path):
    data, meta = tmp_path / "t.csv", tmp_path / "meta.yaml"
    table.to_csv(data, index=False)
    result = run("metadata", data, "--out", meta)
    assert result.exit_code == 0, result.output
    text = meta.read_text()
    assert "READ FROM THE DATA" in text
    drafted = yaml.safe_load(text)["columns"]
    assert set(drafted) == set(table.columns)
    assert drafted["sex"] == {"kind": "categorical", "values": ["F", "M"]}
    assert drafted["age"]["min"] == table["age"].min()
    model = Synthesizer(epsilon=5.0, metadata=meta, random_state=0, **FAST).fit(table)
    assert model.privacy_["epsilon"] <= 5.0
    assert run("metadata", data, "--out", tmp_path / "m.txt").exit_code == 2


@pytest.mark.parametrize(("content", "message"), [
    (None, "Error: input file not found"),
    ("age,sex\n", "Error: table has no rows (only a header)"),
])
def test_cli_metadata_bad_input_fails_with_one_line(tmp_path, content, message):
    data, meta = tmp_path / "t.csv", tmp_path / "meta.yaml"
    if content is not None:
        data.write_text(content)
    result = run("metadata", data, "--out", meta)
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and errors[0].startswith(message)
    assert not meta.exists()


@pytest.mark.slow
def test_private_fits_default_to_the_private_preset(table, metadata):
    model = Synthesizer(epsilon=3.0, metadata=metadata, epochs=1, random_state=0).fit(table)
    assert model.config_.learning_rate == 0.01 and model.config_.prior == "standard"
    assert Synthesizer().resolve_config().learning_rate == 0.005


@pytest.mark.slow
def test_stated_decimals_round_private_values_and_bad_ones_are_refused(table, metadata):
    rounded = {**metadata, "age": {"kind": "continuous", "min": 0, "max": 120, "decimals": 1}}
    model = Synthesizer(epsilon=5.0, metadata=rounded, random_state=0, **FAST).fit(table)
    ages = model.sample(200)["age"].dropna()
    assert np.allclose(ages, ages.round(1))
    bad = {**metadata, "age": {"kind": "continuous", "min": 0, "max": 120, "decimals": 1.5}}
    with pytest.raises(UsageError, match="'decimals' of 'age' must be an integer"):
        Synthesizer(epsilon=5.0, metadata=bad, **FAST).fit(table)


@pytest.mark.parametrize(("flags", "message"), [
    (["--epsilon", "-1"], "Error: epsilon must be a positive number, got -1.0"),
    (["--epsilon", "1", "--delta", "0.5"], "Error: delta must be in (0, 1/n)"),
    (["--epsilon", "1", "--max-grad-norm", "0"], "Error: max_grad_norm must be positive"),
    (["--epsilon", "1", "--backend", "vaegan"], "Error: the vaegan backend cannot train with "
                                                "differential privacy"),
])
def test_cli_bad_privacy_flags_fail_with_one_line(table, metadata, tmp_path, flags, message):
    data, meta = tmp_path / "t.csv", tmp_path / "meta.yaml"
    table.to_csv(data, index=False)
    meta.write_text(yaml.safe_dump(metadata))
    result = run("synth", data, "--out", tmp_path / "s.csv", "--metadata", meta, *flags)
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and errors[0].startswith(message)
    assert not (tmp_path / "s.csv").exists()
