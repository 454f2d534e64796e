"""The U-Net generator of pix2pix (Isola et al. 2017, arXiv:1611.07004, Appendix 6.1.1), for image-to-image models.

Encoder: ``n`` blocks ``[LeakyReLU(0.2) ->] Conv(4, s2, p1) [-> norm]`` halving the size down to 1x1, channels
``width * min(2**i, 8)``: at 256 px (``n = 8``, ``width = 64``) the paper's C64-C128-C256-C512-C512-C512-C512-C512;
at 64 px ``n = 6`` (C64-C128-C256-C512-C512-C512). The first block has no activation before it and no norm, the
innermost (1x1) no norm (a norm of one value per channel is constant; the authors' code leaves it out too).

Decoder: ``n`` blocks ``ReLU -> ConvT(4, s2) [-> norm] [-> Dropout(0.5)]``, each block's output concatenated with
the encoder output of the same size (the skip connections: decoder block ``j`` reads ``concat(u_{j-1}, e_{n-j})``);
channels mirror the encoder's, so at 256 px the concatenations are the paper's CD512-CD1024-CD1024-C1024-C1024-
C512-C256-C128; the last block maps to the image's channels and ``tanh``. Dropout 0.5 after the first
``dropout_blocks`` (3) decoder blocks is the generator's only noise and is applied in training *and* sampling,
as the paper does ("we apply dropout at test time"): the module always draws from the ``"dropout"`` rng.

``norm``: ``"batch"`` (the paper; ``train=False`` uses the running averages, where the paper used the test
batch's statistics; with batch size 1 the two differ) or ``"instance"`` (per-image statistics in training and
sampling alike: what the paper's batch-1 BatchNorm computes). Convolutions followed by BatchNorm carry no bias;
with instance norm they do (the authors' code). Initialisation ``N(0, 0.02)``, BatchNorm scales ``N(1, 0.02)``.

Down-sampling uses :class:`jaxgen.nn.StridedConv`, up-sampling :class:`jaxgen.nn.ConvTranspose` (the backend's
lowerings, as DCGAN). ``dtype`` is the computation dtype (the output is float32); ``remat`` rematerialises each
block in the backward pass.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.nn.init import dcgan_bn_scale, dcgan_normal
from jaxgen.nn.norms import InstanceNorm
from jaxgen.nn.remat import rematerialised
from jaxgen.nn.upsample import ConvTranspose, StridedConv

__all__ = ["NORMS", "UNet", "checked_norm", "depth_for", "norm_layer"]

NORMS = ("batch", "instance")


def depth_for(size: int, key: str = "data.image_size") -> int:
    """The number of halvings from ``size`` down to 1x1: log2(size); `size` must be a power of two >= 4."""
    n = int(round(math.log2(size))) if size > 0 else 0
    if size < 4 or 2**n != size:
        raise ConfigError(f"the U-Net halves the image down to 1x1, so {key} must be a power of two >= 4 "
                          f"(e.g. 16, 64, 256), got {size}")
    return n


def checked_norm(norm: str) -> str:
    """`norm` if it is one of `NORMS`, else a ConfigError naming ``model.norm``."""
    if norm not in NORMS:
        raise ConfigError(f"model.norm={norm!r}; choose one of {NORMS}")
    return norm


def norm_layer(kind: str, train: bool, name: str, dtype: Any):
    """The normalisation layer `kind` (one of `NORMS`) named `name`."""
    if kind == "batch":
        return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, scale_init=dcgan_bn_scale,
                            name=name, dtype=dtype)
    return InstanceNorm(epsilon=1e-5, name=name, dtype=dtype)


class UNet(nn.Module):
    """``images [N, H, W, C_in] -> images [N, H, W, out_channels]`` in ``[-1, 1]``; H = W = 2**depth."""

    out_channels: int
    depth: int
    width: int = 64
    norm: str = "batch"
    dropout: float = 0.5
    dropout_blocks: int = 3
    dtype: Any = jnp.float32
    remat: bool = False

    def channels(self, i: int) -> int:
        """Channels of encoder block i (0-based): ``width * min(2**i, 8)``."""
        return self.width * min(2**i, 8)

    @nn.compact
    def __call__(self, x, *, train: bool):
        if x.shape[1] != 2**self.depth or x.shape[2] != 2**self.depth:
            raise ValueError(f"UNet of depth {self.depth} takes {2**self.depth}x{2**self.depth} images, got "
                             f"{x.shape[1:3]}")
        n, bias_with_norm = self.depth, self.norm == "instance"

        def down(module, x, i):
            normed = 0 < i < n - 1
            if i > 0:
                x = nn.leaky_relu(x, 0.2)
            x = StridedConv(self.channels(i), (4, 4), (2, 2), ((1, 1), (1, 1)), use_bias=bias_with_norm or not normed,
                            kernel_init=dcgan_normal, dtype=self.dtype, name=f"down{i}")(x)
            return norm_layer(self.norm, train, f"down{i}_norm", self.dtype)(x) if normed else x

        def up(module, x, j):  # decoder block j = 0 (innermost) .. n-1 (to the image)
            last = j == n - 1
            out = self.out_channels if last else self.channels(n - 2 - j)
            x = ConvTranspose(out, (4, 4), (2, 2), "SAME", use_bias=last or bias_with_norm, kernel_init=dcgan_normal,
                              dtype=self.dtype, name=f"up{j}")(nn.relu(x))
            if last:
                return x
            x = norm_layer(self.norm, train, f"up{j}_norm", self.dtype)(x)
            if j < self.dropout_blocks and self.dropout > 0:
                x = nn.Dropout(self.dropout, deterministic=False)(x)  # at test time too (the paper's only noise)
            return x

        down, up = rematerialised(down, self.remat), rematerialised(up, self.remat)
        skips = []
        for i in range(n):
            x = down(self, x, i)
            skips.append(x)
        for j in range(n):
            x = up(self, x, j)
            if j < n - 1:
                x = jnp.concatenate([x, skips[n - 2 - j]], axis=-1)
        return jnp.tanh(x).astype(jnp.float32)
