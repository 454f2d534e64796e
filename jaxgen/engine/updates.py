"""Parameter updates every trainer makes: an optimizer step, and an exponential moving average (its decay checked).

Both are pure functions of pytrees, for use inside a jitted step; they are the exact arithmetic the trainers
spelled out before (same ops, same order), so swapping them in moves no bits.
"""

from __future__ import annotations

import optax

from jaxgen.errors import ConfigError

__all__ = ["apply_optimizer", "ema_decay", "ema_update"]


def apply_optimizer(tx: optax.GradientTransformation, grads, opt_state, params, step=None):
    """One step of `tx`: ``(new params, new optimizer state)`` from the gradients at `params`.

    ``updates, opt_state = tx.update(grads, opt_state, params, step=step)``, then ``optax.apply_updates(params,
    updates)`` (the parameters are passed to ``tx.update`` for transforms that need them: weight decay, WGAN
    clipping; `step`, the training steps done before this one, to a learning-rate schedule's, which needs it).
    """
    extra = {} if step is None else {"step": step}
    updates, opt_state = optax.with_extra_args_support(tx).update(grads, opt_state, params, **extra)
    return optax.apply_updates(params, updates), opt_state


def ema_update(ema, params, decay):
    """The moving average after one step: ``decay * ema + (1 - decay) * params`` per leaf.

    Computed as ``optax.incremental_update(params, ema, 1 - decay)`` (``step_size * new + (1 - step_size) * old``);
    `decay` may be a Python float or a traced scalar (a sweep over it)."""
    return optax.incremental_update(params, ema, 1.0 - decay)


def ema_decay(config) -> float:
    """`config.ema_decay` (0 when absent: no average), or a ConfigError naming the key when it is outside [0, 1)."""
    decay = float(config.get("ema_decay", 0.0))
    if not 0.0 <= decay < 1.0:
        raise ConfigError(f"config key 'ema_decay' must be in [0, 1) (0 = off), got {decay}")
    return decay
