"""Hessian-vector products, Lanczos and stochastic Lanczos quadrature against dense Hessians.

The references are ``jax.hessian`` of the loss of the flattened parameters (a few hundred of them),
``numpy.linalg.eigvalsh`` of it in float64, central differences of gradients, and the exact variance of
Hutchinson's estimator for the Monte-Carlo tolerance of the density's moments.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jaxgen.errors import JaxgenError
from jaxgen.research import hessian
from tests.research.test_landscape import mse_problem, problem


@functools.cache
def dense_hessian(name: str) -> np.ndarray:
    """The float64 [P, P] Hessian of the ``mse`` loss of net ``name``, symmetrised."""
    params, loss_fn = mse_problem(name)
    flat, unravel = ravel_pytree(params)
    h = np.asarray(jax.jit(jax.hessian(lambda v: loss_fn(unravel(v))))(flat), np.float64)
    return (h + h.T) / 2


@functools.cache
def dense_eigenvalues(name: str) -> np.ndarray:
    return np.linalg.eigvalsh(dense_hessian(name))


def _vector(params, seed):
    """A standard normal pytree like ``params``."""
    flat, unravel = ravel_pytree(params)
    return unravel(jax.random.normal(jax.random.key(seed), flat.shape))


@pytest.mark.parametrize("name", ["mlp", "conv"])
def test_hvp_equals_dense_hessian_times_v(name):
    params, loss_fn = mse_problem(name)
    v = _vector(params, 1)
    flat_v = np.asarray(ravel_pytree(v)[0])
    want = dense_hessian(name) @ flat_v
    got = ravel_pytree(jax.jit(hessian.hvp, static_argnums=0)(loss_fn, params, v))[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    op = hessian.hvp_operator(loss_fn, params)
    assert op.dim == len(flat_v) and op.dtype == jnp.float32
    np.testing.assert_allclose(op.matvec(jnp.asarray(flat_v)), want, rtol=1e-4, atol=1e-5 * np.abs(want).max())
    assert jax.tree.structure(op.unravel(jnp.asarray(flat_v))) == jax.tree.structure(params)


def test_hvp_matches_gradient_differences():
    """H v = (g(p + eps v) - g(p - eps v)) / (2 eps) + O(eps^2) for a unit v, on the dict loss's "ce" entry."""
    params, loss_fn = problem("mlp")
    v = _vector(params, 2)
    v = jax.tree.map(lambda u: u / jnp.linalg.norm(ravel_pytree(v)[0]), v)
    grad = jax.jit(jax.grad(lambda p: loss_fn(p)["ce"]))
    eps = 1e-2
    shifted = [grad(jax.tree.map(lambda p, u: p + s * eps * u, params, v)) for s in (1.0, -1.0)]
    fd = ravel_pytree(jax.tree.map(lambda a, b: (a - b) / (2 * eps), *shifted))[0]
    got = ravel_pytree(hessian.hvp(loss_fn, params, v, key="ce"))[0]
    assert float(jnp.linalg.norm(got - fd)) < 1e-3 * float(jnp.linalg.norm(got))


def test_loss_selection_errors():
    params, loss_fn = problem("mlp")
    with pytest.raises(JaxgenError, match=r"entries \('ce', 'mse'\).*key="):
        hessian.hvp_operator(loss_fn, params)
    with pytest.raises(JaxgenError, match="entries"):
        hessian.hvp_operator(loss_fn, params, key="g_loss")
    with pytest.raises(JaxgenError, match="leave key unset"):
        hessian.hvp_operator(mse_problem("mlp")[1], params, key="mse")
    with pytest.raises(ValueError, match="num_iters"):
        hessian.lanczos(lambda v: v, 5, 6, jax.random.key(0))
    with pytest.raises(ValueError, match="probe"):
        hessian.lanczos(lambda v: v, 5, 2, jax.random.key(0), probe="uniform")


def test_lanczos_basis_and_tridiagonal_are_exact():
    """V V^T = I and V H V^T = T for the basis and coefficients Lanczos returns."""
    h = dense_hessian("mlp")
    m = 30
    tri = hessian.lanczos(lambda v: jnp.asarray(h, jnp.float32) @ v, len(h), m, jax.random.key(3), return_basis=True)
    basis = np.asarray(tri.basis, np.float64)
    assert tri.alphas.shape == (m,) and tri.betas.shape == (m - 1,) and tri.alphas.dtype == np.float64
    np.testing.assert_allclose(basis @ basis.T, np.eye(m), atol=1e-5)
    t = np.diag(tri.alphas) + np.diag(tri.betas, 1) + np.diag(tri.betas, -1)
    np.testing.assert_allclose(basis @ h @ basis.T, t, atol=1e-4 * np.abs(h).max())


