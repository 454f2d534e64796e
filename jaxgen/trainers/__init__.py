"""Trainers, one per training regime; `config.trainer` names the module."""

from __future__ import annotations

import importlib
import pkgutil

from jaxgen.errors import ConfigError


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def _is_trainer(module) -> bool:
    return hasattr(module, "create_task") and hasattr(module, "train_and_evaluate")


def available() -> list[str]:
    """Trainers a config can name: modules with `create_task` and `train_and_evaluate` (`toy` is CLI-only)."""
    return [n for n in _modules() if _is_trainer(importlib.import_module(f"jaxgen.trainers.{n}"))]


def get(name: str):
    """The trainer module `jaxgen.trainers.<name>` (exposes `create_task` and `train_and_evaluate`); imports
    only that module (the others are imported only to list them in the error)."""
    if name not in _modules() or not _is_trainer(importlib.import_module(f"jaxgen.trainers.{name}")):
        raise ConfigError(f"config key 'trainer' must be one of {available()}, got {name!r}")
    return importlib.import_module(f"jaxgen.trainers.{name}")
