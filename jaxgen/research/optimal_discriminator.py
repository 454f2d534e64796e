"""The optimal discriminator of a frozen generator (Goodfellow et al. 2014, Proposition 1 and Theorem 1).

For a fixed G with density ``p_g``, ``V(G, D) = E_{p_data} log D(x) + E_{p_g} log(1 - D(x))`` is
maximised by ``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` (Proposition 1), and at that D
``V(G, D*) = -log 4 + 2 JSD(p_data || p_g)`` (proof of Theorem 1).

The exact quantities take log-densities ``log_p(x [N, D]) -> [N]`` (e.g.
:meth:`jaxgen.data.toy.Mixture.log_prob`); the integrals :func:`value` and :func:`jsd` use the
trapezoid rule on a 1-D grid ``x [M, 1]`` that must cover the mass of both densities.
:func:`train_discriminator` fits a network to samples with Algorithm 1's D step alone (G frozen), so
that the trained D can be compared with D*.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn

from jaxgen.data.toy import Mixture
from jaxgen.engine import updates
from jaxgen.losses.gan import saturating_d_loss

LogDensity = Callable[[jax.Array], jax.Array]  # x [N, D] -> log p(x) [N]
Sampler = Callable[[jax.Array, int], jax.Array]  # (rng, n) -> x [n, D]


def affine_generator(a: float, b: float) -> Mixture:
    """The frozen generator ``G(z) = a z + b``, ``z ~ N(0, 1)``: its samples and exact density ``N(b, a^2)``."""
    return Mixture(f"affine_{a}_{b}", np.array([[b]], np.float64), abs(a))


def optimal_logits(log_p_data: LogDensity, log_p_g: LogDensity, x: jax.Array) -> jax.Array:
    """The logit of D*, ``log p_data(x) - log p_g(x)``: ``[N]`` for ``x [N, D]``."""
    return log_p_data(x) - log_p_g(x)


def optimal_discriminator(log_p_data: LogDensity, log_p_g: LogDensity, x: jax.Array) -> jax.Array:
    """``D*(x) = p_data(x) / (p_data(x) + p_g(x))`` ``[N]`` for ``x [N, D]`` (Proposition 1)."""
    return jax.nn.sigmoid(optimal_logits(log_p_data, log_p_g, x))


def value(d_logits: jax.Array, log_p_data: LogDensity, log_p_g: LogDensity, x: jax.Array) -> jax.Array:
    """``V(G, D) = ∫ p_data log D + p_g log(1 - D) dx``, D given by its logits ``[M]`` on the grid ``x [M, 1]``.

    The minibatch estimate of the same quantity is ``-saturating_d_loss(real_logits, fake_logits)``.
    """
    log_d, log_1m_d = -jax.nn.softplus(-d_logits), -jax.nn.softplus(d_logits)
    integrand = jnp.exp(log_p_data(x)) * log_d + jnp.exp(log_p_g(x)) * log_1m_d
    return jnp.trapezoid(integrand, x[:, 0])


def jsd(log_p_data: LogDensity, log_p_g: LogDensity, x: jax.Array) -> jax.Array:
    """Jensen-Shannon divergence (nats, in ``[0, log 2]``) on the grid ``x [M, 1]``."""
    lp, lq = log_p_data(x), log_p_g(x)
    lm = jnp.logaddexp(lp, lq) - math.log(2.0)  # log of the mixture (p + q) / 2
    integrand = 0.5 * (jnp.exp(lp) * (lp - lm) + jnp.exp(lq) * (lq - lm))
    return jnp.trapezoid(integrand, x[:, 0])


class MLPDiscriminator(nn.Module):
    """``x [N, D] -> logit [N]``: Dense + SiLU layers of widths ``hidden``, then a linear logit."""

    hidden: Sequence[int] = (32, 32)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.silu(nn.Dense(width)(x))
        return nn.Dense(1)(x)[:, 0]


def train_discriminator(rng: jax.Array, model: nn.Module, sample_data: Sampler, sample_g: Sampler, *,
                        steps: int, batch_size: int, learning_rate: float):
    """Trains ``model`` (``x [N, D] -> logits [N]``) to maximise V(G, D) with G frozen.

    Each step draws fresh ``batch_size`` samples of both distributions (step ``t`` uses
    ``fold_in(rng, t)``) and takes an Adam step on ``saturating_d_loss``, the learning rate
    cosine-decayed to 0 over ``steps``; all steps are one compiled ``lax.scan``.
    Returns ``(params, v [steps])``, ``v[t] = -d_loss`` the minibatch estimate of V(G, D) at step ``t``.
    """
    tx = optax.adam(optax.cosine_decay_schedule(learning_rate, steps))
    k_init, k_steps = jax.random.split(rng)

    def d_loss(params, real, fake):
        return saturating_d_loss(model.apply({"params": params}, real), model.apply({"params": params}, fake))

    def step(carry, t):
        params, opt_state = carry
        k_real, k_fake = jax.random.split(jax.random.fold_in(k_steps, t))
        loss, grads = jax.value_and_grad(d_loss)(params, sample_data(k_real, batch_size), sample_g(k_fake, batch_size))
        return updates.apply_optimizer(tx, grads, opt_state, params), -loss

    @jax.jit
    def run():
        params = model.init(k_init, sample_data(k_init, 1))["params"]
        (params, _), values = jax.lax.scan(step, (params, tx.init(params)), jnp.arange(steps))
        return params, values

    return run()
