"""SinGAN's pyramid, JAX-free (configs and the CLI read it before JAX starts): the scales' sizes and how many.

As the official code (Rott Shaham et al. 2019, `SinGAN/functions.py: adjust_scales2image`): an image of (H, W),
already shrunk to `data.max_size`, gets N = ceil(log(min_size / min(H, W)) / log(scale_factor)) down-scalings;
the factor is then adjusted to r = (min_size / min(H, W)) ** (1 / N) (about `scale_factor`, so that the coarsest
scale's shorter side is exactly `min_size`), and scale n = 0 .. N (coarsest first) has size
(ceil(H r^(N - n)), ceil(W r^(N - n))) (their `imresize`'s output size); scale N is the image itself.
"""

from __future__ import annotations

import math

from jaxgen.errors import ConfigError

_EPS = 1e-9  # ceil(x) of a product that is an integer up to float rounding stays that integer


def factor(shape: tuple[int, int], min_size: int, scale_factor: float) -> tuple[int, float]:
    """(N down-scalings, the adjusted factor r) of an image of `shape` = (H, W)."""
    short = min(shape)
    if min_size < 1 or not 0.0 < scale_factor < 1.0:
        raise ConfigError(f"config keys 'model.min_size' (>= 1) and 'model.scale_factor' (in (0, 1)) are "
                          f"{min_size} and {scale_factor}")
    if short < min_size:
        raise ConfigError(f"the image is {shape[0]} x {shape[1]} px, smaller than the pyramid's coarsest scale "
                          f"(config key 'model.min_size' = {min_size}); raise data.max_size or lower model.min_size")
    if short == min_size:
        return 0, 1.0
    steps = math.ceil(math.log(min_size / short) / math.log(scale_factor) - _EPS)
    return steps, (min_size / short) ** (1.0 / steps)


def sizes(shape: tuple[int, int], min_size: int, scale_factor: float) -> list[tuple[int, int]]:
    """[(h_n, w_n)] of the scales n = 0 .. N, coarsest first; the last is `shape`."""
    steps, r = factor(shape, min_size, scale_factor)
    return [tuple(math.ceil(side * r ** (steps - n) - _EPS) for side in shape) for n in range(steps)] + [
        tuple(shape)]


def width(scale: int, cfg) -> int:
    """Channels of scale `scale`'s networks: `model.width` doubling every `model.width_every` scales, at most
    `model.max_width` (the official code's 32, every 4, 128)."""
    return min(cfg.width * 2 ** (scale // cfg.width_every), cfg.max_width)


# (H, W) of the bundled images of jaxgen.data.single_image (tests/games/test_singan.py checks them), so that a config
# computes its pyramid without reading the image (and without importing JAX or TFDS).
BUNDLED_SHAPES = {"astronaut": (512, 512), "coffee": (400, 600), "chelsea": (300, 451), "rocket": (427, 640),
                  "hubble_deep_field": (872, 1000), "retina": (1411, 1411), "immunohistochemistry": (512, 512),
                  "motorcycle_left": (500, 741), "motorcycle_right": (500, 741), "china": (427, 640),
                  "flower": (427, 640), "brick": (512, 512), "grass": (512, 512), "gravel": (512, 512)}


def image_shape(image: str, max_size: int) -> tuple[int, int]:
    """(H, W) of `image` (a bundled name or a file, whose header Pillow reads) shrunk to `max_size` as
    `jaxgen.data.single_image.load` does."""
    import os

    if image in BUNDLED_SHAPES:
        shape = BUNDLED_SHAPES[image]
    elif os.path.isfile(image):
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(image) as picture:
                shape = (picture.height, picture.width)
        except (UnidentifiedImageError, OSError) as e:
            raise ConfigError(f"data.image={image!r} is not an image Pillow can read ({e})") from e
    else:
        raise ConfigError(f"data.image={image!r} is neither an image file nor a bundled image; give a path to a "
                          f"PNG/JPEG or one of {', '.join(BUNDLED_SHAPES)}")
    scale = min(1.0, max_size / max(shape))  # single_image.fit
    return max(1, round(shape[0] * scale)), max(1, round(shape[1] * scale))


def num_steps(image: str, max_size: int, cfg) -> int:
    """Training steps of every scale of `image`: the number of scales x `model.scale_steps`."""
    return len(sizes(image_shape(image, max_size), cfg.min_size, cfg.scale_factor)) * cfg.scale_steps
