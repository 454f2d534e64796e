"""Mode coverage of samples from a mixture of isotropic Gaussians (VEEGAN / PacGAN protocol).

Srivastava et al. 2017 (VEEGAN), section 5.1, and Lin et al. 2018 (PacGAN), Table 1: each generated
point is assigned to its nearest mode, distances measured in units of the mode's std; a point is
*high quality* if that distance is below 3; a mode is *captured* if at least one high-quality point
is assigned to it. PacGAN adds the reverse KL divergence ``KL(p || u) = sum_k p_k log(K p_k)`` between
``p``, the histogram of high-quality points over the ``K`` modes, and the uniform distribution ``u``
(the authors' code counts only high-quality points in that histogram; so do we). It is NaN when no
point is high quality (``p`` undefined). The papers use 2,500 points.

Pure ``jnp``: every function jits and vmaps over a leading axis of ``x``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

THRESHOLD = 3.0  # high quality: within 3 standard deviations of the nearest mode


def nearest_modes(x: jax.Array, means: jax.Array, std: float) -> tuple[jax.Array, jax.Array]:
    """Index ``[N]`` of each point's nearest mode and its std-normalised distance ``[N]``.

    ``x [N, D]``, ``means [K, D]``; distance ``||x - mu_k||_2 / std``.
    """
    sq = jnp.sum((x[:, None, :] - jnp.asarray(means, x.dtype)[None]) ** 2, axis=-1)  # [N, K]
    nearest = jnp.argmin(sq, axis=1)
    return nearest, jnp.sqrt(jnp.take_along_axis(sq, nearest[:, None], axis=1)[:, 0]) / std


def high_quality_counts(x: jax.Array, means: jax.Array, std: float, threshold: float = THRESHOLD) -> jax.Array:
    """Number of high-quality points assigned to each mode, ``[K]`` (int32)."""
    nearest, dist = nearest_modes(x, means, std)
    good = (dist < threshold).astype(jnp.int32)
    return jnp.zeros((means.shape[0],), jnp.int32).at[nearest].add(good)


def reverse_kl_to_uniform(counts: jax.Array) -> jax.Array:
    """``KL(p || uniform)`` of the histogram ``p = counts / sum(counts)`` (0 log 0 = 0); NaN if the sum is 0."""
    counts = jnp.asarray(counts, jnp.float32)
    total = jnp.sum(counts)
    p = counts / jnp.where(total > 0, total, 1.0)
    terms = jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0) * counts.shape[0]), 0.0)
    return jnp.where(total > 0, jnp.sum(terms), jnp.nan)


def mode_coverage(x: jax.Array, means: jax.Array, std: float, threshold: float = THRESHOLD) -> dict:
    """The three numbers of PacGAN's Table 1 for points ``x [N, D]``.

    ``modes_captured`` (int32, of K), ``high_quality`` (fraction of the N points, in [0, 1]) and
    ``reverse_kl`` (nats; NaN without any high-quality point).
    """
    counts = high_quality_counts(x, means, std, threshold)
    return {
        "modes_captured": jnp.sum(counts > 0).astype(jnp.int32),
        "high_quality": jnp.sum(counts) / x.shape[0],
        "reverse_kl": reverse_kl_to_uniform(counts),
    }
