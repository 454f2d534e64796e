"""GAN objectives (the rows of Lucic et al. 2018, "Are GANs Created Equal?", Table 1, plus hinge).

Every loss takes the discriminator's raw outputs ``[N]`` (logits, critic values or, for BEGAN,
autoencoder energies) and returns a scalar mean over the batch. With ``softplus(t) = log(1 + e^t)``
and ``D(x) = sigmoid(logit)``: ``-log D(x) = softplus(-logit)`` and ``-log(1 - D(x)) = softplus(logit)``.

===========  ==========================================  ==================================
 name         discriminator loss (descended)              generator loss (descended)
===========  ==========================================  ==================================
 ``mm``       -E log D(x) - E log(1 - D(G(z)))            E log(1 - D(G(z)))   (saturating)
 ``ns``       same as ``mm``                              -E log D(G(z))
 ``wgan``     E C(G(z)) - E C(x)                          -E C(G(z))
 ``lsgan``    1/2 E (C(x) - 1)^2 + 1/2 E C(G(z))^2        1/2 E (C(G(z)) - 1)^2
 ``hinge``    E relu(1 - C(x)) + E relu(1 + C(G(z)))      -E C(G(z))
 ``began``    E e(x) - k_t E e(G(z))                      E e(G(z))
===========  ==========================================  ==================================

WGAN-GP and DRAGAN are the ``wgan`` and ``ns`` objectives plus a penalty of
:mod:`jaxgen.losses.penalties`; WGAN's weight clipping is the optimizer transform
:func:`jaxgen.engine.optimizers.clip_params`. BEGAN's ``k_t`` control and convergence measure are
:func:`began_update` (Berthelot et al. 2017, eqs. 4 and 5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from jaxgen.config import Choice
from jaxgen.errors import ConfigError


class Objective(NamedTuple):
    """A row of the table: ``d_loss(real_out [N], fake_out [N])`` and ``g_loss(fake_out [N])``."""

    d_loss: Callable[[jax.Array, jax.Array], jax.Array]
    g_loss: Callable[[jax.Array], jax.Array]


def saturating_d_loss(real: jax.Array, fake: jax.Array) -> jax.Array:
    """-E[log D(x)] - E[log(1 - D(G(z)))]: D ascends V(D, G) (Goodfellow et al. 2014, Algorithm 1)."""
    return jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake))


def minimax_g_loss(fake: jax.Array) -> jax.Array:
    """E[log(1 - D(G(z)))]: the saturating loss G descends in Algorithm 1."""
    return -jnp.mean(jax.nn.softplus(fake))


def non_saturating_g_loss(fake: jax.Array) -> jax.Array:
    """-E[log D(G(z))]: the heuristic of Goodfellow et al. 2014, section 3."""
    return jnp.mean(jax.nn.softplus(-fake))


def wasserstein_d_loss(real: jax.Array, fake: jax.Array) -> jax.Array:
    """E[C(G(z))] - E[C(x)]: the critic maximises the Kantorovich-Rubinstein dual (Arjovsky et al. 2017)."""
    return jnp.mean(fake) - jnp.mean(real)


def wasserstein_g_loss(fake: jax.Array) -> jax.Array:
    """-E[C(G(z))] (also the hinge generator loss of Lim & Ye 2017 / Miyato et al. 2018)."""
    return -jnp.mean(fake)


def least_squares_d_loss(real: jax.Array, fake: jax.Array) -> jax.Array:
    """1/2 E[(C(x) - 1)^2] + 1/2 E[C(G(z))^2]: LSGAN with the 0-1 coding a = 0, b = c = 1 (Mao et al. 2017)."""
    return 0.5 * jnp.mean((real - 1.0) ** 2) + 0.5 * jnp.mean(fake**2)


def least_squares_g_loss(fake: jax.Array) -> jax.Array:
    """1/2 E[(C(G(z)) - 1)^2]."""
    return 0.5 * jnp.mean((fake - 1.0) ** 2)


def hinge_d_loss(real: jax.Array, fake: jax.Array) -> jax.Array:
    """E[relu(1 - C(x))] + E[relu(1 + C(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
    return jnp.mean(jax.nn.relu(1.0 - real)) + jnp.mean(jax.nn.relu(1.0 + fake))


def began_d_loss(real_energy: jax.Array, fake_energy: jax.Array, k: jax.Array) -> jax.Array:
    """E[e(x)] - k_t E[e(G(z))], ``e`` the autoencoder's per-example L1 reconstruction energy."""
    return jnp.mean(real_energy) - k * jnp.mean(fake_energy)


def began_g_loss(fake_energy: jax.Array) -> jax.Array:
    """E[e(G(z))]."""
    return jnp.mean(fake_energy)


def began_update(k: jax.Array, real_energy: jax.Array, fake_energy: jax.Array, gamma: float, lambda_k: float):
    """BEGAN's proportional control and convergence measure; returns ``(k_{t+1}, M_global)``.

    ``k_{t+1} = clip(k_t + lambda_k (gamma e_real - e_fake), 0, 1)`` and
    ``M_global = e_real + |gamma e_real - e_fake|`` with batch means ``e_real``, ``e_fake``.
    """
    e_real, e_fake = jnp.mean(real_energy), jnp.mean(fake_energy)
    balance = gamma * e_real - e_fake
    return jnp.clip(k + lambda_k * balance, 0.0, 1.0), e_real + jnp.abs(balance)


OBJECTIVES = {
    "mm": Objective(saturating_d_loss, minimax_g_loss),
    "ns": Objective(saturating_d_loss, non_saturating_g_loss),
    "wgan": Objective(wasserstein_d_loss, wasserstein_g_loss),
    "lsgan": Objective(least_squares_d_loss, least_squares_g_loss),
    "hinge": Objective(hinge_d_loss, wasserstein_g_loss),
    # BEGAN's d_loss takes a third argument, k_t (the trainer's state; see began_update).
    "began": Objective(began_d_loss, began_g_loss),
}


def uses_began(name) -> bool:
    """Whether ``loss.objective`` (a name, or a swept :class:`jaxgen.config.Choice` of names) includes BEGAN."""
    return "began" in (name.options if isinstance(name, Choice) else (name,))


def d_loss_fn(name) -> Callable[[jax.Array, jax.Array, jax.Array], jax.Array]:
    """D's loss as ``(real_out, fake_out, k) -> scalar`` (``k`` is read by BEGAN only); a swept
    :class:`jaxgen.config.Choice` of objectives becomes a ``lax.switch`` on its traced index."""
    if isinstance(name, Choice):
        branches = [d_loss_fn(option) for option in name.options]
        return lambda real, fake, k: jax.lax.switch(name.index, branches, real, fake, k)
    d_loss = objective(name).d_loss
    return d_loss if name == "began" else (lambda real, fake, k: d_loss(real, fake))


def g_loss_fn(name) -> Callable[[jax.Array], jax.Array]:
    """G's loss as ``fake_out -> scalar``, for a name or a swept Choice (as :func:`d_loss_fn`)."""
    if isinstance(name, Choice):
        branches = [objective(option).g_loss for option in name.options]
        return lambda fake: jax.lax.switch(name.index, branches, fake)
    return objective(name).g_loss


def objective(name: str) -> Objective:
    """The objective called ``name`` (config key ``loss.objective``)."""
    if name not in OBJECTIVES:
        raise ConfigError(f"config key 'loss.objective' must be one of {sorted(OBJECTIVES)}, got {name!r}")
    return OBJECTIVES[name]
