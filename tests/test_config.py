"""Configuration: presets by name or path, overrides, validation with actionable messages."""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO

from toolkit.config import Config, load_config, preset_names
from toolkit.exceptions import UsageError

PRESETS = ["default", "detect", "detect-images", "fast", "gan", "gan-images", "private", "vae",
           "vaegan"]


def test_preset_names_lists_the_shipped_presets():
    assert preset_names() == PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_loads_and_validates(name):
    assert isinstance(load_config(name), Config)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_by_name_sets_the_values_in_its_file(name):
    settings = yaml.safe_load((REPO / "configs" / f"{name}.yaml").read_text()) or {}
    settings.pop("extends", None)
    config = load_config(name).to_dict()
    assert {key: config[key] for key in settings} == settings


def test_fast_preset_is_smaller_than_the_default():
    fast, default = load_config("fast"), load_config("default")
    assert fast.steps < default.steps
    assert sum(fast.hidden_dims) < sum(default.hidden_dims)


def test_keys_a_preset_leaves_out_keep_the_defaults():
    assert load_config("fast").weight_decay == Config().weight_decay
    assert load_config("fast").epochs is None


def test_default_preset_matches_the_config_defaults():
    assert load_config("default") == Config()
    assert load_config(None) == Config()


def test_preset_by_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("epochs: 7\nlatent_dim: 4\nhidden_dims: [32]\n")
    for config in (load_config(path), load_config(str(path))):
        assert (config.epochs, config.latent_dim, config.hidden_dims) == (7, 4, [32])


def test_a_preset_extends_another_and_replaces_its_values():
    images, tables = load_config("detect-images").to_dict(), load_config("detect").to_dict()
    assert (images["beta"], images["trim_fraction"]) == (1.0, 0.0)
    assert {k: v for k, v in images.items() if k not in ("beta", "trim_fraction")} == {
        k: v for k, v in tables.items() if k not in ("beta", "trim_fraction")}


def test_a_yaml_file_extends_a_file_beside_it_and_a_preset(tmp_path):
    (tmp_path / "base.yaml").write_text("extends: fast\nlatent_dim: 3\nbeta: 2.0\n")
    (tmp_path / "mine.yaml").write_text("extends: base.yaml\nbeta: 0.5\n")
    config = load_config(tmp_path / "mine.yaml")
    assert (config.beta, config.latent_dim, config.steps) == (0.5, 3, load_config("fast").steps)


