"""toolkit.io.modelfile: model files are safetensors with a checksummed JSON document; anything
else, edited or truncated is refused in one line without running code."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from toolkit import AnomalyDetector, Synthesizer
from toolkit.backends.layers import SCALAR_MAP_BUFFERS
from toolkit.cli import cli
from toolkit.exceptions import ModelFileError, UsageError
from toolkit.io.modelfile import _digest, load_model, save_model

# from tests/test_big_tables.py --------------------------------------------------------------


@pytest.fixture
def small_bound(tmp_path: Path) -> Path:
    """A preset that learns from at most 150 rows."""
    preset = tmp_path / "bounded.yaml"
    preset.write_text("steps: 20\nmin_epochs: 1\nhidden_dims: [32]\nlatent_dim: 4\n"
                      "prior_components: 2\nmax_training_rows: 150\n")
    return preset


@pytest.mark.slow
def test_rows_seen_survive_a_model_file(tmp_path, patients_csv, small_bound):
    model = Synthesizer(config=small_bound, epochs=1, random_state=0).fit(patients_csv)
    model.save(tmp_path / "m.model")
    assert Synthesizer.load(tmp_path / "m.model").n_rows_seen_ == 418


# from tests/test_modelfile.py ---------------------------------------------------------------


def header_length(data: bytes) -> int:
    return struct.unpack("<Q", data[:8])[0]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def assert_refused(path: Path, match: str | None = None) -> str:
    """Both the low-level reader and Synthesizer.load refuse ``path`` with one line."""
    for load in (load_model, Synthesizer.load):
        with pytest.raises(ModelFileError, match=match) as error:
            load(path)
        message = str(error.value)
        assert message and "\n" not in message
        assert str(path) in message
    return message


@pytest.fixture
def model_bytes(model_file) -> bytes:
    return model_file.read_bytes()


# damaged or foreign files ------------------------------------------------------------------
@pytest.mark.parametrize(
    "keep",
    [lambda n: n // 2, lambda n: n - 1, lambda n: 100, lambda n: 4],
    ids=["half", "last-byte-cut", "in-header", "in-length-prefix"],
)
def test_truncated_file_is_refused(tmp_path, model_bytes, keep):
    path = write(tmp_path / "cut.tkm", model_bytes[: keep(len(model_bytes))])
    assert_refused(path, "truncated or corrupt")


def test_file_with_one_byte_flipped_in_tensor_data_is_refused(tmp_path, model_bytes):
    data = bytearray(model_bytes)
    data[8 + header_length(model_bytes) + 17] ^= 0x01
    assert_refused(write(tmp_path / "flipped.tkm", bytes(data)), "integrity check")


def test_file_whose_json_header_was_edited_is_refused(tmp_path, model_bytes):
    length = header_length(model_bytes)
    header = model_bytes[8 : 8 + length].decode()
    edited = header.replace('\\"n_rows\\": 418', '\\"n_rows\\": 419')
    assert edited != header and len(edited) == len(header)
    data = model_bytes[:8] + edited.encode() + model_bytes[8 + length :]
    assert_refused(write(tmp_path / "edited.tkm", data), "integrity check")


def test_file_whose_json_header_grew_is_refused(tmp_path, model_bytes):
    length = header_length(model_bytes)
    header = model_bytes[8 : 8 + length].decode()
    edited = header.replace('\\"n_rows\\": 418', '\\"n_rows\\": 41800000')
    data = struct.pack("<Q", len(edited)) + edited.encode() + model_bytes[8 + length :]
    assert_refused(write(tmp_path / "grown.tkm", data), "integrity check")


@pytest.mark.parametrize(
    "data", [os.urandom(4096), b"id,age\n1,30\n", b""], ids=["random", "csv", "empty"]
)
def test_non_model_file_is_refused(tmp_path, data):
    assert_refused(write(tmp_path / "other.tkm", data), "not a readable toolkit model file")


def test_safetensors_file_of_another_program_is_refused(tmp_path):
    path = tmp_path / "weights.tkm"
    save_file({"w": torch.zeros(3)}, str(path), metadata={"format": "pt"})
    assert_refused(path, "not a toolkit model file")


def test_missing_path_is_refused(tmp_path):
    assert_refused(tmp_path / "missing.tkm", "not found")


class _Payload:
    """Unpickling this creates the file named ``marker``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_renamed_tkm_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "code-ran"
    path = write(tmp_path / "evil.tkm", pickle.dumps(_Payload(marker)))
    assert_refused(path)
    assert not marker.exists()


