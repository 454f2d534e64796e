"""Input images from a file for a translation model (`jaxgen sample --source`, `jaxgen.load(...).sample(source=)`)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image

from jaxgen.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")


def _picture(path: str, shape: tuple[int, int, int]) -> np.ndarray:
    """One picture file as uint8 [H, W, C] of `shape`: transparency composited on white (as the emoji datasets),
    converted to grey or RGB, resized (area average when shrinking, bicubic when enlarging)."""
    with Image.open(path) as picture:
        picture.load()
        if picture.mode in ("RGBA", "LA", "P"):
            rgba = picture.convert("RGBA")
            picture = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            picture.alpha_composite(rgba)
        picture = picture.convert("L" if shape[-1] == 1 else "RGB")
        height, width = shape[:2]
        if picture.size != (width, height):
            shrink = picture.width > width or picture.height > height
            picture = picture.resize((width, height), Image.BOX if shrink else Image.BICUBIC)
        pixels = np.asarray(picture)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def read_images(path: str, shape) -> np.ndarray:
    """float32 [N, H, W, C] in [-1, 1] of `shape` (H, W, C) from an image file (one image, resized and converted to C
    channels) or an `.npz` / `.npy` of images [N, H, W, C] (uint8 0..255 or float in [-1, 1]; their shape as given)."""
    shape = tuple(int(s) for s in shape)
    if not os.path.isfile(path):
        raise DataError(f"source file {path!r} not found")
    if path.lower().endswith((".npz", ".npy")):
        from jaxgen.metrics import evaluate

        images = evaluate.load_samples(path)
        if tuple(images.shape[1:]) != shape:
            raise DataError(f"the images in {path} are {tuple(images.shape[1:])}, but the model translates {shape}: "
                            f"give images [N, {', '.join(map(str, shape))}] (or an image file, which is resized)")
        return images
    if not path.lower().endswith(IMAGE_SUFFIXES):
        raise DataError(f"source file {path!r}: give an image ({', '.join(IMAGE_SUFFIXES)}) or an .npz/.npy of images")
    try:
        pixels = _picture(path, shape)
    except OSError as e:
        raise DataError(f"cannot read source image {path!r}: {e}") from e
    return (pixels[None].astype(np.float32) / 127.5 - 1.0).astype(np.float32)