def test_lanczos_restarts_when_the_krylov_space_is_exhausted():
    """diag(3, -1, 2, 0, ..., 0): a Krylov space of dimension 4; dim steps still give every eigenvalue."""
    eigenvalues = np.array([3.0, -1.0, 2.0, 0, 0, 0, 0, 0, 0, 0])
    diag = jnp.asarray(eigenvalues, jnp.float32)
    tri = hessian.lanczos(lambda v: diag * v, 10, 10, jax.random.key(4), probe="rademacher")
    assert np.all(np.isfinite(tri.alphas)) and np.any(tri.betas == 0.0)
    np.testing.assert_allclose(hessian.ritz(tri)[0], np.sort(eigenvalues), atol=1e-5)


def test_top_eigenvalues_match_eigvalsh():
    params, loss_fn = mse_problem("mlp")
    want = dense_eigenvalues("mlp")
    scale = np.abs(want).max()
    got = hessian.top_eigenvalues(loss_fn, params, 3, jax.random.key(5), num_iters=80, eigenvectors=True)
    np.testing.assert_allclose(got.largest, want[::-1][:3], rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(got.smallest, want[:3], rtol=1e-3, atol=1e-4 * scale)
    np.testing.assert_allclose(got.values, want[np.argsort(-np.abs(want))][:3], rtol=1e-3, atol=1e-4 * scale)
    h = dense_hessian("mlp")
    for value, bound, vector in zip(got.values, got.residuals, got.vectors):
        x = np.asarray(ravel_pytree(vector)[0], np.float64)
        assert np.linalg.norm(x) == pytest.approx(1.0, abs=1e-5)
        assert np.linalg.norm(h @ x - value * x) < bound + 1e-3 * scale  # Lanczos' bound holds
        assert bound < 1e-2 * scale  # and says that the pair converged


def test_all_eigenvalues_with_num_iters_equal_to_dim():
    params, loss_fn = mse_problem("conv")
    want = dense_eigenvalues("conv")
    got = hessian.top_eigenvalues(loss_fn, params, len(want), jax.random.key(6), num_iters=len(want))
    np.testing.assert_allclose(np.sort(got.values), want, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize("probe", ["rademacher", "gaussian"])
def test_spectral_density_moments(probe):
    """The density integrates to 1 and its moments estimate trace(H)/P and |H|_F^2/P within 4 standard errors."""
    h = dense_hessian("conv")
    dim, draws = len(h), 12
    params, loss_fn = mse_problem("conv")
    op = hessian.hvp_operator(loss_fn, params)
    got = hessian.spectral_density(op.matvec, op.dim, jax.random.key(7), num_draws=draws, num_iters=40, probe=probe)
    assert got.nodes.shape == got.weights.shape == (draws, 40)
    np.testing.assert_allclose(got.weights.sum(1), 1.0, atol=1e-6)
    assert np.trapezoid(got.density, got.grid) == pytest.approx(1.0, abs=1e-3)

    h2 = h @ h
    for power, a in ((1, h), (2, h2)):
        # Var(z^T A z) is 2 (|A|_F^2 - sum A_ii^2) for z Rademacher (v = z / sqrt(P) exactly) and 2 |A|_F^2
        # for z Gaussian, which bounds the variance of P v^T A v for v = z / |z| (uniform on the sphere).
        var = 2 * ((a ** 2).sum() - (np.diag(a) ** 2).sum() * (probe == "rademacher"))
        tol = 4 * np.sqrt(var / draws) / dim
        want = np.trace(a) / dim
        assert (got.weights * got.nodes ** power).sum(1).mean() == pytest.approx(want, abs=tol)
        smoothing = got.sigma ** 2 if power == 2 else 0.0
        assert np.trapezoid(got.density * got.grid ** power, got.grid) == pytest.approx(want + smoothing, abs=tol)


def test_spectral_density_of_a_known_spectrum():
    """With num_iters = dim the quadrature is exact: the nodes are the eigenvalues of a diagonal operator."""
    eigenvalues = np.linspace(-2.0, 5.0, 12)
    diag = jnp.asarray(eigenvalues, jnp.float32)
    grid = np.linspace(-4.0, 7.0, 500)
    got = hessian.spectral_density(lambda v: diag * v, 12, jax.random.key(8), num_draws=3, num_iters=12,
                                   grid=grid, sigma=0.2)
    np.testing.assert_allclose(got.nodes, np.broadcast_to(eigenvalues, (3, 12)), atol=1e-5)
    np.testing.assert_array_equal(got.grid, grid)
    assert got.sigma == 0.2
