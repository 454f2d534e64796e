"""A workdir's files and how to come back to it: run info, config checks before a resume, restore.

    workdir/config.json   the resolved config (a resumed run must match it)
    workdir/run.json      versions, devices, image shape (`run_info`)
    workdir/checkpoints/  Orbax checkpoints (`jaxgen.engine.checkpoint`)
    workdir/.lock         held by the `jaxgen train` running in it (`lock`)

JSON files are written atomically (`writers.write_atomic`): a kill mid-write leaves the old file or the new, never half
of one. `restore(workdir)` rebuilds a trained run's task from its config and reads a checkpoint, without the
dataset.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import sys

import jax

from jaxgen import cache
from jaxgen import config as config_lib
from jaxgen.engine import checkpoint, sharding, writers
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


def read_json(path: str, what: str) -> dict:
    """The JSON object in `path`; a damaged file is a one-line JaxgenError naming it and `what` it holds."""
    try:
        with open(path) as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise JaxgenError(f"{path} is damaged ({what}: {e}); restore it from a copy, or use a new --workdir") from e


@contextlib.contextmanager
def lock(workdir: str):
    """Holds `workdir/.lock` (an OS file lock, released when the process ends, even by kill -9) while a run
    trains in `workdir`; a second run there is refused with a JaxgenError naming the holder's pid."""
    if jax.process_index() != 0:  # the processes of one multi-host run share a workdir
        yield
        return
    path = os.path.join(workdir, ".lock")
    with open(path, "a+") as f:
        if not cache.try_lock(f):
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise JaxgenError(f"--workdir {workdir} is in use by another jaxgen run (pid {holder}); wait for it to "
                              f"finish or stop it, or use another --workdir") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        try:
            yield
        finally:
            f.truncate(0)
            fcntl.flock(f, fcntl.LOCK_UN)


def create(workdir: str) -> None:
    """Makes `workdir` (a directory jaxgen can write) or raises a JaxgenError saying why it cannot."""
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise JaxgenError(f"--workdir {workdir!r} is not a directory; choose a directory path")
    try:
        os.makedirs(workdir, exist_ok=True)
    except OSError as e:
        raise JaxgenError(f"cannot create --workdir {workdir!r}: {e.strerror}") from e
    if not os.access(workdir, os.W_OK | os.X_OK):
        raise JaxgenError(f"--workdir {workdir!r} is not writable; choose a directory you can write to")


def prepare(workdir: str, config, info: dict, allow_config_change: bool = False) -> None:
    """Checks that the saved config of an existing `workdir` matches `config` before resuming, then writes
    config.json and run.json. A workdir with checkpoints but no config.json is refused."""
    config_path = os.path.join(workdir, "config.json")
    if not os.path.exists(config_path) and _has_checkpoints(workdir):
        raise JaxgenError(f"{workdir} holds checkpoints but no config.json, so a resume cannot be checked against "
                          f"the run's config; restore config.json, or use a new --workdir")
    if os.path.exists(config_path):
        # An earlier jaxgen's layout of the same run is no change.
        saved = config_lib.upgrade(read_json(config_path, "the run's config"))
        changed = [d for d in config_lib.differences(saved, config.to_dict())
                   if not config_lib.is_resumable(d.split(":")[0])]
        if changed and not allow_config_change:
            raise ConfigError(
                f"workdir {workdir} holds a run with a different config ({'; '.join(changed)}); "
                f"use a new --workdir, or pass --allow-config-change to resume with the new config")
        info_path = os.path.join(workdir, "run.json")
        if os.path.exists(info_path):
            old_versions = read_json(info_path, "the run's versions and devices").get("versions", {})
            moved = {k: (v, info["versions"].get(k)) for k, v in old_versions.items() if info["versions"].get(k) != v}
            if moved:
                print(f"WARNING: resuming {workdir} under different versions {moved}; "
                      f"the run may not replay bit-for-bit", file=sys.stderr)
    if jax.process_index() == 0:
        try:
            writers.write_atomic(config_path, config_lib.to_json(config))
            writers.write_atomic(os.path.join(workdir, "run.json"), json.dumps(info, indent=2))
        except OSError as e:
            raise JaxgenError(f"cannot write to --workdir {workdir!r}: {e.strerror}") from e


def _has_checkpoints(workdir: str) -> bool:
    directory = os.path.join(workdir, "checkpoints")
    return os.path.isdir(directory) and any(name.isdigit() for name in os.listdir(directory))


def read(workdir: str):
    """(config, run info) saved in a workdir, or a JaxgenError saying what is missing."""
    config_path, info_path = os.path.join(workdir, "config.json"), os.path.join(workdir, "run.json")
    for path in (config_path, info_path):
        if not os.path.exists(path):
            raise JaxgenError(f"{path} not found: is {workdir!r} a jaxgen workdir (made by `jaxgen train`)?")
    config = config_lib.from_dict(read_json(config_path, "the run's config"))
    return config, read_json(info_path, "the run's versions and devices")



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
