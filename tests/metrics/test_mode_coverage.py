"""Mode coverage (VEEGAN/PacGAN protocol) against hand counts, SciPy's KL and the chi-square law."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import spatial, stats

from jaxgen.data import toy
from jaxgen.metrics import mode_coverage as mc


def test_nearest_modes_matches_cdist():
    mix = toy.grid25()
    x = np.random.default_rng(0).uniform(-5, 5, (300, 2)).astype(np.float32)
    nearest, dist = mc.nearest_modes(x, mix.means, mix.std)
    d = spatial.distance.cdist(x, mix.means) / mix.std
    np.testing.assert_array_equal(nearest, d.argmin(1))
    np.testing.assert_allclose(dist, d.min(1), rtol=1e-5)


def test_hand_counted_example():
    """Ring of 8 (std 0.01): 3 points on mode 0, 1 at 2.9 std of mode 2, 1 at 3.1 std of mode 2, 1 far away."""
    mix = toy.ring8()
    m0, m2 = mix.means[0], mix.means[2]
    x = np.stack([m0, m0, m0 + [0.005, 0], m2 + [0.029, 0], m2 + [0, 0.031], [5.0, 5.0]]).astype(np.float32)
    counts = mc.high_quality_counts(x, mix.means, mix.std)
    np.testing.assert_array_equal(counts, [3, 0, 1, 0, 0, 0, 0, 0])
    scores = mc.mode_coverage(x, mix.means, mix.std)
    assert int(scores["modes_captured"]) == 2
    assert float(scores["high_quality"]) == pytest.approx(4 / 6)
    p = np.array([3, 1]) / 4  # KL(p || uniform over 8) by hand
    assert float(scores["reverse_kl"]) == pytest.approx(float(np.sum(p * np.log(p * 8))), rel=1e-6)


@pytest.mark.parametrize("counts", [[1, 1, 1, 1], [5, 0, 0, 0], [3, 1, 0, 2], [7, 2, 9, 1, 0, 0, 4]])
def test_reverse_kl_matches_scipy(counts):
    counts = np.asarray(counts)
    expected = stats.entropy(counts / counts.sum(), np.full(len(counts), 1 / len(counts)))
    assert float(mc.reverse_kl_to_uniform(counts)) == pytest.approx(expected, abs=1e-6)


def test_reverse_kl_undefined_without_high_quality_points():
    assert np.isnan(float(mc.reverse_kl_to_uniform(jnp.zeros(8, jnp.int32))))
    scores = mc.mode_coverage(jnp.full((10, 2), 100.0), toy.ring8().means, 0.01)
    assert int(scores["modes_captured"]) == 0 and float(scores["high_quality"]) == 0.0
    assert np.isnan(float(scores["reverse_kl"]))


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_true_samples(name):
    """Samples of the mixture itself: every mode captured, and the high-quality fraction is
    P(chi2_2 < 9) = 1 - exp(-9/2) (modes are far apart, so the nearest mode is the true one)."""
    mix = toy.get(name)
    x = mix.sample(jax.random.key(1), 20000)
    scores = mc.mode_coverage(x, mix.means, mix.std)
    assert int(scores["modes_captured"]) == mix.num_modes
    p = 1 - np.exp(-4.5)
    assert float(scores["high_quality"]) == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / 20000))
    assert 0 <= float(scores["reverse_kl"]) < 0.01


def test_vmap_and_jit_match_a_loop():
    mix = toy.grid25()
    xs = jnp.stack([mix.sample(jax.random.key(i), 500) * s for i, s in enumerate([1.0, 1.05, 0.5])])
    batched = jax.jit(jax.vmap(lambda x: mc.mode_coverage(x, mix.means, mix.std)))(xs)
    for i, x in enumerate(xs):
        single = mc.mode_coverage(x, mix.means, mix.std)
        for key in single:
            np.testing.assert_allclose(batched[key][i], single[key], rtol=1e-6)
