"""jaxgen.nn.cotangent.stored_cotangent: the identity for values and every order of derivative, with a barrier on the
cotangent in the compiled backward pass."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.nn.cotangent import stored_cotangent


def f(x):
    return jnp.sum(jnp.sin(x) ** 2 * jnp.arange(1.0, 1.0 + x.size))


def g(x):
    return f(stored_cotangent(x))


def test_values_and_derivatives_of_every_order_are_the_identitys():
    x, t = jnp.linspace(-1.0, 1.0, 5), jnp.linspace(0.5, 2.0, 5)
    np.testing.assert_array_equal(stored_cotangent(x), x)
    k = jnp.arange(1.0, 6.0)
    np.testing.assert_allclose(jax.grad(g)(x), k * jnp.sin(2 * x), rtol=1e-6)  # d/dx sin^2 = sin 2x
    np.testing.assert_allclose(jax.jvp(g, (x,), (t,))[1], jnp.sum(k * jnp.sin(2 * x) * t), rtol=1e-6)
    np.testing.assert_allclose(jax.hessian(g)(x), jnp.diag(2 * k * jnp.cos(2 * x)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(jax.jvp(jax.grad(g), (x,), (t,))[1], 2 * k * jnp.cos(2 * x) * t, rtol=1e-5)


def test_the_backward_pass_stores_the_cotangent_behind_a_barrier():
    x = jnp.ones(4)
    assert "optimization_barrier" in jax.jit(jax.grad(g)).lower(x).as_text()
    assert "optimization_barrier" not in jax.jit(g).lower(x).as_text()  # the forward pass is untouched
