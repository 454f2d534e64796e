"""A workdir's files and how to come back to it: run info, config checks before a resume, restore.

    workdir/config.json   the resolved config (a resumed run must match it)
    workdir/run.json      versions, devices, image shape (`run_info`)
    workdir/checkpoints/  Orbax checkpoints (`jaxgen.engine.checkpoint`)

`restore(workdir)` rebuilds a trained run's task from its config and reads a checkpoint, without the dataset.
"""

from __future__ import annotations

import json
import os
import platform
import sys

import jax

from jaxgen import config as config_lib
from jaxgen.engine import checkpoint, sharding
from jaxgen.errors import ConfigError, JaxgenError


def run_info(extra: dict) -> dict:
    """What a workdir records about the software and hardware that produced it."""
    import flax
    import jaxlib
    import optax

    return {
        "versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "flax": flax.__version__,
                     "optax": optax.__version__, "python": platform.python_version()},
        "devices": {"kind": jax.devices()[0].device_kind, "platform": jax.devices()[0].platform,
                    "count": jax.device_count(), "processes": jax.process_count()},
        **extra,
    }


def prepare(workdir: str, config, info: dict, allow_config_change: bool = False) -> None:
    """Creates the workdir, or checks that its saved config matches `config` before resuming."""
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise JaxgenError(f"--workdir {workdir!r} is not a directory; choose a directory path")
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as e:
        raise JaxgenError(f"cannot create --workdir {workdir!r}: {e.strerror}") from e
    config_path = os.path.join(workdir, "config.json")
    if os.path.exists(config_path):
        with open(config_path) as f:
            saved = config_lib.upgrade(json.load(f))  # an earlier jaxgen's layout of the same run is no change
        changed = [d for d in config_lib.differences(saved, config.to_dict())
                   if not config_lib.is_resumable(d.split(":")[0])]
        if changed and not allow_config_change:
            raise ConfigError(
                f"workdir {workdir} holds a run with a different config ({'; '.join(changed)}); "
                f"use a new --workdir, or pass --allow-config-change to resume with the new config")
        info_path = os.path.join(workdir, "run.json")
        if os.path.exists(info_path):
            with open(info_path) as f:
                old_versions = json.load(f).get("versions", {})
            moved = {k: (v, info["versions"].get(k)) for k, v in old_versions.items() if info["versions"].get(k) != v}
            if moved:
                print(f"WARNING: resuming {workdir} under different versions {moved}; "
                      f"the run may not replay bit-for-bit", file=sys.stderr)
    if jax.process_index() == 0:
        with open(config_path, "w") as f:
            f.write(config_lib.to_json(config))
        with open(os.path.join(workdir, "run.json"), "w") as f:
            json.dump(info, f, indent=2)


def read(workdir: str):
    """(config, run info) saved in a workdir, or a JaxgenError saying what is missing."""
    config_path, info_path = os.path.join(workdir, "config.json"), os.path.join(workdir, "run.json")
    for path in (config_path, info_path):
        if not os.path.exists(path):
            raise JaxgenError(f"{path} not found: is {workdir!r} a jaxgen workdir (made by `jaxgen train`)?")
    with open(config_path) as f:
        config = config_lib.from_json(f.read())
    with open(info_path) as f:
        info = json.load(f)
    return config, info



def restore(workdir: str, step: int | None = None, edit=None):
    """`(config, task, state, step)` of a trained workdir, for sampling and evaluation (no dataset needed).

    `step` picks a checkpoint (default: the newest); the task is rebuilt from the workdir's config, after
    `edit(config)` if given (to change keys that do not touch the state, such as `eval.*`).
    """
    from jaxgen import trainers

    config, info = read(workdir)
    if edit is not None:
        with config.unlocked():
            edit(config)
    mesh = sharding.make_mesh()
    task = trainers.get(config.trainer).create_task(config, info, mesh)
    shapes = jax.eval_shape(task.init, jax.random.key(0))
    abstract = jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sharding.replicated(mesh)), shapes)
    restored = checkpoint.Checkpointer(os.path.join(workdir, "checkpoints")).restore(abstract, step=step)
    if restored is None:
        raise JaxgenError(f"no checkpoint in {workdir}/checkpoints: train first (jaxgen train … --workdir {workdir})")
    step, state, _ = restored
    return config, task, state, step
