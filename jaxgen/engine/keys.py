"""The random keys of a run: one root key per seed, one stream per use, one key per training step.

    root      = key(seed)
    init      = fold_in(root, INIT_STREAM)          the initial state
    step s    = fold_in(fold_in(root, TRAIN_STREAM), s)   training step s (0-based: steps done before it)
    samples   = fold_in(root, SAMPLE_STREAM)        the fixed noise of every sample grid
    eval      = fold_in(root, EVAL_STREAM)          every evaluation

The streams never collide, and the key of a step depends only on (seed, step), so a resumed run replays the
uninterrupted one. Every helper takes a seed (an int, or an integer array, traced or not: `jaxgen sweep`
derives each run's keys from its seed inside the compiled program) or the root key itself.
"""

from __future__ import annotations

import jax

__all__ = ["EVAL_STREAM", "INIT_STREAM", "SAMPLE_STREAM", "TRAIN_STREAM", "eval_key", "init_key", "root_key",
           "sample_key", "step_key", "train_key"]

# Stream tags folded into the run's root key, one per use.
INIT_STREAM, TRAIN_STREAM, SAMPLE_STREAM, EVAL_STREAM = 0, 1, 2, 3


def root_key(seed_or_root) -> jax.Array:
    """``key(seed)``; a typed key is returned as it is."""
    if isinstance(seed_or_root, jax.Array) and jax.dtypes.issubdtype(seed_or_root.dtype, jax.dtypes.prng_key):
        return seed_or_root
    return jax.random.key(seed_or_root)


def init_key(seed_or_root) -> jax.Array:
    """The key of the initial state."""
    return jax.random.fold_in(root_key(seed_or_root), INIT_STREAM)


def train_key(seed_or_root) -> jax.Array:
    """The training stream, ``fold_in(root, TRAIN_STREAM)``: the key of step s is ``fold_in(train_key, s)``."""
    return jax.random.fold_in(root_key(seed_or_root), TRAIN_STREAM)


@jax.jit
def _step_key(root: jax.Array, step) -> jax.Array:
    return jax.random.fold_in(jax.random.fold_in(root, TRAIN_STREAM), step)


def step_key(seed_or_root, step) -> jax.Array:
    """The key of training step `step` (the number of steps done before it): ``fold_in(train_key, step)``.

    One compiled program (integer arithmetic, so the same bits as the two eager ``fold_in``s; ~10x faster
    on the host, which the training loop calls every step)."""
    return _step_key(root_key(seed_or_root), step)


def sample_key(seed_or_root) -> jax.Array:
    """The key of the sample grids' fixed noise."""
    return jax.random.fold_in(root_key(seed_or_root), SAMPLE_STREAM)


def eval_key(seed_or_root) -> jax.Array:
    """The key of every evaluation."""
    return jax.random.fold_in(root_key(seed_or_root), EVAL_STREAM)
