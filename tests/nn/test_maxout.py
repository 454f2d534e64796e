"""Maxout against NumPy, and against the pylearn2/Blocks (interleaved) layout up to a column permutation."""

import jax.numpy as jnp
import numpy as np

from jaxgen.nn.maxout import Maxout


def test_maxout_is_the_interleaved_maxout_with_permuted_columns():
    units, pieces = 7, 3
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4)).astype(np.float32)
    kernel = rng.normal(size=(4, units * pieces)).astype(np.float32)
    bias = rng.normal(size=(units * pieces,)).astype(np.float32)
    got = np.asarray(Maxout(units, pieces).apply({"params": {"linear": {"kernel": kernel, "bias": bias}}},
                                                 jnp.asarray(x)))
    z = x.astype(np.float64) @ kernel + bias
    np.testing.assert_allclose(got, z.reshape(5, pieces, units).max(1), rtol=1e-5, atol=1e-6)
    # pylearn2: unit u is the max of the consecutive columns u*pieces .. u*pieces + pieces - 1
    perm = np.arange(units * pieces).reshape(pieces, units).T.reshape(-1)
    z_interleaved = z[:, perm]
    want = np.stack([z_interleaved[:, u * pieces:(u + 1) * pieces].max(1) for u in range(units)], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got.shape == (5, units)
