"""Normalisation layers with flax's parameters, collections and numbers, shaped for XLA:CPU: `GroupNorm`,
`InstanceNorm`, `BatchNorm`.

Each computes its statistics in float32 as per-channel sums (the variance ``E[x^2] - E[x]^2`` clipped at 0, flax's
``use_fast_variance``), keeps them ``[N, C]`` (group, instance) or ``[C]`` (batch), and normalises with one
multiply-add per element. Same function as flax's to float32 rounding, same parameters (``scale``, ``bias``, ``[C]``)
and BatchNorm collections (``batch_stats``: ``mean``, ``var``), so checkpoints and the PyTorch references carry over.
What that buys over flax's layers:

- **GroupNorm**: ``flax.linen.GroupNorm`` reshapes ``[N, H, W, C]`` to ``[N, H, W, G, C/G]`` and reduces over axes
  (1, 2, 4), a strided reduction that XLA:CPU (jax 0.10, its YNNPACK reduce fusions) runs at ~2 GB/s; summing per
  channel first, then over each group's channels on the tiny ``[N, C]`` array, is ~1.6x faster forward + backward.
- **Merged passes** (InstanceNorm, BatchNorm): a fused train step that runs a generator twice on the same input with
  the same parameters (the D phase's ``G(a)`` for the fakes, the G phase's ``G(a)`` under ``jax.grad``: CycleGAN,
  SRGAN) computes it once only if XLA's CSE finds the two passes equal, which it does only when both simplify to the
  same program. flax keeps the statistics ``[N, 1, 1, C]`` / ``[1, 1, 1, C]``, which XLA reshapes differently in the
  plain and the differentiated pass, so CSE stopped at the first norm and the generator ran twice.
- **Stored input gradient** (all three, on the CPU): the input's cotangent goes through
  :func:`jaxgen.nn.cotangent.stored_cotangent`, so XLA:CPU computes it once instead of re-evaluating it inside the
  kernel gradient's layout transpose.

Measured whole steps (docs/benchmarks.md, "Norm layers"): CycleGAN -5.5 % (merged) and -2.4 % (stored), SRGAN -8 %
and -2 %, DDPM -8 % (stored). DCGAN and pix2pix keep flax's BatchNorm: with this one DCGAN's NS step at batch 256 was
6 % slower, and neither has a pass to merge (fresh noise, fresh dropout in each phase).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.nn.cotangent import stored_cotangent

__all__ = ["BatchNorm", "GroupNorm", "InstanceNorm", "group_stats"]


def _stored_on_cpu(x: jax.Array) -> jax.Array:
    """`stored_cotangent(x)` where it was measured to pay, XLA:CPU; `x` elsewhere (GPU/TPU fusions not measured)."""
    return stored_cotangent(x) if jax.default_backend() == "cpu" else x


def _float32(x: jax.Array) -> jax.Array:
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def _mean_var(s1: jax.Array, s2: jax.Array, count: int) -> tuple[jax.Array, jax.Array]:
    """Mean and biased variance from the sums of x and x^2 over `count` entries: ``E[x^2] - E[x]^2`` clipped at 0."""
    mean = s1 / count
    return mean, jnp.maximum(0.0, s2 / count - mean * mean)


def group_stats(x: jax.Array, groups: int) -> tuple[jax.Array, jax.Array]:
    """Mean and (biased) variance of each image's channel groups in float32: ``[N, ..., C] -> ([N, G], [N, G])``."""
    n, c = x.shape[0], x.shape[-1]
    xf = _float32(x)
    axes = tuple(range(1, x.ndim - 1))
    s1 = jnp.sum(xf, axes).reshape(n, groups, c // groups).sum(-1)
    s2 = jnp.sum(xf * xf, axes).reshape(n, groups, c // groups).sum(-1)
    return _mean_var(s1, s2, math.prod(x.shape[1:-1]) * (c // groups))


class _Affine(nn.Module):
    """The attributes every layer here shares with flax's, and the normalisation ``x * mul + add``."""

    epsilon: float = 1e-6
    dtype: Any = None
    param_dtype: Any = jnp.float32
    use_bias: bool = True
    use_scale: bool = True
    scale_init: Any = nn.initializers.ones
    bias_init: Any = nn.initializers.zeros

    def normalise(self, x: jax.Array, mean: jax.Array, var: jax.Array) -> jax.Array:
        """``(x - mean) / sqrt(var + epsilon) * scale + bias`` for statistics ``[C]`` or ``[N, C]`` (per image)."""
        c = x.shape[-1]
        mul = jax.lax.rsqrt(var + self.epsilon)
        if self.use_scale:
            mul = mul * self.param("scale", self.scale_init, (c,), self.param_dtype)
        add = -mean * mul
        if self.use_bias:
            add = add + self.param("bias", self.bias_init, (c,), self.param_dtype)
        if mul.ndim == 2:  # per image: [N, C] -> [N, 1, ..., 1, C]
            shape = (x.shape[0],) + (1,) * (x.ndim - 2) + (c,)
            mul, add = mul.reshape(shape), add.reshape(shape)
        dtype = self.dtype or jnp.result_type(x, self.param_dtype)
        return (x.astype(mul.dtype) * mul + add).astype(dtype)


class GroupNorm(_Affine):
    """``x [N, ..., C] -> [N, ..., C]``: each image's channel groups normalised to zero mean and unit variance, then
    ``* scale + bias`` per channel. Attributes as ``flax.linen.GroupNorm`` (``num_groups`` must divide C); the
    output in ``dtype`` (default: the input's and parameters' result type)."""

    num_groups: int = 32

    def groups(self, channels: int) -> int:
        """The number of channel groups for `channels` channels."""
        return self.num_groups

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = _stored_on_cpu(x)
        c = x.shape[-1]
        groups = self.groups(c)
        if x.ndim < 2 or c % groups:
            raise ValueError(f"GroupNorm: num_groups={groups} must divide the channel count {c} "
                             f"(input shape {x.shape})")
        mean, var = group_stats(x, groups)
        per = c // groups
        return self.normalise(x, jnp.repeat(mean, per, axis=1), jnp.repeat(var, per, axis=1))


class InstanceNorm(GroupNorm):
    """``x [N, ..., C] -> [N, ..., C]``: each image's channels normalised over its spatial axes, then ``* scale +
    bias`` (``flax.linen.InstanceNorm``'s parameters and numbers). `num_groups` is ignored: one group per channel."""

    def groups(self, channels: int) -> int:
        return channels


class BatchNorm(_Affine):
    """``x [N, ..., C] -> [N, ..., C]`` normalised per channel over every other axis (``use_running_average``
    False: the batch's statistics, which update the running averages ``momentum * old + (1 - momentum) * batch``,
    not during ``init``; True: the running averages), then ``* scale + bias``. Attributes as
    ``flax.linen.BatchNorm``."""

    use_running_average: bool = False
    momentum: float = 0.99
    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = _stored_on_cpu(x)
        c = x.shape[-1]
        ra_mean = self.variable("batch_stats", "mean", lambda: jnp.zeros((c,), jnp.float32))
        ra_var = self.variable("batch_stats", "var", lambda: jnp.ones((c,), jnp.float32))
        if self.use_running_average:
            return self.normalise(x, ra_mean.value, ra_var.value)
        xf = _float32(x)
        axes = tuple(range(x.ndim - 1))
        mean, var = _mean_var(jnp.sum(xf, axes), jnp.sum(xf * xf, axes), math.prod(x.shape[:-1]))
        if not self.is_initializing():
            ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean
            ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var
        return self.normalise(x, mean, var)
