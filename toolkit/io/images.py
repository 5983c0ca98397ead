"""Image files in and out: folders and files of images read as an
:class:`~toolkit.adapters.imaging.ImageSet`, and image sets written as PNG files or one grid.

Files read: PNG, JPEG, BMP, TIFF and GIF through Pillow, ``.npy`` (one
image, ``H×W``, ``H×W×C`` or ``C×H×W``) and ``.npz`` (its first array), and
DICOM (``.dcm``) through the optional ``pydicom`` (``pip install
toolkit[dicom]``). A file that cannot be read fails naming the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.adapters.imaging import ImageSet, as_uint8, normalise_images
from toolkit.exceptions import DataError, UsageError
from toolkit.io.tables import atomic_write, check_writable

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif")
ARRAY_SUFFIXES = (".npy", ".npz")
DICOM_SUFFIXES = (".dcm",)
ALL_SUFFIXES = IMAGE_SUFFIXES + ARRAY_SUFFIXES + DICOM_SUFFIXES


def _from_array(array: np.ndarray) -> Any:
    """An ``H×W``, ``H×W×C`` or ``C×H×W`` array as a Pillow image."""
    from PIL import Image

    array = np.asarray(array)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = np.moveaxis(array, 0, -1)  # C×H×W -> H×W×C
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an H×W or H×W×C image, got shape {array.shape}")
    return Image.fromarray(as_uint8(array))




def load_image(path: Path) -> Any:
    """One file as a Pillow image.

    Raises
    ------
    DataError
        When the file cannot be read as an image.
    """
    from PIL import Image, UnidentifiedImageError

    suffix = path.suffix.lower()
    try:
        if suffix in ARRAY_SUFFIXES:
            loaded = np.load(path, allow_pickle=False)
            array = loaded[loaded.files[0]] if suffix == ".npz" else loaded
            return _from_array(array)
        if suffix in DICOM_SUFFIXES:
            try:
                import pydicom
            except ImportError:
                raise DataError(f"{path} is DICOM: install the optional extra "
                                "'pip install toolkit[dicom]' (pydicom) to read it") from None
            return _from_array(pydicom.dcmread(path).pixel_array)
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except DataError:
        raise
    except (OSError, ValueError, UnidentifiedImageError, KeyError, IndexError) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"cannot read image {path}: {first_line}") from None




def read_image_folder(folder: str | Path, size: tuple[int, int] | None = None,
                      mode: str | None = None) -> ImageSet:
    """Read every image under ``folder``; sub-folder names become labels.

    Parameters
    ----------
    folder : str or Path
        A folder of image files, or of one sub-folder per label holding them.
    size : (height, width), optional
        Resize every image to it; default: the most common size.
    mode : {"L", "RGB"}, optional
        Colour mode; default: ``RGB`` when any image has colour, else ``L``.

    Raises
    ------
    DataError
        For a missing or empty folder or an unreadable file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"image folder not found: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and p.suffix.lower() in ALL_SUFFIXES)
    if not files:
        raise DataError(f"{folder} holds no images ({', '.join(ALL_SUFFIXES)})")
    images = [load_image(path) for path in files]
    parents = {path.parent for path in files}
    labels = None
    if parents != {folder}:
        labels = [path.parent.relative_to(folder).as_posix() for path in files]
    names = [path.relative_to(folder).as_posix() for path in files]
    return normalise_images(images, labels, names, size, mode)




def read_image_file(path: str | Path) -> ImageSet:
    """One image file as a one-image set.

    Raises
    ------
    DataError
        For a missing or unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"input file not found: {path}")
    return normalise_images([load_image(path)], None, [path.name], None, None)




def write_image_folder(images: ImageSet, folder: str | Path) -> list[Path]:
    """Write images as PNG files (in one sub-folder per label when there are labels)."""
    from PIL import Image

    folder = Path(folder)
    written = []
    for index, array in enumerate(images.images):
        target = folder / images.labels[index] if images.labels else folder
        target.mkdir(parents=True, exist_ok=True)
        path = target / f"image_{index:05d}.png"
        Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(path)
        written.append(path)
    return written




def image_grid(images: np.ndarray, columns: int = 8, scale: int = 1) -> Any:
    """Tile ``(N, H, W, C)`` uint8 images into one Pillow image (1-pixel gaps)."""
    from PIL import Image

    n, height, width, channels = images.shape
    rows = -(-n // columns)
    grid = np.full((rows * (height + 1) + 1, columns * (width + 1) + 1, channels), 255, np.uint8)
    for index, image in enumerate(images):
        r, c = divmod(index, columns)
        grid[1 + r * (height + 1): 1 + r * (height + 1) + height,
             1 + c * (width + 1): 1 + c * (width + 1) + width] = image
    picture = Image.fromarray(grid[..., 0] if channels == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale),
                                 Image.Resampling.NEAREST)
    return picture


def check_image_output(path: str | Path, what: str = "output") -> None:
    """Images go to a folder (one PNG each) or to one ``.png`` grid.

    Raises
    ------
    UsageError
        For a path with another suffix, or where nothing can be written.
    """
    path = Path(path)
    if path.suffix and path.suffix.lower() != ".png":
        raise UsageError(f"{what} {path}: an image model writes a folder (no suffix) or "
                         "a .png grid")
    check_writable(path if path.suffix else path.with_suffix(".png"), what)


def write_images(images: ImageSet, path: str | Path) -> None:
    """Write a folder of PNG files (:func:`write_image_folder`), or, when ``path`` ends in
    ``.png``, one picture of every image: a strip of up to 16, else rows of 8."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        write_image_folder(images, path)
        return
    with atomic_write(path) as temporary:
        n = len(images.images)
        image_grid(images.images, columns=n if n <= 16 else 8,
                   scale=4).save(temporary, format="PNG")


def write_image_chunks(chunks: Iterable[ImageSet], path: str | Path) -> int:
    """Write images that arrive in chunks as one set (see :func:`write_images`); return
    their number."""
    sets = list(chunks)
    labelled = all(part.labels is not None for part in sets)
    images = np.concatenate([part.images for part in sets])
    joined = ImageSet(images,
                      [label for part in sets for label in part.labels] if labelled else None,
                      [f"image_{i:05d}.png" for i in range(len(images))])
    write_images(joined, path)
    return len(joined)
