"""Comparing pytrees of arrays in tests."""

import jax
import numpy as np


def max_diff(a, b) -> float:
    """The largest absolute difference between matching leaves of `a` and `b` (computed in float64)."""
    assert jax.tree.structure(a) == jax.tree.structure(b)
    return max(float(np.max(np.abs(np.asarray(x, np.float64) - np.asarray(y, np.float64))))
               for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))
