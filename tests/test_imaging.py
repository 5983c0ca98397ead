"""Images: the folder reader, the image adapter, the convolutional VAE, and the CLI on folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from toolkit import Synthesizer
from toolkit.adapters.imaging import (
    ImageAdapter,
    image_grid,
    image_set_from_array,
    read_image_folder,
    write_image_folder,
)
from toolkit.cli import cli
from toolkit.exceptions import DataError, UsageError

REPO = Path(__file__).resolve().parents[1]
DIGITS = REPO / "sample_data" / "digits"
FAST = {"config": "fast", "epochs": 2}


@pytest.fixture(scope="module")
def digits():
    return read_image_folder(DIGITS)


@pytest.fixture(scope="module")
def fitted(digits):
    return Synthesizer(random_state=0, **FAST).fit(digits)


def _png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


# reading ----------------------------------------------------------------------------------
def test_sample_digits_are_read_with_labels_from_folders(digits):
    assert digits.images.shape == (300, 8, 8, 1) and digits.images.dtype == np.uint8
    assert sorted(set(digits.labels)) == [str(d) for d in range(10)]
    assert digits.resized == 0


def test_mixed_sizes_are_resized_to_the_most_common_and_counted(tmp_path):
    for i in range(3):
        _png(tmp_path / f"a{i}.png", np.full((8, 12), 40 * i, np.uint8))
    _png(tmp_path / "big.png", np.zeros((20, 20), np.uint8))
    images = read_image_folder(tmp_path)
    assert images.images.shape == (4, 8, 12, 1) and images.resized == 1
    assert images.labels is None


def test_colour_images_make_an_rgb_set(tmp_path):
    _png(tmp_path / "grey.png", np.zeros((4, 4), np.uint8))
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255
    _png(tmp_path / "red.png", red)
    assert read_image_folder(tmp_path).images.shape == (2, 4, 4, 3)


def test_npy_and_npz_files_are_images(tmp_path):
    np.save(tmp_path / "a.npy", np.linspace(0, 1, 16).reshape(4, 4))
    np.savez(tmp_path / "b.npz", image=np.zeros((4, 4)))
    images = read_image_folder(tmp_path)
    assert images.images.shape == (2, 4, 4, 1) and images.images.max() == 255


@pytest.mark.parametrize("setup, message", [
    (lambda d: (d / "bad.png").write_bytes(b"not a png"), "cannot read image .*bad.png"),
    (lambda d: (d / "notes.txt").write_text("x"), "holds no images"),
    (lambda d: (d / "scan.dcm").write_bytes(b"\0" * 10), "scan.dcm"),
])
def test_bad_folders_fail_naming_the_problem(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(DataError, match=message):
        read_image_folder(tmp_path)


def test_missing_folder_fails(tmp_path):
    with pytest.raises(DataError, match="image folder not found"):
        read_image_folder(tmp_path / "nope")


# the adapter ------------------------------------------------------------------------------
def test_adapter_round_trip_is_exact(digits):
    adapter = ImageAdapter().fit(digits)
    assert [b.kind for b in adapter.spec.blocks] == ["image", "categorical"]
    assert adapter.spec.blocks[0].shape == (1, 8, 8)
    back = adapter.inverse_transform(adapter.transform(digits))
    assert np.array_equal(back.images, digits.images)
    assert back.labels == digits.labels
    copy = ImageAdapter.from_dict(adapter.to_dict())
    assert copy.spec == adapter.spec


def test_adapter_refuses_other_shapes_and_unseen_labels(digits):
    adapter = ImageAdapter().fit(digits)
    with pytest.raises(DataError, match="trained on 1×8×8"):
        adapter.transform(image_set_from_array(np.zeros((2, 4, 4))))
    with pytest.raises(DataError, match="label 'x' was not seen"):
        adapter.encode_conditions({"label": "x"})


def test_write_image_folder_and_grid(digits, tmp_path):
    written = write_image_folder(digits, tmp_path / "out")
    assert len(written) == 300 and written[0].parent.name == digits.labels[0]
    assert np.array_equal(np.asarray(Image.open(written[0])), digits.images[0, ..., 0])
    grid = image_grid(digits.images[:16], columns=8, scale=2)
    assert grid.size == ((8 * 9 + 1) * 2, (2 * 9 + 1) * 2)


# the model ----------------------------------------------------------------------------------
def test_image_model_samples_images_of_the_training_shape(fitted):
    images = fitted.sample(12, random_state=0)
    assert images.images.shape == (12, 8, 8, 1) and images.images.dtype == np.uint8
    assert set(images.labels) <= {str(d) for d in range(10)}


def test_class_conditional_images_have_the_label(fitted):
    assert set(fitted.sample(20, conditions={"label": "3"}, random_state=0).labels) == {"3"}


def test_same_seed_same_images(digits):
    # no random_state in sample: the model's own sampling sequence starts from the fit seed
    a = Synthesizer(random_state=4, **FAST).fit(digits).sample(6)
    b = Synthesizer(random_state=4, **FAST).fit(digits).sample(6)
    assert np.array_equal(a.images, b.images)


def test_image_model_file_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "m.tkm")
    loaded = Synthesizer.load(tmp_path / "m.tkm")
    assert np.array_equal(loaded.sample(5, random_state=1).images,
                          fitted.sample(5, random_state=1).images)


def test_arrays_are_images_too():
    array = np.random.default_rng(0).random((20, 8, 8))
    images = Synthesizer(random_state=0, **FAST).fit(array).sample(3, random_state=0).images
    assert images.shape == (3, 8, 8, 1)


@pytest.mark.parametrize("backend", ["gan", "vaegan"])
def test_adversarial_backends_model_images_with_convolutional_critics(digits, backend):
    from toolkit.backends.layers import ConvDecoder, ConvDiscriminator

    model = Synthesizer(backend=backend, epochs=2, random_state=0).fit(digits)
    critic = model.backend_.critic if backend == "gan" else model.backend_.discriminator
    generator = model.backend_.generator if backend == "gan" else model.backend_.decoder
    assert isinstance(critic, ConvDiscriminator) and isinstance(generator, ConvDecoder)
    images = model.sample(6, conditions={"label": "4"}, random_state=0)
    assert images.images.shape == (6, 8, 8, 1) and set(images.labels) == {"4"}


def test_image_gan_seed_and_file_round_trip(digits, tmp_path):
    a = Synthesizer(config="gan-images", epochs=2, random_state=3).fit(digits)
    b = Synthesizer(config="gan-images", epochs=2, random_state=3).fit(digits)
    assert np.array_equal(a.sample(5, random_state=1).images, b.sample(5, random_state=1).images)
    a.save(tmp_path / "g.tkm")
    loaded = Synthesizer.load(tmp_path / "g.tkm")
    assert np.array_equal(loaded.sample(5, random_state=1).images,
                          a.sample(5, random_state=1).images)


def test_projection_critic_scores_depend_on_the_condition(digits):
    import torch

    from toolkit.backends.layers import ConvDiscriminator

    spec = ImageAdapter().fit(digits).spec
    torch.manual_seed(0)
    critic = ConvDiscriminator(spec, extra_dim=10)
    rows = torch.rand(4, spec.width)
    first, second = torch.eye(10)[[0] * 4], torch.eye(10)[[1] * 4]
    assert not torch.allclose(critic(torch.cat([rows, first], 1)),
                              critic(torch.cat([rows, second], 1)))
    assert critic.features(torch.cat([rows, first], 1)).shape == (4, 256)


def test_vaegan_models_images(digits):
    model = Synthesizer(config="vaegan", epochs=2, random_state=0).fit(digits)
    images = model.sample(6, conditions={"label": "4"}, random_state=0)
    assert images.images.shape == (6, 8, 8, 1) and set(images.labels) == {"4"}


def test_training_lowers_the_pixel_loss(digits):
    model = Synthesizer(config="fast", epochs=30, random_state=0).fit(digits)
    losses = model.history_["reconstruction"]
    assert losses[-1] < 0.8 * losses[0]


# command line -------------------------------------------------------------------------------
def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_synth_on_a_folder_writes_pngs_and_a_grid(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _run("synth", DIGITS, "--out", "fake", "--rows", "20", "--grid", "grid.png",
                  "--model-out", "m.tkm", "--condition", "label=5", *sum(
                      ([f"--{k}", v] for k, v in {"config": "fast", "epochs": "2"}.items()), []))
    assert result.exit_code == 0, result.output
    assert len(list(Path("fake/5").glob("*.png"))) == 20
    assert Image.open("grid.png").size[0] > 8 * 8
    sampled = _run("sample", "m.tkm", "--rows", "4", "--out", "more")
    assert sampled.exit_code == 0, sampled.output
    assert len(list(Path("more").rglob("*.png"))) == 4


@pytest.mark.parametrize("args", [["--out", "fake.csv"], ["--out", "full"],
                                  ["--out", "fake", "--grid", "grid.jpg"],
                                  ["--out", "fake", "--report", "r.html"]])
def test_cli_synth_images_bad_out_is_a_usage_error(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.png").write_bytes(b"")
    result = _run("synth", DIGITS, *args, "--config", "fast", "--epochs", "1")
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1


# latent space: encode, decode, reconstruct, interpolate, influence ----------------------------
@pytest.fixture(scope="module")
def table_model(_patients_frame):
    return Synthesizer(config="fast", epochs=5, random_state=0).fit(_patients_frame)


def test_encode_decode_tables(table_model, _patients_frame):
    from toolkit.evaluate import latent

    codes = latent.encode(table_model, _patients_frame.head(7))
    assert codes.shape == (7, table_model.config_.latent_dim)
    decoded = latent.decode(table_model, codes)
    assert list(decoded.columns) == list(_patients_frame.columns) and len(decoded) == 7
    assert np.array_equal(latent.encode(table_model, _patients_frame.head(7)), codes)


def test_interpolation_starts_and_ends_at_the_reconstructions(table_model, _patients_frame):
    from toolkit.evaluate import latent

    a, b = _patients_frame.iloc[[0]], _patients_frame.iloc[[1]]
    path = latent.interpolate(table_model, a, b, steps=5)
    assert len(path) == 5
    ends = latent.reconstruct(table_model, pd.concat([a, b]))
    pd.testing.assert_frame_equal(  # IDs are always fresh, so they are left out
        path.iloc[[0, -1]].drop(columns="id").reset_index(drop=True),
        ends.drop(columns="id").reset_index(drop=True))


def test_influence_has_one_row_per_latent_dimension(table_model, fitted):
    from toolkit.evaluate import latent

    table = latent.influence(table_model)
    assert table.shape[0] == table_model.config_.latent_dim
    assert "age" in table.columns and (table.to_numpy() >= 0).all()
    images = latent.influence(fitted)
    assert images.shape[1] == 64 + 1  # 8x8 pixels and the label


def test_gan_cannot_encode(_patients_frame):
    from toolkit.evaluate import latent

    gan = Synthesizer(config="gan", epochs=1, random_state=0).fit(_patients_frame)
    with pytest.raises(UsageError, match="gan backend cannot encode records"):
        latent.encode(gan, _patients_frame.head(2))
    assert latent.influence(gan).shape[0] == gan.config_.latent_dim  # decoding works


def test_cli_latent_tools_on_images(tmp_path, monkeypatch, fitted):
    monkeypatch.chdir(tmp_path)
    fitted.save("d.tkm")
    encoded = _run("encode", DIGITS, "--model", "d.tkm", "--out", "codes.csv")
    assert encoded.exit_code == 0, encoded.output
    assert "compression" in encoded.output and "reconstruction NLL" in encoded.output
    assert len(pd.read_csv("codes.csv")) == 300
    assert _run("decode", "codes.csv", "--model", "d.tkm", "--out", "decoded").exit_code == 0
    assert len(list(Path("decoded").rglob("*.png"))) == 300
    strip = _run("interpolate", "d.tkm", DIGITS / "0" / "0000.png", DIGITS / "1" / "0001.png",
                 "--steps", "6", "--out", "strip.png")
    assert strip.exit_code == 0, strip.output
    assert Image.open("strip.png").size[0] > Image.open("strip.png").size[1] * 4
    heat = _run("latent", "d.tkm", "--out", "influence.png", "--csv", "influence.csv")
    assert heat.exit_code == 0, heat.output
    assert Path("influence.png").stat().st_size > 1000
    assert _run("reconstruct", DIGITS / "3", "--model", "d.tkm", "--out", "rec.png").exit_code == 0


def test_cli_latent_tools_bad_input(tmp_path, monkeypatch, table_model):
    monkeypatch.chdir(tmp_path)
    table_model.save("t.tkm")
    assert _run("encode", "missing.csv", "--model", "t.tkm", "--out", "c.csv").exit_code == 1
    assert _run("latent", "t.tkm", "--out", "x.jpg").exit_code == 2
    pd.DataFrame({"z0": [1.0]}).to_csv("short.csv", index=False)
    result = _run("decode", "short.csv", "--model", "t.tkm", "--out", "d.csv")
    assert result.exit_code == 2 and "codes must be an (n, 8) array" in result.output


# anomaly detection on images ----------------------------------------------------------------
def test_detector_scores_images_and_explains_pixels(digits):
    import copy

    from sklearn.metrics import roc_auc_score

    from toolkit import AnomalyDetector

    zeros = digits.images[[label == "0" for label in digits.labels]]
    sixes = digits.images[[label == "6" for label in digits.labels]][:3]
    images = np.concatenate([zeros, sixes])
    truth = np.r_[np.zeros(len(zeros)), np.ones(len(sixes))]
    detector = AnomalyDetector(random_state=0, epochs=100).fit(images)
    assert roc_auc_score(truth, detector.decision_scores_) > 0.9
    maps = detector.explain(images[:4])
    assert maps.shape == (4, 8, 8)
    reconstruction = copy.copy(detector).set_params(anomaly_score="reconstruction")
    assert np.allclose(maps.sum(axis=(1, 2)), reconstruction.decision_function(images[:4]),
                       atol=1e-3)
    with pytest.raises(DataError, match="trained on images"):
        detector.decision_function(pd.DataFrame({"a": [1.0, 2.0]}))
    config = detector.model_.config_  # the image preset: no trimming, beta 1
    assert detector.config is None and (config.trim_fraction, config.beta) == (0.0, 1.0)


def test_detector_presets_follow_the_domain_unless_one_is_given(digits):
    from toolkit import AnomalyDetector

    table = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 7})
    on_table = AnomalyDetector(epochs=1, random_state=0).fit(table).model_.config_
    assert (on_table.trim_fraction, on_table.beta) == (0.3, 4.0)  # the detect preset
    given = AnomalyDetector(config="detect", epochs=1, random_state=0).fit(digits.images[:40])
    assert given.model_.config_.trim_fraction == 0.3


def test_cli_score_on_an_image_folder_writes_scores_and_maps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = _run("score", DIGITS / "1", "--fit-on", DIGITS / "1", "--out", "scores.csv",
                  "--explain", "--config", "fast", "--epochs", "2", "--seed", "0")
    assert result.exit_code == 0, result.output
    scores = pd.read_csv("scores.csv")
    assert list(scores.columns) == ["image", "anomaly_score", "is_outlier"] and len(scores) == 30
    assert len(list(Path("scores_maps").glob("*.png"))) == 30


def test_images_of_a_size_the_models_cannot_take_are_refused_with_one_line():
    with pytest.raises(DataError, match="divisible by 4"):
        Synthesizer(config="fast", epochs=1, random_state=0).fit(
            np.random.default_rng(0).random((20, 6, 6)))
