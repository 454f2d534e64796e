"""Blockwise pairwise squared Euclidean distances and k nearest neighbours, shared by the metrics.

``sq_distances(x [M, D], y [N, D]) -> [M, N]`` uses ``||x||² + ||y||² - 2 x·y`` in float32 (one matmul at
``Precision.HIGHEST``, so no TF32 on GPUs), clipped at 0; its absolute error is about 1e-7 times the
squared norms, and it is exact for small-integer coordinates (the tie tests rely on that).
:func:`row_blocks` pads a set to whole blocks so that ``lax.map``/``lax.scan`` visit it block by block;
:func:`knn` keeps a running top-k over blocks of the pool, so it never holds more than
``row_block × col_block`` distances, and recomputes the winners' distances as sums of squared
differences (exact, 0 for copies: what a memorisation check needs).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxgen.errors import MetricError


def sq_distances(x: jax.Array, y: jax.Array) -> jax.Array:
    """Squared Euclidean distances ``[M, N]`` (float32, >= 0) between the rows of ``x [M, D]`` and ``y [N, D]``."""
    x = jnp.asarray(x, jnp.float32)
    y = jnp.asarray(y, jnp.float32)
    xy = jnp.matmul(x, y.T, precision=jax.lax.Precision.HIGHEST)
    d = jnp.sum(x * x, axis=1)[:, None] + jnp.sum(y * y, axis=1)[None, :] - 2.0 * xy
    return jnp.maximum(d, 0.0)


def block_layout(n: int, block_size: int) -> tuple[int, int]:
    """``(num_blocks, size)`` of the fewest blocks of at most ``block_size`` rows covering ``n`` rows,
    evened out so that padding is under one row per block (10,000 rows, 1024: 10 blocks of 1000)."""
    if block_size < 1:
        raise MetricError(f"block size must be >= 1, got {block_size}")
    num = -(-n // block_size)
    return num, -(-n // num)


def row_blocks(x: jax.Array, block_size: int) -> tuple[jax.Array, jax.Array]:
    """``x [N, ...]`` zero-padded and reshaped to ``[num_blocks, size, ...]`` (see :func:`block_layout`),
    and the mask ``[num_blocks, size]`` of real (not padding) rows."""
    n = x.shape[0]
    num, size = block_layout(n, block_size)
    padded = jnp.pad(x, [(0, num * size - n)] + [(0, 0)] * (x.ndim - 1))
    valid = jnp.arange(num * size) < n
    return padded.reshape(num, size, *x.shape[1:]), valid.reshape(num, size)


def unblock(y: jax.Array, n: int) -> jax.Array:
    """Inverse of :func:`row_blocks` for per-row outputs: ``[num_blocks, size, ...] -> [n, ...]``."""
    return y.reshape(-1, *y.shape[2:])[:n]


@partial(jax.jit, static_argnames=("k", "exclude_self", "refine", "row_block", "col_block"))
def _knn(queries, pool, k, exclude_self, refine, row_block, col_block):
    q_blocks, _ = row_blocks(queries, row_block)
    p_blocks, p_valid = row_blocks(pool, col_block)
    rows_per_block, cols_per_block = q_blocks.shape[1], p_blocks.shape[1]
    kk = min(k, cols_per_block)

    def per_row_block(args):
        qi, q = args
        rows = qi * rows_per_block + jnp.arange(rows_per_block)

        def step(best, inp):
            best_d, best_i = best
            pj, p, valid = inp
            cols = pj * cols_per_block + jnp.arange(cols_per_block)
            bad = ~valid[None, :]
            if exclude_self:
                bad = bad | (rows[:, None] == cols[None, :])
            d = jnp.where(bad, jnp.inf, sq_distances(q, p))
            neg, j = jax.lax.top_k(-d, kk)
            # earlier blocks first: top_k is stable, so ties go to the lower pool index
            cand_d = jnp.concatenate([best_d, -neg], axis=1)
            cand_i = jnp.concatenate([best_i, cols[j]], axis=1)
            neg, sel = jax.lax.top_k(-cand_d, k)
            return (-neg, jnp.take_along_axis(cand_i, sel, axis=1)), None

        init = (jnp.full((rows_per_block, k), jnp.inf), jnp.full((rows_per_block, k), -1, jnp.int32))
        (best_d, best_i), _ = jax.lax.scan(step, init, (jnp.arange(p_blocks.shape[0]), p_blocks, p_valid))
        if not refine:
            return best_d, best_i
        # the k winners' distances again, as sums of squared differences: exact 0 for copies, no cancellation
        best_d = jnp.sum((q[:, None, :] - pool[best_i]) ** 2, axis=-1)
        order = jnp.argsort(best_d, axis=1, stable=True)
        return jnp.take_along_axis(best_d, order, axis=1), jnp.take_along_axis(best_i, order, axis=1)

    d, i = jax.lax.map(per_row_block, (jnp.arange(q_blocks.shape[0]), q_blocks))
    return unblock(i, queries.shape[0]), unblock(d, queries.shape[0])


def knn(queries, pool, k: int, *, exclude_self: bool = False, refine: bool = True, row_block: int = 1024,
        col_block: int = 4096) -> tuple[jax.Array, jax.Array]:
    """The ``k`` nearest rows of ``pool [N, D]`` to each row of ``queries [M, D]``: indices ``[M, k]``
    (int32) and squared distances ``[M, k]`` (float32), nearest first, ties to the lower index.

    Candidates are ranked by :func:`sq_distances`; with ``refine`` the k winners' distances are recomputed
    as ``sum((q - p)²)`` (exact 0 for a copy, no cancellation) and the k re-sorted by them; without it they
    are :func:`sq_distances`' values, to compare with other distances computed that way.
    ``exclude_self``: ``queries`` is ``pool`` and row ``i`` may not be its own neighbour (a duplicate of it
    may). Memory: the two sets plus ``row_block × col_block`` distances. Inputs are assumed checked
    (:mod:`jaxgen.metrics.checks`); ``k`` must not exceed the candidates, ``N`` (or ``N - 1``).
    """
    available = pool.shape[0] - int(exclude_self)
    if not 1 <= k <= available:
        raise MetricError(
            f"k = {k} nearest neighbours asked among {available} candidates: use 1 <= k <= {available}"
            " or more samples"
        )
    return _knn(jnp.asarray(queries, jnp.float32), jnp.asarray(pool, jnp.float32), k=k,
                exclude_self=exclude_self, refine=refine, row_block=row_block, col_block=col_block)
