"""One image, for the families that learn from a single image (texture synthesis, style transfer, SinGAN, InGAN):
a file the user names, or a bundled image by name, read from the installed wheels (nothing is downloaded).

Bundled names: the colour photos of `jaxgen.data.builders.photos` (astronaut, coffee, chelsea, rocket, ...) and
scikit-image's grey textures `TEXTURES` (brick, grass, gravel: 512 x 512, public domain, from the USC-SIPI
texture set as scikit-image ships them), grey repeated to three channels.

    load("coffee", max_size=250)     # float32 [H, W, 3] in [-1, 1], the longer side 250 px, aspect kept
    load("my_photo.jpg", size=(64, 64))
"""

from __future__ import annotations

import os

import numpy as np

from jaxgen import optional
from jaxgen.data.builders import photos
from jaxgen.errors import ConfigError

TEXTURES = ("brick", "grass", "gravel")


def names() -> tuple[str, ...]:
    """Every bundled image name."""
    return photos.PHOTOS + TEXTURES


def read(spec: str, key: str = "data.image") -> np.ndarray:
    """uint8 [H, W, 3] of a bundled name or an image file (alpha composited on white); `key` names the config key
    or option in the error for a name that is neither."""
    if spec in photos.PHOTOS:
        return photos.load_photo(spec)
    if spec in TEXTURES:
        grey = np.asarray(getattr(optional.require("skimage.data", "the bundled textures"), spec)(), np.uint8)
        return np.repeat(grey[..., None], 3, axis=-1)
    if not os.path.isfile(spec):
        raise ConfigError(f"{key}={spec!r} is neither an image file nor a bundled image; give a path to a PNG/JPEG "
                          f"or one of {', '.join(names())}")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(spec) as image:
            rgba = np.asarray(image.convert("RGBA"), np.float32)
    except (UnidentifiedImageError, OSError) as e:
        raise ConfigError(f"{key}={spec!r} is not an image Pillow can read ({e})") from e
    alpha = rgba[..., 3:] / 255.0
    return np.round(rgba[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 [h, w, 3] `image` resized to `size` = (h, w) by Pillow's antialiased bicubic filter."""
    from PIL import Image

    if image.shape[:2] == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.Resampling.BICUBIC), np.uint8)


def fit(shape: tuple[int, int], max_size: int) -> tuple[int, int]:
    """(h, w) with the longer side `max_size` (at most the original's) and the aspect ratio kept."""
    h, w = shape
    scale = min(1.0, max_size / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def load(spec: str, max_size: int | None = None, size: tuple[int, int] | None = None,
         key: str = "data.image") -> np.ndarray:
    """float32 [H, W, 3] in [-1, 1]: `read(spec)` resized to `size` (h, w), else shrunk so that its longer side is
    at most `max_size`, else as it is."""
    if size is not None and max_size is not None:
        raise ValueError("give size or max_size, not both")
    image = read(spec, key)
    if size is not None:
        if len(size) != 2 or min(size) < 1:
            raise ConfigError(f"image size must be (height, width) of at least 1 px, got {size}")
        image = resize(image, tuple(size))
    elif max_size is not None:
        image = resize(image, fit(image.shape[:2], max_size))
    return image.astype(np.float32) / 127.5 - 1.0
