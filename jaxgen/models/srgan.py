"""SRResNet and the SRGAN discriminator (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network", Figure 4), NHWC.

Generator (SRResNet), ``LR [N, h, w, C]`` in [-1, 1] -> ``SR [N, h s, w s, C]`` (``s = cfg.scale``, a power of 2;
linear output, no tanh, as the paper's last layer)::

    conv 9x9 (width) -> PReLU                                              = skip
    B residual blocks: x + BN(conv 3x3(PReLU(BN(conv 3x3(x)))))            (B = cfg.blocks, 16 in the paper)
    BN(conv 3x3(.)) + skip                                                 (the long skip)
    log2(s) up-sampling blocks: conv 3x3 (4 width) -> PixelShuffle x2 -> PReLU
    conv 9x9 (C)

PReLU: one learnt slope per layer, initialised at 0.25 (PyTorch's ``nn.PReLU()``). :func:`pixel_shuffle` has
PyTorch's channel order (``nn.PixelShuffle``: channel ``c r^2 + i r + j`` goes to ``(c, row i, column j)``), so
PyTorch SRResNet weights map one to one.

Discriminator (the paper's VGG-style D), ``images [N, H, W, C]`` -> logits ``[N]``: 8 convolutions 3x3 of widths
``d_width x (1, 1, 2, 2, 4, 4, 8, 8)`` (64 -> 512) with strides (1, 2, 1, 2, 1, 2, 1, 2), each followed by
LeakyReLU 0.2, BatchNorm after every one but the first; then dense ``d_dense`` (1024) -> LeakyReLU 0.2 -> dense 1
(the sigmoid is the objective's). ``H, W`` must be divisible by 16.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.nn.norms import BatchNorm
from jaxgen.nn.remat import rematerialised
from jaxgen.nn.upsample import StridedConv, depth_to_space

__all__ = ["Discriminator", "SRResNet", "discriminator", "generator", "pixel_shuffle", "upsamplings"]

Array = jax.Array


def upsamplings(scale: int) -> int:
    """log2(scale), or a ConfigError naming ``model.scale`` if it is not a power of 2 >= 2."""
    n = int(scale).bit_length() - 1
    if scale < 2 or 2**n != scale:
        raise ConfigError(f"config key 'model.scale' must be a power of 2 >= 2 (PixelShuffle x2 blocks), got {scale}")
    return n


def pixel_shuffle(x: Array, r: int) -> Array:
    """``[N, H, W, C r^2]`` -> ``[N, H r, W r, C]`` in PyTorch's ``nn.PixelShuffle(r)`` order (input channel
    ``c r^2 + i r + j`` -> output ``(H r + i, W r + j, c)``): :func:`~jaxgen.nn.upsample.depth_to_space` after
    reordering the channels from ``(c, i, j)`` to ``(i, j, c)``."""
    n, h, w, d = x.shape
    c = d // (r * r)
    return depth_to_space(x.reshape(n, h, w, c, r * r).swapaxes(-1, -2).reshape(n, h, w, d), (r, r), c)


def _bn(train: bool, momentum: float, dtype: Any, name: str):
    return BatchNorm(use_running_average=not train, momentum=momentum, epsilon=1e-5, dtype=dtype, name=name)


def _prelu(name: str):
    return nn.PReLU(negative_slope_init=0.25, name=name)


class SRResNet(nn.Module):
    """``LR [N, h, w, C]`` -> ``SR [N, h 2^n, w 2^n, C]`` float32 (see the module docstring); ``n = ups``."""

    channels: int = 3
    blocks: int = 16
    width: int = 64
    ups: int = 2
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    remat: bool = False

    @nn.compact
    def __call__(self, x, *, train: bool):
        conv = functools.partial(StridedConv, padding="SAME", dtype=self.dtype)  # nn.Conv; the RGB layer by taps
        bn = functools.partial(_bn, train, self.bn_momentum, self.dtype)
        h = skip = _prelu("head_prelu")(conv(self.width, (9, 9), name="head")(x))

        def block(module, h, i):  # x + BN(conv(PReLU(BN(conv(x)))))
            r = _prelu(f"res{i}_prelu")(bn(f"res{i}_bn1")(conv(self.width, (3, 3), name=f"res{i}_conv1")(h)))
            return h + bn(f"res{i}_bn2")(conv(self.width, (3, 3), name=f"res{i}_conv2")(r))

        block = rematerialised(block, self.remat)
        for i in range(self.blocks):
            h = block(self, h, i)
        h = skip + bn("body_bn")(conv(self.width, (3, 3), name="body")(h))
        for i in range(self.ups):
            h = _prelu(f"up{i}_prelu")(pixel_shuffle(conv(4 * self.width, (3, 3), name=f"up{i}")(h), 2))
        return conv(self.channels, (9, 9), name="out")(h).astype(jnp.float32)


D_WIDTHS = (1, 1, 2, 2, 4, 4, 8, 8)  # x d_width
D_STRIDES = (1, 2, 1, 2, 1, 2, 1, 2)


class Discriminator(nn.Module):
    """``images [N, H, W, C]`` -> logits ``[N]`` float32 (see the module docstring)."""

    width: int = 64
    dense: int = 1024
    bn_momentum: float = 0.9
    dtype: Any = jnp.float32
    remat: bool = False

    @nn.compact
    def __call__(self, x, *, train: bool):
        if x.ndim != 4 or x.shape[1] % 16 or x.shape[2] % 16:
            raise ConfigError(f"the SRGAN discriminator needs images [N, H, W, C] with H, W divisible by 16 "
                              f"(data.crop), got {x.shape}")

        def down(module, x, i):  # conv 3x3 (stride 1 or 2) [-> BN] -> LeakyReLU 0.2
            x = StridedConv(self.width * D_WIDTHS[i], (3, 3), D_STRIDES[i], padding=((1, 1), (1, 1)),
                            use_bias=i == 0, dtype=self.dtype, name=f"conv{i}")(x)
            if i > 0:
                x = _bn(train, self.bn_momentum, self.dtype, f"bn{i}")(x)
            return nn.leaky_relu(x, 0.2)

        down = rematerialised(down, self.remat)
        for i in range(len(D_WIDTHS)):
            x = down(self, x, i)
        x = nn.leaky_relu(nn.Dense(self.dense, dtype=self.dtype, name="dense")(x.reshape(x.shape[0], -1)), 0.2)
        return nn.Dense(1, dtype=self.dtype, name="logit")(x)[:, 0].astype(jnp.float32)


def generator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> SRResNet:
    """SRResNet for HR images of ``image_shape`` ``(H, W, C)`` (it takes LR ``(H / scale, W / scale, C)``)."""
    if num_classes is not None:
        raise ConfigError("SRResNet is not class-conditional")
    return SRResNet(channels=image_shape[-1], blocks=cfg.blocks, width=cfg.width, ups=upsamplings(cfg.scale),
                    bn_momentum=cfg.bn_momentum, dtype=dtype, remat=remat)


def discriminator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> Discriminator:
    """The SRGAN discriminator of HR images ``image_shape``."""
    del image_shape
    if num_classes is not None:
        raise ConfigError("the SRGAN discriminator is not class-conditional")
    return Discriminator(width=cfg.d_width, dense=cfg.d_dense, bn_momentum=cfg.bn_momentum, dtype=dtype, remat=remat)
