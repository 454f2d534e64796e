"""Model variables for tests without running `init` (jax.eval_shape: nothing compiles), filled with noise."""

import jax
import jax.numpy as jnp
import numpy as np


def key(seed=0):
    """An rbg key: flax init with threefry keys takes seconds to compile on XLA:CPU."""
    return jax.random.key(seed, impl="rbg")


def noise_variables(module, *inputs, seed=0, std=0.05, scales_around_one=True):
    """The module's variable tree filled with numpy noise: weights N(0, std) (BatchNorm scales N(1, std) when
    `scales_around_one`), spectral-norm vectors u ~ N(0, 1) and sigma 1, BatchNorm mean 0 / variance 1."""
    shapes = jax.eval_shape(lambda: module.init(key(), *inputs, train=False))
    rng = np.random.default_rng(seed)

    def fill(path, s):
        name = jax.tree_util.keystr(path)
        if name.endswith("/u']"):
            return jnp.asarray(rng.standard_normal(s.shape), jnp.float32)
        if "batch_stats" in name:
            return jnp.ones(s.shape) if ("var" in name or "sigma" in name) else jnp.zeros(s.shape)
        base = 1.0 if scales_around_one and "scale" in name else 0.0
        return jnp.asarray(base + std * rng.standard_normal(s.shape), jnp.float32)

    return jax.tree_util.tree_map_with_path(fill, shapes)
