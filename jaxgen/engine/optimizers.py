"""Optimizers from config: `{name: adam|rmsprop|sgd, learning_rate, b1, b2, momentum, clip_norm, schedule}` -> optax
(the configs with their defaults: :mod:`jaxgen.defaults.optimizers`).

`clip_norm` > 0 clips the gradients by their global norm first (`optax.clip_by_global_norm`, over the group's
parameters); `schedule` multiplies the learning rate by a function of the training step (:func:`schedule_fn`: a
linear warm-up, then constant, a linear decay to zero as pix2pix / CycleGAN, or a step decay as SinGAN). The step
is the number of training steps done before this update, passed by the trainer (`updates.apply_optimizer(...,
step=)`), so every update of a step (n_critic D updates, lazy regularisation) uses the same rate.

`make(cfg, key, clip=0.0, lazy_interval=1)` adds the GAN-specific pieces: WGAN's weight clipping
(:func:`clip_params`, Arjovsky et al. 2017, Algorithm 1) and StyleGAN2's correction of Adam's
hyper-parameters for lazy regularisation (Karras et al. 2020, appendix B: with a penalty every N
minibatches, ``lr *= c``, ``beta1 **= c``, ``beta2 **= c`` with ``c = N / (N + 1)``).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError

NAMES = ("adam", "rmsprop", "sgd")
DECAYS = ("none", "linear", "step")


def schedule_fn(cfg, key: str):
    """The learning-rate multiplier of schedule config `cfg` (at config key `key`) as a function of the step t
    (int32, steps done before the update), or None for a constant rate; see :func:`jaxgen.defaults.optimizers._config`."""
    if cfg.decay not in DECAYS:
        raise ConfigError(f"config key '{key}.decay' must be one of {DECAYS}, got {cfg.decay!r}")
    if cfg.warmup_steps < 0:
        raise ConfigError(f"config key '{key}.warmup_steps' must be >= 0 (0 = no warm-up), got {cfg.warmup_steps}")
    parts = [optax.linear_schedule(0.0, 1.0, cfg.warmup_steps)] if cfg.warmup_steps > 0 else []
    if cfg.decay == "linear":
        if cfg.decay_steps < 1 or cfg.decay_start < 0:
            raise ConfigError(f"config keys '{key}.decay_start' (>= 0) and '{key}.decay_steps' (>= 1) give the "
                              f"linear decay to 0; got {cfg.decay_start} and {cfg.decay_steps}")
        parts.append(optax.linear_schedule(1.0, 0.0, cfg.decay_steps, transition_begin=cfg.decay_start))
    elif cfg.decay == "step":
        boundaries = tuple(cfg.boundaries)
        if not boundaries or list(boundaries) != sorted(set(boundaries)) or boundaries[0] < 0 or (
                not config_lib.is_traced(cfg.gamma) and cfg.gamma <= 0):
            raise ConfigError(f"config keys '{key}.boundaries' (increasing steps >= 0) and '{key}.gamma' (> 0) give "
                              f"the step decay; got {boundaries} and {cfg.gamma}")
        parts.append(lambda t: cfg.gamma ** jnp.sum(jnp.asarray(t) >= jnp.asarray(boundaries)))
    if not parts:
        return None
    return lambda t: math.prod(part(t) for part in parts)


def scale_by_step_schedule(fn) -> optax.GradientTransformationExtraArgs:
    """Multiplies the updates by ``fn(step)``, `step` the training step given to ``update(..., step=)``."""

    def update_fn(updates, state, params=None, *, step=None, **extra):
        del params, extra
        if step is None:
            raise ValueError("a learning-rate schedule needs the training step: updates.apply_optimizer(..., step=)")
        factor = fn(step)
        return jax.tree.map(lambda u: u * factor.astype(u.dtype), updates), state

    return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update_fn)


def clip_params(limit: float) -> optax.GradientTransformation:
    """Makes the *parameters after the update* lie in ``[-limit, limit]`` (chain it last).

    ``updates' = clip(params + updates) - params``, so ``optax.apply_updates`` yields clipped weights.
    """

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("clip_params needs the parameters: call tx.update(grads, state, params)")
        updates = jax.tree.map(lambda u, p: jnp.clip(p + u, -limit, limit) - p, updates, params)
        return updates, state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def _off_at_zero(value):
    """A swept (traced) limit: one program for every run, the limit off (inf) where the run's value is 0."""
    return jnp.where(value > 0, value, jnp.inf)


def lazy_ratio(interval: int) -> float:
    """StyleGAN2's ``c = N / (N + 1)`` for a regulariser every N > 1 steps (1 for none): ``lr *= c``, ``betas **= c``."""
    return interval / (interval + 1) if interval > 1 else 1.0


def make(cfg, key: str, clip: float = 0.0, lazy_interval: int = 1) -> optax.GradientTransformation:
    """The optimizer described by `cfg` (found at config key `key`, for error messages): global-norm clipping
    (`clip_norm` > 0), the optimizer, its schedule, WGAN's weight clipping; plain optax when only the optimizer.

    `clip` > 0 chains :func:`clip_params` (a traced `clip` or `clip_norm`, swept per run, always chains it, off
    where 0); `lazy_interval` N > 1 applies the lazy-regularisation correction to the learning rate and Adam's
    betas.
    """
    if not config_lib.is_traced(cfg.learning_rate) and cfg.learning_rate <= 0:
        raise ConfigError(f"config key '{key}.learning_rate' must be positive, got {cfg.learning_rate}")
    ratio = lazy_ratio(lazy_interval)
    lr = cfg.learning_rate * ratio
    if cfg.name == "adam":
        tx = optax.adam(lr, b1=cfg.b1**ratio, b2=cfg.b2**ratio)
    elif cfg.name == "rmsprop":
        tx = optax.rmsprop(lr, decay=cfg.b1)
    elif cfg.name == "sgd":
        tx = optax.sgd(lr, momentum=cfg.momentum or None)
    else:
        raise ConfigError(f"config key '{key}.name' must be one of {NAMES}, got {cfg.name!r}")
    parts = [tx]
    clip_norm = cfg.get("clip_norm", 0.0)
    if config_lib.is_traced(clip_norm) or clip_norm > 0:
        parts.insert(0, optax.clip_by_global_norm(_off_at_zero(clip_norm) if config_lib.is_traced(clip_norm)
                                                  else clip_norm))
    elif clip_norm < 0:
        raise ConfigError(f"config key '{key}.clip_norm' must be >= 0 (0 = no clipping), got {clip_norm}")
    if cfg.get("schedule") is not None and (fn := schedule_fn(cfg.schedule, f"{key}.schedule")) is not None:
        parts.append(scale_by_step_schedule(fn))
    if config_lib.is_traced(clip) or clip > 0:
        parts.append(clip_params(_off_at_zero(clip) if config_lib.is_traced(clip) else clip))
    return optax.chain(*parts) if len(parts) > 1 else tx
