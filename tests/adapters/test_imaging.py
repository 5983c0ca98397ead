"""Images: the image adapter, the convolutional models, the detector and the CLI on folders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DIGITS
from helpers import run
from PIL import Image

from toolkit import Synthesizer
from toolkit.adapters.imaging import ImageAdapter, image_set_from_array
from toolkit.exceptions import DataError

FAST = {"config": "fast", "epochs": 2}


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


# the model ----------------------------------------------------------------------------------
def test_image_model_samples_images_of_the_training_shape(digits_model):
    images = digits_model.sample(12, random_state=0)
    assert images.images.shape == (12, 8, 8, 1) and images.images.dtype == np.uint8
    assert set(images.labels) <= {str(d) for d in range(10)}


def test_class_conditional_images_have_the_label(digits_model):
    assert set(digits_model.sample(20, conditions={"label": "3"}, random_state=0).labels) == {"3"}


@pytest.mark.slow
def test_same_seed_same_images(digits):
    # no random_state in sample: the model's own sampling sequence starts from the fit seed
    a = Synthesizer(random_state=4, **FAST).fit(digits).sample(6)
    b = Synthesizer(random_state=4, **FAST).fit(digits).sample(6)
    assert np.array_equal(a.images, b.images)


def test_image_model_file_round_trip(digits_model, tmp_path):
    digits_model.save(tmp_path / "m.tkm")
    loaded = Synthesizer.load(tmp_path / "m.tkm")
    assert np.array_equal(loaded.sample(5, random_state=1).images,
                          digits_model.sample(5, random_state=1).images)


def test_arrays_are_images_too():
    array = np.random.default_rng(0).random((20, 8, 8))
    images = Synthesizer(random_state=0, **FAST).fit(array).sample(3, random_state=0).images
    assert images.shape == (3, 8, 8, 1)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["gan", "vaegan"])
def test_adversarial_backends_model_images_with_convolutional_critics(digits, backend):
    from toolkit.backends.layers import ConvDecoder, ConvDiscriminator

    model = Synthesizer(backend=backend, epochs=2, random_state=0).fit(digits)
    critic = model.backend_.critic if backend == "gan" else model.backend_.discriminator
    generator = model.backend_.generator if backend == "gan" else model.backend_.decoder
    assert isinstance(critic, ConvDiscriminator) and isinstance(generator, ConvDecoder)
    images = model.sample(6, conditions={"label": "4"}, random_state=0)
    assert images.images.shape == (6, 8, 8, 1) and set(images.labels) == {"4"}


@pytest.mark.slow
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


@pytest.mark.slow
def test_vaegan_models_images(digits):
    model = Synthesizer(config="vaegan", epochs=2, random_state=0).fit(digits)
    images = model.sample(6, conditions={"label": "4"}, random_state=0)
    assert images.images.shape == (6, 8, 8, 1) and set(images.labels) == {"4"}


@pytest.mark.slow
def test_training_lowers_the_pixel_loss(digits):
    model = Synthesizer(config="fast", epochs=30, random_state=0).fit(digits)
    losses = model.history_["reconstruction"]
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.slow
def test_cli_synth_on_a_folder_writes_pngs_and_a_grid(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("synth", DIGITS, "--out", "fake", "--rows", "20", "--grid", "grid.png",
                 "--model-out", "m.tkm", "--condition", "label=5", *sum(
                      ([f"--{k}", v] for k, v in {"config": "fast", "epochs": "2"}.items()), []))
    assert result.exit_code == 0, result.output
    assert len(list(Path("fake/5").glob("*.png"))) == 20
    assert Image.open("grid.png").size[0] > 8 * 8
    sampled = run("sample", "m.tkm", "--rows", "4", "--out", "more")
    assert sampled.exit_code == 0, sampled.output
    assert len(list(Path("more").rglob("*.png"))) == 4


@pytest.mark.parametrize("args", [["--out", "fake.csv"], ["--out", "full"],
                                  ["--out", "fake", "--grid", "grid.jpg"],
                                  ["--out", "fake", "--report", "r.html"]])
def test_cli_synth_images_bad_out_is_a_usage_error(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.png").write_bytes(b"")
    result = run("synth", DIGITS, *args, "--config", "fast", "--epochs", "1")
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1


# anomaly detection on images ----------------------------------------------------------------
@pytest.mark.slow
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


@pytest.mark.slow
def test_cli_score_on_an_image_folder_writes_scores_and_maps(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("score", DIGITS / "1", "--fit-on", DIGITS / "1", "--out", "scores.csv",
                 "--explain", "--config", "fast", "--epochs", "2", "--seed", "0")
    assert result.exit_code == 0, result.output
    scores = pd.read_csv("scores.csv")
    assert list(scores.columns) == ["image", "anomaly_score", "is_outlier"] and len(scores) == 30
    assert len(list(Path("scores_maps").glob("*.png"))) == 30


def test_images_of_a_size_the_models_cannot_take_are_refused_with_one_line():
    with pytest.raises(DataError, match="divisible by 4"):
        Synthesizer(config="fast", epochs=1, random_state=0).fit(
            np.random.default_rng(0).random((20, 6, 6)))