def test_torch_save_file_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.tkm"
    torch.save({"weights": torch.zeros(2), "payload": _Payload(marker)}, path)
    assert_refused(path)
    assert not marker.exists()


def test_model_of_another_kind_is_refused_by_synthesizer_load(tmp_path):
    path = tmp_path / "detector.tkm"
    save_model(path, {"w": torch.zeros(2)}, {"kind": "detector"})
    with pytest.raises(ModelFileError, match="'detector' model, not a synthesizer"):
        Synthesizer.load(path)


def test_model_from_a_newer_format_is_refused(tmp_path):
    path = tmp_path / "future.tkm"
    save_model(path, {"w": torch.zeros(2)}, {"kind": "synthesizer"})
    tensors = load_file(str(path))
    text = json.dumps({"format": "toolkit-model", "format_version": 99, "kind": "synthesizer"})
    save_file(tensors, str(path), metadata={"toolkit": text, "sha256": _digest(text, tensors)})
    assert_refused(path, "unsupported model format")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"], ids=["invalid-json", "json-list"])
def test_checksummed_file_with_a_malformed_document_is_refused(tmp_path, text):
    tensors = {"w": torch.zeros(2)}
    path = tmp_path / "odd.tkm"
    save_file(tensors, str(path), metadata={"toolkit": text, "sha256": _digest(text, tensors)})
    assert_refused(path)


def test_document_that_does_not_fit_the_weights_is_refused(tmp_path, model_file):
    tensors = load_file(str(model_file))
    with safe_open(str(model_file), framework="pt") as handle:
        document = json.loads(handle.metadata()["toolkit"])
    document["config"]["latent_dim"] += 1
    text = json.dumps(document)
    path = tmp_path / "mismatch.tkm"
    save_file(tensors, str(path), metadata={"toolkit": text, "sha256": _digest(text, tensors)})
    with pytest.raises(ModelFileError, match="is not a usable synthesizer model file") as error:
        Synthesizer.load(path)
    assert "\n" not in str(error.value)


def _rehashed(model_file: Path, path: Path, edit_document=None, edit_tensors=None) -> Path:
    """A copy of ``model_file`` edited and given a valid checksum again (what a careless or
    hostile edit that knows the format produces)."""
    tensors = load_file(str(model_file))
    with safe_open(str(model_file), framework="pt") as handle:
        document = json.loads(handle.metadata()["toolkit"])
    if edit_document:
        edit_document(document)
    if edit_tensors:
        edit_tensors(tensors)
    text = json.dumps(document)
    save_file(tensors, str(path), metadata={"toolkit": text, "sha256": _digest(text, tensors)})
    return path


def _negate_prior(tensors):
    tensors["prior.weights"] = -tensors["prior.weights"]


def _nan_weight(tensors):
    name = next(n for n, t in tensors.items() if t.is_floating_point() and t.ndim == 2)
    tensors[name] = torch.full_like(tensors[name], float("nan"))


NONSENSE = {
    "adapter-as-string": (lambda d: d.update(adapter="tabular"), None),
    "no-config": (lambda d: d.pop("config"), None),
    "no-history": (lambda d: d.pop("history"), None),
    "encoders-not-a-list": (lambda d: d["adapter"].update(encoders=7), None),
    "negative-prior-weights": (None, _negate_prior),
    "nan-weights": (None, _nan_weight),
}


@pytest.mark.parametrize("name", list(NONSENSE))
def test_well_hashed_nonsense_is_refused_with_one_line(tmp_path, model_file, name):
    edit_document, edit_tensors = NONSENSE[name]
    path = _rehashed(model_file, tmp_path / "edited.tkm", edit_document, edit_tensors)
    with pytest.raises(ModelFileError, match="is not a usable synthesizer model file") as error:
        Synthesizer.load(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["adapter-as-string", "no-config", "negative-prior-weights"])
