"""k-NN manifold metrics: improved precision and recall, density and coverage.

Each point's ball has radius ``r`` = distance to its k-th nearest neighbour within its own set, itself
excluded (a duplicate of it counts, at distance 0). With ``N`` real and ``M`` fake ``[., D]`` features:

- precision = fraction of fake points inside the union of real balls (k = 3),
- recall    = fraction of real points inside the union of fake balls (k = 3)
  (Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing Generative Models");
- density   = ``1 / (k M) sum_j sum_i 1[fake_j in B(real_i, r_i)]`` (can exceed 1),
- coverage  = ``1 / N sum_i 1[exists j: fake_j in B(real_i, r_i)]`` (k = 5)
  (Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative Models").

Balls are closed (``d <= r``), as NVIDIA's reference code (``kthvalue(k + 1)`` including the point itself,
then ``dist <= radii``); the authors' ``prdc`` package uses ``d < r``, which differs only on exact ties.
Distances are compared squared, in float32, radii and ball tests both from
:func:`jaxgen.metrics.distances.sq_distances` (so ties are decided on equal terms; they are exact for
small-integer coordinates, and otherwise carry ~1e-7 relative rounding, which only matters for points
duplicated within a set, whose radius is then ~0 instead of exactly 0).

Memory: the radii come from :func:`jaxgen.metrics.distances.knn` (``1024 × 4096`` distances at a time),
the ball tests from one jitted pass over blocks of ``block_size`` fake rows against all real rows,
``~3 × 4 × block_size × N`` bytes at a time (10,000 real points, block 1024: ~120 MB).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxgen.errors import MetricError
from jaxgen.metrics.checks import check_feature_pair, check_features
from jaxgen.metrics.distances import knn, row_blocks, sq_distances, unblock


def knn_radii(features, k: int, name: str = "features") -> jax.Array:
    """Squared distance ``[N]`` (float32) from each row of ``features [N, D]`` to its k-th nearest other row."""
    return _radii(check_features(name, features, min_samples=k + 1), k)[:, k - 1]


def _radii(x, k: int) -> jax.Array:
    """``[N, k]``: squared distances to the 1st ... k-th nearest other row, in the float32 arithmetic of
    the ball tests (``sq_distances``, not refined)."""
    return knn(x, x, k, exclude_self=True, refine=False)[1]


@partial(jax.jit, static_argnames=("block_size",))
def _ball_tests(real, fake, r_real_pr, r_real_dc, r_fake_pr, block_size):
    """Per fake row: inside a real k_pr-ball, number of real k_dc-balls it is in; per real row: some fake
    point inside its k_dc-ball, inside a fake k_pr-ball."""
    fake_blocks, valid = row_blocks(fake, block_size)
    r_fake_blocks, _ = row_blocks(r_fake_pr, block_size)

    def per_block(args):
        f, ok, r_f = args
        d = sq_distances(f, real)  # [B, N]
        in_real_dc = d <= r_real_dc[None, :]
        return (
            jnp.any(d <= r_real_pr[None, :], axis=1),
            jnp.sum(in_real_dc, axis=1, dtype=jnp.int32),
            jnp.any(in_real_dc & ok[:, None], axis=0),
            jnp.any((d <= r_f[:, None]) & ok[:, None], axis=0),
        )

    precision_hit, density_count, covered, recalled = jax.lax.map(per_block, (fake_blocks, valid, r_fake_blocks))
    m = fake.shape[0]
    return unblock(precision_hit, m), unblock(density_count, m), jnp.any(covered, 0), jnp.any(recalled, 0)


def prdc(real, fake, *, k_pr: int | None = 3, k_dc: int | None = 5, block_size: int = 1024) -> dict:
    """Precision and recall (k = ``k_pr``), density and coverage (k = ``k_dc``) of ``fake [M, D]``
    against ``real [N, D]`` features, as floats; a pair whose k is ``None`` is skipped (with its cost)."""
    if k_pr is None and k_dc is None:
        raise MetricError("prdc with k_pr = k_dc = None computes nothing: give at least one k (3 and 5 are usual)")
    k_real = max(k for k in (k_pr, k_dc) if k is not None)
    real, fake = check_feature_pair(real, fake, min_samples=(k_real + 1, 1 if k_pr is None else k_pr + 1))
    real, fake = jnp.asarray(real, jnp.float32), jnp.asarray(fake, jnp.float32)
    r_real = _radii(real, k_real)
    r_real_pr, r_real_dc = (r_real[:, (k_real if k is None else k) - 1] for k in (k_pr, k_dc))  # None: unused
    # without k_pr no fake balls are needed: radius -1 contains nothing
    r_fake = jnp.full((fake.shape[0],), -1.0) if k_pr is None else _radii(fake, k_pr)[:, k_pr - 1]
    hit, count, covered, recalled = _ball_tests(real, fake, r_real_pr, r_real_dc, r_fake, block_size=block_size)
    n, m = real.shape[0], fake.shape[0]
    total = lambda x: int(jnp.sum(x, dtype=jnp.int32))  # noqa: E731 (exact counts, divided on the host)
    scores = {}
    if k_pr is not None:
        scores.update(precision=total(hit) / m, recall=total(recalled) / n)
    if k_dc is not None:
        scores.update(density=total(count) / (k_dc * m), coverage=total(covered) / n)
    return scores


def precision_recall(real, fake, *, k: int = 3, block_size: int = 1024) -> dict:
    """``{"precision", "recall"}`` of Kynkäänniemi et al. 2019 (see :func:`prdc`)."""
    return prdc(real, fake, k_pr=k, k_dc=None, block_size=block_size)


def density_coverage(real, fake, *, k: int = 5, block_size: int = 1024) -> dict:
    """``{"density", "coverage"}`` of Naeem et al. 2020 (see :func:`prdc`)."""
    return prdc(real, fake, k_pr=None, k_dc=k, block_size=block_size)
