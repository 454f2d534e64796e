"""Optimizers from config: WGAN's weight clipping, the lazy-regularisation correction of Adam, global-norm
gradient clipping and learning-rate schedules."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import pytest

from jaxgen.defaults import optimizers as optimizer_defaults
from jaxgen.engine import optimizers
from jaxgen.errors import ConfigError


def test_clip_params_keeps_weights_in_the_box():
    tx = optimizers.make(optimizer_defaults.sgd(1.0, 0.0), "optimizer.d", clip=0.01)
    params = {"w": jnp.asarray([0.005, -0.02, 0.0, 0.5])}
    grads = {"w": jnp.asarray([-1.0, 0.001, 0.003, 0.0])}
    updates, _ = tx.update(grads, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(new["w"], np.clip(params["w"] - grads["w"], -0.01, 0.01), rtol=1e-6)


def test_lazy_regularisation_corrects_adam():
    """StyleGAN2: with a penalty every N steps, lr *= c, beta1 **= c, beta2 **= c, c = N / (N + 1)."""
    cfg = optimizer_defaults.adam(2e-3, 0.5, 0.99)
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
        optimizers.make(optimizer_defaults.adam(0.0), "optimizer.d")


def _grads(n, seed=0):
    rng = np.random.default_rng(seed)
    return [{"a": jnp.asarray(rng.standard_normal(3), jnp.float32), "b": jnp.asarray(rng.standard_normal((2, 2)),
                                                                                     jnp.float32)} for _ in range(n)]


def test_clip_norm_is_global_norm_clipping_before_the_optimizer():
    """SGD (lr 1): the update is -g * min(1, c / ||g||) over all leaves; Adam: optax.adam on gradients clipped by
    hand. A gradient under the limit passes unchanged."""
    params = {"a": jnp.zeros(3), "b": jnp.zeros((2, 2))}
    cfg = optimizer_defaults.sgd(1.0, 0.0)
    cfg.clip_norm = 0.5
    tx = optimizers.make(cfg, "optimizer.d")
    for g in _grads(3):
        norm = np.sqrt(sum(np.sum(np.asarray(x, np.float64) ** 2) for x in g.values()))
        u, _ = tx.update(g, tx.init(params), params)
        for name in g:
            np.testing.assert_allclose(u[name], -np.asarray(g[name]) * min(1.0, 0.5 / norm), rtol=1e-6)
    small = jax.tree.map(lambda x: 1e-3 * x, _grads(1)[0])
    u, _ = tx.update(small, tx.init(params), params)
    np.testing.assert_allclose(u["a"], -small["a"], rtol=1e-6)
    adam = optimizer_defaults.adam(1e-2)
    adam.clip_norm = 0.3
    ours, reference = optimizers.make(adam, "optimizer.g"), optax.adam(1e-2, 0.5, 0.999)
    s1, s2 = ours.init(params), reference.init(params)
    for g in _grads(3, seed=1):
        norm = np.sqrt(sum(np.sum(np.asarray(x, np.float64) ** 2) for x in g.values()))
        clipped = {name: x * np.float32(min(1.0, 0.3 / norm)) for name, x in g.items()}
        u1, s1 = ours.update(g, s1, params)
        u2, s2 = reference.update(clipped, s2, params)
        for name in g:
            np.testing.assert_allclose(u1[name], u2[name], rtol=1e-5)


SCHEDULES = {  # schedule keys -> the closed-form multiplier of the learning rate at step t
    "warmup": ({"warmup_steps": 4}, lambda t: min(1.0, t / 4)),
    "linear": ({"decay": "linear", "decay_start": 5, "decay_steps": 10},
               lambda t: min(1.0, max(0.0, 1 - (t - 5) / 10))),
    "step": ({"decay": "step", "boundaries": (3, 6), "gamma": 0.5}, lambda t: 0.5 ** ((t >= 3) + (t >= 6))),
    "warmup_linear": ({"warmup_steps": 2, "decay": "linear", "decay_start": 4, "decay_steps": 4},
                      lambda t: min(1.0, t / 2) * min(1.0, max(0.0, 1 - (t - 4) / 4))),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_scale_adams_update_by_the_closed_form(name):
    """Adam's update read back at chosen training steps equals the constant-rate Adam update times the closed-form
    multiplier (same gradients, same moments); the step is the one passed to update, not the update count."""
    keys, closed = SCHEDULES[name]
    cfg = optimizer_defaults.adam(1e-2, 0.5, 0.99)
    cfg.schedule.update(keys)
    ours, reference = optimizers.make(cfg, "optimizer.g"), optax.adam(1e-2, 0.5, 0.99)
    params = {"a": jnp.zeros(3), "b": jnp.zeros((2, 2))}
    s1, s2 = ours.init(params), reference.init(params)
    for t, g in zip((0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 15, 30), _grads(12, seed=2)):
        u1, s1 = jax.jit(lambda g, s, t: ours.update(g, s, params, step=t))(g, s1, jnp.int32(t))
        u2, s2 = reference.update(g, s2, params)
        for leaf in g:
            np.testing.assert_allclose(u1[leaf], closed(t) * np.asarray(u2[leaf]), rtol=1e-5, atol=1e-9)


def test_constant_schedule_and_no_clipping_is_plain_optax():
    """The defaults build today's transform: the same optimizer state structure as optax.adam (old checkpoints)."""
    params = {"a": jnp.zeros(3)}
    tx = optimizers.make(optimizer_defaults.adam(), "optimizer.g")
    assert jax.tree.structure(tx.init(params)) == jax.tree.structure(optax.adam(1e-3).init(params))


@pytest.mark.parametrize("keys, fragment", [
    ({"clip_norm": -1.0}, "optimizer.g.clip_norm"),
    ({"schedule": {"decay": "cosine"}}, "optimizer.g.schedule.decay"),
    ({"schedule": {"warmup_steps": -2}}, "optimizer.g.schedule.warmup_steps"),
    ({"schedule": {"decay": "linear", "decay_steps": 0}}, "optimizer.g.schedule.decay_steps"),
    ({"schedule": {"decay": "step", "boundaries": (5, 3)}}, "optimizer.g.schedule.boundaries"),
    ({"schedule": {"decay": "step", "boundaries": (5,), "gamma": 0.0}}, "optimizer.g.schedule.gamma"),
])
def test_bad_clip_or_schedule_names_the_key(keys, fragment):
    cfg = optimizer_defaults.adam()
    cfg.update(keys)
    with pytest.raises(ConfigError, match=fragment):
        optimizers.make(cfg, "optimizer.g")