def test_a_preset_that_extends_itself_raises(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(UsageError, match="extends itself"):
        load_config(tmp_path / "a.yaml")


@pytest.mark.parametrize("base, message", [("[fast]", "must be a preset name"),
                                           ("nope", "unknown config 'nope'")])
def test_a_bad_extends_raises(tmp_path, base, message):
    (tmp_path / "mine.yaml").write_text(f"extends: {base}\n")
    with pytest.raises(UsageError, match=message):
        load_config(tmp_path / "mine.yaml")


def test_empty_yaml_file_gives_the_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config(path) == Config()


def test_overrides_replace_preset_values():
    config = load_config("fast", epochs=3, batch_size=32, backend="vae")
    assert (config.epochs, config.batch_size, config.backend) == (3, 32, "vae")


def test_none_overrides_are_ignored():
    assert load_config("fast", epochs=None).epochs is None
    assert load_config("fast", batch_size=None).batch_size == 256


def test_config_object_is_accepted_and_overridden():
    base = Config(latent_dim=5)
    config = load_config(base, epochs=2)
    assert (config.latent_dim, config.epochs) == (5, 2)
    assert base.epochs is None


def test_yaml_values_are_coerced_to_field_types(tmp_path):
    path = tmp_path / "typed.yaml"
    path.write_text("learning_rate: 1e-3\nepochs: 4.0\nhidden_dims: ['8', 16]\n")
    config = load_config(path)
    assert config.learning_rate == pytest.approx(0.001)
    assert config.epochs == 4 and isinstance(config.epochs, int)
    assert config.hidden_dims == [8, 16]


def test_unknown_override_key_raises_listing_valid_keys():
    with pytest.raises(UsageError, match=r"unknown config key\(s\) \['layers'\]; valid keys: "
                                         r"backend, epochs.*latent_dim"):
        load_config("fast", layers=3)


def test_unknown_key_in_yaml_file_raises(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("epochs: 2\nlearning_rte: 0.1\n")
    with pytest.raises(UsageError, match="learning_rte.*valid keys"):
        load_config(path)


def test_unknown_preset_raises_listing_presets():
    expected = (r"unknown config 'turbo'; valid presets: default, detect, detect-images, fast, "
                "gan, gan-images, private, vae, vaegan")
    with pytest.raises(UsageError, match=expected):
        load_config("turbo")


def test_missing_yaml_path_raises(tmp_path):
    with pytest.raises(UsageError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_raises(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("epochs: [1, 2\n")
    with pytest.raises(UsageError, match="not valid YAML"):
        load_config(path)


def test_yaml_that_is_not_a_mapping_raises(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- epochs\n- 3\n")
    with pytest.raises(UsageError, match="mapping"):
        load_config(path)


@pytest.mark.parametrize(
    "override, message",
    [
        ({"epochs": -1}, "epochs must be a positive integer"),
        ({"epochs": 0}, "epochs must be a positive integer"),
        ({"epochs": 2.5}, "epochs has an invalid value"),
        ({"epochs": "many"}, "epochs has an invalid value"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"latent_dim": -4}, "latent_dim must be a positive integer"),
        ({"learning_rate": 0}, "learning_rate must be > 0"),
        ({"learning_rate": "fast"}, "learning_rate has an invalid value"),
        ({"beta": -1.0}, "beta must be >= 0"),
        ({"hidden_dims": []}, "hidden_dims"),
        ({"hidden_dims": [64, 0]}, "hidden_dims"),
        ({"prior": "uniform"}, "unknown prior 'uniform'; valid: gmm, diffusion, standard"),
        ({"backend": "diffusion"}, "unknown backend 'diffusion'; valid: vae, gan, vaegan"),
        ({"lr_schedule": "step"}, "unknown lr_schedule 'step'; valid: cosine, constant"),
        ({"cpu_threads": -1}, "cpu_threads must be an integer >= 0"),
        ({"marginal_map_rows": -1}, "marginal_map_rows must be an integer >= 0"),
        ({"marginal_map_rows": 2.5}, "marginal_map_rows"),
        ({"pac": 0}, "pac must be a positive integer"),
        ({"max_steps": 0}, "max_steps must be a positive integer"),
        ({"gp_weight": -1.0}, "gp_weight must be >= 0"),
        ({"discriminator_dims": []}, "discriminator_dims must be a list of positive ints"),
        ({"device": "tpu"}, "unknown device 'tpu'; valid: auto, cpu, cuda"),
        ({"numeric_encoding": "minmax"}, "numeric_encoding"),
        ({"early_stopping_patience": 0}, "early_stopping_patience"),
        ({"trim_fraction": 1.0}, "trim_fraction must be in \\[0, 1\\)"),
        ({"trim_fraction": -0.1}, "trim_fraction must be in"),
    ],
    ids=lambda value: "-".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, dict) else "",
)
def test_bad_values_raise_naming_the_setting(override, message):
    with pytest.raises(UsageError, match=message):
        load_config("fast", **override)


def test_boolean_epochs_is_rejected():
    with pytest.raises(UsageError, match="epochs"):
        load_config("fast", epochs=True)


def test_bad_value_in_a_preset_file_raises(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("prior: uniform\n")
    with pytest.raises(UsageError, match="unknown prior"):
        load_config(path)


def test_config_to_dict_round_trips():
    config = load_config("fast", epochs=2)
    assert Config(**config.to_dict()) == config


def test_max_steps_variable_caps_every_budget(monkeypatch):
    monkeypatch.setenv("TOOLKIT_MAX_STEPS", "30")
    capped = load_config("default")
    assert (capped.steps, capped.max_steps, capped.diffusion_steps) == (30, 30, 30)
    assert load_config("detect").for_rows(100_000).steps == 30
    assert load_config("fast", epochs=3).epochs == 3          # explicit epochs still win
    monkeypatch.setenv("TOOLKIT_MAX_STEPS", "many")
    with pytest.raises(UsageError, match="TOOLKIT_MAX_STEPS must be a positive integer"):
        load_config("default")


def test_max_steps_variable_unset_changes_nothing(monkeypatch):
    monkeypatch.delenv("TOOLKIT_MAX_STEPS", raising=False)
    assert load_config("default") == Config()
