"""The random multi-scale network of Ustyuzhaninov et al. 2017 ("What does it take to generate natural textures?",
ICLR): one layer of random convolutions of several sizes applied to the image in parallel, then ReLU; its Gram
matrices alone synthesise natural textures. It needs no weight file.

    images [N, H, W, C] in [-1, 1]  ->  {"k3": [N, H, W, maps], "k5": ..., "k55": ...}   (one output per size,
                                         "SAME" zero padding, so every output keeps the image's H x W)

Default sizes 3, 5, 7, 11, 15, 23, 37, 55 with 128 maps each (the paper's multi-scale model). The convolutions
are computed by FFT (:func:`fft_conv`, the same numbers as Flax's ``nn.Conv(padding="SAME")`` up to float
rounding): XLA:CPU's direct convolution took 20 s for one gradient of the 55 x 55 layer at 64 x 64 px on this
machine, the FFT a fraction of a second. Weights: Gaussian
with variance 1 / fan-in (``k * k * C``), each filter shifted to zero mean (a constant image gives no response;
biases are 0), drawn from the init key. The paper's own initialisation and input whitening are not reproduced.

The layers' Gram matrices differ in size by orders of magnitude (a 55 x 55 filter sums 300 times more pixels than
a 3 x 3 one), so a style loss over them uses the per-layer normalisation of
:func:`jaxgen.losses.perceptual.style_loss` (``normalize=True``): each layer's term divided by its target's mean
squared Gram entry, which makes the loss independent of each layer's scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

__all__ = ["SIZES", "MultiScale", "fft_conv", "layer_names", "zero_mean_normal"]

SIZES = (3, 5, 7, 11, 15, 23, 37, 55)


def layer_names(sizes: Sequence[int] = SIZES) -> tuple[str, ...]:
    """``("k3", "k5", ...)``: one output per filter size."""
    return tuple(f"k{s}" for s in sizes)


def zero_mean_normal(key, shape, dtype=jnp.float32):
    """Kernel ``[k, k, C, maps]`` ~ N(0, 1 / (k k C)), then each filter (over k, k, C) shifted to zero mean."""
    fan_in = shape[0] * shape[1] * shape[2]
    w = jax.random.normal(key, shape, jnp.float32) / jnp.sqrt(fan_in)
    return (w - jnp.mean(w, axis=(0, 1, 2), keepdims=True)).astype(dtype)


def fft_conv(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """``x [N, H, W, C]``, ``kernel [k, k, C, M]`` (k odd) -> ``[N, H, W, M]``: the cross-correlation with zero
    "SAME" padding of ``nn.Conv`` / ``lax.conv_general_dilated``, computed by real FFTs of the padded size."""
    k = kernel.shape[0]
    h, w = x.shape[1:3]
    p = k // 2
    xp = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    size = (h + 2 * p + k - 1, w + 2 * p + k - 1)  # the full linear convolution: no wrap-around
    spectrum_x = jnp.fft.rfft2(xp, s=size, axes=(1, 2))
    spectrum_k = jnp.fft.rfft2(kernel[::-1, ::-1], s=size, axes=(0, 1))  # flipped: correlation, not convolution
    product = jnp.sum(spectrum_x[..., :, None] * spectrum_k, axis=-2)  # over C: few channels, no batched matmul
    full = jnp.fft.irfft2(product, s=size, axes=(1, 2))
    return full[:, k - 1:k - 1 + h, k - 1:k - 1 + w, :]


class MultiScale(nn.Module):
    """``images [N, H, W, C]`` -> ``{f"k{size}": relu(conv_size(images)) [N, H, W, maps]}`` for ``size`` in
    ``sizes`` (the outputs asked for in ``outputs``, default all)."""

    sizes: Sequence[int] = SIZES
    maps: int = 128
    outputs: Sequence[str] | None = None

    @nn.compact
    def __call__(self, images: jax.Array) -> dict[str, jax.Array]:
        wanted = layer_names(self.sizes) if self.outputs is None else tuple(self.outputs)
        x = images.astype(jnp.float32)
        out = {}
        for size, name in zip(self.sizes, layer_names(self.sizes)):
            if name in wanted:
                if size % 2 != 1:
                    raise ValueError(f"multi-scale filter sizes must be odd, got {size}")
                kernel = self.param(f"{name}_kernel", zero_mean_normal, (size, size, x.shape[-1], self.maps))
                bias = self.param(f"{name}_bias", nn.initializers.zeros, (self.maps,))
                out[name] = nn.relu(fft_conv(x, kernel) + bias)
        return out
