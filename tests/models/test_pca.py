"""PCA / probabilistic PCA against scikit-learn and a dense Gaussian; the ML solution is a stationary point."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from jaxgen.errors import JaxgenError
from jaxgen.models import pca


@pytest.fixture(scope="module")
def data():
    """300 correlated 8-D points (float64), and a PPCA with q = 3 fitted to them under x64."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)) @ rng.normal(size=(8, 8)) + rng.normal(size=8)
    with jax.enable_x64(True):
        params = pca.fit(jnp.asarray(x), 3)
    return x, params


def test_log_prob_equals_sklearn_score_samples(data):
    x, params = data
    n = len(x)
    sk = PCA(n_components=3).fit(x)
    sk.explained_variance_ *= (n - 1) / n  # sklearn's S divides by N - 1, the ML one by N
    sk.noise_variance_ *= (n - 1) / n
    with jax.enable_x64(True):
        np.testing.assert_allclose(np.asarray(pca.log_prob(params, jnp.asarray(x))), sk.score_samples(x), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(params["variances"]), sk.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(np.abs(np.sum(np.asarray(params["components"]) * sk.components_, 1)), 1.0, rtol=1e-8)


def test_log_prob_equals_the_dense_gaussian(data):
    x, params = data
    w, noise = np.asarray(params["loadings"]), float(params["noise_variance"])
    dense = scipy.stats.multivariate_normal.logpdf(x, np.asarray(params["mean"]), w @ w.T + noise * np.eye(8))
    with jax.enable_x64(True):
        np.testing.assert_allclose(np.asarray(pca.log_prob(params, jnp.asarray(x))), dense, rtol=1e-10)


def test_ml_solution_is_a_stationary_point(data):
    x, params = data
    rng = np.random.default_rng(1)
    with jax.enable_x64(True):
        total = lambda p: float(jnp.sum(pca.log_prob(p, jnp.asarray(x))))  # noqa: E731
        best = total(params)
        for _ in range(3):
            direction = rng.normal(size=params["loadings"].shape)
            for sign in (-1, 1):
                assert total({**params, "loadings": params["loadings"] + sign * 1e-2 * direction}) < best
        for factor in (0.97, 1.03):
            assert total({**params, "noise_variance": params["noise_variance"] * factor}) < best
        grads = jax.grad(lambda w, s: jnp.sum(pca.log_prob({**params, "loadings": w, "noise_variance": s},
                                                           jnp.asarray(x))), argnums=(0, 1))(
            params["loadings"], params["noise_variance"])
    np.testing.assert_allclose(np.asarray(grads[0]), 0.0, atol=1e-6 * abs(best))
    assert abs(float(grads[1])) < 1e-6 * abs(best)


def test_reconstruction_with_every_component_is_exact_and_error_falls_with_k():
    x = jnp.asarray(load_digits().data[:500] / 16.0, jnp.float32)
    params = pca.fit(x, 64)
    np.testing.assert_allclose(np.asarray(pca.reconstruct(params, x, 64)), np.asarray(x), atol=1e-4)
    errors = [float(jnp.mean((pca.reconstruct(params, x, k) - x) ** 2)) for k in (1, 5, 20, 40)]
    assert errors == sorted(errors, reverse=True)
    assert pca.project(params, x, 5).shape == (500, 5)
    with pytest.raises(JaxgenError, match=r"k=65.*1 <= k <= 64"):
        pca.reconstruct(params, x, 65)


def test_samples_have_the_ppca_covariance(data):
    _, params = data
    with jax.enable_x64(True):
        draws = np.asarray(pca.sample(params, jax.random.key(0), 50000))
    w = np.asarray(params["loadings"])
    cov = w @ w.T + float(params["noise_variance"]) * np.eye(8)
    np.testing.assert_allclose(draws.mean(0), np.asarray(params["mean"]), atol=0.1)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.05 * np.abs(cov).max())
