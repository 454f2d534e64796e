"""ProGAN's networks (Karras et al. 2018, "Progressive Growing of GANs", table 2 and the official code).

Levels ``l = 0 .. L-1`` are the resolutions ``r_l = 4 * 2**l`` up to the image's (``L = log2(H / 4) + 1``); level
``l`` has ``width_l = min(model.width, model.width_base / r_l)`` channels (the official ``fmap_max`` 512 and
``2 * fmap_base`` 16384 by default). Every layer is equalized (:mod:`jaxgen.nn.progressive`), LeakyReLU 0.2.

Generator ``(z [N, z_dim], stage, alpha) -> images [N, r_stage, r_stage, C]`` (linear output, no tanh):
pixel norm of z, dense (gain sqrt(2)/4) to 4 x 4 x width_0 + a bias per channel, LReLU, pixel norm, conv 3x3,
LReLU, pixel norm; then per level l = 1 .. stage: nearest x2 up-sampling, two [conv 3x3, LReLU, pixel norm]
(width_l). ``toRGB_l`` is a 1x1 conv (gain 1). At ``stage`` s > 0 the output is the fade-in
``lerp(up2(toRGB_{s-1}(h_{s-1})), toRGB_s(h_s), alpha)``: ``alpha = 0`` is exactly the stage s - 1 network's image
up-sampled, ``alpha = 1`` the new level alone.

Discriminator ``(images [N, r_stage, r_stage, C], stage, alpha) -> scores [N]`` (mirror): ``fromRGB_l`` a 1x1 conv
to width_l, LReLU; per level l = stage .. 1: conv 3x3 (width_l), LReLU, conv 3x3 (width_{l-1}), LReLU, 2x2 average
pool; at 4 x 4: minibatch standard deviation (group ``model.mbstd_group``, one channel), conv 3x3, LReLU, dense to
width_0, LReLU, dense to 1 (gain 1). At stage s > 0 the level-s block's output is blended with
``fromRGB_{s-1}(avg_pool(x))`` by ``alpha``: ``alpha = 0`` is exactly the stage s - 1 D on the pooled image.

The parameters of every level exist from ``init`` (called at the last stage: it builds every toRGB / fromRGB), so the
state's structure never changes; ``stage`` is a static Python int and ``alpha`` an array (traced: the fade-in).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.nn.progressive import (
    SQRT2,
    EqualizedConv,
    EqualizedDense,
    avg_pool,
    lerp,
    minibatch_stddev,
    pixel_norm,
    upsample_nearest,
)

__all__ = ["Discriminator", "Generator", "conv", "d_level", "d_output", "discriminator", "faded_rgb", "g_input", "g_level",
           "generator", "latent", "levels", "lrelu", "widths"]


def levels(image_shape) -> int:
    """L, the resolutions 4, 8, ..., H of square images ``[H, H, C]`` with H = 4 * 2**k."""
    h, w = image_shape[:2]
    if len(image_shape) != 3 or h != w or h < 4 or h & (h - 1):
        raise ConfigError(f"progan needs square images [H, H, C] with H a power of two >= 4 (data.image_size); "
                          f"got image shape {tuple(image_shape)}")
    return int(math.log2(h)) - 1


def widths(cfg, image_shape) -> tuple[int, ...]:
    """The channels of every level: ``min(model.width, model.width_base / r)`` at resolution r."""
    out = tuple(min(int(cfg.width), int(cfg.width_base) // (4 * 2**level)) for level in range(levels(image_shape)))
    if min(out) < 1:
        raise ConfigError(f"model.width_base={cfg.width_base} leaves a level without channels (resolution r gets "
                          f"min(model.width, model.width_base / r)); raise it")
    return out


def lrelu(x):
    """LeakyReLU 0.2, every hidden layer's activation."""
    return nn.leaky_relu(x, 0.2)


def conv(module, width: int, name: str, k: int = 3, gain: float = SQRT2) -> EqualizedConv:
    """An equalized k x k conv named `name` in `module` (its dtype)."""
    return EqualizedConv(width, k, gain, dtype=module.dtype, name=name)


# The blocks below run inside a network's compact ``__call__`` (`module`): their layers are its named submodules.

def g_input(module, z, width: int):
    """``z [N, z_dim] -> [N, 4, 4, width]``: G's 4 x 4 level (pixel norm, dense, bias, LReLU, pixel norm, conv 3x3,
    LReLU, pixel norm)."""
    x = EqualizedDense(16 * width, SQRT2 / 4, use_bias=False, dtype=module.dtype, name="dense")(pixel_norm(z))
    x = x.reshape(z.shape[0], 4, 4, width)
    x = pixel_norm(lrelu(x + module.param("dense_bias", nn.initializers.zeros, (width,)).astype(module.dtype)))
    return pixel_norm(lrelu(conv(module, width, "conv4")(x)))


