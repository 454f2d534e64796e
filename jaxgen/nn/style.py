"""The style layers of StyleGAN (Karras et al. 2019, "A Style-Based Generator Architecture for GANs"): instance
norm, AdaIN's style modulation from a latent w, per-pixel noise with a learned strength per channel, and the
[1, 2, 1] blur after up-sampling (images and features are NHWC).

AdaIN (the paper's eq. 1, the official ``style_mod``): ``x [N, H, W, C]`` is instance-normalised, then
``x * (1 + s) + b`` with ``(s, b) = split(EqualizedDense(2 C, gain 1)(w))``: an affine map of w gives each example its
per-channel scale and bias; the dense's bias starts at 0, so the scale starts around 1.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.nn.progressive import EqualizedDense, unit_normal

__all__ = ["NOISE", "AdaIN", "NoiseInput", "blur", "instance_norm"]

NOISE = "noise"  # the collection (and variable name) of given noise images


def instance_norm(x, eps: float = 1e-8):
    """``x [N, H, W, C]``: each example's channel to mean 0 and unit RMS over the pixels (``eps`` in the root)."""
    x = x - jnp.mean(x, axis=(1, 2), keepdims=True)
    return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=(1, 2), keepdims=True) + eps)


class AdaIN(nn.Module):
    """``(x [N, H, W, C], w [N, D]) -> instance_norm(x) * (1 + s) + b``, ``[s, b] = EqualizedDense(2C, gain 1)(w)``."""

    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, w):
        c = x.shape[-1]
        style = EqualizedDense(2 * c, 1.0, dtype=self.dtype, name="style")(w)[:, None, None, :]
        return instance_norm(x) * (1 + style[..., :c]) + style[..., c:]


class NoiseInput(nn.Module):
    """``x [N, H, W, C] -> x + strength * noise``: one ``N(0, 1)`` image per example, ``[N, H, W, 1]``, drawn from the
    module's ``rng_name`` stream, scaled per channel by ``strength [C]`` (learned, starts at 0: the official code).

    Given noise (the projector optimises it): a variable ``"noise"`` of the collection ``"noise"`` in ``apply``'s
    variables (``[N or 1, H, W, 1]``) replaces the draw; ``apply(..., mutable=["noise"])`` without it returns the
    images the key draws in that collection. Without the collection (training, sampling) nothing changes."""

    rng_name: str = "dropout"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        strength = self.param("strength", nn.initializers.zeros, (x.shape[-1],), jnp.float32)
        draw = lambda: unit_normal(self.make_rng(self.rng_name), (*x.shape[:3], 1))  # noqa: E731
        given = not self.is_initializing() and (self.has_variable(NOISE, NOISE) or self.is_mutable_collection(NOISE))
        noise = self.variable(NOISE, NOISE, draw).value if given else draw()
        return x + (noise * strength).astype(x.dtype)


def blur(x):
    """``[N, H, W, C]``: the separable [1, 2, 1] / 4 filter on each channel (zero-padded edges), the official
    ``blur2d`` after G's up-sampling convolutions."""
    k = jnp.asarray([1.0, 2.0, 1.0], x.dtype) / 4
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    rows = k[0] * xp[:, :-2] + k[1] * xp[:, 1:-1] + k[2] * xp[:, 2:]
    return k[0] * rows[:, :, :-2] + k[1] * rows[:, :, 1:-1] + k[2] * rows[:, :, 2:]
