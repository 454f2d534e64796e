"""Toy mixtures: the PacGAN/VEEGAN definitions, sampling statistics, exact log-density vs SciPy."""

import itertools

import jax
import numpy as np
import pytest
from scipy import special, stats

from jaxgen.data import toy
from jaxgen.errors import ConfigError


def test_definitions():
    ring, grid = toy.ring8(), toy.grid25()
    assert ring.num_modes == 8 and ring.std == 0.01 and ring.dim == 2
    np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 1.0)
    angles = np.sort(np.mod(np.arctan2(ring.means[:, 1], ring.means[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-12)
    assert grid.num_modes == 25 and grid.std == 0.05
    assert {tuple(m) for m in grid.means} == set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
    assert toy.mixture1d().dim == 1


@pytest.mark.parametrize("name", ["ring8", "grid25", "mixture1d"])
def test_sample_statistics(name):
    """Mode frequencies are uniform (chi-square) and the offsets from the mode are N(0, std^2)."""
    mix = toy.get(name)
    x = np.asarray(jax.jit(lambda k: mix.sample(k, 20000))(jax.random.key(0)))
    assert x.shape == (20000, mix.dim) and x.dtype == np.float32
    nearest = np.argmin(((x[:, None] - mix.means[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(nearest, minlength=mix.num_modes)
    assert stats.chisquare(counts).pvalue > 1e-3
    offsets = x - mix.means[nearest]
    np.testing.assert_allclose(offsets.mean(0), 0.0, atol=5 * mix.std / np.sqrt(len(x)))
    np.testing.assert_allclose(offsets.std(0), mix.std, rtol=0.03)


@pytest.mark.parametrize("name", ["ring8", "grid25", "mixture1d"])
def test_log_prob_matches_scipy(name):
    mix = toy.get(name)
    rng = np.random.default_rng(0)
    x = mix.means[rng.integers(0, mix.num_modes, 64)] + rng.normal(0, 2 * mix.std, (64, mix.dim))
    per_mode = np.stack([stats.multivariate_normal(m, mix.std ** 2 * np.eye(mix.dim)).logpdf(x).reshape(-1)
                         for m in mix.means], axis=1)
    expected = special.logsumexp(per_mode, axis=1) - np.log(mix.num_modes)
    np.testing.assert_allclose(np.asarray(mix.log_prob(np.asarray(x, np.float32))), expected, rtol=1e-4, atol=1e-3)


def test_log_prob_integrates_to_one():
    mix = toy.mixture1d()
    grid = np.linspace(-6, 6, 20001, dtype=np.float32)[:, None]
    density = np.exp(np.asarray(mix.log_prob(grid)))
    assert np.trapezoid(density, grid[:, 0]) == pytest.approx(1.0, abs=1e-5)


def test_unknown_dataset():
    with pytest.raises(ConfigError, match="unknown toy dataset 'moons'.*grid25"):
        toy.get("moons")
