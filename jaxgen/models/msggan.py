"""MSG-GAN's networks (Karnewar & Wang 2020, "MSG-GAN: Multi-Scale Gradients for GANs", MSG-ProGAN, section 3).

ProGAN's levels (:mod:`jaxgen.models.progan`'s blocks, widths and resolutions 4, 8, ..., H), trained at every
resolution at once: no growing, no fade-in, one stage.

Generator ``z [N, z_dim] -> [images_4, images_8, ..., images_H]`` (``images_r [N, r, r, C]`` float32, linear):
ProGAN's G, where every level's features also go through its own toRGB (a 1x1 conv, gain 1), so every level
emits an image (the paper's ``o_i = r_i(a_i)``).

Discriminator ``[images_4, ..., images_H] -> scores [N]`` float32: ``fromRGB_H`` (1x1 conv, LReLU) on the H x H
image, then per level l = L-1 .. 1 ProGAN's D level (conv 3x3, LReLU, conv 3x3, LReLU, 2x2 average pool) whose
output at resolution ``r_{l-1}`` is concatenated with the image of that resolution (the paper's
``phi_simple(o, a) = [o; a]``, channels ``width_{l-1} + C``); at 4 x 4 ProGAN's output block (minibatch stddev,
conv 3x3, dense, dense). So D's score depends on every scale's image directly, and a G level gets gradients both
through the levels above it and through its own image.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.models import progan
from jaxgen.models.progan import conv, d_level, d_output, g_input, g_level, latent, levels, lrelu, widths

__all__ = ["MULTI_SCALE", "Discriminator", "Generator", "discriminator", "generator", "latent", "levels", "widths"]

MULTI_SCALE = True  # G returns one image per level, D takes them all (the multiscale game's contract)


class Generator(nn.Module):
    """``z [N, z_dim] -> [images_r [N, r, r, C] for r = 4, 8, ..., H]`` float32 (module docstring)."""

    widths: tuple[int, ...]
    channels: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, *, train: bool):
        del train
        features = [g_input(self, z, self.widths[0])]
        for width in self.widths[1:]:
            features.append(g_level(self, features[-1], width))
        return [conv(self, self.channels, f"to_rgb{h.shape[1]}", 1, 1.0)(h).astype(jnp.float32) for h in features]


class Discriminator(nn.Module):
    """``[images_r [N, r, r, C] for r = 4, 8, ..., H] -> scores [N]`` float32 (module docstring)."""

    widths: tuple[int, ...]
    mbstd_group: int = 4
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, images, *, train: bool):
        del train
        if len(images) != len(self.widths) or any(x.shape[1] != 4 * 2**level for level, x in enumerate(images)):
            raise ValueError(f"msggan D takes the images at resolutions {[4 * 2**lv for lv in range(len(self.widths))]}"
                             f"; got shapes {[tuple(x.shape) for x in images]}")
        top = len(self.widths) - 1
        h = lrelu(conv(self, self.widths[top], f"from_rgb{images[top].shape[1]}", 1)(images[top]))
        for level in range(top, 0, -1):
            h = d_level(self, h, self.widths[level], self.widths[level - 1])
            h = jnp.concatenate([h, images[level - 1].astype(h.dtype)], axis=-1)
        return d_output(self, h, self.widths[0], self.mbstd_group)


def generator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The Generator of ``cfg`` for images of ``image_shape`` (ProGAN's widths; unconditional)."""
    g = progan.generator(cfg, image_shape, num_classes, dtype=dtype)
    return Generator(widths=g.widths, channels=g.channels, dtype=dtype)


def discriminator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The Discriminator of ``cfg`` for images of ``image_shape`` (ProGAN's widths and checks)."""
    d = progan.discriminator(cfg, image_shape, num_classes, dtype=dtype)
    return Discriminator(widths=d.widths, mbstd_group=d.mbstd_group, dtype=dtype)
