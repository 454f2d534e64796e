"""Optimizers from config: `{name: adam|sgd, learning_rate, b1, b2, momentum}` -> optax transform."""

from __future__ import annotations

import ml_collections
import optax

from jaxgen.errors import ConfigError


def adam_config(learning_rate=2e-4, b1=0.5, b2=0.999) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        dict(name="adam", learning_rate=learning_rate, b1=b1, b2=b2, momentum=0.0))


def sgd_config(learning_rate=0.1, momentum=0.5) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        dict(name="sgd", learning_rate=learning_rate, b1=0.9, b2=0.999, momentum=momentum))


def make(cfg, key: str) -> optax.GradientTransformation:
    """The optimizer described by `cfg` (found at config key `key`, for error messages)."""
    if cfg.learning_rate <= 0:
        raise ConfigError(f"config key '{key}.learning_rate' must be positive, got {cfg.learning_rate}")
    if cfg.name == "adam":
        return optax.adam(cfg.learning_rate, b1=cfg.b1, b2=cfg.b2)
    if cfg.name == "sgd":
        return optax.sgd(cfg.learning_rate, momentum=cfg.momentum or None)
    raise ConfigError(f"config key '{key}.name' must be 'adam' or 'sgd', got {cfg.name!r}")