def test_cli_refuses_well_hashed_nonsense_with_one_line(tmp_path, model_file, name, monkeypatch):


    monkeypatch.chdir(tmp_path)
    edit_document, edit_tensors = NONSENSE[name]
    _rehashed(model_file, tmp_path / "edited.tkm", edit_document, edit_tensors)
    for args in (["sample", "edited.tkm", "--rows", "5", "--out", "s.csv"], ["info", "edited.tkm"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, (args, result.output)
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
        assert not (tmp_path / "s.csv").exists()


# what a good file holds --------------------------------------------------------------------
def test_saved_file_is_safetensors_with_the_json_document(model_file, fitted):
    with safe_open(str(model_file), framework="pt") as handle:
        metadata = handle.metadata()
        names = set(handle.keys())
    unused_maps = {f"heads.{name}" for name in SCALAR_MAP_BUFFERS}  # a small table's
    assert names == set(fitted.tensors()) == set(fitted.backend_.state_dict()) - unused_maps | {
        "copy_guard.fingerprints"}
    document = json.loads(metadata["toolkit"])
    assert document["format"] == "toolkit-model"
    assert document["config"] == fitted.config_.to_dict()
    assert document["adapter"]["kinds"] == fitted.metadata_
    assert document["history"] == fitted.history_
    assert document["fit_seconds"] == pytest.approx(fitted.fit_seconds_)
    assert {"toolkit", "torch", "python"} <= set(document["versions"])
    assert len(metadata["sha256"]) == 64


def test_saved_weights_equal_the_fitted_weights(model_file, fitted):
    tensors = load_file(str(model_file))
    for name, tensor in fitted.backend_.state_dict().items():
        if name.removeprefix("heads.") not in SCALAR_MAP_BUFFERS:  # unused maps: not saved
            assert torch.equal(tensors[name], tensor), name


def test_save_model_and_load_model_round_trip(tmp_path):
    tensors = {"a": torch.arange(6, dtype=torch.float32).reshape(2, 3), "b": torch.ones(1)}
    save_model(tmp_path / "m.tkm", tensors, {"kind": "test", "values": [1, 2.5, None]})
    loaded, document = load_model(tmp_path / "m.tkm")
    assert document["kind"] == "test" and document["values"] == [1, 2.5, None]
    assert all(torch.equal(loaded[name], tensors[name]) for name in tensors)


def test_save_leaves_no_temporary_file(tmp_path, fitted):
    fitted.save(tmp_path / "model.tkm")
    assert [p.name for p in tmp_path.iterdir()] == ["model.tkm"]


def test_save_replaces_an_existing_file(tmp_path, fitted):
    path = write(tmp_path / "model.tkm", b"old contents")
    fitted.save(path)
    assert Synthesizer.load(path).metadata_ == fitted.metadata_


def test_detector_file_from_before_the_anomaly_score_rename_loads(tmp_path, patients):
    from toolkit import AnomalyDetector

    path = tmp_path / "detector.tkm"
    AnomalyDetector(config="fast", epochs=2, anomaly_score="latent", random_state=0) \
        .fit(patients).save(path)

    def old_name(document):
        params = document["detector"]["params"]
        params["score"] = params.pop("anomaly_score")

    old = AnomalyDetector.load(_rehashed(path, tmp_path / "old.tkm", edit_document=old_name))
    assert old.anomaly_score == "latent"


def _without_forest(tensors):
    for name in [n for n in tensors if n.startswith("detector.isolation.")]:
        del tensors[name]


def test_detector_file_from_before_the_isolation_forest_loads(tmp_path, patients):
    from toolkit import AnomalyDetector

    path = tmp_path / "detector.tkm"
    fitted = AnomalyDetector(config="fast", epochs=2, random_state=0).fit(patients)
    fitted.save(path)

    def old_document(document):
        del document["detector"]["part_scales"]
        document["detector"]["params"]["anomaly_score"] = "combined"  # the default then

    old = AnomalyDetector.load(_rehashed(path, tmp_path / "old.tkm", old_document,
                                         _without_forest))
    expected = fitted.set_params(anomaly_score="combined").decision_function(patients)
    assert old.decision_function(patients) == pytest.approx(expected)
    with pytest.raises(UsageError, match="'ensemble' needs an isolation forest"):
        old.set_params(anomaly_score="ensemble").decision_function(patients)


def test_detector_file_with_half_a_forest_is_refused(tmp_path, patients):
    from toolkit import AnomalyDetector

    path = tmp_path / "detector.tkm"
    AnomalyDetector(config="fast", epochs=2, random_state=0).fit(patients).save(path)
    half = _rehashed(path, tmp_path / "half.tkm", edit_tensors=_without_forest)
    with pytest.raises(ModelFileError, match="not a valid detector file"):
        AnomalyDetector.load(half)


# from tests/test_trust_api.py ---------------------------------------------------------------


def test_python_load_of_a_folder(tmp_path):
    for estimator in (Synthesizer, AnomalyDetector):
        with pytest.raises(ModelFileError, match="is a folder, not a model file"):
            estimator.load(tmp_path)
