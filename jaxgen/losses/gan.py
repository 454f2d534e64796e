"""GAN objectives of Goodfellow et al. 2014, on discriminator logits.

D(x) = sigmoid(logit). With softplus(t) = log(1 + e^t):
  -log D(x)       = softplus(-logit)
  -log(1 - D(x))  = softplus(logit)
All functions take logits of shape [N] and return a scalar mean over the batch.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxgen.errors import ConfigError


def discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """-E[log D(x)] - E[log(1 - D(G(z)))]: D ascends V(D, G) of Algorithm 1."""
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def minimax_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """E[log(1 - D(G(z)))] (the saturating loss G descends in Algorithm 1)."""
    return -jnp.mean(jax.nn.softplus(fake_logits))


def non_saturating_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """-E[log D(G(z))] (the heuristic of Goodfellow et al. 2014, section 3)."""
    return jnp.mean(jax.nn.softplus(-fake_logits))


GENERATOR_LOSSES = {
    "minimax": minimax_generator_loss,
    "non_saturating": non_saturating_generator_loss,
}


def generator_loss(name: str):
    """The generator loss called `name` (config key `loss.generator`)."""
    if name not in GENERATOR_LOSSES:
        raise ConfigError(
            f"config key 'loss.generator' must be one of {sorted(GENERATOR_LOSSES)}, got {name!r}")
    return GENERATOR_LOSSES[name]
