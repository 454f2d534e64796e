"""Likelihood pieces against closed forms, SciPy and Monte Carlo; data spaces; unit conversions."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from jaxgen.losses import likelihood as lik


def test_gaussian_kl_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(3, 4)), rng.normal(scale=0.5, size=(3, 4))
    kl = np.asarray(lik.gaussian_kl(jnp.asarray(mean), jnp.asarray(log_var)))
    z = np.asarray(lik.reparameterize(jax.random.key(0), jnp.broadcast_to(mean, (200000, 3, 4)),
                                      jnp.broadcast_to(log_var, (200000, 3, 4))), np.float64)
    sd = np.exp(0.5 * log_var)
    log_ratio = (stats.norm.logpdf(z, mean, sd) - stats.norm.logpdf(z)).sum(-1)  # [S, 3]
    np.testing.assert_allclose(kl, log_ratio.mean(0), atol=4 * log_ratio.std(0).max() / math.sqrt(len(z)))
    assert np.allclose(lik.gaussian_kl(jnp.zeros((2, 5)), jnp.zeros((2, 5))), 0.0)


def test_reparameterized_sample_has_the_moments_of_q():
    z = lik.reparameterize(jax.random.key(1), jnp.full((100000, 1), 2.0), jnp.full((100000, 1), math.log(0.25)))
    assert float(z.mean()) == pytest.approx(2.0, abs=0.01) and float(z.std()) == pytest.approx(0.5, abs=0.01)


def test_bernoulli_categorical_and_gaussian_log_probs_match_scipy():
    rng = np.random.default_rng(1)
    logits, x = rng.normal(size=(2, 3, 3, 1)), rng.integers(0, 2, (2, 3, 3, 1)).astype(np.float32)
    expected = stats.bernoulli.logpmf(x, special.expit(logits)).reshape(2, -1).sum(1)
    np.testing.assert_allclose(lik.bernoulli_log_prob(jnp.asarray(logits), jnp.asarray(x)), expected, rtol=1e-5)
    logits256, levels = rng.normal(size=(2, 2, 2, 3, 256)), rng.integers(0, 256, (2, 2, 2, 3))
    logp = special.log_softmax(logits256, -1)
    expected = np.take_along_axis(logp, levels[..., None], -1).reshape(2, -1).sum(1)
    np.testing.assert_allclose(lik.categorical_log_prob(jnp.asarray(logits256), jnp.asarray(levels)), expected,
                               rtol=1e-5)
    mean, log_scale, y = rng.normal(size=(3, 2, 4))
    expected = stats.norm.logpdf(y, mean, np.exp(log_scale)).sum(1)
    np.testing.assert_allclose(lik.gaussian_log_prob(*map(jnp.asarray, (y, mean, log_scale))), expected, rtol=1e-5)


@pytest.mark.parametrize("mean,log_scale", [(0.0, -3.0), (0.9, -1.0), (-1.2, -5.0), (0.3, 1.0)])
def test_discretized_logistic_is_a_distribution_over_256_levels(mean, log_scale):
    levels = jnp.arange(256).reshape(256, 1)
    logp = np.asarray(lik.discretized_logistic_log_prob(levels, jnp.full((256, 1), mean), jnp.full((256, 1), log_scale)),
                      np.float64)
    assert np.exp(logp).sum() == pytest.approx(1.0, abs=1e-4)
    # Every bin against SciPy's logistic CDF in float64 (end bins open to -inf / +inf).
    centres = np.arange(256) / 127.5 - 1
    edges_hi = np.where(np.arange(256) == 255, np.inf, centres + 1 / 255)
    edges_lo = np.where(np.arange(256) == 0, -np.inf, centres - 1 / 255)
    scale = math.exp(log_scale)
    p = stats.logistic.cdf(edges_hi, mean, scale) - stats.logistic.cdf(edges_lo, mean, scale)
    big = p > 1e-6
    np.testing.assert_allclose(logp[big], np.log(p[big]), atol=2e-3)


def test_bits_per_dim_conversions():
    d = 784
    # A uniform categorical over 256 levels is 8 bits per dimension.
    assert float(lik.bits_per_dim(d * math.log(256), d)) == pytest.approx(8.0)
    # A density uniform on [0, 1)^D (nll 0) spreads each level over its cube: P = 256^-D, 8 bits/dim.
    assert float(lik.dequantized_bits_per_dim(0.0, d)) == pytest.approx(8.0)
    # A density constant on each level's cube, 256^D P(k) there, has nll = -log P(k) - D log 256: the bound
    # gives back -log2 P(k) / D exactly.
    log_p_discrete = -1234.5
    nll_density = -log_p_discrete - d * math.log(256)
    assert float(lik.dequantized_bits_per_dim(nll_density, d)) == pytest.approx(-log_p_discrete / (d * math.log(2)))


def test_importance_weighted_bound_is_log_mean_exp():
    log_w = np.random.default_rng(2).normal(size=(7, 3)) * 10
    np.testing.assert_allclose(lik.importance_weighted_bound(jnp.asarray(log_w)),
                               special.logsumexp(log_w, 0) - math.log(7), rtol=1e-5)


def test_data_spaces_from_pipeline_images():
    levels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
    images = jnp.asarray(levels / 127.5 - 1, jnp.float32)  # as the pipeline makes them
    np.testing.assert_array_equal(lik.to_data_space(images, "8bit", jax.random.key(0)), levels)
    cont = np.asarray(lik.to_data_space(images, "continuous", jax.random.key(0)))
    assert np.all(cont >= levels / 256) and np.all(cont < (levels.astype(int) + 1) / 256)
    grey = jnp.full((20000, 1, 1, 1), 0.5)  # intensity 0.75
    assert float(lik.to_data_space(grey, "binary", jax.random.key(1)).mean()) == pytest.approx(0.75, abs=0.01)
    # The evaluation binarisation is fixed per batch index, and differs between batches.
    a, b = (lik.eval_data_space(grey[:100], "binary", i) for i in (0, 0))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, lik.eval_data_space(grey[:100], "binary", 1))
    np.testing.assert_allclose(lik.to_images(lik.to_levels(images), "8bit"), images, atol=1e-6)
    with pytest.raises(ValueError, match="unknown data space"):
        lik.to_data_space(images, "float", jax.random.key(0))


def test_report_names_each_unit_by_data_space():
    d = 784
    assert lik.report("test_nll", 90.0, "binary", d) == {"test_nll_nats": 90.0}
    assert lik.report("test_nll", d * math.log(256), "8bit", d)["test_nll_bpd"] == pytest.approx(8.0)
    assert lik.report("test_nll", 0.0, "continuous", d)["test_nll_bpd"] == pytest.approx(8.0)
