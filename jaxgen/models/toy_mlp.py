"""MLPs for low-dimensional toy data: the networks of PacGAN's synthetic experiments (Lin et al. 2018).

From the authors' code (``fjxmlzn/PacGAN``, ``synthetic_data_experiments/2DGrid_GAN&PacGAN``, built on
ALI's Blocks code):

* G: 2-D noise ``N(0, I)`` -> 4 x [Linear(400, no bias) -> BatchNorm -> ReLU] -> Linear(2) (with bias).
* D: ``m`` samples concatenated (packing, :func:`pack`; ``m = 1`` is the plain GAN) -> 3 x
  LinearMaxout(200 units, 5 pieces) -> Linear(1), no BatchNorm.
* Weights ``N(0, 0.02^2)``, biases 0; BatchNorm population statistics as ``0.95 p + 0.05 batch``
  (Flax ``momentum=0.95``), used when sampling for evaluation; BatchNorm epsilon 1e-4 (Blocks'
  default as far as we know: not confirmed).

``model_defaults.toy_mlp()["arch"]`` picks a preset of :data:`ARCHS`: ``"pacgan"`` (the sizes above), ``"small"``
(G 3 x 128, D 3 x 128 maxout units x 2 pieces; about 10x cheaper per step, the CPU benchmark's
default) or ``"tiny"`` (tests).

BEGAN needs an autoencoder discriminator: :class:`Autoencoder` (ELU MLP encoder to a ``code_dim``
code and back, BEGAN's activation) returns the per-example L1 reconstruction energy ``[N]``.

The contract of :mod:`jaxgen.models` holds with ``data_shape = (dim,)`` in place of an image shape.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.nn.init import normal_around
from jaxgen.nn.maxout import Maxout

__all__ = ["ARCHS", "Autoencoder", "Discriminator", "Generator", "discriminator",
           "generator", "latent", "pack"]

# name -> (G hidden widths, D maxout units, D maxout pieces)
ARCHS = {
    "pacgan": ((400, 400, 400, 400), (200, 200, 200), 5),
    "small": ((128, 128, 128), (128, 128, 128), 2),
    "tiny": ((16, 16), (16, 16), 2),  # smoke tests
}
D_KINDS = ("maxout", "autoencoder")


class Generator(nn.Module):
    """``z [N, z_dim] -> x [N, out_dim]``; ``train=True`` uses and updates the BatchNorm batch statistics."""

    out_dim: int
    hidden: tuple[int, ...] = ARCHS["pacgan"][0]
    init_std: float = 0.02

    @nn.compact
    def __call__(self, z, *, train: bool):
        init = normal_around(0.0, self.init_std)
        x = z
        for i, width in enumerate(self.hidden):
            x = nn.Dense(width, use_bias=False, kernel_init=init, name=f"h{i}")(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.95, epsilon=1e-4, name=f"bn{i}")(x)
            x = nn.relu(x)
        return nn.Dense(self.out_dim, kernel_init=init, name="out")(x)


def pack(x: jax.Array, m: int) -> jax.Array:
    """``[N * m, D] -> [N, m * D]``: PacGAN's packing, ``m`` consecutive samples become one D input."""
    if x.shape[0] % m:
        raise ValueError(f"{x.shape[0]} samples do not split into packs of {m}")
    return x.reshape(x.shape[0] // m, m * x.shape[1])


class Discriminator(nn.Module):
    """``x [N, F] -> [N]`` logits (or critic values): maxout MLP; ``F = m * D`` for packed inputs."""

    units: tuple[int, ...] = ARCHS["pacgan"][1]
    pieces: int = ARCHS["pacgan"][2]
    init_std: float = 0.02

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        del train  # accepted so that every player is called alike; nothing here depends on it
        init = normal_around(0.0, self.init_std)
        h = x
        for i, width in enumerate(self.units):
            h = Maxout(width, self.pieces, kernel_init=init, name=f"h{i}")(h)
        return nn.Dense(1, kernel_init=init, name="out")(h)[:, 0]


class Autoencoder(nn.Module):
    """BEGAN's discriminator: ``x [N, F] -> [N]``, the mean absolute reconstruction error of each row."""

    units: tuple[int, ...] = ARCHS["pacgan"][1]
    code_dim: int = 8
    init_std: float = 0.02

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        del train  # as Discriminator
        init = normal_around(0.0, self.init_std)
        h = x
        for i, width in enumerate(self.units):
            h = nn.elu(nn.Dense(width, kernel_init=init, name=f"enc{i}")(h))
        h = nn.Dense(self.code_dim, kernel_init=init, name="code")(h)
        for i, width in enumerate(reversed(self.units)):
            h = nn.elu(nn.Dense(width, kernel_init=init, name=f"dec{i}")(h))
        recon = nn.Dense(x.shape[-1], kernel_init=init, name="out")(h)
        return jnp.mean(jnp.abs(x - recon), axis=-1)


def _arch(cfg):
    if cfg.arch not in ARCHS:
        raise ConfigError(f"model.arch={cfg.arch!r} is not a toy architecture; choose one of {sorted(ARCHS)}")
    return ARCHS[cfg.arch]


def generator(cfg, data_shape, num_classes=None) -> nn.Module:
    del num_classes
    return Generator(out_dim=math.prod(data_shape), hidden=_arch(cfg)[0], init_std=float(cfg.init_std))


def discriminator(cfg, data_shape=None, num_classes=None) -> nn.Module:
    del data_shape, num_classes
    _, units, pieces = _arch(cfg)
    if cfg.d_kind == "maxout":
        return Discriminator(units=units, pieces=pieces, init_std=float(cfg.init_std))
    if cfg.d_kind == "autoencoder":
        return Autoencoder(units=units, code_dim=int(cfg.code_dim), init_std=float(cfg.init_std))
    raise ConfigError(f"model.d_kind={cfg.d_kind!r}; choose one of {D_KINDS}")


def latent(rng, n: int, cfg) -> jax.Array:
    """``N(0, I)`` noise ``[n, z_dim]``."""
    return jax.random.normal(rng, (n, int(cfg.z_dim)), jnp.float32)
