"""Nearest neighbours against a stable argsort of SciPy's cdist; the grid layout against save_grid's tiles."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from jaxgen.engine import writers
from jaxgen.errors import MetricError
from jaxgen.metrics import nearest


def brute_force(queries, pool, k):
    d = cdist(queries.astype(np.float64), pool.astype(np.float64), "sqeuclidean")
    idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(d, idx, axis=1)


@pytest.mark.parametrize("k, row_block, col_block", [(1, 1024, 4096), (4, 8, 32), (7, 5, 3)])
def test_matches_argsort_of_cdist(k, row_block, col_block):
    rng = np.random.default_rng(k)
    queries, pool = rng.normal(size=(37, 6)).astype(np.float32), rng.normal(size=(150, 6)).astype(np.float32)
    idx, sq = nearest.nearest_neighbours(queries, pool, k, row_block=row_block, col_block=col_block)
    expected_idx, expected_sq = brute_force(queries, pool, k)
    np.testing.assert_array_equal(idx, expected_idx)
    np.testing.assert_allclose(sq, expected_sq, rtol=1e-5, atol=1e-6)


def test_ties_go_to_the_lower_index():
    """Integer points: many equal distances, exact in float32; the order must be argsort's stable one,
    across pool blocks too (col_block 4 splits runs of ties between blocks)."""
    rng = np.random.default_rng(0)
    queries, pool = rng.integers(0, 3, size=(20, 2)).astype(np.float32), rng.integers(0, 3, size=(30, 2)).astype(np.float32)
    for col_block in (4096, 4):
        idx, sq = nearest.nearest_neighbours(queries, pool, 6, row_block=3, col_block=col_block)
        expected_idx, expected_sq = brute_force(queries, pool, 6)
        np.testing.assert_array_equal(idx, expected_idx)
        np.testing.assert_array_equal(sq, expected_sq)


def test_copies_are_at_distance_exactly_zero():
    """Training images among the queries (the memorisation case): d = 0 exactly, not ||x||² rounding.
    Pixels in [-1, 1], D = 784: ||x||² + ||y||² - 2 x·y alone leaves ~1e-5."""
    rng = np.random.default_rng(3)
    pool = rng.uniform(-1, 1, size=(50, 784)).astype(np.float32)
    queries = np.concatenate([pool[[4, 17, 49]], rng.uniform(-1, 1, size=(2, 784)).astype(np.float32)])
    idx, sq = nearest.nearest_neighbours(queries, pool, k=2, col_block=16)
    np.testing.assert_array_equal(idx[:3, 0], [4, 17, 49])
    assert (sq[:3, 0] == 0.0).all() and (sq[:, 1] > 100).all()
    expected_idx, expected_sq = brute_force(queries, pool, 2)
    np.testing.assert_array_equal(idx, expected_idx)
    np.testing.assert_allclose(sq, expected_sq, rtol=1e-6)


def test_grid_rows_are_a_sample_then_its_neighbours():
    rng = np.random.default_rng(1)
    samples = rng.uniform(-1, 1, size=(3, 5, 4, 1)).astype(np.float32)
    pool = rng.uniform(-1, 1, size=(40, 5, 4, 1)).astype(np.float32)
    idx, _ = nearest.nearest_neighbours(samples.reshape(3, -1), pool.reshape(40, -1), k=2)
    grid = nearest.neighbour_grid(samples, pool, idx)
    assert grid.shape == (9, 5, 4, 1)
    picture = writers.image_grid(grid, ncol=3)  # what save_grid(path, grid, ncol=k + 1) writes
    tile = lambda r, q: picture[2 + r * 7:2 + r * 7 + 5, 2 + q * 6:2 + q * 6 + 4]  # noqa: E731 (pad 2)
    pixels = lambda x: np.round((x + 1) * 127.5).astype(np.uint8)  # noqa: E731
    for i in range(3):
        np.testing.assert_array_equal(tile(i, 0), pixels(samples[i]))
        np.testing.assert_array_equal(tile(i, 2), pixels(pool[idx[i, 1]]))
    for i in range(3):
        np.testing.assert_array_equal(grid[3 * i], samples[i])
        np.testing.assert_array_equal(grid[3 * i + 1:3 * i + 3], pool[idx[i]])


def test_errors():
    rng = np.random.default_rng(2)
    with pytest.raises(MetricError, match="k = 11 nearest neighbours asked among 10 candidates"):
        nearest.nearest_neighbours(rng.normal(size=(4, 3)), rng.normal(size=(10, 3)), k=11)
    with pytest.raises(MetricError, match="queries are 3-d, pool 4-d"):
        nearest.nearest_neighbours(rng.normal(size=(4, 3)), rng.normal(size=(10, 4)))
    with pytest.raises(MetricError, match="samples and pool images differ in shape: 28×28×1 vs 32×32×3"):
        nearest.neighbour_grid(np.zeros((2, 28, 28, 1)), np.zeros((5, 32, 32, 3)), np.zeros((2, 1), int))
    with pytest.raises(MetricError, match="the pool has 5 images"):
        nearest.neighbour_grid(np.zeros((2, 8, 8, 1)), np.zeros((5, 8, 8, 1)), np.array([[0], [5]]))
