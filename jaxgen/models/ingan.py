"""InGAN's networks (Shocher et al. 2019, "InGAN: Capturing and Retargeting the DNA of a Natural Image"), small.

Generator: the image and a target shape (static) -> the image retargeted to that shape:

    x [N, H, W, 3] -> conv7 (width) -> 2 x [conv3 stride 2, channels x2]       encoder, skips e0, e1, e2
      -> `blocks` residual blocks -> resize the features to (h/4, w/4)          the paper's transformation layer
      -> `blocks` residual blocks -> 2 x [nearest x2, conv3, + skip resized]    decoder
      -> conv7 -> tanh                                                          [N, h, w, 3] in [-1, 1]

with ``h, w`` multiples of 4 (:func:`target_shape` rounds). The skips from the encoder are resized to the decoder's
size (bilinear, antialiased), as the paper transforms its skip connections with the same geometric transform.
Activations are LeakyReLU(0.2), no normalisation (batch 1: one image).

Discriminator: ``d_scales`` patch discriminators, one per scale of the input pyramid (the image and its 1/2, 1/4
area down-samplings), each ``d_layers`` 3x3 convs (the second stride 2) and a 1x1 conv to a logit per patch:
``images [N, h, w, 3] -> [logits [N, h_s, w_s] for s = 0 .. d_scales - 1]``. Shared by no scale; fully
convolutional, so any shape.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError

MULTIPLE = 4  # G's output sides are multiples of 2 ** (its down-samplings)
MIN_SIZE = 16  # the smallest side of a target shape: D's coarsest scale then still has a 4 px map


def target_shape(image_shape: Sequence[int], scale: Sequence[float], key: str = "model.train_scales"):
    """``(h, w)``: ``image_shape[:2]`` times the (height, width) scale factors, each rounded to a multiple of 4;
    a ConfigError naming `key` if a side is below ``MIN_SIZE``."""
    if len(scale) != 2 or min(scale) <= 0:
        raise ConfigError(f"{key}: every entry must be a (height, width) pair of positive scale factors, got {scale}")
    shape = tuple(int(round(s * n / MULTIPLE)) * MULTIPLE for s, n in zip(scale, image_shape[:2], strict=True))
    if min(shape) < MIN_SIZE:
        raise ConfigError(f"{key}: scale {tuple(scale)} of the {image_shape[0]}x{image_shape[1]} image gives "
                          f"{shape[0]}x{shape[1]}, below InGAN's {MIN_SIZE} px: use larger scale factors or a "
                          f"larger image (data.max_size)")
    return shape


def _resize(x, shape):
    n, _, _, c = x.shape
    return jax.image.resize(x, (n, *shape, c), "linear", antialias=True)


def _act(x):
    return nn.leaky_relu(x, 0.2)


class ResBlock(nn.Module):
    @nn.compact
    def __call__(self, x):
        c = x.shape[-1]
        y = nn.Conv(c, (3, 3))(_act(x))
        return x + nn.Conv(c, (3, 3))(_act(y))


class Generator(nn.Module):
    """``(images [N, H, W, 3], shape (h, w)) -> [N, h, w, 3]`` (module docstring); ``h, w`` multiples of 4."""

    width: int = 32
    blocks: int = 2

    @nn.compact
    def __call__(self, x, shape: tuple[int, int], train: bool = True):
        del train
        h, w = shape
        if h % MULTIPLE or w % MULTIPLE or x.shape[1] % MULTIPLE or x.shape[2] % MULTIPLE:
            raise ConfigError(f"InGAN's G maps images with sides multiple of {MULTIPLE} to such shapes; got "
                              f"{x.shape[1:3]} -> {(h, w)} (round with jaxgen.models.ingan.target_shape)")
        skips = [_act(nn.Conv(self.width, (7, 7))(x))]
        for i in (1, 2):
            skips.append(_act(nn.Conv(self.width * 2**i, (3, 3), strides=(2, 2))(skips[-1])))
        y = skips[-1]
        for _ in range(self.blocks):
            y = ResBlock()(y)
        y = _resize(y, (h // 4, w // 4))
        for _ in range(self.blocks):
            y = ResBlock()(y)
        for i in (1, 0):
            size = (h // 2**i, w // 2**i)
            y = jax.image.resize(y, (y.shape[0], *size, y.shape[-1]), "nearest")
            y = _act(nn.Conv(self.width * 2**i, (3, 3))(y)) + _resize(skips[i], size)
        return jnp.tanh(nn.Conv(x.shape[-1], (7, 7))(y))


class PatchDiscriminator(nn.Module):
    width: int = 32
    layers: int = 3

    @nn.compact
    def __call__(self, x):
        for i in range(self.layers):
            x = _act(nn.Conv(self.width * (2 if i else 1), (3, 3), strides=(2, 2) if i == 1 else (1, 1))(x))
        return nn.Conv(1, (1, 1))(x)[..., 0]


class Discriminator(nn.Module):
    """``images [N, h, w, 3] -> [logits [N, h_s, w_s] for each scale]`` (module docstring)."""

    width: int = 32
    scales: int = 3
    layers: int = 3

    @nn.compact
    def __call__(self, x, train: bool = True):
        del train
        outs = []
        for s in range(self.scales):
            if s:
                x = nn.avg_pool(x, (2, 2), strides=(2, 2))
            outs.append(PatchDiscriminator(self.width, self.layers, name=f"scale{s}")(x))
        return outs


def generator(cfg) -> Generator:
    return Generator(int(cfg.width), int(cfg.blocks))


def discriminator(cfg) -> Discriminator:
    return Discriminator(int(cfg.d_width), int(cfg.d_scales), int(cfg.d_layers))
