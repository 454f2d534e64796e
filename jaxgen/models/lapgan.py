"""LapGAN's networks (Denton et al. 2015, "Deep Generative Image Models using a Laplacian Pyramid of Adversarial
Networks", section 4: the CIFAR-10 / STL models), one generator and one discriminator per pyramid level.

Levels coarsest first (:mod:`jaxgen.nn.laplacian`): level 0 at ``model.base_size`` (the paper's 8 x 8), level l at
``base_size * 2**l``, the last at the image size (8 -> 16 -> 32 on 32 px emoji, 7 -> 14 -> 28 on digits).

* Level 0, an ordinary GAN on the low-pass image: G ``z [N, z_dim] -> I_0 [N, b, b, C]``: two ReLU dense layers of
  ``model.mlp_width`` units (the paper's 1200), a dense output, tanh. D ``I_0 -> logits [N]``: two ReLU dense layers
  of ``mlp_width / 2`` units (the paper's 600), each followed by dropout ``model.d_dropout``, a dense logit.
* Level l >= 1, conditional on the up-sampled coarser image ``low = u(I_{l-1}) [N, r, r, C]``: G
  ``(noise [N, r, r, 1], low) -> h [N, r, r, C]``, the noise a 4th "colour plane" concatenated to ``low`` (the
  paper), then 3 x 3 convolutions of ``model.width`` channels with BatchNorm and ReLU, twice, and a 3 x 3
  convolution to C channels, linear (a residual, not an image: no tanh); the paper's 3-layer convnet. D
  ``(h, low) -> logits [N]``: ``h + low`` (the paper adds the low-pass to the residual before the first
  convolution; with nearest up-sampling the sum loses nothing, :mod:`jaxgen.nn.laplacian`), two 3 x 3 ReLU
  convolutions of ``width`` channels, dropout ``d_dropout``, a dense logit; the paper's 2-layer convnet.

Noise: z and the noise planes uniform in [-1, 1]. The kernel size (3 x 3), ``width`` (128) and initialisation
(Flax's defaults: LeCun normal weights, zero biases) are choices made here. D has no BatchNorm (penalties need D
per example). ``dtype``: the layers' computation dtype; every network returns float32.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.nn.upsample import StridedConv

__all__ = ["CoarseDiscriminator", "CoarseGenerator", "ResidualDiscriminator", "ResidualGenerator", "discriminators",
           "generators", "latent", "levels", "noise_plane"]


class CoarseGenerator(nn.Module):
    """``z [N, z_dim] -> I_0 [N, b, b, C]`` in [-1, 1] (module docstring)."""

    shape: tuple[int, int, int]
    hidden: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, *, train: bool):
        del train
        x = z
        for i in range(2):
            x = nn.relu(nn.Dense(self.hidden, dtype=self.dtype, name=f"h{i}")(x))
        x = nn.Dense(math.prod(self.shape), dtype=self.dtype, name="out")(x)
        return jnp.tanh(x).astype(jnp.float32).reshape((z.shape[0], *self.shape))


class CoarseDiscriminator(nn.Module):
    """``I_0 [N, b, b, C] -> logits [N]`` (module docstring)."""

    hidden: int
    dropout: float
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool):
        x = x.reshape(x.shape[0], -1)
        for i in range(2):
            x = nn.relu(nn.Dense(self.hidden, dtype=self.dtype, name=f"h{i}")(x))
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return nn.Dense(1, dtype=self.dtype, name="logit")(x)[:, 0].astype(jnp.float32)


class ResidualGenerator(nn.Module):
    """``(noise [N, r, r, 1], low [N, r, r, C]) -> h [N, r, r, C]`` float32 (module docstring)."""

    width: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, noise, low, *, train: bool):
        x = jnp.concatenate([low, noise], axis=-1)
        for i in range(2):
            x = nn.Conv(self.width, (3, 3), use_bias=False, dtype=self.dtype, name=f"conv{i}")(x)
            x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, dtype=self.dtype, name=f"bn{i}")(x))
        return StridedConv(low.shape[-1], (3, 3), dtype=self.dtype, name="out")(x).astype(jnp.float32)


class ResidualDiscriminator(nn.Module):
    """``(h [N, r, r, C], low [N, r, r, C]) -> logits [N]`` (module docstring)."""

    width: int
    dropout: float
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, h, low, *, train: bool):
        x = h + low
        for i in range(2):
            x = nn.relu(nn.Conv(self.width, (3, 3), dtype=self.dtype, name=f"conv{i}")(x))
        x = nn.Dropout(self.dropout, deterministic=not train)(x.reshape(x.shape[0], -1))
        return nn.Dense(1, dtype=self.dtype, name="logit")(x)[:, 0].astype(jnp.float32)


def levels(image_shape, cfg) -> list[int]:
    """The resolutions ``[b, 2 b, ..., H]`` of the pyramid's levels, coarsest first (``b = model.base_size``)."""
    base = int(cfg.base_size)
    h, w = int(image_shape[0]), int(image_shape[1])
    n = round(math.log2(h / base)) if base >= 1 and h >= base else -1
    if len(image_shape) != 3 or h != w or n < 1 or base * 2**n != h:
        raise ConfigError(f"config key 'model.base_size' ({cfg.base_size}) must give square images of base_size x "
                          f"2**n pixels, n >= 1 (data.image_size); got image shape {tuple(image_shape)}")
    return [base * 2**level for level in range(n + 1)]


def _check(cfg) -> None:
    for key in ("z_dim", "width"):
        if int(cfg[key]) < 1:
            raise ConfigError(f"config key 'model.{key}' must be >= 1, got {cfg[key]}")
    if int(cfg.mlp_width) < 2:
        raise ConfigError(f"config key 'model.mlp_width' must be >= 2 (D's layers have half), got {cfg.mlp_width}")
    if not 0.0 <= float(cfg.d_dropout) < 1.0:
        raise ConfigError(f"config key 'model.d_dropout' must be in [0, 1), got {cfg.d_dropout}")


def generators(cfg, image_shape, *, dtype=jnp.float32) -> list[nn.Module]:
    """G of every level, coarsest first: :class:`CoarseGenerator`, then a :class:`ResidualGenerator` per level."""
    _check(cfg)
    sizes, channels = levels(image_shape, cfg), int(image_shape[-1])
    return [CoarseGenerator((sizes[0], sizes[0], channels), int(cfg.mlp_width), dtype)] + [
        ResidualGenerator(int(cfg.width), dtype) for _ in sizes[1:]]


def discriminators(cfg, image_shape, *, dtype=jnp.float32) -> list[nn.Module]:
    """D of every level, coarsest first: :class:`CoarseDiscriminator`, then a :class:`ResidualDiscriminator`."""
    _check(cfg)
    sizes, dropout = levels(image_shape, cfg), float(cfg.d_dropout)
    return [CoarseDiscriminator(int(cfg.mlp_width) // 2, dropout, dtype)] + [
        ResidualDiscriminator(int(cfg.width), dropout, dtype) for _ in sizes[1:]]


def latent(rng, n: int, cfg) -> jax.Array:
    """Level 0's noise ``z [n, z_dim]``, uniform in [-1, 1]."""
    return jax.random.uniform(rng, (n, int(cfg.z_dim)), jnp.float32, -1.0, 1.0)


def noise_plane(rng, n: int, size: int) -> jax.Array:
    """A conditional level's noise ``[n, size, size, 1]``, uniform in [-1, 1] (drawn flat: XLA:CPU compiles a 4-D
    draw slowly)."""
    return jax.random.uniform(rng, (n * size * size,), jnp.float32, -1.0, 1.0).reshape(n, size, size, 1)
