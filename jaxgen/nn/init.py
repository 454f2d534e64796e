"""Parameter initialisers shared by the model families."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["dcgan_bn_scale", "dcgan_normal", "normal_around", "uniform_range"]


def normal_around(mean: float, stddev: float):
    """``N(mean, stddev**2)`` initialiser (Flax signature ``init(key, shape, dtype)``)."""

    def init(key, shape, dtype=jnp.float32):
        return mean + stddev * jax.random.normal(key, shape, dtype)

    return init


def uniform_range(irange: float):
    """``U(-irange, irange)``: pylearn2's ``irange`` initialiser (Goodfellow et al. 2014)."""

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, -irange, irange)

    return init


# Radford et al. 2015: "All weights were initialized from a zero-centered Normal distribution with
# standard deviation 0.02"; the PyTorch DCGAN example also draws BatchNorm scales from N(1, 0.02).
dcgan_normal = normal_around(0.0, 0.02)
dcgan_bn_scale = normal_around(1.0, 0.02)
