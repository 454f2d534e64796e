"""Trainers, one per training regime; `config.trainer` names the module."""

from __future__ import annotations

import importlib
import pkgutil

from jaxgen.errors import ConfigError


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__))


def get(name: str):
    """The trainer module `jaxgen.trainers.<name>` (exposes `create_task` and `train_and_evaluate`)."""
    if name not in available():
        raise ConfigError(f"config key 'trainer' must be one of {available()}, got {name!r}")
    return importlib.import_module(f"jaxgen.trainers.{name}")
