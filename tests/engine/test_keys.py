"""jaxgen.engine.keys: the run's keys are exactly fold_in(key(seed), stream) and, for step s,
fold_in(fold_in(key(seed), TRAIN_STREAM), s), from a seed, a root key, or a traced seed."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.engine import keys


def _bits(key):
    return np.asarray(jax.random.key_data(key))


def test_stream_tags_are_distinct():
    tags = (keys.INIT_STREAM, keys.TRAIN_STREAM, keys.SAMPLE_STREAM, keys.EVAL_STREAM)
    assert tags == (0, 1, 2, 3)


def test_keys_equal_the_formula_from_a_seed_or_a_root():
    for seed in (0, 7, 2**31 - 1):
        root = jax.random.key(seed)
        np.testing.assert_array_equal(_bits(keys.root_key(seed)), _bits(root))
        assert keys.root_key(root) is root
        for helper, tag in ((keys.init_key, 0), (keys.train_key, 1), (keys.sample_key, 2), (keys.eval_key, 3)):
            want = _bits(jax.random.fold_in(root, tag))
            np.testing.assert_array_equal(_bits(helper(seed)), want)
            np.testing.assert_array_equal(_bits(helper(root)), want)
        for step in (0, 1, 5, 123_456):
            want = _bits(jax.random.fold_in(jax.random.fold_in(root, 1), step))
            np.testing.assert_array_equal(_bits(keys.step_key(seed, step)), want)
            np.testing.assert_array_equal(_bits(keys.step_key(root, step)), want)
            np.testing.assert_array_equal(_bits(keys.step_key(root, np.int32(step))), want)


def test_step_keys_inside_a_vmapped_program_equal_them_alone():
    """What `jaxgen sweep` does: each run's key from its own (traced) seed, inside the compiled step."""
    seeds, step = jnp.arange(4), jnp.int32(9)
    batched = jax.jit(jax.vmap(lambda s, t: jax.random.key_data(keys.step_key(s, t)), in_axes=(0, None)))(seeds, step)
    init = jax.jit(jax.vmap(lambda s: jax.random.key_data(keys.init_key(s))))(seeds)
    for i in range(4):
        np.testing.assert_array_equal(batched[i], _bits(keys.step_key(i, 9)))
        np.testing.assert_array_equal(init[i], _bits(keys.init_key(i)))


def test_streams_and_steps_do_not_collide():
    seen = {tuple(_bits(f(3)).ravel()) for f in (keys.init_key, keys.train_key, keys.sample_key, keys.eval_key)}
    seen |= {tuple(_bits(keys.step_key(3, s)).ravel()) for s in range(50)}
    assert len(seen) == 54
