"""StyleGAN2's modulated convolution (Karras et al. 2020, section 2.2, eqs. 1-3; the official ``modulated_conv2d``).

``ModulatedConv(features, kernel_size, demodulate, up)(x [N, H, W, C_in], w [N, D]) -> [N, H', W', features]``:

* style: ``s = A(w) [N, C_in]``, an equalized dense of w (gain 1) whose bias starts at 1, so every input channel is
  scaled by about 1 at init;
* weights: ``W [k, k, C_in, features] ~ N(0, 1)`` scaled at run time by ``1 / sqrt(k k C_in)`` (equalized lr), each
  example's own ``w'_ijk = s_i W_ijk`` (eq. 1);
* demodulation (``demodulate``, off for toRGB): ``w''_ijk = w'_ijk / sqrt(sum_{i,k} w'_ijk^2 + 1e-8)`` (eq. 3), so an
  output channel has unit standard deviation for inputs of unit variance, independent of the style;
* ``up``: x2 up-sampling as the official ``conv2d_resample``: a stride-2 transposed convolution without padding
  (``[2H + 1, 2W + 1]``), then the [1, 3, 3, 1] filter with padding (1, 1) and gain 4 (:mod:`jaxgen.nn.fir`); else a
  stride-1 "SAME" convolution;
* a bias per output channel (0 at init), after the demodulation.

The per-example weights are never built: the layer scales the input channels by ``s``, convolves with the shared
weights and scales the output channels by the demodulation ``d_j = 1 / sqrt(sum_i s_i^2 sum_k W_ijk^2 + 1e-8)``,
which is the same function (the official code's training path, ``fused_modconv=False``). On XLA:CPU the fused form
(a grouped convolution over the batch, ``jax.vmap`` of ``conv`` with per-example kernels) ran a 32 x 32 x 128 layer's
forward and backward ~60x slower. The transposed convolution is :func:`jaxgen.nn.upsample.conv_transpose` (its
backend's fast lowering).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.nn import fir, upsample
from jaxgen.nn.progressive import EqualizedDense, he_scale, unit_normal

__all__ = ["ModulatedConv"]

DN = ("NHWC", "HWIO", "NHWC")


class ModulatedConv(nn.Module):
    """``(x [N, H, W, C_in], w [N, D]) -> [N, H', W', features]`` (``H' = 2H`` with ``up``): the module docstring."""

    features: int
    kernel_size: int = 3
    demodulate: bool = True
    up: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, w):
        k, cin = self.kernel_size, x.shape[-1]
        style = EqualizedDense(cin, 1.0, bias_init=1.0, dtype=jnp.float32, name="affine")(w)  # [N, C_in]
        kernel = self.param("kernel", unit_normal, (k, k, cin, self.features), jnp.float32)
        weight = kernel * he_scale(k * k * cin, 1.0)
        x = (x.astype(jnp.float32) * style[:, None, None, :]).astype(self.dtype)
        if self.up:
            y = upsample.conv_transpose(x, weight.astype(self.dtype), (2, 2), "VALID")
            y = fir.filter2d(y, (1, 1), gain=4.0)
        else:
            y = jax.lax.conv_general_dilated(x, weight.astype(self.dtype), (1, 1), "SAME", dimension_numbers=DN)
        if self.demodulate:  # d_j = 1 / sqrt(sum_i s_i^2 sum_k W_ijk^2 + 1e-8), per example
            d = jax.lax.rsqrt(jnp.square(style) @ jnp.sum(jnp.square(weight), axis=(0, 1)) + 1e-8)
            y = y * d[:, None, None, :].astype(y.dtype)
        return y + self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32).astype(y.dtype)
