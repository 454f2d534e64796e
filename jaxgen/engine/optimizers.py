"""Optimizers from config: `{name: adam|rmsprop|sgd, learning_rate, b1, b2, momentum}` -> optax transform.

`make(cfg, key, clip=0.0, lazy_interval=1)` adds the GAN-specific pieces: WGAN's weight clipping
(:func:`clip_params`, Arjovsky et al. 2017, Algorithm 1) and StyleGAN2's correction of Adam's
hyper-parameters for lazy regularisation (Karras et al. 2020, appendix B: with a penalty every N
minibatches, ``lr *= c``, ``beta1 **= c``, ``beta2 **= c`` with ``c = N / (N + 1)``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_collections
import optax

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError

NAMES = ("adam", "rmsprop", "sgd")


def adam_config(learning_rate=2e-4, b1=0.5, b2=0.999) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        dict(name="adam", learning_rate=learning_rate, b1=b1, b2=b2, momentum=0.0))


def rmsprop_config(learning_rate=5e-5, decay=0.99) -> ml_collections.ConfigDict:
    """RMSProp of WGAN's Algorithm 1; ``b1`` holds the squared-gradient decay (PyTorch's ``alpha``)."""
    return ml_collections.ConfigDict(
        dict(name="rmsprop", learning_rate=learning_rate, b1=decay, b2=0.999, momentum=0.0))


def sgd_config(learning_rate=0.1, momentum=0.5) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        dict(name="sgd", learning_rate=learning_rate, b1=0.9, b2=0.999, momentum=momentum))


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


def make(cfg, key: str, clip: float = 0.0, lazy_interval: int = 1) -> optax.GradientTransformation:
    """The optimizer described by `cfg` (found at config key `key`, for error messages).

    `clip` > 0 chains :func:`clip_params` (a traced `clip`, swept per run, always chains it, off where 0); `lazy_interval` N > 1 applies the lazy-regularisation
    correction to the learning rate and Adam's betas.
    """
    if not config_lib.is_traced(cfg.learning_rate) and cfg.learning_rate <= 0:
        raise ConfigError(f"config key '{key}.learning_rate' must be positive, got {cfg.learning_rate}")
    ratio = lazy_interval / (lazy_interval + 1) if lazy_interval > 1 else 1.0
    lr = cfg.learning_rate * ratio
    if cfg.name == "adam":
        tx = optax.adam(lr, b1=cfg.b1**ratio, b2=cfg.b2**ratio)
    elif cfg.name == "rmsprop":
        tx = optax.rmsprop(lr, decay=cfg.b1)
    elif cfg.name == "sgd":
        tx = optax.sgd(lr, momentum=cfg.momentum or None)
    else:
        raise ConfigError(f"config key '{key}.name' must be one of {NAMES}, got {cfg.name!r}")
    if config_lib.is_traced(clip):  # swept: one program for every run, the clip off (inf) where it is 0
        return optax.chain(tx, clip_params(jnp.where(clip > 0, clip, jnp.inf)))
    return optax.chain(tx, clip_params(clip)) if clip > 0 else tx
