"""The classic game's lazy G-reg phase: StyleGAN2's path length against an explicit Jacobian, and its schedule."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError
from jaxgen.games import unconditional
from jaxgen.games.base import Players
from jaxgen.trainers import gan

INFO = {"image_shape": (8, 8, 1), "num_classes": 10}


def _config(*overrides):
    return config_lib.load("configs/gan_mnist.py:tiny", list(overrides))


def test_path_length_is_the_jacobian_norm_of_random_image_directions(one_device_mesh):
    """(||J_z^T y|| - a)^2 with y ~ N(0, I)/sqrt(HW), a the moving mean updated from 0: from jax.jacrev of G."""
    config = _config("loss.weights.path_length=2.0")
    game = unconditional.build(config, INFO, one_device_mesh)
    params, model_state = game.init(jax.random.key(0))
    players = Players(game.modules, params, model_state)
    key = jax.random.key(5)
    terms, reg_state = game.g_reg(players, {}, key, {"pl_mean": jnp.zeros(())})

    kz, kn, kg, _ = jax.random.split(key, 4)
    z = game.family.latent(kz, config.batch_size, config.model)
    images = game.modules["g"].apply({"params": params["g"], **model_state["g"]}, z, train=True,
                                     rngs={"dropout": kg}, mutable=list(model_state["g"]))[0]
    y = jax.random.normal(kn, images.shape) / math.sqrt(8 * 8)

    def one(i):  # example i alone: the MLP G has no BatchNorm, so examples do not interact
        def g_i(zi):
            return game.modules["g"].apply({"params": params["g"]}, zi[None], train=True, rngs={"dropout": kg})[0]

        jac = jax.jacrev(g_i)(z[i])  # [8, 8, 1, z_dim]
        return jnp.linalg.norm(jnp.tensordot(y[i], jac, axes=3))

    lengths = jnp.stack([one(i) for i in range(config.batch_size)])
    a = unconditional.PL_DECAY * jnp.mean(lengths)
    np.testing.assert_allclose(reg_state["pl_mean"], a, rtol=1e-4)
    np.testing.assert_allclose(terms["path_length"], jnp.mean((lengths - a) ** 2), rtol=1e-3)


def test_g_reg_phase_runs_every_g_reg_every_steps_and_trains_g(one_device_mesh):
    config = _config("loss.weights.path_length=2.0", "loss.g_reg_every=2")
    task = gan.create_task(config, INFO, one_device_mesh)
    assert task.pure_step is None  # the host schedules the lazy phase
    state = task.init(jax.random.key(0))
    batch = {"image": jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (config.batch_size, 8, 8, 1)), jnp.float32)}
    seen, means = [], []
    for step in range(4):
        state, metrics = task.step(state, lambda: batch, jax.random.key(step), step)
        seen.append("g_path_length" in metrics)
        means.append(float(state["reg_state"]["pl_mean"]))
    assert seen == [True, False, True, False]
    assert means[0] > 0 and means[0] == means[1] and means[2] != means[1]
    plain = gan.create_task(_config("loss.g_reg_every=2"), INFO, one_device_mesh)  # weight 0: no phase, no state
    assert "reg_state" not in plain.init(jax.random.key(0)) and plain.pure_step is not None


def test_g_reg_needs_alternating_updates():
    with pytest.raises(ConfigError, match="update_mode='alternating'"):
        gan.create_task(_config("loss.weights.path_length=1.0", "update_mode='simultaneous'"), INFO, None)
