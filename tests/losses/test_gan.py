"""GAN objectives against their closed forms (in probabilities where D is a classifier), and their gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.errors import ConfigError
from jaxgen.losses import gan, zoo

LOGITS_REAL = np.array([-3.0, -0.5, 0.0, 1.2, 4.0])
LOGITS_FAKE = np.array([2.0, -1.0, 0.3, -4.0, 0.0])
REAL, FAKE = jnp.asarray(LOGITS_REAL), jnp.asarray(LOGITS_FAKE)


def _d(logits):
    return 1.0 / (1.0 + np.exp(-logits))


# name -> (D loss, G loss) written from the papers' definitions, in NumPy.
CLOSED_FORMS = {
    "mm": (-np.mean(np.log(_d(LOGITS_REAL))) - np.mean(np.log(1 - _d(LOGITS_FAKE))),
           np.mean(np.log(1 - _d(LOGITS_FAKE)))),
    "ns": (-np.mean(np.log(_d(LOGITS_REAL))) - np.mean(np.log(1 - _d(LOGITS_FAKE))),
           -np.mean(np.log(_d(LOGITS_FAKE)))),
    "wgan": (np.mean(LOGITS_FAKE) - np.mean(LOGITS_REAL), -np.mean(LOGITS_FAKE)),
    "lsgan": (0.5 * np.mean((LOGITS_REAL - 1) ** 2) + 0.5 * np.mean(LOGITS_FAKE**2),
              0.5 * np.mean((LOGITS_FAKE - 1) ** 2)),
    "hinge": (np.mean(np.maximum(0, 1 - LOGITS_REAL)) + np.mean(np.maximum(0, 1 + LOGITS_FAKE)),
              -np.mean(LOGITS_FAKE)),
}


@pytest.mark.parametrize("name", sorted(CLOSED_FORMS))
def test_objective_closed_form(name):
    objective = gan.objective(name)
    d_expected, g_expected = CLOSED_FORMS[name]
    assert float(objective.d_loss(REAL, FAKE)) == pytest.approx(d_expected, rel=1e-6)
    assert float(objective.g_loss(FAKE)) == pytest.approx(g_expected, rel=1e-6)


def test_every_zoo_row_has_a_known_objective():
    assert set(gan.OBJECTIVES) == set(CLOSED_FORMS) | {"began"}
    for name in zoo.ROWS:
        zoo.validate(zoo.loss_config(name))


def test_began_losses_and_control():
    """Berthelot et al. 2017, eqs. 4-5: L_D = e_real - k e_fake, L_G = e_fake, k clipped to [0, 1], M_global."""
    e_real, e_fake = jnp.asarray([0.2, 0.4]), jnp.asarray([0.1, 0.3])  # means 0.3 and 0.2
    assert float(gan.began_d_loss(e_real, e_fake, 0.25)) == pytest.approx(0.3 - 0.25 * 0.2)
    assert float(gan.objective("began").g_loss(e_fake)) == pytest.approx(0.2)
    k, m = gan.began_update(jnp.float32(0.5), e_real, e_fake, gamma=0.5, lambda_k=0.1)
    assert float(k) == pytest.approx(0.5 + 0.1 * (0.5 * 0.3 - 0.2))
    assert float(m) == pytest.approx(0.3 + abs(0.5 * 0.3 - 0.2))
    k_low, _ = gan.began_update(jnp.float32(0.0), e_real, e_fake, gamma=0.5, lambda_k=10.0)
    k_high, _ = gan.began_update(jnp.float32(1.0), e_real, e_fake * 0, gamma=0.5, lambda_k=10.0)
    assert float(k_low) == 0.0 and float(k_high) == 1.0


def test_optimal_discriminator_value():
    """At D = 1/2 everywhere (p_g = p_data), V(D, G) = -log 4 (Goodfellow et al. 2014, Theorem 1)."""
    zeros = jnp.zeros(7)
    assert float(-gan.saturating_d_loss(zeros, zeros)) == pytest.approx(-np.log(4.0), rel=1e-6)


def test_saturation_gradients():
    """d/dl of log(1 - sigmoid(l)) is -sigmoid(l) (vanishes when D rejects fakes); -log sigmoid(l) gives sigmoid(l) - 1."""
    n = len(LOGITS_FAKE)
    np.testing.assert_allclose(jax.grad(gan.minimax_g_loss)(FAKE), -_d(LOGITS_FAKE) / n, rtol=1e-5)
    np.testing.assert_allclose(jax.grad(gan.non_saturating_g_loss)(FAKE), (_d(LOGITS_FAKE) - 1) / n, rtol=1e-5)
    # D confidently rejects a fake (logit -10): minimax G gradient ~0, non-saturating ~-1.
    assert abs(float(jax.grad(lambda l: gan.minimax_g_loss(l[None]))(jnp.float32(-10.0)))) < 1e-4
    assert float(jax.grad(lambda l: gan.non_saturating_g_loss(l[None]))(jnp.float32(-10.0))) < -0.99


def test_bad_loss_configs_name_the_key():
    with pytest.raises(ConfigError, match="loss.objective"):
        gan.objective("wasserstein-ish")
    with pytest.raises(ConfigError, match="unknown loss"):
        zoo.loss_config("wgan-gp")
    bad = zoo.loss_config("wgan_gp")
    bad.penalty_weight = 0.0
    with pytest.raises(ConfigError, match="loss.penalty_weight"):
        zoo.validate(bad)
    bad = zoo.loss_config("r1")
    bad.penalty = "r3"
    with pytest.raises(ConfigError, match="loss.penalty"):
        zoo.validate(bad)
