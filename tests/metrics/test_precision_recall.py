"""k-NN precision/recall and density/coverage against a brute-force SciPy cdist implementation."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from jaxgen.errors import MetricError
from jaxgen.metrics import precision_recall as pr


def kth_radius(x, k):
    """Euclidean distance to the k-th nearest neighbour, the point itself (distance 0) taken as the 0th."""
    return np.sort(cdist(x, x), axis=1)[:, k]


def reference_prdc(real, fake, k_pr, k_dc):
    d = cdist(real, fake)  # [N, M], Euclidean, float64
    r_real_pr, r_real_dc, r_fake = kth_radius(real, k_pr), kth_radius(real, k_dc), kth_radius(fake, k_pr)
    in_real_dc = d <= r_real_dc[:, None]
    return {
        "precision": np.mean((d <= r_real_pr[:, None]).any(axis=0)),
        "recall": np.mean((d <= r_fake[None, :]).any(axis=1)),
        "density": in_real_dc.sum() / (k_dc * fake.shape[0]),
        "coverage": np.mean(in_real_dc.any(axis=1)),
    }


@pytest.mark.parametrize("k_pr, k_dc, block_size", [(3, 5, 1024), (1, 2, 16), (4, 4, 7)])
def test_matches_brute_force(k_pr, k_dc, block_size):
    rng = np.random.default_rng(k_pr)
    real = rng.normal(size=(90, 4)).astype(np.float32)
    fake = (rng.normal(size=(70, 4)) * 1.2 + 0.5).astype(np.float32)
    got = pr.prdc(real, fake, k_pr=k_pr, k_dc=k_dc, block_size=block_size)
    expected = reference_prdc(real.astype(np.float64), fake.astype(np.float64), k_pr, k_dc)
    assert got == pytest.approx(expected, abs=1e-12)
    assert 0 < got["precision"] < 1 and 0 < got["recall"] < 1  # the case is not degenerate


def test_ties_and_duplicates_match_brute_force():
    """Integer points on a 4×4 grid: many duplicates (radius 0, a duplicate is a neighbour, the point itself
    is not) and fakes exactly on ball boundaries (closed balls). float32 distances of small integers are exact."""
    rng = np.random.default_rng(0)
    real = rng.integers(0, 4, size=(60, 2)).astype(np.float32)
    fake = rng.integers(0, 5, size=(45, 2)).astype(np.float32)
    assert (kth_radius(real, 3) == 0).any() and (kth_radius(real, 3) > 0).any()
    for k_pr, k_dc in [(3, 5), (1, 1), (8, 2)]:
        expected = reference_prdc(real.astype(np.float64), fake.astype(np.float64), k_pr, k_dc)
        assert pr.prdc(real, fake, k_pr=k_pr, k_dc=k_dc, block_size=8) == pytest.approx(expected, abs=1e-12)


def test_radii_match_sorted_cdist():
    x = np.random.default_rng(1).normal(size=(50, 6)).astype(np.float32)
    np.testing.assert_allclose(np.sqrt(pr.knn_radii(x, 3)), kth_radius(x.astype(np.float64), 3), rtol=1e-5)


def test_wrappers_select_from_prdc():
    rng = np.random.default_rng(2)
    real, fake = rng.normal(size=(64, 8)), rng.normal(size=(64, 8))  # the shapes below: compiled once
    both = pr.prdc(real, fake, k_pr=3, k_dc=5)
    assert pr.precision_recall(real, fake) == {k: both[k] for k in ("precision", "recall")}
    assert pr.density_coverage(real, fake) == {k: both[k] for k in ("density", "coverage")}


def test_identical_sets_and_far_clusters():
    x = np.random.default_rng(3).normal(size=(64, 8))
    same = pr.prdc(x, x)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    assert same["density"] >= 1.0  # each point lies in its own ball and in those of the neighbours it is within
    far = pr.prdc(x, x + 100.0)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_errors():
    rng = np.random.default_rng(4)
    with pytest.raises(MetricError, match="real features: 5 rows, this metric needs at least 6"):
        pr.prdc(rng.normal(size=(5, 2)), rng.normal(size=(50, 2)))
    with pytest.raises(MetricError, match="fake features: 3 rows, this metric needs at least 4"):
        pr.precision_recall(rng.normal(size=(50, 2)), rng.normal(size=(3, 2)))
    with pytest.raises(MetricError, match="real features are 2-d, fake features 3-d"):
        pr.prdc(rng.normal(size=(50, 2)), rng.normal(size=(50, 3)))
