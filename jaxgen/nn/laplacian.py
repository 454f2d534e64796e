"""The Laplacian pyramid of LapGAN (Denton et al. 2015, section 3): Gaussian levels, band-pass residuals, and the
exact reconstruction (images NHWC).

Levels are numbered coarsest first, ``l = 0 .. L-1`` (the training order; the paper's index is ``k = L-1-l``):
``I_{L-1}`` is the image, ``I_{l-1} = d(I_l)``. The pyramid holds the low-pass ``I_0`` and the band-pass residuals
``h_l = I_l - u(I_{l-1})`` for ``l >= 1`` (the paper's ``h_k = I_k - u(I_{k+1})``), and ``I_l = u(I_{l-1}) + h_l``
rebuilds the image.

``d`` is 2 x 2 average pooling and ``u`` nearest up-sampling (:mod:`jaxgen.nn.progressive`'s), not the paper's
5-tap Gaussian blur and decimation: with these ``d(u(x)) = x``, so every residual has zero mean over each 2 x 2
block (``d(h_l) = 0``: it holds only the detail the coarser level lacks), and ``u(I_{l-1}) + h_l`` determines
both terms (``u(I_{l-1}) = u(d(.))`` of it), which is why the paper's D may see their sum.
"""

from __future__ import annotations

from jaxgen.nn.progressive import avg_pool as down
from jaxgen.nn.progressive import upsample_nearest as up

__all__ = ["down", "gaussian", "laplacian", "reconstruct", "up"]


def gaussian(images, levels: int) -> list:
    """``images [N, H, W, C]`` -> ``[I_0, ..., I_{L-1}]``, ``I_l [N, H / 2**(L-1-l), W / 2**(L-1-l), C]``."""
    pyramid = [images]
    for _ in range(levels - 1):
        pyramid.insert(0, down(pyramid[0]))
    return pyramid


def laplacian(images, levels: int) -> list:
    """``images [N, H, W, C]`` -> ``[I_0, h_1, ..., h_{L-1}]``: the low-pass and the band-pass residuals
    ``h_l = I_l - u(I_{l-1})``, each at the resolution of its level."""
    g = gaussian(images, levels)
    return [g[0]] + [g[level] - up(g[level - 1]) for level in range(1, levels)]


def reconstruct(pyramid: list):
    """``[I_0, h_1, ..., h_{L-1}]`` -> ``I_{L-1}``: ``I_l = u(I_{l-1}) + h_l`` from the coarsest level up."""
    image = pyramid[0]
    for residual in pyramid[1:]:
        image = up(image) + residual
    return image
