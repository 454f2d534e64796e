"""`loop.sample_grid`: what the periodic sample grids and `jaxgen sample` draw, for (un)conditional tasks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.engine import loop

K = 4


def _task(num_classes):
    """A task whose images carry their noise in channel 0 and their label (or -1) in channel 1."""
    calls = []

    def generate(state, rng, n, labels=None):
        calls.append(None if labels is None else np.asarray(labels))
        noise = jax.random.uniform(rng, (n,))
        label = jnp.full((n,), -1.0) if labels is None else jnp.asarray(labels, jnp.float32)
        return jnp.stack([noise, label], axis=-1)[:, None, None, :] * state

    return loop.Task(init=None, step=None, generate=generate, num_classes=num_classes), calls


def test_unconditional():
    task, calls = _task(None)
    images, ncol = loop.sample_grid(task, 1.0, jax.random.key(0), 10)
    assert images.shape == (10, 1, 1, 2) and ncol is None
    assert calls == [None] and np.all(images[..., 1] == -1)


def test_one_row_per_class_with_shared_noise():
    task, _ = _task(K)
    images, ncol = loop.sample_grid(task, 1.0, jax.random.key(0), 10)
    assert ncol == 3 and images.shape == (K * 3, 1, 1, 2)  # ceil(10 / 4) columns
    grid = images[:, 0, 0].reshape(K, 3, 2)  # [row, column, channel], as writers.image_grid lays it out
    np.testing.assert_array_equal(grid[..., 1], np.repeat(np.arange(K)[:, None], 3, axis=1))  # row = class
    np.testing.assert_array_equal(grid[..., 0], np.broadcast_to(grid[0, :, 0], (K, 3)))  # column = noise
    assert len(np.unique(grid[0, :, 0])) == 3
    again, _ = loop.sample_grid(task, 1.0, jax.random.key(0), 10)
    np.testing.assert_array_equal(images, again)


@pytest.mark.parametrize("label", [0, K - 1])
def test_one_label(label):
    task, calls = _task(K)
    images, ncol = loop.sample_grid(task, 1.0, jax.random.key(0), 5, label=label)
    assert images.shape == (5, 1, 1, 2) and ncol is None
    assert np.all(images[..., 1] == label) and calls[0].dtype == np.int32
