"""PCA and probabilistic PCA (Tipping & Bishop 1999) in closed form, as pure functions of a params pytree.

Params: ``{"mean": [D], "components": [q, D] (orthonormal principal axes, by decreasing variance),
"variances": [q] (their eigenvalues λ_1 ≥ … ≥ λ_q of the sample covariance S = X_c^T X_c / N),
"loadings": [D, q] (W), "noise_variance": [] (σ²)}``. `project` / `reconstruct` read the PCA part
(mean, components); `log_prob` / `sample` the PPCA Gaussian N(mean, W W^T + σ² I), whose maximum-likelihood
solution is σ² = the mean of the D - q discarded eigenvalues of S and W = U_q (Λ_q - σ² I)^{1/2}.

sklearn's `PCA.score_samples` is the same likelihood with the unbiased S (divided by N - 1), and for N < D
it averages only the N - q non-zero discarded eigenvalues; here S is the ML one and σ² averages all D - q.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from jaxgen.errors import JaxgenError


def fit(x: jax.Array, num_components: int) -> dict:
    """PCA / PPCA params of x [N, D] with q = `num_components` ≤ D axes, from the eigendecomposition of S.

    With q = D there is nothing left for the noise: σ² = 0, which PCA allows and `log_prob` does not.
    """
    dim = x.shape[1]
    if not 1 <= num_components <= dim:
        raise JaxgenError(f"num_components must be in 1..{dim} (the data dimension), got {num_components}")
    mean = jnp.mean(x, axis=0)
    centred = x - mean
    eigenvalues, eigenvectors = jnp.linalg.eigh(centred.T @ centred / x.shape[0])
    eigenvalues = jnp.maximum(eigenvalues[::-1], 0.0)  # decreasing; rounding can make zeros slightly negative
    variances, components = eigenvalues[:num_components], eigenvectors[:, ::-1][:, :num_components].T
    noise = jnp.mean(eigenvalues[num_components:]) if num_components < dim else jnp.zeros((), x.dtype)
    loadings = components.T * jnp.sqrt(jnp.maximum(variances - noise, 0.0))
    return {"mean": mean, "components": components, "variances": variances, "loadings": loadings,
            "noise_variance": noise}


def isotropic(dim: int, num_components: int, mean: float = 0.0, variance: float = 1.0, dtype=jnp.float32) -> dict:
    """PPCA params of N(mean·1, variance·I) in D = `dim` dimensions (W = 0): a model before any data."""
    return {"mean": jnp.full((dim,), mean, dtype), "components": jnp.eye(num_components, dim, dtype=dtype),
            "variances": jnp.full((num_components,), variance, dtype),
            "loadings": jnp.zeros((dim, num_components), dtype), "noise_variance": jnp.asarray(variance, dtype)}


def _check_k(params: dict, k: int) -> None:
    q = params["components"].shape[0]
    if not 1 <= k <= q:
        raise JaxgenError(f"k={k} components requested of a PCA fitted with {q}: use 1 <= k <= {q} "
                          f"(or fit with more num_components)")


def project(params: dict, x: jax.Array, k: int) -> jax.Array:
    """Coordinates of x [N, D] on the first k principal axes -> [N, k]."""
    _check_k(params, k)
    return (x - params["mean"]) @ params["components"][:k].T


def reconstruct(params: dict, x: jax.Array, k: int) -> jax.Array:
    """x [N, D] projected on the first k axes and mapped back -> [N, D] (exact for k = D)."""
    return project(params, x, k) @ params["components"][:k] + params["mean"]


def log_prob(params: dict, x: jax.Array) -> jax.Array:
    """log N(x | mean, C = W W^T + σ² I): x [N, D] -> [N], exact, in O(N D q) with M = W^T W + σ² I_q:
    C^-1 = (I - W M^-1 W^T) / σ² (Woodbury) and log det C = (D - q) log σ² + log det M (determinant lemma)."""
    w, noise = params["loadings"], params["noise_variance"]
    dim, q = w.shape
    centred = x - params["mean"]
    chol = jnp.linalg.cholesky(w.T @ w + noise * jnp.eye(q, dtype=w.dtype))
    inner = jax.scipy.linalg.solve_triangular(chol, (centred @ w).T, lower=True)  # L^-1 W^T x_c: [q, N]
    mahalanobis = (jnp.sum(centred**2, 1) - jnp.sum(inner**2, 0)) / noise
    log_det = (dim - q) * jnp.log(noise) + 2 * jnp.sum(jnp.log(jnp.diagonal(chol)))
    return -0.5 * (mahalanobis + log_det + dim * math.log(2 * math.pi))


def sample(params: dict, rng: jax.Array, n: int) -> jax.Array:
    """n draws [n, D] of the PPCA model: mean + W z + σ ε, z ~ N(0, I_q), ε ~ N(0, I_D)."""
    w = params["loadings"]
    k_latent, k_noise = jax.random.split(rng)
    z = jax.random.normal(k_latent, (n, w.shape[1]), w.dtype)
    eps = jax.random.normal(k_noise, (n, w.shape[0]), w.dtype)
    return params["mean"] + z @ w.T + jnp.sqrt(params["noise_variance"]) * eps
