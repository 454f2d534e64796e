"""Orbax checkpoints of a run: the state pytree plus the data iterator's state (JSON).

This is the only module that imports Orbax. Layout: `workdir/checkpoints/<step>/{state,data}`.
Orbax writes each checkpoint into a temporary directory and renames it when complete, so a save cut
short never looks like a checkpoint. A finished checkpoint that fails to restore (truncated or deleted
files) is moved aside to `checkpoints/corrupt-<step>` and the previous one is restored instead, with a
loud warning.
"""

from __future__ import annotations

import os
import sys
import time

import jax
import orbax.checkpoint as ocp

from jaxgen.errors import JaxgenError


class CheckpointError(JaxgenError):
    """No usable checkpoint where one was needed."""


def abstract(tree):
    """Shapes, dtypes and shardings of `tree`: what `restore` needs to rebuild it."""
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), tree)


class Checkpointer:
    """Saves every `save()` it is asked to, keeps the last `keep`, restores the newest good one."""

    def __init__(self, directory: str, keep: int = 3):
        self.directory = os.path.abspath(directory)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=keep, create=True, enable_async_checkpointing=False, cleanup_tmp_directories=True)
        self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=("state", "data"))

    def steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def save(self, step: int, state, data_state: dict | None = None) -> None:
        """Writes checkpoint `step` (no-op if it exists); returns when it is complete on disk."""
        if step in self._manager.all_steps():
            return
        self._manager.save(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), data=ocp.args.JsonSave(data_state or {})),
            force=True)
        self._manager.wait_until_finished()

    def restore(self, abstract_state, step: int | None = None):
        """Returns (step, state, data_state) of checkpoint `step`, or of the newest good one if None.

        Returns None when there is no checkpoint at all. With `step` given, a missing or unreadable
        checkpoint is a CheckpointError; without it, unreadable ones are set aside and skipped.
        """
        if step is not None:
            if step not in self._manager.all_steps():
                raise CheckpointError(
                    f"no checkpoint for step {step} in {self.directory}; available steps: {self.steps()}")
            try:
                return self._restore(step, abstract_state)
            except Exception as e:  # Orbax raises many types for unreadable files
                raise CheckpointError(f"checkpoint {step} in {self.directory} is unreadable: {e}") from e
        for candidate in reversed(self.steps()):
            try:
                return self._restore(candidate, abstract_state)
            except Exception as e:  # Orbax raises many types for unreadable files
                self._set_aside(candidate, e)
        return None

    def _restore(self, step, abstract_state):
        restored = self._manager.restore(
            step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state), data=ocp.args.JsonRestore()))
        return step, restored["state"], dict(restored["data"] or {})

    def _set_aside(self, step: int, error: Exception) -> None:
        source = os.path.join(self.directory, str(step))
        target = os.path.join(self.directory, f"corrupt-{step}-{int(time.time())}")
        if jax.process_index() == 0 and os.path.exists(source):
            os.rename(source, target)
        print(
            f"WARNING: checkpoint {step} in {self.directory} is unreadable "
            f"({type(error).__name__}: {str(error)[:200]}); moved it to {target} and falling back to the "
            f"previous checkpoint", file=sys.stderr, flush=True)
        self._manager.reload()

    def close(self) -> None:
        self._manager.wait_until_finished()
        self._manager.close()
