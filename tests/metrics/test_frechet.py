"""Fréchet distance against SciPy's sqrtm formula and closed forms; statistics against np.mean/np.cov."""

import numpy as np
import pytest
from scipy import linalg, stats

from jaxgen.errors import MetricError
from jaxgen.metrics import frechet


def reference_fd(mu1, s1, mu2, s2):
    """The pytorch-fid / TTUR formula: tr((S1 S2)^{1/2}) with scipy.linalg.sqrtm."""
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    diff = mu1 - mu2
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def random_psd(rng, d, condition):
    """Q diag(w) Q^T with eigenvalues log-spaced over `condition` decades, random orientation."""
    q = stats.ortho_group.rvs(d, random_state=rng)
    w = np.logspace(-condition, 0, d)
    return (q * rng.permutation(w)) @ q.T


@pytest.mark.parametrize("d", [64, 256])
@pytest.mark.parametrize("condition", [1, 6])  # well-conditioned (10) and ill-conditioned (1e6)
def test_matches_sqrtm_reference(d, condition):
    rng = np.random.default_rng(d + condition)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d) * 0.1
    s1, s2 = random_psd(rng, d, condition), random_psd(rng, d, condition)
    assert frechet.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference_fd(mu1, s1, mu2, s2), rel=1e-6)


def test_matches_sqrtm_on_sample_covariances():
    """Statistics of real-looking (ReLU, correlated) features, as FID sees them."""
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(64, 64))
    a = np.maximum(rng.normal(size=(3000, 64)) @ mix, 0)
    b = np.maximum(rng.normal(0.1, 1.1, size=(3000, 64)) @ mix, 0)
    mu1, s1 = frechet.gaussian_statistics(a)
    mu2, s2 = frechet.gaussian_statistics(b)
    assert frechet.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(reference_fd(mu1, s1, mu2, s2), rel=1e-6)
    assert frechet.fid_from_features(a, b) == pytest.approx(reference_fd(mu1, s1, mu2, s2), rel=1e-6)


def test_closed_form_for_commuting_covariances():
    """S1 = Q diag(a) Q^T, S2 = Q diag(b) Q^T: FD = ||mu1 - mu2||² + sum (sqrt a - sqrt b)²."""
    rng = np.random.default_rng(1)
    d = 50
    a, b = rng.uniform(0.01, 3, d), rng.uniform(0.01, 3, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    q = stats.ortho_group.rvs(d, random_state=2)
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T
    assert frechet.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-9)


def test_singular_covariance_falls_back_to_the_eigendecomposition():
    """Rank-deficient S1 (no Cholesky factor): closed form sum (sqrt a - sqrt b)² with zeros in a."""
    rng = np.random.default_rng(9)
    a, b = rng.uniform(0.1, 2, 30), rng.uniform(0.1, 2, 30)
    a[::3] = 0.0
    q = stats.ortho_group.rvs(30, random_state=10)
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    with pytest.raises(np.linalg.LinAlgError):  # exact zero pivots: the fallback runs
        np.linalg.cholesky(np.diag(a))
    assert frechet.frechet_distance(np.zeros(30), np.diag(a), np.zeros(30), np.diag(b)) == pytest.approx(expected)
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T
    assert frechet.frechet_distance(np.zeros(30), s1, np.zeros(30), s2) == pytest.approx(expected, rel=1e-7)


def test_distance_to_itself_is_zero():
    x = np.random.default_rng(3).normal(size=(500, 64)) * 3 + 1
    mu, sigma = frechet.gaussian_statistics(x)
    assert 0.0 <= frechet.frechet_distance(mu, sigma, mu, sigma) < 1e-9 * np.trace(sigma)
    assert frechet.fid_from_features(x, x) < 1e-9 * np.trace(sigma)


def test_streaming_statistics_match_numpy():
    """Uneven batches, float32 input with a large offset (the shifted sums keep the covariance accurate)."""
    x = (np.random.default_rng(4).normal(size=(1001, 16)) * 0.5 + 1000.0).astype(np.float32)
    mu, sigma = frechet.gaussian_statistics(x, batch_size=97)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(mu, x64.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(x64, rowvar=False), rtol=1e-9, atol=1e-9 * 0.25)
    moments = None
    for batch in np.array_split(x, [1, 5, 400, 401]):  # a one-row first batch sets the shift
        moments = frechet.accumulate(moments, batch)
    assert moments.count == 1001
    mu2, sigma2 = frechet.statistics(moments)
    np.testing.assert_allclose(mu2, mu, rtol=1e-12)
    np.testing.assert_allclose(sigma2, sigma, rtol=1e-9, atol=1e-12)


def test_too_few_samples_for_the_covariance():
    x = np.random.default_rng(5).normal(size=(64, 64))
    with pytest.raises(MetricError, match=r"64 rows of dimension 64.*N > D.*lower-dimensional"):
        frechet.gaussian_statistics(x)
    with pytest.raises(MetricError, match="fake features: 64 rows"):
        frechet.fid_from_features(np.random.default_rng(6).normal(size=(65, 64)), x)
    frechet.gaussian_statistics(np.random.default_rng(5).normal(size=(65, 64)))  # N = D + 1 is enough


def test_non_finite_rows_are_counted():
    x = np.random.default_rng(7).normal(size=(100, 8))
    x[[3, 50, 99], [0, 2, 7]] = [np.nan, np.inf, -np.inf]
    with pytest.raises(MetricError, match="3 of 100 feature rows contain NaN or Inf: the generator"):
        frechet.fid_from_features(np.ones((100, 8)) + np.eye(100, 8), x)


def test_dimension_mismatch():
    rng = np.random.default_rng(8)
    with pytest.raises(MetricError, match="real features are 2048-d, fake features 64-d: extract both"):
        frechet.fid_from_features(rng.normal(size=(10, 2048)), rng.normal(size=(100, 64)))
    with pytest.raises(MetricError, match="8-d and 9-d"):
        frechet.frechet_distance(np.zeros(8), np.eye(8), np.zeros(9), np.eye(9))
    with pytest.raises(MetricError, match=r"must be a \[N, D\] matrix.*flatten"):
        frechet.fid_from_features(rng.normal(size=(10, 4, 4, 1)), rng.normal(size=(10, 16)))
