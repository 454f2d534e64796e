"""The game Jacobian against closed forms (the Dirac-GAN, Mescheder et al. 2018), numpy.linalg.eig and
finite differences.

Closed forms, derived from the Dirac-GAN with jaxgen's sign convention (D's output a logit of "real";
``a = f'(0)``: 1/2 for the logistic objectives, 1 for WGAN and hinge). Near (0, 0) the field is
``v_theta = a psi``, ``v_psi = -a theta`` plus the regulariser's term in ``v_psi``, so
``J = [[0, a], [-a, -c]]``, ``lambda^2 + c lambda + a^2 = 0``, ``lambda = (-c +- sqrt(c^2 - 4 a^2)) / 2``:

- no regulariser: ``c = 0``, ``lambda = +- i a`` (paper, Section 2);
- R1 / R2 with jaxgen's ``weight * 1/2 E||grad D||^2 = gamma/2 psi^2``: ``c = gamma``
  (the paper's ``-gamma/2 +- sqrt(gamma^2/4 - f'(0)^2)``, Section 3);
- instance noise of std sigma, logistic objectives: ``d^2/dpsi^2`` of the D loss at 0 is
  ``E[sigmoid'(0) e^2]`` on each of the real and fake terms, ``c = 2 sigma^2 / 4 = -2 f''(0) sigma^2``
  with ``f''(0) = -1/4``: the paper's ``f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2)`` (Section 3);
- consensus with gamma: ``J - gamma J^T J = J - gamma a^2 I`` at a stationary point,
  ``lambda = -gamma a^2 +- i a``.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from jax.flatten_util import ravel_pytree

from jaxgen.losses import gan
from jaxgen.research import dirac, game

A = {"mm": 0.5, "ns": 0.5, "wgan": 1.0, "hinge": 1.0}  # f'(0)


def _roots(c, a):
    """The roots of lambda^2 + c lambda + a^2, complex."""
    disc = np.sqrt(complex(c * c - 4 * a * a))
    return np.array([(-c + disc) / 2, (-c - disc) / 2])


def _assert_same_spectrum(got, expected, atol=1e-5):
    np.testing.assert_allclose(np.sort_complex(np.asarray(got)), np.sort_complex(np.asarray(expected)), atol=atol)


def _dirac_eigenvalues(s, method="dense"):
    return game.eigenvalues(*dirac.losses(s), dirac.EQUILIBRIUM, k=2, method=method)


@pytest.mark.parametrize("objective", sorted(A))
def test_dirac_unregularised_eigenvalues_are_imaginary(objective):
    values = _dirac_eigenvalues(dirac.setting(objective))
    _assert_same_spectrum(values, [1j * A[objective], -1j * A[objective]])
    _assert_same_spectrum(_dirac_eigenvalues(dirac.setting(objective), "arnoldi"), values)


@pytest.mark.parametrize("objective, regulariser, gamma", [
    ("ns", "r1", 0.3), ("mm", "r2", 0.3), ("ns", "r1", 2.5), ("wgan", "r1", 1.0), ("hinge", "r2", 3.0)])
def test_dirac_zero_centred_penalty_eigenvalues(objective, regulariser, gamma):
    """gamma < 2 f'(0): a damped spiral; gamma > 2 f'(0): two negative real eigenvalues."""
    values = _dirac_eigenvalues(dirac.setting(objective, regulariser, weight=gamma))
    _assert_same_spectrum(values, _roots(gamma, A[objective]))
    assert np.all(values.real < 0)


@pytest.mark.parametrize("objective, sigma", [("mm", 1.0), ("ns", 0.5), ("ns", 2.0)])
def test_dirac_instance_noise_eigenvalues(objective, sigma):
    f2 = -0.25  # f''(0) of f(t) = -log(1 + e^-t)
    disc = np.sqrt(complex(f2**2 * sigma**4 - A[objective] ** 2))
    expected = [f2 * sigma**2 + disc, f2 * sigma**2 - disc]
    values = _dirac_eigenvalues(dirac.setting(objective, "instance_noise", noise_std=sigma))
    _assert_same_spectrum(values, expected)
    _assert_same_spectrum(expected, _roots(-4 * f2 * sigma**2 / 2, A[objective]))  # the two derivations agree


@pytest.mark.parametrize("objective, gamma", [("mm", 0.3), ("wgan", 0.3), ("ns", 2.0)])
def test_dirac_consensus_eigenvalues(objective, gamma):
    a = A[objective]
    _assert_same_spectrum(_dirac_eigenvalues(dirac.setting(objective, "consensus", weight=gamma)),
                          [-gamma * a * a + 1j * a, -gamma * a * a - 1j * a])


class _MLP(nn.Module):
    widths: tuple
    out: int

    @nn.compact
    def __call__(self, x):
        for width in self.widths:
            x = nn.tanh(nn.Dense(width)(x))
        return nn.Dense(self.out)(x)


@pytest.fixture(scope="module")
def mlp_game():
    """G: 2 -> 16 -> 2, D: 2 -> 16 -> 16 -> 1 (419 parameters), the NS objective on a fixed batch of 32
    latents and 32 real points, at a random initialisation: ``(g_loss, d_loss, params, J, matvec)``."""
    g_net, d_net = _MLP((16,), 2), _MLP((16, 16), 1)
    kz, kr, kg, kd = jax.random.split(jax.random.key(0), 4)
    z, real = jax.random.normal(kz, (32, 2)), jax.random.normal(kr, (32, 2)) + 1.0
    objective = gan.objective("ns")

    def d_fn(p):
        return lambda x: d_net.apply({"params": p}, x)[:, 0]

    def d_loss(params):
        fake, d = g_net.apply({"params": params["g"]}, z), d_fn(params["d"])
        return objective.d_loss(d(real), d(fake))

    def g_loss(params):
        return objective.g_loss(d_fn(params["d"])(g_net.apply({"params": params["g"]}, z)))

    params = {"g": g_net.init(kg, z)["params"], "d": d_net.init(kd, real)["params"]}
    matvec, dim = game.jvp_operator(g_loss, d_loss, params)
    assert dim == 419
    return g_loss, d_loss, params, game.jacobian(g_loss, d_loss, params), matvec


def test_jacobian_matches_finite_differences(mlp_game):
    g_loss, d_loss, params, jac, _ = mlp_game
    assert jac.shape == (419, 419) and jac.dtype == np.float64
    assert np.linalg.norm(jac - jac.T) > 0.1 * np.linalg.norm(jac)  # a game: J is far from symmetric
    x0, unravel = ravel_pytree((params["g"], params["d"]))  # G first, as game.jacobian orders them

    def flat_field(x):
        g, d = unravel(x)
        v = game.vector_field(g_loss, d_loss)({"g": g, "d": d})
        return ravel_pytree((v["g"], v["d"]))[0]

    field = jax.jit(flat_field)
    eps = 1e-2
    for seed in range(3):
        u = np.random.default_rng(seed).standard_normal(x0.size)
        u /= np.linalg.norm(u)
        fd = (np.asarray(field(x0 + eps * u), np.float64) - np.asarray(field(x0 - eps * u), np.float64)) / (2 * eps)
        np.testing.assert_allclose(fd, jac @ u, atol=2e-3 * np.linalg.norm(jac @ u))


def test_jvp_operator_equals_dense_product(mlp_game):
    *_, jac, matvec = mlp_game
    for seed in range(3):
        v = np.random.default_rng(seed).standard_normal(jac.shape[0])
        np.testing.assert_allclose(matvec(v), jac @ v, rtol=1e-4, atol=1e-5 * np.linalg.norm(jac @ v))


def test_arnoldi_finds_the_leading_eigenvalues(mlp_game):
    """60 matvecs of a 419-dim operator give the 6 eigenvalues of largest modulus of numpy.linalg.eig(J)."""
    *_, jac, matvec = mlp_game
    exact = np.linalg.eigvals(jac)
    exact = exact[np.argsort(-np.abs(exact))][:6]
    values, residuals = game.leading_eigenvalues(matvec, jac.shape[0], 6, krylov_dim=60)
    scale = np.abs(exact[0])
    np.testing.assert_allclose(values, exact, atol=1e-4 * scale)
    assert np.all(residuals < 1e-4 * scale)
    again = game.leading_eigenvalues(matvec, jac.shape[0], 6, krylov_dim=60)
    np.testing.assert_array_equal(again[0], values)  # seeded: deterministic


def test_dense_jacobian_refuses_large_games(mlp_game):
    g_loss, d_loss, params, *_ = mlp_game
    with pytest.raises(ValueError, match=r"419 parameters.*jvp_operator.*leading_eigenvalues"):
        game.jacobian(g_loss, d_loss, params, max_params=100)
    with pytest.raises(ValueError, match="needs k"):
        game.eigenvalues(g_loss, d_loss, params, method="arnoldi")


def test_arnoldi_on_a_known_non_symmetric_spectrum():
    """A = V diag(lambda) V^-1 (real, via 2x2 rotation blocks for the complex pairs): the outliers of largest
    modulus and of largest real part come out of a 40-vector Krylov space of a 300-dim operator."""
    rng = np.random.default_rng(0)
    blocks = [np.array([[-1.0, 6.0], [-6.0, -1.0]]), np.array([[2.0, 3.0], [-3.0, 2.0]]), np.diag([-5.5, 4.0])]
    bulk = rng.uniform(-1.0, 1.0, 294)
    diag = np.zeros((300, 300))
    for i, block in enumerate(blocks):
        diag[2 * i:2 * i + 2, 2 * i:2 * i + 2] = block
    diag[6:, 6:] = np.diag(bulk)
    basis = np.eye(300) + 0.1 * rng.standard_normal((300, 300))
    matrix = basis @ diag @ np.linalg.inv(basis)

    values, residuals = game.leading_eigenvalues(lambda v: matrix @ v, 300, 4, krylov_dim=40)
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex([-1 + 6j, -1 - 6j, -5.5, 4.0]), atol=1e-6)
    assert np.all(residuals < 1e-6)
    values, _ = game.leading_eigenvalues(lambda v: matrix @ v, 300, 3, krylov_dim=40, which="real")
    np.testing.assert_allclose(np.sort_complex(values), np.sort_complex([2 + 3j, 2 - 3j, 4.0]), atol=1e-6)


def _toy_game():
    """L_G = g.d + |g|^2 / 2, L_D = -g.d + sum d^4 on 2-vectors: v = (-(d + g), g - 4 d^3),
    J = [[-I, -I], [I, -12 diag(d^2)]]."""
    def g_loss(p):
        return jnp.sum(p["g"] * p["d"]) + 0.5 * jnp.sum(p["g"] ** 2)

    def d_loss(p):
        return -jnp.sum(p["g"] * p["d"]) + jnp.sum(p["d"] ** 4)

    g, d = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    jac = np.block([[-np.eye(2), -np.eye(2)], [np.eye(2), -12 * np.diag(d**2)]])
    return g_loss, d_loss, {"g": jnp.asarray(g), "d": jnp.asarray(d)}, g, d, jac


def test_gradient_step_schemes():
    """Simultaneous: params + h v(params). Alternating: D first, then G against the new D; clipping of D."""
    g_loss, d_loss, params, g, d, _ = _toy_game()
    h = 0.1
    simultaneous = game.gradient_step(g_loss, d_loss, h)(params)
    np.testing.assert_allclose(simultaneous["g"], g - h * (d + g), rtol=1e-6)
    np.testing.assert_allclose(simultaneous["d"], d - h * (-g + 4 * d**3), rtol=1e-6)
    d1 = d - h * (-g + 4 * d**3)
    d2 = d1 - h * (-g + 4 * d1**3)
    alternating = game.gradient_step(g_loss, d_loss, h, "alternating", d_steps=2)(params)
    np.testing.assert_allclose(alternating["d"], d2, rtol=1e-6)
    np.testing.assert_allclose(alternating["g"], g - h * (d2 + g), rtol=1e-6)
    clipped = game.gradient_step(g_loss, d_loss, h, d_clip=0.3)(params)
    np.testing.assert_allclose(clipped["d"], np.clip(d - h * (-g + 4 * d**3), -0.3, 0.3), rtol=1e-6)
    with pytest.raises(ValueError, match="d_steps"):
        game.gradient_step(g_loss, d_loss, h, d_steps=2)


def test_jacobian_and_consensus_of_a_toy_game():
    """The dense J against the hand-derived one, and consensus' field against v - gamma J^T v
    (grad 1/2 ||v||^2 = J^T v)."""
    g_loss, d_loss, params, g, d, jac = _toy_game()
    np.testing.assert_allclose(game.jacobian(g_loss, d_loss, params), jac, rtol=1e-6)
    v = np.concatenate([-(d + g), g - 4 * d**3])
    co = game.vector_field(*game.consensus(g_loss, d_loss, 0.7))(params)
    np.testing.assert_allclose(np.concatenate([co["g"], co["d"]]), v - 0.7 * jac.T @ v, rtol=1e-5)
