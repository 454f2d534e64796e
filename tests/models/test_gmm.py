"""Gaussian mixture EM against scikit-learn from the same initialisation, BIC, sampling, restarts, stability."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs
from sklearn.decomposition import PCA
from sklearn.mixture import GaussianMixture

from jaxgen.models import gmm


def _dataset(name):
    if name == "digits_pca":
        return PCA(6, random_state=0).fit_transform(load_digits().data[:400]) / 10.0
    dim = int(name[-2])
    return make_blobs(300, n_features=dim, centers=3, cluster_std=[1.0, 2.0, 0.5], random_state=dim)[0]


def _sklearn_from(params, kind, **kwargs):
    """A GaussianMixture that starts from jaxgen's `params` (float64)."""
    p = {k: np.array(v, np.float64) for k, v in params.items()}
    precisions = np.linalg.inv(p["covariances"]) if kind == "full" else 1.0 / p["covariances"]
    return GaussianMixture(len(p["weights"]), covariance_type=kind, weights_init=p["weights"] / p["weights"].sum(),
                           means_init=p["means"], precisions_init=precisions, **kwargs)


def _single_restart(params):
    return gmm.restarts_from(jax.tree.map(lambda v: v[None], params))


_update = jax.jit(gmm.restarts_update, static_argnames="max_iter")


@pytest.mark.parametrize("name, kind", [("blobs2d", "full"), ("blobs5d", "diag"), ("digits_pca", "full"),
                                        ("digits_pca", "diag")])
def test_em_matches_sklearn_from_the_same_init(name, kind):
    x = _dataset(name)
    xj = jnp.asarray(x, jnp.float32)
    params0 = gmm.init(jax.random.key(0), xj, 4, kind)
    state = _single_restart(params0)
    while not (state["converged"][0] or state["n_iter"][0] >= 100):
        state = _update(state, xj, 1e-3, 1e-6, max_iter=100)
    ours = jax.tree.map(lambda v: v[0], state["params"])
    sk = _sklearn_from(params0, kind, tol=1e-3, max_iter=100, reg_covar=1e-6).fit(x)
    assert sk.converged_ and bool(state["converged"][0])
    assert int(state["n_iter"][0]) == sk.n_iter_
    np.testing.assert_allclose(float(state["lower_bound"][0]), sk.lower_bound_, rtol=1e-4)
    np.testing.assert_allclose(float(jnp.mean(gmm.log_prob(ours, xj))), sk.score(x), rtol=1e-4)
    np.testing.assert_allclose(float(gmm.bic(ours, xj)), sk.bic(x), rtol=1e-4)
    np.testing.assert_allclose(np.asarray(ours["means"]), sk.means_, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("kind", ["full", "diag"])
def test_bic_and_log_prob_equal_sklearn_on_its_own_params(kind):
    x = _dataset("blobs5d")
    sk = GaussianMixture(3, covariance_type=kind, random_state=0).fit(x)
    with jax.enable_x64(True):
        params = {"weights": sk.weights_, "means": sk.means_, "covariances": sk.covariances_,
                  "precisions_cholesky": sk.precisions_cholesky_}
        params = jax.tree.map(jnp.asarray, params)
        np.testing.assert_allclose(np.asarray(gmm.log_prob(params, jnp.asarray(x))), sk.score_samples(x), rtol=1e-10)
        np.testing.assert_allclose(float(gmm.bic(params, jnp.asarray(x))), sk.bic(x), rtol=1e-10)
        refit = gmm.from_responsibilities(jnp.asarray(x), jnp.asarray(sk.predict_proba(x)), kind)
    assert gmm.num_parameters(params) == sk._n_parameters()
    np.testing.assert_allclose(np.asarray(refit["covariances"]), sk.covariances_, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("kind", ["full", "diag"])
def test_samples_have_the_mixture_moments(kind):
    cov = np.array([[[1.0, 0.6], [0.6, 0.5]], [[0.2, -0.1], [-0.1, 0.3]]], np.float32)
    cov = cov if kind == "full" else np.stack([np.diag(c) for c in cov])
    params = {"weights": jnp.array([0.3, 0.7]), "means": jnp.array([[3.0, -1.0], [-1.0, 2.0]]),
              "covariances": jnp.asarray(cov), "precisions_cholesky": gmm._precisions_cholesky(jnp.asarray(cov))}
    x = np.asarray(gmm.sample(params, jax.random.key(0), 20000))
    full = cov if kind == "full" else np.stack([np.diag(c) for c in cov])
    w, mu = np.asarray(params["weights"]), np.asarray(params["means"])
    mean = w @ mu
    second = np.einsum("k,kij->ij", w, full + np.einsum("ki,kj->kij", mu, mu)) - np.outer(mean, mean)
    assert x.shape == (20000, 2)
    np.testing.assert_allclose(x.mean(0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(x.T), second, atol=0.1)
    assert np.mean(x[:, 0] > 1.0) == pytest.approx(0.3, abs=0.02)  # the first component's share


def test_vmapped_restarts_keep_the_best_lower_bound():
    x = jnp.asarray(_dataset("blobs2d"), jnp.float32)
    rng = jax.random.key(3)
    params, info = gmm.fit(rng, x, 4, "full", n_init=4, max_iter=30)
    keys = jax.random.split(rng, 4)
    bounds = []
    for key in keys:  # each restart on its own, from its own key
        state = _single_restart(gmm.init(key, x, 4, "full"))
        while not (state["converged"][0] or state["n_iter"][0] >= 30):
            state = _update(state, x, 1e-3, 1e-6, max_iter=30)
        bounds.append(float(state["lower_bound"][0]))
        if float(state["lower_bound"][0]) == max(bounds):
            expected = jax.tree.map(lambda v: v[0], state["params"])
    assert len(set(np.round(bounds, 4))) > 1  # the restarts reach different optima
    np.testing.assert_allclose(float(info["lower_bound"]), max(bounds), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(params["means"]), np.asarray(expected["means"]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["full", "diag"])
def test_log_prob_is_finite_far_from_every_component(kind):
    x = jnp.asarray(_dataset("blobs5d"), jnp.float32)
    params = gmm.em_step(gmm.init(jax.random.key(0), x, 4, kind), x)[0]
    far = jnp.full((2, 5), 1e3).at[1].set(-1e3)
    values = np.asarray(gmm.log_prob(params, far))
    assert np.all(np.isfinite(values)) and np.all(values < -1e4)
