"""Optimizer configs (`config.optimizer` or its groups `optimizer.g`, `optimizer.d`), read by
`jaxgen.engine.optimizers.make`: `{name, learning_rate, b1, b2, momentum, clip_norm, schedule}`."""

from __future__ import annotations

import copy

import ml_collections

from jaxgen import config as config_lib


def _config(**keys) -> ml_collections.ConfigDict:
    """An optimizer's `keys` and `config.OPTIMIZER_DEFAULTS`: `clip_norm` 0 (off) and a constant `schedule`.

    `schedule`: `warmup_steps` W > 0 ramps the rate linearly from 0 (``lr * t / W`` for steps t < W); `decay`
    "linear" keeps it until step `decay_start`, then takes it linearly to 0 over `decay_steps` steps; "step"
    multiplies it by `gamma` from each step of `boundaries` on.
    """
    return ml_collections.ConfigDict({**keys, **copy.deepcopy(config_lib.OPTIMIZER_DEFAULTS)})


def adam(learning_rate=2e-4, b1=0.5, b2=0.999) -> ml_collections.ConfigDict:
    return _config(name="adam", learning_rate=learning_rate, b1=b1, b2=b2, momentum=0.0)


def rmsprop(learning_rate=5e-5, decay=0.99) -> ml_collections.ConfigDict:
    """RMSProp of WGAN's Algorithm 1; ``b1`` holds the squared-gradient decay (PyTorch's ``alpha``)."""
    return _config(name="rmsprop", learning_rate=learning_rate, b1=decay, b2=0.999, momentum=0.0)


def sgd(learning_rate=0.1, momentum=0.5) -> ml_collections.ConfigDict:
    return _config(name="sgd", learning_rate=learning_rate, b1=0.9, b2=0.999, momentum=momentum)
