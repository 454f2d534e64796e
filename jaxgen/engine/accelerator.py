"""The accelerator options of the network trainers (adversarial, likelihood): `dtype`, `remat`, `accumulate`.

- ``config.dtype`` ("float32" | "bfloat16"): the networks compute in this dtype (Flax ``dtype=`` of their layers);
  parameters and optimizer state stay float32 (``param_dtype``), networks return float32, so losses, penalties
  and their reductions are float32.
- ``config.remat`` (bool): the networks' repeated blocks are rematerialised in the backward pass
  (``flax.linen.remat``: ``jax.checkpoint``), trading compute for activation memory; same parameters, the same
  gradients to float rounding.
- ``config.accumulate`` (k >= 1): each update averages the gradients of k micro-batches of ``batch_size``,
  computed one after the other (the effective batch is k x batch_size); the trainer's step reads k batches per
  update (``Task.batches_per_step``).

A model family takes the first two as keyword arguments of its constructor (``generator``, ``discriminator``,
``density``: ``dtype=``, ``remat=``); :func:`network` passes them, and refuses a family that has no such
argument with the key to change.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError

__all__ = ["DTYPES", "NETWORK_OPTIONS", "accumulate", "batches", "check", "dtype_of", "network",
           "stacking"]

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
DEFAULTS = config_lib.NETWORK_DEFAULTS
NETWORK_OPTIONS = ("dtype", "remat")  # the keys a network constructor takes (:func:`network`)


def dtype_of(config):
    """The jnp dtype named by `config.dtype`."""
    if config.dtype not in DTYPES:
        raise ConfigError(f"config key 'dtype' must be one of {tuple(DTYPES)}, got {config.dtype!r}")
    return DTYPES[config.dtype]


def check(config, honoured=NETWORK_OPTIONS, who: str = "") -> int:
    """Validates the three keys; returns k, the micro-batches per update. `who` (e.g. "game 'x'") builds its
    networks with the `honoured` options only: another option set is a ConfigError."""
    for key in NETWORK_OPTIONS:
        if key not in honoured and config[key] != DEFAULTS[key]:
            raise ConfigError(f"config key '{key}': {who} builds its networks without it; set {key}={DEFAULTS[key]}")
    dtype_of(config)
    k = config.accumulate
    if not config_lib.is_traced(k) and (not isinstance(k, int) or k < 1):
        raise ConfigError(f"config key 'accumulate' (micro-batches per update) must be an int >= 1, got {k!r}")
    return k


def network(fn: Callable, config, *args):
    """``fn(*args, dtype=, remat=)``: a family's network constructor with `config`'s options. A constructor
    without a ``dtype`` (or ``remat``) argument builds float32 networks without remat: asking it for more is a
    ConfigError naming the key."""
    known = inspect.signature(fn).parameters
    options = {"dtype": dtype_of(config), "remat": config.remat}
    for key in NETWORK_OPTIONS:
        if key not in known and config[key] != DEFAULTS[key]:
            raise ConfigError(f"config key '{key}': model {config.model.name!r} ({fn.__module__}.{fn.__name__}) "
                              f"has no {key} option; set {key}={DEFAULTS[key]}")
    return fn(*args, **{key: value for key, value in options.items() if key in known})


def batches(next_batch: Callable[[], dict], k: int):
    """What one update reads: the next batch (k = 1), or a list of the next k (stacked by :func:`stacking`)."""
    return next_batch() if k == 1 else [next_batch() for _ in range(k)]


def stacking(fn: Callable, k: int) -> Callable:
    """``fn(state, batch, rng)`` taking a list of k micro-batches, stacked on a leading axis inside (k > 1)."""
    if k == 1:
        return fn
    return lambda state, micro, rng: fn(state, jax.tree.map(lambda *x: jnp.stack(x), *micro), rng)


def accumulate(fn: Callable, carry, batch, rng, k: int):
    """Gradients averaged over k micro-batches: ``fn(carry, batch, rng) -> (grads, carry, aux)`` for one batch.

    k = 1: `fn` on `batch` with `rng`, as is. k > 1: `batch` holds k micro-batches stacked on a leading axis;
    micro-batch j runs with ``fold_in(rng, j)`` and the carry micro-batch j - 1 left (BatchNorm statistics), in a
    ``lax.scan``; returns the mean gradients, the last carry, and `aux` with each scalar averaged over the
    micro-batches and each per-example leaf ``[k, B, ...]`` joined to ``[k * B, ...]``.
    """
    if k == 1:
        return fn(carry, batch, rng)
    first = jax.tree.map(lambda x: x[0], batch)
    zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(fn, carry, first, rng)[0])

    def body(acc, xs):
        total, carry = acc
        j, micro = xs
        grads, carry, aux = fn(carry, micro, jax.random.fold_in(rng, j))
        return (jax.tree.map(jnp.add, total, grads), carry), aux

    (total, carry), aux = jax.lax.scan(body, (zeros, carry), (jnp.arange(k), batch))
    aux = jax.tree.map(lambda x: jnp.mean(x, 0) if x.ndim == 1 else x.reshape(-1, *x.shape[2:]), aux)
    return jax.tree.map(lambda g: g / k, total), carry, aux
