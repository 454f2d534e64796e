"""The Dirac-GAN (Mescheder et al. 2018, Sections 2 and 3) built from jaxgen's losses, against fields
derived by hand, scipy quadrature, the paper's closed forms for the update operators, and its
convergence claims.

Hand-derived fields (jaxgen's convention: D's output ``psi x`` is the logit of "real", ``t = psi theta``,
``s`` the logistic sigmoid): mm ``(s(t) psi, -s(t) theta)``; ns ``(s(-t) psi, -s(t) theta)``;
wgan ``(psi, -theta)``; lsgan ``((1 - t) psi, -t theta)``; hinge ``(psi, -theta [1 + t > 0])``;
R1/R2 add ``-gamma psi`` to ``v_psi``, WGAN-GP/DRAGAN ``-2 lambda (|psi| - 1) sign(psi)``.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from jaxgen.research import dirac

POINTS = np.array([[1.0, 1.0], [-0.7, 0.4], [0.3, -1.6], [2.0, 0.9]])  # (theta, psi), |psi| away from 0


def _sigmoid(t):
    return 1.0 / (1.0 + np.exp(-t))


def _hand_field(objective, regulariser, weight, theta, psi):
    t = psi * theta
    v_theta, v_psi = {
        "mm": (_sigmoid(t) * psi, -_sigmoid(t) * theta),
        "ns": (_sigmoid(-t) * psi, -_sigmoid(t) * theta),
        "wgan": (psi, -theta),
        "lsgan": ((1 - t) * psi, -t * theta),
        "hinge": (psi, -theta * (1 + t > 0)),
    }[objective]
    if regulariser in ("r1", "r2"):
        v_psi = v_psi - weight * psi
    if regulariser in ("wgan_gp", "dragan"):
        v_psi = v_psi - 2 * weight * (np.abs(psi) - 1) * np.sign(psi)
    return np.stack([v_theta, v_psi], -1)


@pytest.mark.parametrize("objective", dirac.OBJECTIVES)
@pytest.mark.parametrize("regulariser", ["none", "wgan_gp", "dragan", "r1", "r2"])
def test_field_matches_hand_derivation(objective, regulariser):
    s = dirac.setting(objective, regulariser, weight=0.7)
    got = dirac.field_on_grid(s, jnp.asarray(POINTS[:, 0]), jnp.asarray(POINTS[:, 1]))
    np.testing.assert_allclose(got, _hand_field(objective, regulariser, 0.7, POINTS[:, 0], POINTS[:, 1]),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("objective", ["mm", "ns"])
def test_instance_noise_field_is_the_expectation(objective):
    """Gauss-Hermite against scipy.integrate.quad of the noisy field, noise N(0, 0.8^2) on both inputs."""
    sigma = 0.8

    def expect(f):
        return integrate.quad(lambda e: f(e) * stats.norm.pdf(e, 0.0, sigma), -12 * sigma, 12 * sigma)[0]

    got = dirac.field_on_grid(dirac.setting(objective, "instance_noise", noise_std=sigma),
                              jnp.asarray(POINTS[:, 0]), jnp.asarray(POINTS[:, 1]))
    for (theta, psi), v in zip(POINTS, np.asarray(got)):
        sign = 1.0 if objective == "mm" else -1.0
        v_theta = expect(lambda e: _sigmoid(sign * psi * (theta + e)) * psi)
        v_psi = expect(lambda e: _sigmoid(-psi * e) * e) - expect(lambda e: _sigmoid(psi * (theta + e)) * (theta + e))
        np.testing.assert_allclose(v, [v_theta, v_psi], atol=1e-5)


def test_consensus_field_against_finite_differences():
    """v - gamma J^T v, J by central differences of the hand-derived NS field (float64)."""
    gamma, eps = 0.3, 1e-5
    got = dirac.field_on_grid(dirac.setting("ns", "consensus", weight=gamma),
                              jnp.asarray(POINTS[:, 0]), jnp.asarray(POINTS[:, 1]))
    for (theta, psi), v_co in zip(POINTS, np.asarray(got)):
        v = _hand_field("ns", "none", 0.0, theta, psi)
        jac = np.stack([(_hand_field("ns", "none", 0.0, theta + eps * dx, psi + eps * dy)
                         - _hand_field("ns", "none", 0.0, theta - eps * dx, psi - eps * dy)) / (2 * eps)
                        for dx, dy in ((1, 0), (0, 1))], axis=1)
        np.testing.assert_allclose(v_co, v - gamma * jac.T @ v, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("scheme", dirac.SCHEMES)
@pytest.mark.parametrize("objective, regulariser", [("ns", "r1"), ("mm", "none"), ("wgan", "none")])
def test_simulate_matches_a_numpy_loop(scheme, objective, regulariser):
    """30 steps from 4 starts against x + h v(x) (simultaneous) or psi first, then theta (alternating);
    WGAN clips psi to [-0.3, 0.3] after each D step."""
    s = dirac.setting(objective, regulariser, scheme)
    paths = np.asarray(dirac.simulate(s, jnp.asarray(POINTS), 30))
    assert paths.shape == (4, 31, 2)
    x = POINTS.copy()
    for i in range(30):
        if scheme == "simultaneous":
            x = x + s.lr * _hand_field(objective, regulariser, s.weight, x[:, 0], x[:, 1])
            x[:, 1] = np.clip(x[:, 1], -s.clip, s.clip) if s.clip else x[:, 1]
        else:
            x[:, 1] += s.lr * _hand_field(objective, regulariser, s.weight, x[:, 0], x[:, 1])[:, 1]
            x[:, 1] = np.clip(x[:, 1], -s.clip, s.clip) if s.clip else x[:, 1]
            x[:, 0] += s.lr * _hand_field(objective, regulariser, s.weight, x[:, 0], x[:, 1])[:, 0]
        np.testing.assert_allclose(paths[:, i + 1], x, rtol=1e-4, atol=1e-5)
    if objective == "wgan":
        assert s.clip == dirac.WGAN_CLIP and np.all(np.abs(paths[:, 1:, 1]) <= s.clip + 1e-7)


@pytest.mark.parametrize("objective, lr", [("mm", 0.1), ("ns", 1.0), ("wgan", 0.3)])
def test_simultaneous_update_eigenvalues(objective, lr):
    """Paper, Section 2: F_h' has eigenvalues 1 +- i h f'(0), modulus sqrt(1 + h^2 f'(0)^2) > 1."""
    a = 1.0 if objective == "wgan" else 0.5
    values = np.linalg.eigvals(dirac.update_jacobian(dirac.setting(objective, lr=lr)))
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex([1 + 1j * lr * a, 1 - 1j * lr * a]), atol=1e-6)


