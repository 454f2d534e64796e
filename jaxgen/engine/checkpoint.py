"""Orbax checkpoints of a run: the state pytree plus the data iterator's state (JSON).

This is the only module that imports Orbax. Layout: `workdir/checkpoints/<step>/{state,data}`.
Saves are asynchronous: `save` returns once the arrays are copied off the devices and Orbax writes them in the
background; `wait()` (and `close()`) block until the write is complete. Orbax writes each checkpoint into a
temporary directory and renames it when complete, so a save cut short never looks like a checkpoint.

Restoring the newest checkpoint tells two failures apart. A checkpoint whose arrays do not fit the state the
config builds (another `model.width`, another architecture) is a `CheckpointMismatch` naming the keys: nothing is
touched. A checkpoint that cannot be read (truncated or deleted files) is moved aside to
`checkpoints/corrupt-<step>-<time>` once an older one has been read instead, with a loud warning; when no
checkpoint can be read, nothing is moved and the restore fails (a run never silently starts again from step 0).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import time

import jax
import numpy as np
import orbax.checkpoint as ocp

from jaxgen.errors import ConfigError, JaxgenError


class CheckpointError(JaxgenError):
    """No usable checkpoint where one was needed."""


class CheckpointWriteError(JaxgenError):
    """A checkpoint could not be written (a full disk, a quota, permissions); the older ones are intact."""


class CheckpointMismatch(ConfigError):
    """A readable checkpoint whose arrays do not fit the state the config builds."""


def abstract(tree):
    """Shapes, dtypes and shardings of `tree`: what `restore` needs to rebuild it."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), tree)


def _layout(tree) -> dict[str, tuple]:
    """{"params/g/Dense_0/kernel": shape} of a pytree of arrays, ShapeDtypeStructs or Orbax array metadata."""
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {"/".join(str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k)))) for k in path): tuple(leaf.shape)
            for path, leaf in flat if hasattr(leaf, "shape")}


def mismatch(saved: dict[str, tuple], wanted: dict[str, tuple], limit: int = 3) -> list[str]:
    """What differs between a checkpoint's layout and the state's (`_layout`s): missing, extra, reshaped keys."""
    out = [f"{k}: checkpoint {saved[k]}, config {wanted[k]}" for k in sorted(saved.keys() & wanted.keys())
           if saved[k] != wanted[k]]
    out += [f"{k}: only in the checkpoint" for k in sorted(saved.keys() - wanted.keys())]
    out += [f"{k}: only in the config's state" for k in sorted(wanted.keys() - saved.keys())]
    return out[:limit] + ([f"… {len(out) - limit} more"] if len(out) > limit else [])


class _DropOrbaxRecords(logging.Filter):
    """Drops the records Orbax logs (through absl): the errors of a failed background save come with tracebacks,
    and jaxgen reports every checkpoint failure itself, in one line."""

    def filter(self, record):
        return "orbax" not in record.pathname.replace(os.sep, "/").split("/")


def _drop_orbax_records() -> None:
    absl_logger = logging.getLogger("absl")
    if not any(isinstance(f, _DropOrbaxRecords) for f in absl_logger.filters):
        absl_logger.addFilter(_DropOrbaxRecords())


