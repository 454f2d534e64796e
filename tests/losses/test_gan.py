"""GAN objectives against their closed forms in probabilities, and their gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.errors import ConfigError
from jaxgen.losses import gan

LOGITS_REAL = np.array([-3.0, -0.5, 0.0, 1.2, 4.0])
LOGITS_FAKE = np.array([2.0, -1.0, 0.3, -4.0, 0.0])


def _d(logits):
    return 1.0 / (1.0 + np.exp(-logits))


def test_discriminator_loss_closed_form():
    expected = -np.mean(np.log(_d(LOGITS_REAL))) - np.mean(np.log(1 - _d(LOGITS_FAKE)))
    assert float(gan.discriminator_loss(jnp.asarray(LOGITS_REAL), jnp.asarray(LOGITS_FAKE))) == pytest.approx(expected, rel=1e-6)


def test_generator_losses_closed_form():
    assert float(gan.minimax_generator_loss(jnp.asarray(LOGITS_FAKE))) == pytest.approx(
        np.mean(np.log(1 - _d(LOGITS_FAKE))), rel=1e-6)
    assert float(gan.non_saturating_generator_loss(jnp.asarray(LOGITS_FAKE))) == pytest.approx(
        -np.mean(np.log(_d(LOGITS_FAKE))), rel=1e-6)


def test_optimal_discriminator_value():
    """At D = 1/2 everywhere (p_g = p_data), V(D, G) = -log 4 (Goodfellow et al. 2014, Theorem 1)."""
    zeros = jnp.zeros(7)
    assert float(-gan.discriminator_loss(zeros, zeros)) == pytest.approx(-np.log(4.0), rel=1e-6)


def test_saturation_gradients():
    """d/dl of log(1 - sigmoid(l)) is -sigmoid(l) (vanishes when D rejects fakes); -log sigmoid(l) gives sigmoid(l) - 1."""
    logits = jnp.asarray(LOGITS_FAKE)
    n = len(LOGITS_FAKE)
    np.testing.assert_allclose(jax.grad(gan.minimax_generator_loss)(logits), -_d(LOGITS_FAKE) / n, rtol=1e-5)
    np.testing.assert_allclose(jax.grad(gan.non_saturating_generator_loss)(logits), (_d(LOGITS_FAKE) - 1) / n, rtol=1e-5)
    # D confidently rejects a fake (logit -10): minimax G gradient ~0, non-saturating ~-1.
    assert abs(float(jax.grad(lambda l: gan.minimax_generator_loss(l[None]))(jnp.float32(-10.0)))) < 1e-4
    assert float(jax.grad(lambda l: gan.non_saturating_generator_loss(l[None]))(jnp.float32(-10.0))) < -0.99


def test_unknown_generator_loss():
    with pytest.raises(ConfigError, match="loss.generator"):
        gan.generator_loss("wasserstein-ish")