@pytest.mark.parametrize("objective, lr, d_steps", [("mm", 0.1, 1), ("ns", 1.0, 5), ("wgan", 1.5, 1),
                                                    ("wgan", 2.5, 1), ("hinge", 0.5, 5)])
def test_alternating_update_eigenvalues(objective, lr, d_steps):
    """Paper, Section 2: with alpha = sqrt(n_d) h f'(0) (one G step), F_h' has eigenvalues
    1 - alpha^2/2 +- sqrt((1 - alpha^2/2)^2 - 1): on the unit circle for alpha <= 2, outside it beyond."""
    alpha = np.sqrt(d_steps) * lr * (1.0 if objective in ("wgan", "hinge") else 0.5)
    b = 1 - alpha**2 / 2
    expected = [b + np.sqrt(complex(b * b - 1)), b - np.sqrt(complex(b * b - 1))]
    s = dirac.setting(objective, scheme="alternating", lr=lr, d_steps=d_steps)
    values = np.linalg.eigvals(dirac.update_jacobian(s))
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex(expected), atol=1e-5)
    assert (np.max(np.abs(values)) > 1 + 1e-3) == (alpha > 2)


@pytest.mark.parametrize("objective, regulariser, scheme", [
    ("ns", "r1", "simultaneous"), ("mm", "r2", "alternating"), ("mm", "instance_noise", "simultaneous"),
    ("ns", "consensus", "alternating")])
def test_regularised_dirac_gan_converges(objective, regulariser, scheme):
    """Paper, Section 3: instance noise, zero-centred penalties and consensus optimisation converge."""
    verdict = dirac.classify(dirac.setting(objective, regulariser, scheme))
    assert verdict.converges and verdict.local == "contracting" and verdict.final_distance < dirac.TOLERANCE
    assert np.all(verdict.field_eigenvalues.real < 0)


@pytest.mark.parametrize("objective, regulariser, scheme, local", [
    ("mm", "none", "simultaneous", "expanding"), ("mm", "none", "alternating", "marginal"),
    ("wgan", "none", "alternating", "marginal"), ("wgan", "wgan_gp", "simultaneous", "expanding")])
def test_unregularised_gan_wgan_and_wgan_gp_do_not_converge(objective, regulariser, scheme, local):
    """Paper, Sections 2 and 3: unregularised GAN training, WGAN and WGAN-GP do not converge."""
    verdict = dirac.classify(dirac.setting(objective, regulariser, scheme))
    assert not verdict.converges and verdict.final_distance > 0.1
    assert verdict.local == local
    if (objective, regulariser, scheme) == ("mm", "none", "simultaneous"):
        assert verdict.spectral_radius == pytest.approx(np.sqrt(1 + 0.1**2 / 4), abs=1e-6)


def test_consensus_converges_only_for_small_steps():
    """|1 + h(-gamma a^2 +- i a)| < 1 iff h < 2 gamma a^2 / (gamma^2 a^4 + a^2) (0.587 for gamma = 0.3, a = 1/2)."""
    gamma, a = 0.3, 0.5
    critical = 2 * gamma * a**2 / (gamma**2 * a**4 + a**2)
    verdict = dirac.classify(dirac.setting("mm", "consensus"), lrs=(0.9 * critical, 1.1 * critical))
    assert verdict.radii[0] < 1 < verdict.radii[1]


def test_settings_are_validated():
    with pytest.raises(ValueError, match="autoencoder"):
        dirac.setting("began")
    with pytest.raises(ValueError, match="instance_noise"):
        dirac.setting("ns", "spectral_norm")
    with pytest.raises(ValueError, match="scheme"):
        dirac.setting("ns", scheme="extragradient")
    assert dirac.setting("wgan").clip == dirac.WGAN_CLIP and dirac.setting("wgan", "wgan_gp").clip == 0.0
