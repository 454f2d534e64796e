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


def restore(workdir: str, step: int | None = None, edit=None):
    """`(config, task, state, step)` of a trained workdir, for sampling and evaluation (no dataset needed).

    `step` picks a checkpoint (default: the newest); the task is rebuilt from the workdir's config, after
    `edit(config)` if given (to change keys that do not touch the state, such as `eval.*`).
    """
    import os

    import jax

    from jaxgen.engine import checkpoint, loop, sharding
    from jaxgen.errors import JaxgenError

    config, info = loop.read_workdir(workdir)
    if edit is not None:
        with config.unlocked():
            edit(config)
    mesh = sharding.make_mesh()
    task = get(config.trainer).create_task(config, info, mesh)
    shapes = jax.eval_shape(task.init, jax.random.key(0))
    abstract = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding.replicated(mesh)), shapes)
    restored = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints")).restore(abstract, step=step)
    if restored is None:
        raise JaxgenError(f"no checkpoint in {workdir}/checkpoints: train first (jaxgen train … --workdir {workdir})")
    step, state, _ = restored
    return config, task, state, step