class Checkpointer:
    """Saves every `save()` it is asked to, keeps the last `keep`, restores the newest good one."""

    def __init__(self, directory: str, keep: int = 3, asynchronous: bool = True):
        _drop_orbax_records()
        if keep < 1:
            raise ConfigError(f"config key 'keep_checkpoints' must be at least 1, got {keep}")
        self.directory = os.path.abspath(directory)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True, enable_async_checkpointing=asynchronous, cleanup_tmp_directories=True)
        self._manager = ocp.CheckpointManager(
            self.directory, options=options,
            item_handlers={"state": ocp.StandardCheckpointHandler(), "data": ocp.JsonCheckpointHandler()})

    def steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self, step: int, state, data_state: dict | None = None) -> None:
        """Starts writing checkpoint `step` (no-op if it exists); it is on disk after `wait()`. The state's
        arrays are copied before this returns, so the caller may donate them to its next step."""
        if step in self._manager.all_steps():
            return
        try:  # a save waits for the one before it, so a failed background write surfaces here or in `wait`
            self._manager.save(step, force=True, args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state or {})))
        except Exception as e:  # Orbax and TensorStore raise ValueError, OSError, … for a failed write
            raise self._write_error(e) from e

    def wait(self) -> None:
        """Blocks until the last save is complete on disk; a failed write is a CheckpointWriteError."""
        try:
            self._manager.wait_until_finished()
        except Exception as e:  # as in `save`
            raise self._write_error(e) from e

    def _write_error(self, error: Exception) -> CheckpointWriteError:
        with contextlib.suppress(Exception):  # an earlier save still in flight counts once it is complete
            self._manager.wait_until_finished()
        self._manager.reload()
        last = self.latest_step()
        code = re.search(r"os_error_code='?(\d+)", str(error))  # TensorStore's form of an OS error
        reason = (os.strerror(int(code.group(1))) if code else getattr(error, "strerror", None)) or _brief(error)
        where = f"the last good checkpoint is step {last}" if last is not None else "no checkpoint was saved yet"
        return CheckpointWriteError(
            f"could not write a checkpoint in {self.directory}: {reason}; {where}; free the space (or fix the "
            f"permissions) and run the same command again to resume")

    def restore(self, abstract_state, step: int | None = None):
        """Returns (step, state, data_state) of checkpoint `step`, or of the newest readable one if None.

        Returns None when there is no checkpoint at all. A checkpoint that does not fit `abstract_state` is a
        `CheckpointMismatch`. With `step` given, a missing or unreadable checkpoint is a CheckpointError;
        without it, unreadable ones newer than the one restored are set aside, and none readable is an error.
        """
        self.wait()  # a save in flight is not a damaged checkpoint
        if step is not None:
            if step not in self._manager.all_steps():
                raise CheckpointError(
                    f"no checkpoint for step {step} in {self.directory}; available steps: {self.steps()}")
            self._check_layout(step, abstract_state)
            try:
                return self._restore(step, abstract_state)
            except Exception as e:  # Orbax raises many types for unreadable files
                raise CheckpointError(f"checkpoint {step} in {self.directory} is unreadable: {_brief(e)}") from e
        failed = []
        for candidate in reversed(self.steps()):
            try:
                self._check_layout(candidate, abstract_state)
                restored = self._restore(candidate, abstract_state)
            except CheckpointMismatch:
                raise
            except Exception as e:  # Orbax raises many types for unreadable files
                failed.append((candidate, e))
                continue
            for bad, error in failed:
                self._set_aside(bad, error, restored[0])
            return restored
        if failed:
            newest, error = failed[0]
            raise CheckpointError(
                f"none of the checkpoints {self.steps()} in {self.directory} can be read (checkpoint {newest}: "
                f"{_brief(error)}); nothing was moved or deleted. Restore the files, or use a new --workdir")
        return None

    def _check_layout(self, step: int, abstract_state) -> None:
        """Raises CheckpointMismatch when checkpoint `step`'s arrays (from its metadata) do not fit the state."""
        with _quiet_orbax():
            saved = _layout(self._manager.item_metadata(step)["state"])
        problems = mismatch(saved, _layout(abstract_state))
        if problems:
            raise CheckpointMismatch(
                f"checkpoint {step} in {self.directory} was saved from another model or optimizer than the config "
                f"builds ({'; '.join(problems)}); resume with the run's own config, or use a new --workdir")

    def _restore(self, step, abstract_state):
        with _quiet_orbax():
            restored = self._manager.restore(step, args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_state), data=ocp.args.JsonRestore()))
        return step, restored["state"], dict(restored["data"] or {})

    def _set_aside(self, step: int, error: Exception, restored: int) -> None:
        source = os.path.join(self.directory, str(step))
        target = os.path.join(self.directory, f"corrupt-{step}-{int(time.time())}")
        if jax.process_index() == 0 and os.path.exists(source):
            os.rename(source, target)
        print(f"WARNING: checkpoint {step} in {self.directory} is unreadable ({_brief(error)}); moved it to "
              f"{target} and fell back to checkpoint {restored}", file=sys.stderr, flush=True)
        self._manager.reload()

    def close(self) -> None:
        """Waits for a save in flight (a CheckpointWriteError if it failed), then releases Orbax's threads."""
        try:
            self.wait()
        finally:
            self._manager.close()


def all_finite(tree) -> bool:
    """Whether every floating-point leaf of `tree` is finite (what a checkpoint must hold to be saved)."""
    leaves = [x for x in jax.tree.leaves(tree) if jax.dtypes.issubdtype(x.dtype, np.inexact)]
    return bool(_all_finite(leaves)) if leaves else True


@jax.jit
def _all_finite(leaves):
    return jax.numpy.all(jax.numpy.stack([jax.numpy.isfinite(x).all() for x in leaves]))


def _brief(error: Exception) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:200]}{'…' if len(text) > 200 else ''}"


@contextlib.contextmanager
def _quiet_orbax():
    """Drops what Orbax (and asyncio under it) logs while reading a checkpoint: for a damaged one, tracebacks and
    "Event loop is closed"; `Checkpointer.restore` reports the failure itself, in one line."""
    loggers = [logging.getLogger(name) for name in ("absl", "asyncio")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
