"""Hessians of a loss without forming them: Hessian-vector products, Lanczos, and the spectral density by
stochastic Lanczos quadrature (Lin, Saad, Yang 2016; Ghorbani, Krishnan, Xiao 2019).

The loss is ``loss_fn(params) -> scalar`` or ``-> {name: scalar}`` as in :mod:`jaxgen.research.landscape`
(pure, deterministic: batch, noise and BatchNorm statistics closed over). A Hessian is that of one scalar:
a dict loss needs ``key`` (e.g. ``key="d_loss"``), a scalar loss must not get one. It is taken with
respect to every leaf of ``params`` (e.g. pass D's params alone and close over G's for D's Hessian).

:func:`hvp_operator` flattens the parameters (``ravel_pytree``, ``P`` entries) into a jitted matvec
``v [P] -> H v [P]``; :func:`lanczos` and :func:`spectral_density` take any symmetric matvec. Lanczos
keeps its ``num_iters x P`` basis on the device (``4 num_iters P`` bytes in float32) and re-orthogonalises
every new vector against all of it (twice, at ``Precision.HIGHEST`` so GPUs do not round to TF32); the
small tridiagonal eigenproblems are solved in float64 by ``scipy.linalg.eigh_tridiagonal``. GAN Hessians
are indefinite, so :func:`top_eigenvalues` reports the largest-magnitude, the largest and the smallest
eigenvalues.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from scipy.linalg import eigh_tridiagonal

from jaxgen.errors import JaxgenError
from jaxgen.research.landscape import LossFn, Params, Report, check_like, loss_names

Matvec = Callable[[jax.Array], jax.Array]  # v [P] -> H v [P]
PROBES = ("gaussian", "rademacher")


def scalar_loss(loss_fn: LossFn, params: Params, key: str | None = None) -> Callable[[Params], jax.Array]:
    """``params -> scalar``: ``loss_fn`` itself for a scalar loss (``key`` None), else its entry ``key``."""
    names = loss_names(loss_fn, params)
    if names is None:
        if key is not None:
            raise JaxgenError(f"the loss is a scalar, so it has no entry {key!r}: leave key unset")
        return loss_fn
    if key not in names:
        raise JaxgenError(f"the loss is a dict with entries {names}; choose the one whose Hessian to take "
                          f"with key=<one of them> (got {key!r})")
    return lambda p: loss_fn(p)[key]


def hvp(loss_fn: LossFn, params: Params, v: Params, *, key: str | None = None) -> Params:
    """The Hessian-vector product ``H v`` (a pytree like ``params``), forward-over-reverse:
    ``jax.jvp`` of ``jax.grad``, the cost of about two gradients."""
    check_like(v, params, "v")
    return jax.jvp(jax.grad(scalar_loss(loss_fn, params, key)), (params,), (v,))[1]


class HessianOperator(NamedTuple):
    """The Hessian at ``params`` as a matvec on flat vectors."""

    matvec: Matvec  # v [P] -> H v [P], jitted
    dim: int  # P, the number of parameters
    dtype: Any  # of the flat vectors
    unravel: Callable[[jax.Array], Params]  # [P] -> a pytree like params


def hvp_operator(loss_fn: LossFn, params: Params, *, key: str | None = None) -> HessianOperator:
    """The Hessian of ``loss_fn`` (entry ``key`` of a dict loss) at ``params`` as a flat jitted matvec."""
    flat, unravel = ravel_pytree(params)
    scalar_loss(loss_fn, params, key)  # a clear error now rather than at the first call

    @jax.jit
    def matvec(p, v):
        return ravel_pytree(hvp(loss_fn, p, unravel(v), key=key))[0]

    return HessianOperator(functools.partial(matvec, params), flat.size, flat.dtype, unravel)


class Tridiagonal(NamedTuple):
    """``T = V H V^T`` after ``m`` Lanczos steps, ``V [m, P]`` the orthonormal basis."""

    alphas: np.ndarray  # [m] float64, the diagonal of T
    betas: np.ndarray  # [m - 1] float64, its off-diagonal; 0 where the Krylov space was exhausted and restarted
    residual: float  # beta_m: |H x - theta x| <= residual * |last entry of T's eigenvector| for a Ritz pair
    basis: jax.Array | None  # V [m, P] when asked for


def lanczos(matvec: Matvec, dim: int, num_iters: int, rng: jax.Array, *, probe: str = "gaussian",
            dtype=jnp.float32, return_basis: bool = False, report: Report | None = None) -> Tridiagonal:
    """``num_iters`` Lanczos steps with full re-orthogonalisation from a random unit vector.

    ``probe`` draws the start vector: "gaussian" or "rademacher" (+-1), then normalised. Where the Krylov
    space is exhausted (beta at rounding level, e.g. ``num_iters`` above the rank), the next vector is a
    fresh random one orthogonal to the basis and that beta is 0, so ``num_iters == dim`` gives all of H's
    eigenvalues. ``report`` gets a line every tenth of the steps.
    """
    if probe not in PROBES:
        raise ValueError(f"probe must be one of {PROBES}, got {probe!r}")
    if not 1 <= num_iters <= dim:
        raise ValueError(f"num_iters must be in [1, dim = {dim}], got {num_iters}")
    k_probe, k_restart = jax.random.split(rng)
    draw = jax.random.normal if probe == "gaussian" else jax.random.rademacher
    v = draw(k_probe, (dim,), dtype)
    v = v / jnp.linalg.norm(v)
    basis = jnp.zeros((num_iters, dim), dtype).at[0].set(v)
    alphas, betas, beta, anorm = [], [], jnp.zeros((), dtype), jnp.zeros((), dtype)
    start = time.perf_counter()
    for j in range(num_iters):
        basis, v, alpha, beta, anorm = _lanczos_step(basis, matvec(v), j, beta, anorm,
                                                     jax.random.fold_in(k_restart, j))
        alphas.append(alpha)
        betas.append(beta)
        if report is not None and (j + 1) % max(1, num_iters // 10) == 0:
            report(f"lanczos: {j + 1}/{num_iters} steps in {time.perf_counter() - start:.1f}s")
    alphas, betas = np.asarray(jax.device_get(alphas), np.float64), np.asarray(jax.device_get(betas), np.float64)
    return Tridiagonal(alphas, betas[:-1], float(betas[-1]), basis if return_basis else None)


@functools.partial(jax.jit, donate_argnums=0)
def _lanczos_step(basis, w, j, beta_prev, anorm, rng):
    """From ``w = H v_j``: ``alpha_j``, ``beta_j`` (stored; 0 on a restart) and ``v_{j+1}`` written to row ``j + 1``."""
    v, v_prev = basis[j], basis[jnp.maximum(j - 1, 0)]  # beta_prev is 0 at j = 0
    alpha = jnp.vdot(v, w)
    w = _orthogonalize(_orthogonalize(w - alpha * v - beta_prev * v_prev, basis), basis)
    beta = jnp.linalg.norm(w)
    anorm = jnp.maximum(anorm, jnp.abs(alpha) + beta_prev + beta)  # a running estimate of |H|
    exhausted = beta <= jnp.finfo(w.dtype).eps * anorm

    def restart():
        r = jax.random.normal(rng, w.shape, w.dtype)
        r = _orthogonalize(_orthogonalize(r, basis), basis)
        return r / jnp.linalg.norm(r)

    v_next = jax.lax.cond(exhausted, restart, lambda: w / beta)
    basis = basis.at[j + 1].set(v_next, mode="drop")  # dropped after the last step
    return basis, v_next, alpha, jnp.where(exhausted, 0.0, beta).astype(w.dtype), anorm


def _orthogonalize(w, basis):
    """``w - V^T V w``: ``w`` without its components along the rows of ``basis`` (zero rows are inert)."""
    hi = jax.lax.Precision.HIGHEST
    return w - jnp.dot(jnp.dot(basis, w, precision=hi), basis, precision=hi)


def ritz(tri: Tridiagonal) -> tuple[np.ndarray, np.ndarray]:
    """Ritz values ``theta [m]`` (ascending) and the eigenvectors ``Y [m, m]`` (columns) of ``T``, float64."""
    return eigh_tridiagonal(tri.alphas, tri.betas)


class Eigen(NamedTuple):
    """Extreme eigenvalues of a Hessian by Lanczos (float64)."""

    values: np.ndarray  # [k] the largest in magnitude, by decreasing |lambda|
    largest: np.ndarray  # [k] the largest algebraic, descending
    smallest: np.ndarray  # [k] the smallest algebraic, ascending
    residuals: np.ndarray  # [k] Lanczos bounds on |H x - lambda x| for ``values``
    vectors: list | None  # k unit eigenvectors (pytrees like params) of ``values``, when asked for


def top_eigenvalues(loss_fn: LossFn, params: Params, k: int, rng: jax.Array, *, key: str | None = None,
                    num_iters: int | None = None, eigenvectors: bool = False,
                    report: Report | None = None) -> Eigen:
    """The ``k`` extreme eigenvalues of the Hessian of ``loss_fn`` (entry ``key``) at ``params`` from the Ritz
    values of ``num_iters`` Lanczos steps (default ``min(100, P)``); extremes converge first, so check
    ``residuals`` (small against ``|values|``) or compare two ``num_iters``."""
    op = hvp_operator(loss_fn, params, key=key)
    num_iters = min(100, op.dim) if num_iters is None else num_iters
    if not 1 <= k <= num_iters:
        raise ValueError(f"k must be in [1, num_iters = {num_iters}], got {k}")
    tri = lanczos(op.matvec, op.dim, num_iters, rng, dtype=op.dtype, return_basis=eigenvectors, report=report)
    theta, y = ritz(tri)
    top = np.argsort(-np.abs(theta), kind="stable")[:k]
    vectors = None
    if eigenvectors:
        flat = jnp.matmul(jnp.asarray(y[:, top].T, op.dtype), tri.basis, precision=jax.lax.Precision.HIGHEST)
        vectors = [op.unravel(x / jnp.linalg.norm(x)) for x in flat]
    return Eigen(theta[top], theta[::-1][:k].copy(), theta[:k].copy(), tri.residual * np.abs(y[-1, top]), vectors)


class SpectralDensity(NamedTuple):
    """A smoothed estimate of the eigenvalue density ``(1/P) sum_i delta(t - lambda_i)``."""

    grid: np.ndarray  # [G] eigenvalue axis
    density: np.ndarray  # [G] the mean over draws of sum_i weights * N(t; nodes, sigma^2); integrates to ~1
    nodes: np.ndarray  # [num_draws, m] Ritz values of each draw
    weights: np.ndarray  # [num_draws, m] squared first components of T's eigenvectors; each row sums to 1
    sigma: float  # the Gaussian kernel's width


def spectral_density(matvec: Matvec, dim: int, rng: jax.Array, *, num_draws: int = 10, num_iters: int = 100,
                     probe: str = "rademacher", grid: np.ndarray | None = None, sigma: float | None = None,
                     dtype=jnp.float32, report: Report | None = None) -> SpectralDensity:
    """Stochastic Lanczos quadrature of a symmetric operator, e.g. ``op = hvp_operator(loss_fn, params,
    key="d_loss"); spectral_density(op.matvec, op.dim, rng, dtype=op.dtype)``.

    Draw ``d`` runs :func:`lanczos` from a unit ``probe`` vector (key ``fold_in(rng, d)``); its Ritz
    values and weights are a Gauss quadrature of the probe's spectral measure, whose mean over probes is
    the eigenvalue density. ``sigma`` defaults to 1% of the Ritz values' range, ``grid`` to 1001 points
    covering them with ``5 sigma`` margins. Moments: ``sum(weights * nodes) = v^T H v``, whose mean is
    ``trace(H) / P``, and ``sum(weights * nodes**2)`` estimates ``|H|_F^2 / P`` (the smoothed density
    adds ``sigma^2`` to it).
    """
    if num_draws < 1:
        raise ValueError(f"num_draws must be >= 1, got {num_draws}")
    nodes, weights = [], []
    for d in range(num_draws):
        theta, y = ritz(lanczos(matvec, dim, num_iters, jax.random.fold_in(rng, d), probe=probe, dtype=dtype))
        nodes.append(theta)
        weights.append(y[0] ** 2)
        if report is not None:
            report(f"spectral density: draw {d + 1}/{num_draws}")
    nodes, weights = np.stack(nodes), np.stack(weights)
    if sigma is None:
        spread = float(nodes.max() - nodes.min())
        sigma = 0.01 * spread if spread > 0 else 0.01
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    if grid is None:
        grid = np.linspace(nodes.min() - 5 * sigma, nodes.max() + 5 * sigma, 1001)
    grid = np.asarray(grid, np.float64)
    kernel = np.exp(-0.5 * ((grid[:, None] - nodes.reshape(-1)[None]) / sigma) ** 2) / (sigma * np.sqrt(2 * np.pi))
    density = kernel @ weights.reshape(-1) / num_draws
    return SpectralDensity(grid, density, nodes, weights, float(sigma))
