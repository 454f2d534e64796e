"""StyleGAN2's resampling filter (Karras et al. 2020, the official ``upfirdn2d``): the separable [1, 3, 3, 1] FIR
filter, normalised to sum 1, with explicit zero padding, and the x2 up- and down-sampling built on it (images and
features are NHWC).

``upsample2d`` inserts a zero after every pixel (rows and columns), pads (2, 1) and filters with gain 4: the x2
image of the skip generator's toRGB sum (bilinear interpolation inside, zero-padded edges). ``downsample2d`` pads
(1, 1), filters and keeps every second pixel: the residual discriminator's skip path. The modulated up-sampling
convolution (:mod:`jaxgen.nn.modulated`) and D's down-sampling convolution call :func:`filter2d` with their own
padding around a transposed / strided convolution, as the official ``conv2d_resample``.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

__all__ = ["FILTER", "downsample2d", "filter2d", "upsample2d"]

FILTER = (1.0, 3.0, 3.0, 1.0)


def filter2d(x, pad: tuple[int, int], gain: float = 1.0):
    """``x [N, H, W, C] -> [N, H + lo + hi - 3, W + lo + hi - 3, C]``: zero-pad ``pad = (lo, hi)`` on both spatial
    axes, then the separable ``[1, 3, 3, 1] / 8`` filter (2-D sum ``gain``) on each channel (``upfirdn2d``'s
    filtering; the filter is symmetric, so correlation and convolution agree)."""
    k = [v / sum(FILTER) * math.sqrt(gain) for v in FILTER]
    lo, hi = pad
    x = jnp.pad(x, ((0, 0), (lo, hi), (lo, hi), (0, 0)))
    h, w = x.shape[1] - 3, x.shape[2] - 3
    rows = sum(k[i] * x[:, i:i + h] for i in range(4))
    return sum(k[i] * rows[:, :, i:i + w] for i in range(4))


def upsample2d(x):
    """``[N, H, W, C] -> [N, 2H, 2W, C]``: zeros inserted after every row and column, padding (2, 1), the filter
    with gain 4 (``upfirdn2d.upsample2d``)."""
    n, h, w, c = x.shape
    zeros = jnp.pad(x[:, :, None, :, None, :], ((0, 0), (0, 0), (0, 1), (0, 0), (0, 1), (0, 0)))
    return filter2d(zeros.reshape(n, 2 * h, 2 * w, c), (2, 1), gain=4.0)


def downsample2d(x):
    """``[N, H, W, C] -> [N, H/2, W/2, C]`` (H, W even): padding (1, 1), the filter, every second pixel from the
    first (``upfirdn2d.downsample2d``)."""
    return filter2d(x, (1, 1))[:, ::2, ::2]
