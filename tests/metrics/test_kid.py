"""KID: each subset's MMD² against a float64 double loop on the same subsets; unbiasedness and sign."""

import numpy as np
import pytest

from jaxgen.errors import MetricError
from jaxgen.metrics import kid


def mmd2_double_loop(x, y):
    """Unbiased MMD² with k(a, b) = (a·b / D + 1)³, term by term in float64 (Bińkowski et al., eq. 2)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m, d = x.shape
    k = lambda a, b: (a @ b / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return (xx + yy) / (m * (m - 1)) - 2 * xy / (m * m)


def test_subset_mmd2_matches_double_loop():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 5)).astype(np.float32)
    fake = (rng.normal(size=(30, 5)) * 1.3 + 0.4).astype(np.float32)
    idx_real, idx_fake = kid.subset_indices(40, 30, num_subsets=4, subset_size=12, seed=3)
    got = kid.subset_mmd2(real, fake, idx_real, idx_fake)
    expected = [mmd2_double_loop(real[i], fake[j]) for i, j in zip(idx_real, idx_fake)]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_kid_is_mean_and_std_over_the_drawn_subsets():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(50, 3)), rng.normal(0.5, 1.0, size=(60, 3))
    idx_real, idx_fake = kid.subset_indices(50, 60, num_subsets=6, subset_size=10, seed=7)
    expected = [mmd2_double_loop(real[i], fake[j]) for i, j in zip(idx_real, idx_fake)]
    mean, std = kid.kid(real, fake, num_subsets=6, subset_size=10, seed=7)
    assert mean == pytest.approx(np.mean(expected), rel=1e-5)
    assert std == pytest.approx(np.std(expected), rel=1e-4)


def test_subset_indices_are_without_replacement_and_seeded():
    idx_real, idx_fake = kid.subset_indices(100, 30, num_subsets=20, subset_size=30, seed=0)
    assert idx_real.shape == idx_fake.shape == (20, 30)
    assert all(len(set(row)) == 30 for row in idx_real) and idx_real.max() < 100
    assert all(sorted(row) == list(range(30)) for row in idx_fake)  # a whole permutation of the smaller set
    np.testing.assert_array_equal(idx_real, kid.subset_indices(100, 30, 20, 30, seed=0)[0])
    assert not np.array_equal(idx_real, kid.subset_indices(100, 30, 20, 30, seed=1)[0])


def test_subset_size_is_capped_at_the_smaller_set():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(25, 4)), rng.normal(size=(40, 4))
    idx_real, idx_fake = kid.subset_indices(25, 40, 3, 25, seed=5)
    expected = [mmd2_double_loop(real[i], fake[j]) for i, j in zip(idx_real, idx_fake)]
    assert kid.kid(real, fake, num_subsets=3, subset_size=1000, seed=5)[0] == pytest.approx(np.mean(expected), rel=1e-5)


@pytest.mark.parametrize("loc, scale", [(0.0, 1.0), (5.0, 2.0)])
def test_float32_is_accurate_at_the_default_subset_size(loc, scale):
    """m = 1000: against the same formula in float64; at loc 5 the kernel values are ~2e4 and MMD² ~ 1,
    so summing the three kernel means apart in float32 would be off by ~1e-3 (3e-7 of the kernel's scale)."""
    rng = np.random.default_rng(3)
    x = rng.normal(loc, scale, size=(1000, 64)).astype(np.float32)
    y = rng.normal(loc, scale, size=(1000, 64)).astype(np.float32)
    got = kid.subset_mmd2(x, y, np.arange(1000)[None], np.arange(1000)[None])[0]
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    k = lambda a, b: (a @ b.T / 64 + 1) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x64, x64), k(y64, y64), k(x64, y64)
    expected = ((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (1000 * 999) - 2 * kxy.mean())
    assert abs(got - expected) < 1e-8 * kxy.mean()


def test_same_distribution_near_zero_shifted_positive():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(2000, 16))
    same_mean, same_std = kid.kid(real, rng.normal(size=(2000, 16)), num_subsets=20, subset_size=500, seed=0)
    values = kid.subset_mmd2(real, rng.normal(size=(2000, 16)), *kid.subset_indices(2000, 2000, 20, 500, seed=0))
    assert (values < 0).any() and (values > 0).any()  # unbiased: no floor at 0
    assert abs(same_mean) < 3 * same_std
    shifted_mean, _ = kid.kid(real, rng.normal(0.5, 1.0, size=(2000, 16)), num_subsets=20, subset_size=500, seed=0)
    assert shifted_mean > 20 * same_std


def test_errors():
    rng = np.random.default_rng(5)
    with pytest.raises(MetricError, match="real features are 8-d, fake features 4-d"):
        kid.kid(rng.normal(size=(10, 8)), rng.normal(size=(10, 4)))
    bad = rng.normal(size=(10, 4))
    bad[2, 1] = np.nan
    with pytest.raises(MetricError, match="1 of 10 feature rows contain NaN"):
        kid.kid(rng.normal(size=(10, 4)), bad)
    with pytest.raises(MetricError, match="subset_size >= 2"):
        kid.kid(rng.normal(size=(10, 4)), rng.normal(size=(10, 4)), subset_size=1)
