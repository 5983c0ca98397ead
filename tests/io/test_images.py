"""toolkit.io.images: image folders and files read into image sets, written back, tiled in a grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from toolkit.exceptions import DataError
from toolkit.io.images import image_grid, read_image_folder, write_image_folder


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


def test_write_image_folder_and_grid(digits, tmp_path):
    written = write_image_folder(digits, tmp_path / "out")
    assert len(written) == 300 and written[0].parent.name == digits.labels[0]
    assert np.array_equal(np.asarray(Image.open(written[0])), digits.images[0, ..., 0])
    grid = image_grid(digits.images[:16], columns=8, scale=2)
    assert grid.size == ((8 * 9 + 1) * 2, (2 * 9 + 1) * 2)
