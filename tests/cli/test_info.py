"""``toolkit info`` (toolkit.cli.info): columns, kinds and loss history of a model file, as text
or JSON."""

from __future__ import annotations

import json

from click.testing import CliRunner
from helpers import ok

from toolkit.cli import cli

# from tests/test_backends.py ----------------------------------------------------------------




def test_info_shows_the_loss_history_of_a_gan(tmp_path, patients_csv):
    path = tmp_path / "gan.tkm"
    runner = CliRunner()
    fitted = runner.invoke(cli, ["fit", str(patients_csv), "--model-out", str(path),
                                 "--backend", "gan", "--config", "fast", "--epochs", "2", "-q"])
    assert fitted.exit_code == 0, fitted.output
    shown = runner.invoke(cli, ["info", str(path)])
    assert "gan backend" in shown.output
    assert "critic:" in shown.output


# from tests/test_cli.py ---------------------------------------------------------------------




# fit, sample, info ------------------------------------------------------------------------


def test_info_shows_columns_kinds_and_loss_history(model):
    result = ok("info", model)
    assert "synthesizer (vae backend" in result.stdout
    assert "  age: continuous" in result.stdout
    assert "  id: id" in result.stdout
    assert "  stage: categorical" in result.stdout
    assert "loss history" in result.stdout
    assert "  loss: " in result.stdout and " -> " in result.stdout
    assert "3 epochs" in result.stdout


def test_info_json_is_valid_json(model):
    document = json.loads(ok("info", model, "--json").stdout)
    assert document["kind"] == "synthesizer"
    assert document["adapter"]["kinds"]["age"] == "continuous"
    assert len(document["history"]["loss"]) == 3
    assert {"config", "versions", "fit_seconds", "seed"} <= set(document)
