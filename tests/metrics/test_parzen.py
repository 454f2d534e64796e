"""Parzen-window log-likelihood against sklearn's KernelDensity and a float64 SciPy logsumexp."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import logsumexp
from sklearn.neighbors import KernelDensity

from jaxgen.errors import MetricError
from jaxgen.metrics import parzen


def reference_ll(centres, x, sigma):
    """Goodfellow et al.'s parzen_ll.py formula in float64."""
    n, d = centres.shape
    a = -cdist(x, centres, "sqeuclidean") / (2 * sigma**2)
    return logsumexp(a, axis=1) - np.log(n) - d * np.log(sigma * np.sqrt(2 * np.pi))


def data(seed, n, m, d):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, d)).astype(np.float32), rng.uniform(size=(m, d)).astype(np.float32)


@pytest.mark.parametrize("sigma", [0.2, 0.5, 1.0])
def test_matches_sklearn_kernel_density(sigma):
    """Low dimension, where sklearn's tree sums do not underflow (at D = 30, sigma = 0.1 they are off by ~100 nats)."""
    centres, x = data(0, 300, 50, 5)
    expected = KernelDensity(kernel="gaussian", bandwidth=sigma).fit(centres).score_samples(x)
    np.testing.assert_allclose(parzen.parzen_log_likelihood(centres, x, sigma), expected, rtol=1e-5)


@pytest.mark.parametrize("sigma", [0.1, 0.3])
def test_matches_float64_logsumexp_in_high_dimension(sigma):
    """D = 784 at sigma = 0.1: kernel values ~ exp(-3000), only a log-space sum survives."""
    centres, x = data(1, 400, 40, 784)
    got = parzen.parzen_log_likelihood(centres, x, sigma)
    np.testing.assert_allclose(got, reference_ll(centres.astype(np.float64), x.astype(np.float64), sigma), rtol=1e-5)


def test_independent_of_block_sizes():
    centres, x = data(2, 101, 23, 16)
    sigmas = np.array([0.15, 0.4])
    results = [parzen.parzen_log_likelihood(centres, x, sigmas, test_block=tb, centre_block=cb)
               for tb, cb in [(256, 1024), (1, 1), (7, 33), (23, 101), (5, 100)]]
    for r in results[1:]:
        np.testing.assert_allclose(r, results[0], rtol=1e-6)
    for s, row in zip(sigmas, results[0]):  # a grid of bandwidths is the stack of single ones
        np.testing.assert_allclose(row, parzen.parzen_log_likelihood(centres, x, s), rtol=1e-6)
        np.testing.assert_allclose(row, reference_ll(centres.astype(np.float64), x.astype(np.float64), s), rtol=1e-5)


def test_bandwidth_selection_and_protocol():
    rng = np.random.default_rng(3)
    centres = rng.uniform(size=(500, 10)).astype(np.float32)
    valid, test = rng.uniform(size=(60, 10)), rng.uniform(size=(80, 10))
    c64 = centres.astype(np.float64)
    means = np.array([reference_ll(c64, valid, s).mean() for s in parzen.MNIST_SIGMAS])
    best = parzen.MNIST_SIGMAS[np.argmax(means)]
    assert 0 < np.argmax(means) < 9  # an interior maximum: the choice is not trivially an end of the grid
    np.testing.assert_allclose(parzen.validation_log_likelihoods(centres, valid), means, rtol=1e-5)
    assert parzen.select_bandwidth(centres, valid) == best
    result = parzen.parzen_protocol(centres, valid, test)
    ll = reference_ll(c64, test, best)
    assert result["sigma"] == best
    assert result["log_likelihood"] == pytest.approx(ll.mean(), rel=1e-5)
    assert result["std_error"] == pytest.approx(ll.std() / np.sqrt(80), rel=1e-4)
    assert list(result["per_sigma_valid"]) == pytest.approx(list(parzen.MNIST_SIGMAS))
    np.testing.assert_allclose(list(result["per_sigma_valid"].values()), means, rtol=1e-5)


def test_errors():
    centres, x = data(4, 20, 5, 8)
    with pytest.raises(MetricError, match="centres .* are 8-d, test points 9-d"):
        parzen.parzen_log_likelihood(centres, np.zeros((5, 9)), 0.2)
    with pytest.raises(MetricError, match="validation points: 1 of 5 feature rows contain NaN"):
        parzen.select_bandwidth(centres, np.where(np.arange(40).reshape(5, 8) == 9, np.nan, x))
    with pytest.raises(MetricError, match="bandwidth"):
        parzen.parzen_log_likelihood(centres, x, 0.0)
    with pytest.raises(MetricError, match=r"must be a \[N, D\] matrix"):
        parzen.parzen_log_likelihood(centres.reshape(20, 2, 4), x, 0.2)
