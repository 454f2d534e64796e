"""Concept masks computed from the pixels alone (no segmenter): what GAN Dissection (:mod:`jaxgen.edit.dissect`)
scores units against, and how an intervention's effect is measured.

Images are ``[N, H, W, C]`` floats in ``[-1, 1]`` (clipped); every mask is bool ``[N, H, W]``.

* colour names (``C = 3``): each pixel takes the name of the nearest colour of `PALETTE` in CIELAB (D65), the
  Euclidean distance there (Delta E 1976) standing for perceived difference: a partition of the pixels.
* emoji structure (``C = 3``, emoji drawn on white): ``background`` = light, nearly grey pixels (L* > 90, chroma
  < 12) 4-connected to the image border; ``outline`` = the other (foreground) pixels that are dark (L* < 35: drawn
  outlines, eyes, mouths) or touch the background (the silhouette's rim); ``interior`` = the remaining foreground
  (the filled areas). A partition.
* digit strokes (``C = 1``, bright strokes on black): ``stroke`` = brighter than mid-grey; ``background`` = the
  other pixels 4-connected to the border; ``hole`` = the ones enclosed by strokes (the loops of 0, 6, 8, 9). A
  partition.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from jaxgen.errors import JaxgenError

__all__ = ["PALETTE", "colour_masks", "concept_masks", "digit_masks", "emoji_masks", "names", "rgb_to_lab"]

# Named colours, sRGB 0..255: Twemoji's palette where it has the colour (red #DD2E44, orange #F4900C, yellow
# #FFCC4D, green #77B255, blue #3B88C3, purple #9266CC, pink #F4ABBA, brown #C1694F, the medium skin tone #D5AB88;
# navy: the flags' dark blue #00247D, which is nearer purple than blue).
PALETTE = {
    "red": (221, 46, 68), "orange": (244, 144, 12), "yellow": (255, 204, 77), "green": (119, 178, 85),
    "blue": (59, 136, 195), "navy": (0, 36, 125), "purple": (146, 102, 204), "pink": (244, 171, 186),
    "brown": (193, 105, 79),
    "skin": (213, 171, 136), "grey": (128, 128, 128), "black": (0, 0, 0), "white": (255, 255, 255),
}
_WHITE_D65 = np.array([0.95047, 1.0, 1.08883])
_SRGB_TO_XYZ = np.array([[0.412453, 0.357580, 0.180423],
                         [0.212671, 0.715160, 0.072169],
                         [0.019334, 0.119193, 0.950227]])
_BACKGROUND_L, _BACKGROUND_CHROMA, _DARK_L = 90.0, 12.0, 35.0
_FOUR = ndimage.generate_binary_structure(2, 1)
_PER_IMAGE = np.stack([np.zeros_like(_FOUR), _FOUR, np.zeros_like(_FOUR)])  # 4-connectivity, never across images


def rgb_to_lab(rgb) -> np.ndarray:
    """sRGB ``[..., 3]`` in ``[0, 1]`` -> CIELAB ``[..., 3]`` (L* in 0..100) under the D65 white point."""
    rgb = np.asarray(rgb, np.float64)
    linear = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = linear @ _SRGB_TO_XYZ.T / _WHITE_D65
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def _rgb(images, channels: int) -> np.ndarray:
    images = np.asarray(images, np.float32)
    if images.ndim != 4 or images.shape[-1] != channels:
        raise JaxgenError(f"concept masks need images [N, H, W, {channels}], got shape {images.shape}")
    return (np.clip(images, -1.0, 1.0) + 1.0) / 2.0


def colour_masks(images) -> dict[str, np.ndarray]:
    """``{name: [N, H, W] bool}`` for every colour of `PALETTE`: the pixels nearest to it in CIELAB."""
    lab = rgb_to_lab(_rgb(images, 3))
    anchors = rgb_to_lab(np.array(list(PALETTE.values())) / 255.0)
    nearest = np.argmin(np.sum(np.square(lab[..., None, :] - anchors), axis=-1), axis=-1)
    return {name: nearest == i for i, name in enumerate(PALETTE)}


def _reaches_border(free) -> np.ndarray:
    """``free [N, H, W]`` bool -> the free pixels 4-connected (within their image) to the image's border."""
    labels, _ = ndimage.label(free, structure=_PER_IMAGE)
    border = np.concatenate([labels[:, 0], labels[:, -1], labels[:, :, 0], labels[:, :, -1]], axis=1)
    return np.isin(labels, np.unique(border[border > 0]))


def emoji_masks(images) -> dict[str, np.ndarray]:
    """``{"background", "outline", "interior": [N, H, W] bool}`` of colour emoji on white (module docstring)."""
    lab = rgb_to_lab(_rgb(images, 3))
    light = (lab[..., 0] > _BACKGROUND_L) & (np.hypot(lab[..., 1], lab[..., 2]) < _BACKGROUND_CHROMA)
    background = _reaches_border(light)
    rim = ndimage.binary_dilation(background, structure=_PER_IMAGE) & ~background
    outline = ~background & ((lab[..., 0] < _DARK_L) | rim)
    return {"background": background, "outline": outline, "interior": ~background & ~outline}


def digit_masks(images) -> dict[str, np.ndarray]:
    """``{"stroke", "hole", "background": [N, H, W] bool}`` of bright digits on black (module docstring)."""
    stroke = _rgb(images, 1)[..., 0] > 0.5
    background = _reaches_border(~stroke)
    return {"stroke": stroke, "hole": ~stroke & ~background, "background": background}


def concept_masks(images) -> dict[str, np.ndarray]:
    """Every concept of these images: colour names and emoji structure for RGB, digit strokes for grey ones."""
    channels = np.shape(images)[-1]
    if channels == 3:
        return {**colour_masks(images), **emoji_masks(images)}
    if channels == 1:
        return digit_masks(images)
    raise JaxgenError(f"concept masks are defined for RGB (colour names, emoji structure) and grey images (digit "
                      f"strokes), not for {channels} channels")


def names(channels: int) -> tuple[str, ...]:
    """The concepts `concept_masks` gives for images of `channels` channels, in its order."""
    return tuple(concept_masks(np.zeros((1, 1, 1, channels), np.float32)))
