"""Goodfellow et al. 2014, Proposition 1 and Theorem 1, on 1-D densities known in closed form.

The reference numbers come from ``scipy.integrate.quad`` on ``scipy.stats.norm`` densities, independent of
``Mixture.log_prob`` and of the trapezoid grid used by the library.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from jaxgen.data import toy
from jaxgen.research import optimal_discriminator as od

P_DATA = toy.mixture1d()  # (N(-2, 0.5^2) + N(2, 0.5^2)) / 2
P_G = od.affine_generator(1.5, 0.5)  # G(z) = 1.5 z + 0.5, z ~ N(0, 1): N(0.5, 1.5^2)
GRID = jnp.linspace(-8.0, 8.0, 2001)[:, None]


def _p_data(x):
    return 0.5 * (stats.norm.pdf(x, -2.0, 0.5) + stats.norm.pdf(x, 2.0, 0.5))


def _p_g(x):
    return stats.norm.pdf(x, 0.5, 1.5)


def _quad(f):
    return integrate.quad(f, -10.0, 10.0, points=[-2.0, 0.5, 2.0], limit=200)[0]


def _scipy_jsd():
    def integrand(x):
        p, q = _p_data(x), _p_g(x)
        m = 0.5 * (p + q)
        return 0.5 * (p * math.log(p / m) + q * math.log(q / m))

    return _quad(integrand)


def test_affine_generator_density():
    np.testing.assert_allclose(od.affine_generator(-1.5, 0.5).log_prob(GRID[::100]),
                               stats.norm.logpdf(np.asarray(GRID[::100, 0]), 0.5, 1.5), rtol=1e-5, atol=1e-5)


def test_optimal_discriminator_is_density_ratio():
    """Proposition 1: D* = p_data / (p_data + p_g), against the scipy densities."""
    x = np.asarray(GRID[:, 0])
    np.testing.assert_allclose(od.optimal_discriminator(P_DATA.log_prob, P_G.log_prob, GRID),
                               _p_data(x) / (_p_data(x) + _p_g(x)), atol=1e-5)


def test_value_at_optimum_is_minus_log4_plus_2jsd():
    """Theorem 1's identity by scipy quadrature alone, then the library's grid integrals against it."""
    def v_star(x):
        p, q = _p_data(x), _p_g(x)
        return p * math.log(p / (p + q)) + q * math.log(q / (p + q))

    jsd_ref = _scipy_jsd()
    assert 0.1 < jsd_ref < math.log(2.0) - 0.1  # a pair neither equal nor disjoint
    assert _quad(v_star) == pytest.approx(-math.log(4.0) + 2.0 * jsd_ref, abs=1e-9)

    logits_star = od.optimal_logits(P_DATA.log_prob, P_G.log_prob, GRID)
    assert float(od.value(logits_star, P_DATA.log_prob, P_G.log_prob, GRID)) == pytest.approx(_quad(v_star), abs=1e-5)
    assert float(od.jsd(P_DATA.log_prob, P_G.log_prob, GRID)) == pytest.approx(jsd_ref, abs=1e-5)


def test_value_of_any_discriminator():
    """V(G, D) for a D that is not optimal (logit 0.7 x - 0.3), against quad; it is below V(G, D*)."""
    def v(x):
        logit = 0.7 * x - 0.3
        return -_p_data(x) * np.logaddexp(0.0, -logit) - _p_g(x) * np.logaddexp(0.0, logit)

    got = float(od.value(0.7 * GRID[:, 0] - 0.3, P_DATA.log_prob, P_G.log_prob, GRID))
    assert got == pytest.approx(_quad(v), abs=1e-5)
    assert got < -math.log(4.0) + 2.0 * _scipy_jsd() - 0.1


@pytest.mark.parametrize("shift, expected_jsd", [(0.0, 0.0), (20.0, math.log(2.0))])
def test_equal_and_disjoint_distributions(shift, expected_jsd):
    """p_g = p_data: D* = 1/2, V = -log 4, JSD = 0. Disjoint supports: D* in {0, 1}, V = 0, JSD = log 2."""
    p_g = toy.Mixture("shifted", P_DATA.means + shift, P_DATA.std)
    x = jnp.linspace(-8.0, 8.0 + shift, 2001)[:, None]
    d_star = np.asarray(od.optimal_discriminator(P_DATA.log_prob, p_g.log_prob, x))
    if shift:
        on_data, on_g = (np.exp(np.asarray(m.log_prob(x))) > 1e-3 for m in (P_DATA, p_g))
        np.testing.assert_allclose(d_star[on_data], 1.0, atol=1e-6)
        np.testing.assert_allclose(d_star[on_g], 0.0, atol=1e-6)
    else:
        np.testing.assert_array_equal(d_star, 0.5)
    logits = od.optimal_logits(P_DATA.log_prob, p_g.log_prob, x)
    assert float(od.value(logits, P_DATA.log_prob, p_g.log_prob, x)) == pytest.approx(
        -math.log(4.0) + 2.0 * expected_jsd, abs=1e-5)
    assert float(od.jsd(P_DATA.log_prob, p_g.log_prob, x)) == pytest.approx(expected_jsd, abs=1e-5)


@pytest.fixture(scope="module")
def trained():
    model = od.MLPDiscriminator((32, 32))
    params, values = od.train_discriminator(jax.random.key(0), model, P_DATA.sample, P_G.sample,
                                            steps=2000, batch_size=256, learning_rate=1e-2)
    return jax.jit(model.apply), params, values


def test_trained_discriminator_approaches_optimum(trained):
    """Where (p_data + p_g) / 2 > 0.02, |D - D*| < 0.05 (measured: 0.02)."""
    apply, params, _ = trained
    d_star = od.optimal_discriminator(P_DATA.log_prob, P_G.log_prob, GRID)
    mass = 0.5 * (_p_data(np.asarray(GRID[:, 0])) + _p_g(np.asarray(GRID[:, 0]))) > 0.02
    assert np.max(np.abs(jax.nn.sigmoid(apply({"params": params}, GRID)) - d_star)[mass]) < 0.05


def test_trained_value_approaches_minus_log4_plus_2jsd(trained):
    """0 <= V(G, D*) - V(G, D) < 3e-3 (measured: 6e-4); the trainer's minibatch estimates agree."""
    apply, params, values = trained
    bound = -math.log(4.0) + 2.0 * _scipy_jsd()
    v = float(od.value(apply({"params": params}, GRID), P_DATA.log_prob, P_G.log_prob, GRID))
    assert -1e-5 < bound - v < 3e-3
    assert float(jnp.mean(values[-500:])) == pytest.approx(v, abs=1e-2)
    assert float(values[0]) < bound - 0.1  # the untrained D is far off: the agreement is learnt
