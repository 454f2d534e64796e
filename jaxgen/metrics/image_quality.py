"""Full-reference image quality for translation and super-resolution: PSNR and SSIM, per image of a batch.

Both take ``x, y [N, H, W, C]`` (any C: colour channels are handled one by one and averaged) with values in
``value_range`` (default jaxgen's (-1, 1); (0, 1), (0, 255) for 8-bit values) and return ``[N]``. The images are
mapped to [0, 1] first: PSNR depends only on the range's width, but SSIM's luminance term depends on its offset
too, and this makes both equal to the usual values on the same pictures as 8-bit images (scikit-image's with
``data_range=255``). Pure and jittable; SSIM vmaps its per-image function over the batch.

SSIM is Wang et al. 2004 ("Image Quality Assessment: From Error Visibility to Structural Similarity") with their
defaults, as scikit-image's ``structural_similarity(x, y, gaussian_weights=True, sigma=1.5,
use_sample_covariance=False, data_range=1, channel_axis=-1)`` on the images in [0, 1]: local means, variances and
covariance under an 11x11 Gaussian window (sigma 1.5, truncated at 3.5 sigma), ``K1 = 0.01``, ``K2 = 0.03``, the SSIM map averaged
over the positions whose window lies inside the image (a 5-pixel border is left out, as scikit-image crops it),
then over channels. Images need ``H, W >= 11``.

Both are computed on the given channels; super-resolution papers (SRGAN among them) report them on the luma (Y)
channel with a border cropped: :func:`rgb_to_y` gives MATLAB's ``rgb2ycbcr`` Y (ITU-R BT.601, studio swing:
16..235 on the 0..255 scale), to be passed on with ``value_range=(0, 255)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.errors import MetricError

__all__ = ["psnr", "rgb_to_y", "ssim"]

Array = jax.Array

SIGMA, TRUNCATE, K1, K2 = 1.5, 3.5, 0.01, 0.03
RADIUS = int(TRUNCATE * SIGMA + 0.5)  # 5: an 11x11 window


def _unit(x: Array, y: Array, value_range: tuple[float, float], min_size: int = 1) -> tuple[Array, Array]:
    """Checks the shapes and maps both batches from ``value_range`` to [0, 1] (float32)."""
    if x.shape != y.shape or x.ndim != 4 or min(x.shape[1:3]) < min_size:
        raise MetricError(f"image quality needs two batches [N, H, W, C] of one shape with H, W >= {min_size}, "
                          f"got {x.shape} and {y.shape}")
    lo, hi = value_range
    return tuple((v.astype(jnp.float32) - lo) / (hi - lo) for v in (x, y))


BT601_Y = (65.481, 128.553, 24.966)  # MATLAB rgb2ycbcr / scikit-image rgb2ycbcr: Y = 16 + BT601_Y . RGB in [0, 1]


def rgb_to_y(images: Array, value_range: tuple[float, float] = (-1.0, 1.0)) -> Array:
    """``[N, H, W, 3]`` RGB in ``value_range`` -> ``[N, H, W, 1]`` luma on the 0..255 scale (16 black, 235 white):
    ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` with R, G, B mapped to [0, 1] (MATLAB's ``rgb2ycbcr`` on double
    images times 255; scikit-image's ``rgb2ycbcr(...)[..., 0]``)."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise MetricError(f"rgb_to_y needs RGB images [N, H, W, 3], got {images.shape}")
    lo, hi = value_range
    rgb = (images.astype(jnp.float32) - lo) / (hi - lo)
    return 16.0 + jnp.sum(rgb * jnp.asarray(BT601_Y, jnp.float32), axis=-1, keepdims=True)  # no matmul: no TF32


def psnr(x: Array, y: Array, value_range: tuple[float, float] = (-1.0, 1.0)) -> Array:
    """``[N]``: ``10 log10(1 / MSE)`` dB per image, the MSE over H, W, C of the images mapped to [0, 1] (that is
    ``10 log10(R^2 / MSE)`` with ``R = hi - lo`` in the given range); ``inf`` for equal images."""
    x, y = _unit(x, y, value_range)
    return -10.0 * jnp.log10(jnp.mean(jnp.square(x - y), axis=(1, 2, 3)))


def _gaussian_window() -> np.ndarray:
    """scipy.ndimage's 1-D Gaussian kernel: ``exp(-t^2 / (2 sigma^2))`` for ``t = -5..5``, normalised to sum 1."""
    t = np.arange(-RADIUS, RADIUS + 1)
    w = np.exp(-0.5 * (t / SIGMA) ** 2)
    return (w / w.sum()).astype(np.float32)


def _filter(image: Array) -> Array:
    """``[H, W, C]`` -> ``[H - 10, W - 10, C]``: the separable Gaussian window where it fits inside the image."""
    w = _gaussian_window()
    size = 2 * RADIUS + 1
    rows = sum(w[k] * image[k: image.shape[0] - size + 1 + k] for k in range(size))
    return sum(w[k] * rows[:, k: image.shape[1] - size + 1 + k] for k in range(size))


def _ssim_one(x: Array, y: Array) -> Array:
    """SSIM of two ``[H, W, C]`` images in [0, 1] (``data_range`` 1)."""
    mx, my = _filter(x), _filter(y)
    vx, vy, cxy = _filter(x * x) - mx * mx, _filter(y * y) - my * my, _filter(x * y) - mx * my
    c1, c2 = K1**2, K2**2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return jnp.mean(s)


def ssim(x: Array, y: Array, value_range: tuple[float, float] = (-1.0, 1.0)) -> Array:
    """``[N]``: the mean SSIM of each image pair (see the module docstring), channels averaged."""
    return jax.vmap(_ssim_one)(*_unit(x, y, value_range, 2 * RADIUS + 1))
