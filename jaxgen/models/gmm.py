"""Gaussian mixture models fitted by EM, as pure functions of a params pytree (sklearn's algorithm in JAX).

Params: ``{"weights": [K], "means": [K, D], "covariances": [K, D, D] (full) or [K, D] (diagonal),
"precisions_cholesky": same shape}``, as sklearn's ``precisions_cholesky_``: for full covariances the upper
triangular P_k = L_k^-T of Σ_k = L_k L_k^T (so Σ_k^-1 = P_k P_k^T), for diagonal ones 1 / sqrt(Σ_k). The
covariance type is read from the rank of ``covariances``, so every function works on both.

EM follows `sklearn.mixture.GaussianMixture` step for step: `em_step` returns the mean log-likelihood of the
params it was given (sklearn's lower bound) and the M-step update, with ``reg_covar`` added to every
covariance diagonal; a restart stops when its lower bound changes by less than ``tol``. Restarts are a
leading axis [R] of a `restarts_init` state, updated together by `restarts_update` (finished restarts are
left unchanged); `fit` keeps the restart with the best lower bound.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp

from jaxgen.errors import JaxgenError
from jaxgen.metrics.distances import sq_distances

COVARIANCE_TYPES = ("full", "diag")


def _check_type(covariance_type: str) -> None:
    if covariance_type not in COVARIANCE_TYPES:
        raise JaxgenError(f"covariance_type must be one of {COVARIANCE_TYPES}, got {covariance_type!r}")


def _precisions_cholesky(covariances: jax.Array) -> jax.Array:
    """Covariances [K, D, D] or [K, D] -> the factors P_k of their precisions (see the module docstring)."""
    if covariances.ndim == 2:
        return jax.lax.rsqrt(covariances)
    eye = jnp.eye(covariances.shape[-1], dtype=covariances.dtype)
    chol = jnp.linalg.cholesky(covariances)
    return jnp.swapaxes(jax.vmap(lambda c: jax.scipy.linalg.solve_triangular(c, eye, lower=True))(chol), -1, -2)


def from_responsibilities(x: jax.Array, resp: jax.Array, covariance_type: str = "full",
                          reg_covar: float = 1e-6) -> dict:
    """The M-step: params of x [N, D] weighted by responsibilities resp [N, K] (rows sum to one).

    Covariances are the responsibility-weighted covariances about each component's mean, plus `reg_covar`
    on the diagonal; each component's weight sum gets sklearn's 10·eps so an empty component stays finite.
    """
    _check_type(covariance_type)
    nk = resp.sum(0) + 10 * jnp.finfo(resp.dtype).eps
    means = resp.T @ x / nk[:, None]

    def covariance(args):  # one component at a time: memory [N, D], not [K, N, D]
        r, mean, n = args
        diff = x - mean
        if covariance_type == "diag":
            return (r @ diff**2) / n + reg_covar
        return (r[:, None] * diff).T @ diff / n + reg_covar * jnp.eye(x.shape[1], dtype=x.dtype)

    covariances = jax.lax.map(covariance, (resp.T, means, nk))
    return {"weights": nk / nk.sum(), "means": means, "covariances": covariances,
            "precisions_cholesky": _precisions_cholesky(covariances)}


def from_means(x: jax.Array, means: jax.Array, covariance_type: str = "full", reg_covar: float = 1e-6) -> dict:
    """Initial params from centres means [K, D]: every point assigned to its nearest centre, then the M-step."""
    nearest = jnp.argmin(sq_distances(x, means), axis=1)
    return from_responsibilities(x, jax.nn.one_hot(nearest, means.shape[0], dtype=x.dtype), covariance_type,
                                 reg_covar)


def kmeans_plus_plus(rng: jax.Array, x: jax.Array, k: int) -> jax.Array:
    """k-means++ centres [k, D] of x [N, D] (Arthur & Vassilvitskii 2007): the first uniformly, each next one
    with probability proportional to its squared distance to the nearest centre chosen so far."""
    keys = jax.random.split(rng, k)
    first = x[jax.random.randint(keys[0], (), 0, x.shape[0])]

    def add(i, carry):
        centres, d2 = carry
        centre = x[jax.random.categorical(keys[i], jnp.log(d2))]
        return centres.at[i].set(centre), jnp.minimum(d2, jnp.sum((x - centre) ** 2, 1))

    centres = jnp.zeros((k, x.shape[1]), x.dtype).at[0].set(first)
    return jax.lax.fori_loop(1, k, add, (centres, jnp.sum((x - first) ** 2, 1)))[0]


def init(rng: jax.Array, x: jax.Array, k: int, covariance_type: str = "full", reg_covar: float = 1e-6) -> dict:
    """Initial params: `from_means` of the `kmeans_plus_plus` centres (sklearn's "kmeans" init without Lloyd)."""
    return from_means(x, kmeans_plus_plus(rng, x, k), covariance_type, reg_covar)


def component_log_probs(params: dict, x: jax.Array) -> jax.Array:
    """log w_k + log N(x_n | μ_k, Σ_k): x [N, D] -> [N, K]."""
    dim = x.shape[1]

    def one(args):  # one component at a time: memory [N, D], not [K, N, D]
        mean, prec = args
        if prec.ndim == 1:
            y, log_det = (x - mean) * prec, jnp.sum(jnp.log(prec))
        else:
            y, log_det = (x - mean) @ prec, jnp.sum(jnp.log(jnp.diagonal(prec)))
        return -0.5 * (dim * math.log(2 * math.pi) + jnp.sum(y**2, 1)) + log_det

    log_gauss = jax.lax.map(one, (params["means"], params["precisions_cholesky"])).T
    return log_gauss + jnp.log(params["weights"])


def log_prob(params: dict, x: jax.Array) -> jax.Array:
    """log p(x) = logsumexp_k (log w_k + log N(x | μ_k, Σ_k)): x [N, D] -> [N] (finite far from every mean)."""
    return jax.nn.logsumexp(component_log_probs(params, x), axis=1)


@jax.jit
def em_step(params: dict, x: jax.Array, reg_covar: float = 1e-6) -> tuple[dict, jax.Array]:
    """One EM iteration: (the M-step update, the mean log-likelihood per sample of `params` on x [N, D])."""
    weighted = component_log_probs(params, x)
    norm = jax.nn.logsumexp(weighted, axis=1)
    kind = "diag" if params["covariances"].ndim == 2 else "full"
    return from_responsibilities(x, jnp.exp(weighted - norm[:, None]), kind, reg_covar), jnp.mean(norm)


def isotropic(k: int, dim: int, covariance_type: str = "full", mean: float = 0.0, variance: float = 1.0,
              dtype=jnp.float32) -> dict:
    """k equal components N(mean·1, variance·I) in D = `dim` dimensions: a mixture before any data."""
    _check_type(covariance_type)
    cov = jnp.full((k, dim), variance, dtype) if covariance_type == "diag" else (
        jnp.broadcast_to(variance * jnp.eye(dim, dtype=dtype), (k, dim, dim)))
    return {"weights": jnp.full((k,), 1.0 / k, dtype), "means": jnp.full((k, dim), mean, dtype),
            "covariances": cov, "precisions_cholesky": _precisions_cholesky(cov)}


def restarts_from(params: dict) -> dict:
    """The EM state of restarts starting at `params` [R, …]: `{"params", "lower_bound": [R] (-inf),
    "converged": bool [R], "n_iter": int32 [R]}`."""
    n_init, dtype = params["weights"].shape[0], params["means"].dtype
    return {"params": params, "lower_bound": jnp.full((n_init,), -jnp.inf, dtype),
            "converged": jnp.zeros((n_init,), bool), "n_iter": jnp.zeros((n_init,), jnp.int32)}


def restarts_init(rng: jax.Array, x: jax.Array, k: int, covariance_type: str = "full", n_init: int = 1,
                  reg_covar: float = 1e-6) -> dict:
    """`restarts_from` `n_init` restarts, one `init` per key of `split(rng, n_init)`."""
    _check_type(covariance_type)
    return restarts_from(jax.vmap(lambda key: init(key, x, k, covariance_type, reg_covar))(
        jax.random.split(rng, n_init)))


def restarts_update(state: dict, x: jax.Array, tol: float = 1e-3, reg_covar: float = 1e-6,
                    max_iter: int | None = None) -> dict:
    """One `em_step` of every restart that has neither converged (|Δ lower bound| < `tol`) nor done `max_iter`
    iterations (None: no limit); the others are returned unchanged."""
    params, lower_bound = jax.vmap(lambda p: em_step(p, x, reg_covar))(state["params"])
    active = ~state["converged"] if max_iter is None else ~state["converged"] & (state["n_iter"] < max_iter)
    keep = lambda new, old: jnp.where(active.reshape((-1,) + (1,) * (new.ndim - 1)), new, old)  # noqa: E731
    return {"params": jax.tree.map(keep, params, state["params"]),
            "lower_bound": keep(lower_bound, state["lower_bound"]),
            "converged": state["converged"] | (active & (jnp.abs(lower_bound - state["lower_bound"]) < tol)),
            "n_iter": state["n_iter"] + active}


def best(state: dict) -> tuple[dict, jax.Array]:
    """(params, index) of the restart with the highest lower bound."""
    index = jnp.argmax(state["lower_bound"])
    return jax.tree.map(lambda leaf: leaf[index], state["params"]), index


@functools.partial(jax.jit, static_argnames=("k", "covariance_type", "n_init", "max_iter"))
def fit(rng: jax.Array, x: jax.Array, k: int, covariance_type: str = "full", n_init: int = 1, max_iter: int = 100,
        tol: float = 1e-3, reg_covar: float = 1e-6) -> tuple[dict, dict]:
    """EM from `n_init` k-means++ restarts on x [N, D]: (params of the best restart, its final restart state
    `{"lower_bound", "converged", "n_iter"}` as scalars)."""
    state = jax.lax.while_loop(lambda s: jnp.any(~s["converged"] & (s["n_iter"] < max_iter)),
                               lambda s: restarts_update(s, x, tol, reg_covar, max_iter),
                               restarts_init(rng, x, k, covariance_type, n_init, reg_covar))
    params, index = best(state)
    return params, {key: state[key][index] for key in ("lower_bound", "converged", "n_iter")}


def num_parameters(params: dict) -> int:
    """Free parameters, as sklearn's `_n_parameters`: K·D means, K-1 weights, K·D(D+1)/2 or K·D covariances."""
    k, d = params["means"].shape
    covariance = k * d * (d + 1) // 2 if params["covariances"].ndim == 3 else k * d
    return covariance + k * d + k - 1


def bic(params: dict, x: jax.Array) -> jax.Array:
    """Bayesian information criterion on x [N, D], as sklearn's `bic`: -2 Σ log p(x_n) + n_params · log N."""
    return -2 * jnp.sum(log_prob(params, x)) + num_parameters(params) * math.log(x.shape[0])


def sample(params: dict, rng: jax.Array, n: int) -> jax.Array:
    """n draws [n, D]: a component k ~ weights, then μ_k + L_k z with Σ_k = L_k L_k^T, z ~ N(0, I)."""
    k_comp, k_noise = jax.random.split(rng)
    comp = jax.random.categorical(k_comp, jnp.log(params["weights"]), shape=(n,))
    z = jax.random.normal(k_noise, (n, params["means"].shape[1]), params["means"].dtype)
    cov = params["covariances"]
    if cov.ndim == 2:
        return params["means"][comp] + jnp.sqrt(cov)[comp] * z
    noise = jnp.einsum("kij,nj->nki", jnp.linalg.cholesky(cov), z)  # [n, K, D]: every component's draw
    return params["means"][comp] + noise[jnp.arange(n), comp]