def g_level(module, x, width: int):
    """``[N, r/2, r/2, C] -> [N, r, r, width]``: G's level at resolution r (nearest x2, two conv 3x3, LReLU, pixel
    norm)."""
    r = 2 * x.shape[1]
    x = upsample_nearest(x)
    for i in range(2):
        x = pixel_norm(lrelu(conv(module, width, f"conv{r}_{i}")(x)))
    return x


def d_level(module, h, width: int, next_width: int):
    """``[N, r, r, C] -> [N, r/2, r/2, next_width]``: D's level at resolution r (conv 3x3 to width, LReLU, conv 3x3
    to the next level's width, LReLU, 2x2 average pool)."""
    r = h.shape[1]
    h = lrelu(conv(module, width, f"conv{r}_0")(h))
    return avg_pool(lrelu(conv(module, next_width, f"conv{r}_1")(h)))


def d_output(module, h, width: int, mbstd_group: int):
    """``[N, 4, 4, C] -> scores [N]`` float32: minibatch stddev, conv 3x3, LReLU, dense to width, LReLU, dense to 1."""
    h = lrelu(conv(module, width, "conv4")(minibatch_stddev(h, mbstd_group)))
    h = lrelu(EqualizedDense(width, dtype=module.dtype, name="dense")(h.reshape(h.shape[0], -1)))
    return EqualizedDense(1, 1.0, dtype=module.dtype, name="out")(h)[:, 0].astype(jnp.float32)


class Generator(nn.Module):
    """``(z [N, z_dim], stage, alpha) -> images [N, r, r, C]`` float32, r = 4 * 2**stage (module docstring)."""

    widths: tuple[int, ...]
    channels: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, stage: int, alpha, *, train: bool):
        del train
        features = [g_input(self, z, self.widths[0])]
        top = len(self.widths) - 1 if self.is_initializing() else stage
        for level in range(1, top + 1):
            features.append(g_level(self, features[-1], self.widths[level]))
        to_rgb = [conv(self, self.channels, f"to_rgb{4 * 2**level}", 1, 1.0) for level in range(len(features))]
        return faded_rgb(to_rgb, features, stage, alpha, self.is_initializing())


def faded_rgb(to_rgb, features, stage: int, alpha, initializing: bool):
    """A growing generator's image ``[N, r, r, C]`` float32 from its levels' ``features``: the stage's toRGB, faded in
    (``alpha``) over the previous level's toRGB up-sampled; at init every level's toRGB is called, so all exist."""
    if initializing:
        for level, h in enumerate(features):
            to_rgb[level](h)
    out = to_rgb[stage](features[stage])
    if stage > 0:
        out = lerp(upsample_nearest(to_rgb[stage - 1](features[stage - 1])), out, alpha)
    return out.astype(jnp.float32)


class Discriminator(nn.Module):
    """``(images [N, r, r, C], stage, alpha) -> scores [N]`` float32, r = 4 * 2**stage (module docstring)."""

    widths: tuple[int, ...]
    mbstd_group: int = 4
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, stage: int, alpha, *, train: bool):
        del train
        from_rgb = [conv(self, self.widths[level], f"from_rgb{4 * 2**level}", 1) for level in range(len(self.widths))]
        if self.is_initializing():  # every level's fromRGB exists from init
            for level in range(len(self.widths) - 1):
                from_rgb[level](avg_pool(x, 2 ** (len(self.widths) - 1 - level)))
        h = lrelu(from_rgb[stage](x))
        for level in range(stage, 0, -1):
            h = d_level(self, h, self.widths[level], self.widths[level - 1])
            if level == stage:
                h = lerp(lrelu(from_rgb[stage - 1](avg_pool(x))), h, alpha)
        return d_output(self, h, self.widths[0], self.mbstd_group)


def generator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The Generator of ``cfg`` for images of ``image_shape`` (unconditional: ``num_classes`` is not used)."""
    del num_classes
    return Generator(widths=widths(cfg, image_shape), channels=int(image_shape[-1]), dtype=dtype)


def discriminator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The Discriminator of ``cfg`` for images of ``image_shape``."""
    del num_classes
    if int(cfg.mbstd_group) < 1:
        raise ConfigError(f"config key 'model.mbstd_group' must be >= 1, got {cfg.mbstd_group}")
    return Discriminator(widths=widths(cfg, image_shape), mbstd_group=int(cfg.mbstd_group), dtype=dtype)


def latent(rng, n: int, cfg) -> jax.Array:
    """``z ~ N(0, I)``, ``[n, z_dim]`` (G normalises it by pixel norm)."""
    return jax.random.normal(rng, (n, int(cfg.z_dim)), jnp.float32)
