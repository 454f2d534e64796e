"""The layers of progressive growing (Karras et al. 2018, "Progressive Growing of GANs"), shared by ProGAN and the
StyleGAN family: equalized learning rate, pixel norm, minibatch standard deviation, the fade-in blend, and the
nearest / average-pool resamplings between resolutions (images and features are NHWC).

Equalized learning rate (the paper's section 4.1, the official code's ``use_wscale``): a layer's weights are drawn
``N(0, 1)`` and multiplied at run time by He's constant ``gain / sqrt(fan_in)`` (``gain`` = sqrt(2) by default,
``fan_in`` = the inputs of one output unit: ``k * k * C_in`` for a k x k convolution), so Adam's step is of the same
size relative to every layer's weights; biases start at 0. A dense layer's learning-rate multiplier ``lr_mul``
(StyleGAN's mapping network: 0.01) stores ``N(0, 1 / lr_mul^2)`` weights and scales weights and bias by
``lr_mul`` at run time: the same initial function, and Adam moves the effective weights ``lr_mul`` times as fast.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.nn import upsample

__all__ = ["EqualizedConv", "EqualizedDense", "avg_pool", "he_scale", "lerp", "minibatch_stddev", "pixel_norm",
           "unit_normal", "upsample_nearest"]

SQRT2 = math.sqrt(2.0)


def he_scale(fan_in: int, gain: float = SQRT2) -> float:
    """He's constant ``gain / sqrt(fan_in)``: the run-time scale of an equalized layer's N(0, 1) weights."""
    return gain / math.sqrt(fan_in)


def unit_normal(key, shape, dtype=jnp.float32):
    """``N(0, 1)`` weights of `shape`: ``jax.random.normal`` drawn flat and reshaped, the same numbers (threefry is
    partitionable), but XLA:CPU compiles the 4-D draw of a conv kernel ~5x slower (seconds per kernel shape)."""
    return jax.random.normal(key, (math.prod(shape),), dtype).reshape(shape)


class EqualizedDense(nn.Module):
    """``x [..., F_in] -> x @ (W * he_scale(F_in, gain) * lr_mul) + b * lr_mul [..., features]``;
    ``W ~ N(0, 1 / lr_mul^2)``, ``b = bias_init`` (0; StyleGAN2's style affine: 1) (``lr_mul`` 1: plain
    equalized lr)."""

    features: int
    gain: float = SQRT2
    use_bias: bool = True
    lr_mul: float = 1.0
    bias_init: float = 0.0
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        init = unit_normal if self.lr_mul == 1 else lambda k, s, d: unit_normal(k, s, d) / self.lr_mul
        kernel = self.param("kernel", init, (x.shape[-1], self.features), jnp.float32)
        y = jnp.dot(x.astype(self.dtype), (kernel * (he_scale(x.shape[-1], self.gain) * self.lr_mul)).astype(self.dtype))
        if self.use_bias:
            init = nn.initializers.constant(self.bias_init) if self.bias_init else nn.initializers.zeros
            bias = self.param("bias", init, (self.features,), jnp.float32)
            y = y + (bias if self.lr_mul == 1 else bias * self.lr_mul).astype(self.dtype)
        return y


class EqualizedConv(nn.Module):
    """``x [N, H, W, C_in] -> [N, H', W', features]``: a convolution with kernel ``W * he_scale(k * k * C_in, gain)``,
    ``W [k, k, C_in, features] ~ N(0, 1)``, bias 0; stride 1 "SAME" by default (``H' = H``), or ``stride`` s with
    ``padding`` "VALID" (StyleGAN2's down-sampling convolution, after its filter; ``jaxgen.nn.upsample.conv``)."""

    features: int
    kernel_size: int = 3
    gain: float = SQRT2
    use_bias: bool = True
    stride: int = 1
    padding: str = "SAME"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        k = self.kernel_size
        kernel = self.param("kernel", unit_normal, (k, k, x.shape[-1], self.features), jnp.float32)
        w = (kernel * he_scale(k * k * x.shape[-1], self.gain)).astype(self.dtype)
        if self.stride == 1:
            y = jax.lax.conv_general_dilated(x.astype(self.dtype), w, (1, 1), self.padding,
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
        else:
            y = upsample.conv(x.astype(self.dtype), w, (self.stride, self.stride), self.padding)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(self.dtype)
        return y


def pixel_norm(x, eps: float = 1e-8):
    """``x / sqrt(mean_c x^2 + eps)`` over the last (feature) axis: each pixel's feature vector to unit RMS."""
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps)


def minibatch_stddev(x, group_size: int = 4, num_features: int = 1, eps: float = 1e-8):
    """``x [N, H, W, C] -> [N, H, W, C + num_features]``: the official code's ``minibatch_stddev_layer``.

    The batch splits into groups of ``G = min(group_size, N)`` examples, example ``i`` in group ``i mod (N / G)``
    (the official ``reshape([G, -1, ...])``); the channels split into ``num_features`` slices. For each group and
    slice: the standard deviation over the group's G examples of every feature and pixel (``sqrt(var + eps)``, the
    biased variance), averaged over the slice's features and the pixels; the value is appended, constant over the
    pixels, as a channel of every example of the group. ProGAN uses one feature (StyleGAN too).
    """
    n, h, w, c = x.shape
    g = min(group_size, n)
    if n % g or c % num_features:
        raise ValueError(f"minibatch_stddev: batch {n} must be a multiple of the group size {g}, and channels {c} of "
                         f"num_features {num_features}")
    y = x.astype(jnp.float32).reshape(g, n // g, h, w, num_features, c // num_features)
    y = jnp.sqrt(jnp.mean(jnp.square(y - jnp.mean(y, axis=0)), axis=0) + eps)  # [M, H, W, F, C / F]
    y = jnp.mean(y, axis=(1, 2, 4))  # [M, F]
    y = jnp.tile(y, (g, 1))[:, None, None, :]  # example i gets its group i mod M
    return jnp.concatenate([x, jnp.broadcast_to(y, (n, h, w, num_features)).astype(x.dtype)], axis=-1)


def lerp(a, b, t):
    """The fade-in blend ``(1 - t) a + t b``: exactly ``a`` at ``t = 0`` and exactly ``b`` at ``t = 1`` (the official
    ``a + (b - a) t`` is the same blend, but rounds at ``t = 1``)."""
    return a * (1 - t) + b * t


def upsample_nearest(x, factor: int = 2):
    """``[N, H, W, C] -> [N, H f, W f, C]``: every pixel repeated f x f times (nearest neighbour)."""
    return x if factor == 1 else jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def avg_pool(x, factor: int = 2):
    """``[N, H, W, C] -> [N, H / f, W / f, C]``: the mean of each f x f block (the paper's down-sampling)."""
    if factor == 1:
        return x
    n, h, w, c = x.shape
    return jnp.mean(x.reshape(n, h // factor, factor, w // factor, factor, c), axis=(2, 4))
