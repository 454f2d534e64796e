"""What the staged games' tests share: a tiny run trained in a workdir, a run stopped and resumed in one workdir, a
checkpoint restored with the run's own compiled task, and bit-for-bit equality of states."""

import copy

import jax
import numpy as np

from jaxgen.engine import keys
from jaxgen.engine import workdir as workdir_lib
from jaxgen.trainers import gan


def train(config, workdir, mesh):
    """The final state (on the host) of `config` trained in `workdir` (resumed if it holds a checkpoint)."""
    return jax.device_get(gan.train_and_evaluate(config, str(workdir), mesh=mesh))


def stop_and_resume(config, stop: int, workdir, mesh):
    """(the state after training `config` to `stop` steps, the state after resuming it to `config.num_steps`)."""
    stopped = copy.deepcopy(config)
    stopped.num_steps = stop
    return train(stopped, workdir, mesh), train(config, workdir, mesh)


def restored(workdir, step: int, mesh, monkeypatch):
    """(config, task, state at checkpoint `step`, the task's initial state), on the host; the task is the run's own
    compiled one (`mesh`: the tests' one-device mesh)."""
    monkeypatch.setattr(workdir_lib.sharding, "make_mesh", lambda: mesh)
    config, task, state, _ = workdir_lib.restore(workdir, step)
    return config, task, jax.device_get(state), jax.device_get(task.init(keys.init_key(config.seed)))


def assert_same(a, b):
    """Two pytrees equal bit for bit, structure included."""
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
