"""``toolkit encode|decode|reconstruct|interpolate|latent`` (toolkit.cli.latent_space) on images
and tables, and their one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from conftest import DIGITS
from helpers import run
from PIL import Image

# latent space: encode, decode, reconstruct, interpolate, influence ----------------------------


def test_cli_latent_tools_on_images(tmp_path, monkeypatch, digits_model):
    monkeypatch.chdir(tmp_path)
    digits_model.save("d.tkm")
    encoded = run("encode", DIGITS, "--model", "d.tkm", "--out", "codes.csv")
    assert encoded.exit_code == 0, encoded.output
    assert "compression" in encoded.output and "reconstruction NLL" in encoded.output
    assert len(pd.read_csv("codes.csv")) == 300
    assert run("decode", "codes.csv", "--model", "d.tkm", "--out", "decoded").exit_code == 0
    assert len(list(Path("decoded").rglob("*.png"))) == 300
    strip = run("interpolate", "d.tkm", DIGITS / "0" / "0000.png", DIGITS / "1" / "0001.png",
                "--steps", "6", "--out", "strip.png")
    assert strip.exit_code == 0, strip.output
    assert Image.open("strip.png").size[0] > Image.open("strip.png").size[1] * 4
    heat = run("latent", "d.tkm", "--out", "influence.png", "--csv", "influence.csv")
    assert heat.exit_code == 0, heat.output
    assert Path("influence.png").stat().st_size > 1000
    assert run("reconstruct", DIGITS / "3", "--model", "d.tkm", "--out", "rec.png").exit_code == 0


def test_cli_latent_tools_bad_input(tmp_path, monkeypatch, fitted):
    monkeypatch.chdir(tmp_path)
    fitted.save("t.tkm")
    assert run("encode", "missing.csv", "--model", "t.tkm", "--out", "c.csv").exit_code == 1
    assert run("latent", "t.tkm", "--out", "x.jpg").exit_code == 2
    pd.DataFrame({"z0": [1.0]}).to_csv("short.csv", index=False)
    result = run("decode", "short.csv", "--model", "t.tkm", "--out", "d.csv")
    assert result.exit_code == 2 and "codes must be an (n, 8) array" in result.output
