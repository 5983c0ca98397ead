"""Image sets ⇄ tensors: read a folder (or an array) of images, encode them for a backend.

An image set becomes one ``image`` block of width ``C * H * W`` (intensities
in [0, 1], channel-first, flattened) and, when the images carry labels (the
names of their sub-folders), one ``categorical`` block with the label's
one-hot. Every image is converted to one colour mode (grayscale ``L`` or
``RGB``) and resized to one size with Pillow: by default the size and mode
of the majority of the images, and the adapter records how many it resized.

Image files are read and written by :mod:`toolkit.io.images`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from toolkit.adapters.base import Block, Provenance, TensorSpec
from toolkit.exceptions import DataError, NotFittedError


@dataclass
class ImageSet:
    """Images as read from disk: ``(N, H, W, C)`` uint8, with optional labels and names."""

    images: np.ndarray
    labels: list[str] | None
    names: list[str]
    resized: int = 0

    def __len__(self) -> int:
        return len(self.images)


def as_uint8(array: np.ndarray) -> np.ndarray:
    """Scale an array to 0-255 (floats in [0, 1] and other ranges by min-max)."""
    array = np.asarray(array)
    if array.dtype == np.uint8:
        return array
    array = array.astype(float)
    if not np.isfinite(array).all():
        raise ValueError("the array holds NaN or inf")
    low, high = float(array.min()), float(array.max())
    if low >= 0.0 and high <= 1.0:
        return np.round(array * 255).astype(np.uint8)
    if low >= 0.0 and high <= 255.0:
        return np.round(array).astype(np.uint8)
    return np.round((array - low) / max(high - low, 1e-12) * 255).astype(np.uint8)


def normalise_images(images: list[Any], labels: list[str] | None, names: list[str],
                     size: tuple[int, int] | None, mode: str | None) -> ImageSet:
    """Pillow images converted to one colour mode and resized to one size, as a set.

    ``mode`` defaults to ``RGB`` when any image has colour, else ``L``; ``size`` (height,
    width) to the most common size. The set counts the images it resized.
    """
    from PIL import Image

    if mode is None:
        mode = "RGB" if any(im.mode not in ("L", "1", "I", "I;16", "F", "LA") for im in images) \
            else "L"
    if size is None:
        width, height = Counter(im.size for im in images).most_common(1)[0][0]
        size = (height, width)
    resized = sum(1 for im in images if im.size != (size[1], size[0]))
    arrays = []
    for image in images:
        image = image.convert(mode)
        if image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
        arrays.append(array[..., None] if array.ndim == 2 else array)
    return ImageSet(np.stack(arrays), labels, names, resized)


def image_set_from_array(array: np.ndarray, labels: Any = None) -> ImageSet:
    """Wrap an ``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)`` array as an image set."""
    array = np.asarray(array)
    if array.ndim == 3:
        array = array[..., None]
    if array.ndim != 4:
        raise DataError(f"expected images as an (N, H, W[, C]) array, got shape {array.shape}")
    if array.shape[1] in (1, 3) and array.shape[-1] not in (1, 3):
        array = np.moveaxis(array, 1, -1)
    if array.shape[0] == 0:
        raise DataError("the image array holds no images")
    try:
        images = as_uint8(array)
    except ValueError as error:
        raise DataError(f"cannot use the image array: {error}") from None
    names = [f"image_{i:05d}.png" for i in range(len(images))]
    return ImageSet(images, None if labels is None else [str(v) for v in labels], names)


class ImageAdapter:
    """Encode an :class:`ImageSet` as a float tensor (and back), with its TensorSpec.

    Attributes
    ----------
    shape_ : (C, H, W)
        The images' shape (after :meth:`fit`).
    levels_ : list of str or None
        The labels, when the images have them (after :meth:`fit`).
    spec : TensorSpec
        The encoded layout (after :meth:`fit`).
    """

    supports_privacy: ClassVar[bool] = False
    row_conditions: ClassVar[bool] = False
    detect_preset: ClassVar[str] = "detect-images"
    #: the KL weight stays the preset's on small image sets (measured on tables only)
    small_data_beta: ClassVar[bool] = False

    @classmethod
    def from_config(cls, config: Any, metadata: Any = None,
                    random_state: int | None = None) -> ImageAdapter:
        """The adapter a training configuration describes (images have no settings)."""
        return cls()

    @staticmethod
    def summary(records: ImageSet) -> str:
        """``"120 images (1x8x8, labelled; 3 resized)"``."""
        n, height, width, channels = records.images.shape
        return (f"{n} images ({channels}x{height}x{width}{', labelled' if records.labels else ''}"
                f"{f'; {records.resized} resized' if records.resized else ''})")

    @staticmethod
    def n_features(records: ImageSet) -> int:
        """Pixels (times channels) per image."""
        return int(np.prod(records.images.shape[1:]))

    @staticmethod
    def chunks(records: ImageSet, size: int) -> Iterator[ImageSet]:
        """Consecutive sets of at most ``size`` images (labels and names kept)."""
        for start in range(0, len(records.images), size):
            stop = start + size
            yield ImageSet(records.images[start:stop],
                           None if records.labels is None else records.labels[start:stop],
                           records.names[start:stop])

    @staticmethod
    def unlabelled(records: ImageSet) -> ImageSet:
        """A copy of the set without labels."""
        return replace(records, labels=None)

    def fit(self, images: ImageSet, provenance: Provenance | None = None) -> ImageAdapter:
        """Learn the image shape and the label levels."""
        n, height, width, channels = images.images.shape
        if n < 2:
            raise DataError(f"{n} image; at least 2 are needed to learn from")
        if height % 4 or width % 4:
            raise DataError(f"images are {height}x{width} pixels; the image models need a "
                            "height and width divisible by 4 (resize them, e.g. "
                            "read_image_folder(folder, size=(28, 28)))")
        self.shape_ = (int(channels), int(height), int(width))
        self.levels_ = sorted(set(images.labels)) if images.labels is not None else None
        self.spec = self._spec()
        return self

    def _spec(self) -> TensorSpec:
        blocks = [Block("image", "image", int(np.prod(self.shape_)), shape=self.shape_)]
        if self.levels_:
            blocks.append(Block("label", "categorical", len(self.levels_)))
        return TensorSpec(tuple(blocks))

    def check_fitted(self) -> None:
        if not hasattr(self, "shape_"):
            raise NotFittedError("this ImageAdapter is not fitted; call fit first")

    def transform(self, images: ImageSet, random_state: int | None = None,
                  clip: bool = True) -> np.ndarray:
        """Encode as ``(N, C*H*W [+ levels])`` float32: intensities in [0, 1], label one-hot.

        Images without labels, for a model trained with labels, are encoded with the first
        label (what encoding needs is the pixels). ``random_state`` and ``clip`` are unused:
        encoding images draws nothing and pixels are always in range.

        Raises
        ------
        DataError
            For images of another shape or labels never seen in training.
        """
        self.check_known(images)
        n = len(images)
        pixels = np.moveaxis(images.images, -1, 1).reshape(n, -1).astype(np.float32) / 255.0
        if not self.levels_:
            return pixels
        labels = images.labels if images.labels is not None else [self.levels_[0]] * n
        unknown = sorted(set(labels) - set(self.levels_))
        if len(labels) != n or unknown:
            raise DataError(f"labels {unknown or '(missing)'} were not seen in training; "
                            f"labels: {self.levels_}")
        one_hot = np.eye(len(self.levels_), dtype=np.float32)[[self.levels_.index(v)
                                                              for v in labels]]
        return np.hstack([pixels, one_hot])

    def check_known(self, images: ImageSet) -> None:
        """Check that ``images`` have the training shape.

        Raises
        ------
        DataError
            For images of another shape.
        """
        self.check_fitted()
        n, height, width, channels = images.images.shape
        if (channels, height, width) != self.shape_:
            raise DataError(f"images are {channels}×{height}×{width} (C×H×W) but the model "
                            f"was trained on {'×'.join(map(str, self.shape_))}")

    def novel_cells(self, images: ImageSet) -> pd.DataFrame:
        """Pixels have no levels to be new: an empty ``(N, 0)`` table, after
        :meth:`check_known` (the tabular adapter's hook).

        Raises
        ------
        DataError
            For images of another shape.
        """
        self.check_known(images)
        return pd.DataFrame(index=range(len(images.images)))

    def transform_with_novelty(self, images: ImageSet) -> tuple[np.ndarray, pd.DataFrame]:
        """:meth:`transform` and :meth:`novel_cells` (the tabular adapter's hook).

        Raises
        ------
        DataError
            For images of another shape or labels never seen in training.
        """
        return self.transform(images), self.novel_cells(images)

    def renumber_ids(self, images: ImageSet, first: int, step: int = 1) -> ImageSet:
        """Images carry no identifiers: ``images`` unchanged (the tabular adapter's hook)."""
        return images

    def inverse_transform(self, array: np.ndarray, random_state: int | None = None) -> ImageSet:
        """Decode ``(N, width)`` rows into uint8 images (and labels, by arg-max);
        ``random_state`` is unused (decoding images draws nothing)."""
        self.check_fitted()
        channels, height, width = self.shape_
        size = channels * height * width
        pixels = np.clip(np.asarray(array)[:, :size], 0.0, 1.0)
        images = np.moveaxis(pixels.reshape(-1, channels, height, width), 1, -1)
        images = np.round(images * 255).astype(np.uint8)
        labels = None
        if self.levels_:
            labels = [self.levels_[i] for i in np.asarray(array)[:, size:].argmax(axis=1)]
        names = [f"image_{i:05d}.png" for i in range(len(images))]
        return ImageSet(images, labels, names)

    def explain(self, part_nll: np.ndarray, part_blocks: np.ndarray,
                records: ImageSet) -> np.ndarray:
        """Per-pixel negative log-likelihood maps ``(N, H, W)`` (channels summed)."""
        self.check_fitted()
        channels, height, width = self.shape_
        pixels = np.asarray(part_nll)[:, np.asarray(part_blocks) == 0]
        return pixels.reshape(-1, channels, height, width).sum(axis=1)

    def describe(self) -> dict[str, Any]:
        """``{"domain": "images", "shape": [C, H, W], "labels": [...] or None}``."""
        self.check_fitted()
        return {"domain": "images", "shape": list(self.shape_), "labels": self.levels_}

    @property
    def kinds_(self) -> dict[str, str]:
        """What the model holds: ``{"image": "image", "label": "categorical"}``."""
        return {"image": "image", **({"label": "categorical"} if self.levels_ else {})}

    def encode_conditions(self, conditions: dict[str, Any],
                          direct: bool = True) -> tuple[dict[int, int], dict]:
        """``{"label": value}`` as ``({label block: slot}, {})`` for class-conditional sampling
        (``direct`` is unused: a label is always generated directly).

        Raises
        ------
        DataError
            For a condition on anything but the label, or a label never seen.
        """
        self.check_fitted()
        fixed = {}
        for column, value in conditions.items():
            if column != "label" or not self.levels_:
                raise DataError(f"image models can only be conditioned on 'label'"
                                f"{' (this one has no labels)' if not self.levels_ else ''}, "
                                f"got {column!r}")
            if str(value) not in self.levels_:
                raise DataError(f"label {value!r} was not seen in training; "
                                f"labels: {self.levels_}")
            fixed[1] = self.levels_.index(str(value))
        return fixed, {}

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as JSON-ready data."""
        self.check_fitted()
        return {"type": "image", "shape": list(self.shape_), "levels": self.levels_,
                "kinds": self.kinds_}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> ImageAdapter:
        """Rebuild an adapter written by :meth:`to_dict`."""
        adapter = cls()
        adapter.shape_ = tuple(int(v) for v in state["shape"])
        adapter.levels_ = state["levels"]
        adapter.spec = adapter._spec()
        return adapter
