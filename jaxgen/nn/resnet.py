"""Reflection-padded convolutions and the residual block of CycleGAN's ResNet generator (Zhu et al. 2017, after
Johnson et al. 2016), NHWC.

:class:`ReflectConv`: ``x [N, H, W, C] -> [N, H, W, features]``, a stride-1 ``k x k`` convolution of the input
mirror-padded by ``k // 2`` on each side (``jnp.pad(..., mode="reflect")``: the border pixel is not repeated, as
PyTorch's ``nn.ReflectionPad2d``), so it keeps the size without the dark frame zero padding draws.

:class:`ResidualBlock` (the paper's ``R256``): ``x + norm(conv3(relu(norm(conv3(x)))))`` with both convolutions
:class:`ReflectConv` of ``x``'s channels and biases (the authors' code keeps the bias beside instance norm).
Initialisation ``N(0, 0.02)`` (the authors' ``init_type="normal"``), biases 0.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.nn.init import dcgan_normal
from jaxgen.nn.unet import norm_layer
from jaxgen.nn.upsample import StridedConv

__all__ = ["ReflectConv", "ResidualBlock", "reflect_pad"]


def reflect_pad(x, pad: int):
    """``x [N, H, W, C]`` mirrored by `pad` pixels on every side (the edge row/column not repeated)."""
    return jnp.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect")


class ReflectConv(nn.Module):
    """``x [N, H, W, C] -> [N, H, W, features]``: a ``kernel x kernel`` stride-1 conv of ``x`` mirror-padded."""

    features: int
    kernel: int = 3
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        return StridedConv(self.features, (self.kernel, self.kernel), padding="VALID", kernel_init=dcgan_normal,
                           dtype=self.dtype, name="conv")(reflect_pad(x, self.kernel // 2))  # nn.Conv (RGB: taps)


class ResidualBlock(nn.Module):
    """``x [N, H, W, C] -> x + norm(conv3(relu(norm(conv3(x)))))`` (``norm`` one of :data:`jaxgen.nn.unet.NORMS`)."""

    norm: str = "instance"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool):
        features = x.shape[-1]
        y = ReflectConv(features, 3, self.dtype, name="conv0")(x)
        y = nn.relu(norm_layer(self.norm, train, "conv0_norm", self.dtype)(y))
        y = ReflectConv(features, 3, self.dtype, name="conv1")(y)
        return x + norm_layer(self.norm, train, "conv1_norm", self.dtype)(y)
