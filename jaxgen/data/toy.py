"""Toy distributions with known modes and densities: the mode-coverage benchmark of PacGAN.

Lin et al. 2018 (PacGAN), Table 1 (after Srivastava et al. 2017, VEEGAN):

- ``ring8``: a mixture of 8 isotropic Gaussians, means evenly spaced on a circle of radius 1, std 0.01.
- ``grid25``: a mixture of 25 isotropic Gaussians, means on the grid ``{-4, -2, 0, 2, 4}^2``, std 0.05.

Plus ``mixture1d``, a 1-D mixture for pictures and for the optimal-discriminator demonstration
(means -2 and 2, std 0.5, weights 1/2 each).

Every mixture has equal weights. A :class:`Mixture` samples with ``jax.random`` (pure, jittable,
vmappable over keys) and evaluates its exact log-density.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Mixture:
    """Equal-weight mixture of isotropic Gaussians: ``means [K, D]`` (a NumPy constant), common ``std``."""

    name: str
    means: np.ndarray
    std: float

    @property
    def num_modes(self) -> int:
        return self.means.shape[0]

    @property
    def dim(self) -> int:
        return self.means.shape[1]

    def sample(self, rng: jax.Array, n: int) -> jax.Array:
        """``n`` points ``[n, D]`` (float32)."""
        k_mode, k_noise = jax.random.split(rng)
        modes = jax.random.randint(k_mode, (n,), 0, self.num_modes)
        noise = jax.random.normal(k_noise, (n, self.dim), jnp.float32)
        return jnp.asarray(self.means, jnp.float32)[modes] + self.std * noise

    def log_prob(self, x: jax.Array) -> jax.Array:
        """Exact log-density ``[N]`` of points ``x [N, D]``."""
        sq = jnp.sum((x[:, None, :] - jnp.asarray(self.means, x.dtype)[None]) ** 2, axis=-1)  # [N, K]
        log_normal = -0.5 * sq / self.std**2 - self.dim * (math.log(self.std) + 0.5 * math.log(2 * math.pi))
        return jax.nn.logsumexp(log_normal, axis=1) - math.log(self.num_modes)


def ring8() -> Mixture:
    angles = 2 * np.pi * np.arange(8) / 8
    return Mixture("ring8", np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.01)


def grid25() -> Mixture:
    grid = np.array(list(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2)))
    return Mixture("grid25", grid, 0.05)


def mixture1d() -> Mixture:
    return Mixture("mixture1d", np.array([[-2.0], [2.0]]), 0.5)


TOY_DATASETS = {"ring8": ring8, "grid25": grid25, "mixture1d": mixture1d}


def get(name: str) -> Mixture:
    """The toy distribution called ``name`` (``jaxgen toy --dataset``)."""
    if name not in TOY_DATASETS:
        raise ConfigError(f"unknown toy dataset {name!r}; choose one of {sorted(TOY_DATASETS)}")
    return TOY_DATASETS[name]()
