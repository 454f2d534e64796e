"""Optimizers from config: WGAN's weight clipping and the lazy-regularisation correction of Adam."""

import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxgen.engine import optimizers
from jaxgen.errors import ConfigError


def test_clip_params_keeps_weights_in_the_box():
    tx = optimizers.make(optimizers.sgd_config(1.0, 0.0), "optimizer.d", clip=0.01)
    params = {"w": jnp.asarray([0.005, -0.02, 0.0, 0.5])}
    grads = {"w": jnp.asarray([-1.0, 0.001, 0.003, 0.0])}
    updates, _ = tx.update(grads, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(new["w"], np.clip(params["w"] - grads["w"], -0.01, 0.01), rtol=1e-6)


def test_lazy_regularisation_corrects_adam():
    """StyleGAN2: with a penalty every N steps, lr *= c, beta1 **= c, beta2 **= c, c = N / (N + 1)."""
    cfg = optimizers.adam_config(2e-3, 0.5, 0.99)
    params = {"w": jnp.ones(3)}
    grads = [{"w": jnp.asarray([0.3, -1.0, 2.0])}, {"w": jnp.asarray([-0.5, 0.2, 1.0])}]
    c = 4 / 5
    ours, reference = optimizers.make(cfg, "optimizer.d", lazy_interval=4), optax.adam(2e-3 * c, 0.5**c, 0.99**c)
    s1, s2 = ours.init(params), reference.init(params)
    first = None
    for g in grads:
        u1, s1 = ours.update(g, s1, params)
        u2, s2 = reference.update(g, s2, params)
        np.testing.assert_allclose(u1["w"], u2["w"], rtol=1e-6)
        first = u1 if first is None else first
    plain = optimizers.make(cfg, "optimizer.d")
    uncorrected, _ = plain.update(grads[0], plain.init(params), params)
    assert not np.allclose(uncorrected["w"], first["w"])


def test_bad_optimizer_config_names_the_key():
    with pytest.raises(ConfigError, match="optimizer.g.name"):
        optimizers.make(ml_collections.ConfigDict(dict(name="adamw", learning_rate=1e-3)), "optimizer.g")
    with pytest.raises(ConfigError, match="optimizer.d.learning_rate"):
        optimizers.make(optimizers.adam_config(0.0), "optimizer.d")
