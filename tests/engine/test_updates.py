"""jaxgen.engine.updates: an optimizer step and the EMA, the trainers' arithmetic bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen.defaults import optimizers as optimizer_defaults
from jaxgen.engine import optimizers, updates


def _tree(seed):
    rng = np.random.default_rng(seed)
    return {"dense": {"kernel": jnp.asarray(rng.standard_normal((3, 4)), jnp.float32),
                      "bias": jnp.asarray(rng.standard_normal(4), jnp.float32)},
            "scale": jnp.asarray(rng.standard_normal(()), jnp.float32)}


def _assert_bits_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x).view(np.uint32), np.asarray(y).view(np.uint32))


@pytest.mark.parametrize("tx", [optax.adam(1e-2, b1=0.5),
                                optimizers.make(optimizer_defaults.sgd(0.5, 0.0), "optimizer", clip=0.3)],
                         ids=["adam", "sgd+clip"])
def test_apply_optimizer_is_update_then_apply_updates(tx):
    params, grads = _tree(0), _tree(1)
    opt_state = tx.init(params)

    def by_hand(params, opt_state, grads):
        upd, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, upd), opt_state

    ours = jax.jit(lambda p, s, g: updates.apply_optimizer(tx, g, s, p))
    theirs = jax.jit(by_hand)
    for _ in range(3):  # a few steps, so Adam's moments are not all zero
        got, want = ours(params, opt_state, grads), theirs(params, opt_state, grads)
        _assert_bits_equal(got, want)
        params, opt_state = got


def test_apply_optimizer_passes_params_to_the_transform():
    """WGAN clipping needs the parameters in `tx.update`: the updated weights lie in [-limit, limit]."""
    tx = optimizers.make(optimizer_defaults.sgd(10.0, 0.0), "optimizer.d", clip=0.05)
    params, opt_state = updates.apply_optimizer(tx, _tree(3), tx.init(_tree(2)), _tree(2))
    assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(params)) == pytest.approx(0.05)


def test_ema_update_closed_form_and_optax_bits():
    ema, params = _tree(4), _tree(5)
    for decay in (0.0, 0.5, 0.999):
        got = updates.ema_update(ema, params, decay)
        for g, e, p in zip(jax.tree.leaves(got), jax.tree.leaves(ema), jax.tree.leaves(params)):
            closed = decay * np.asarray(e, np.float64) + (1 - decay) * np.asarray(p, np.float64)
            np.testing.assert_allclose(np.asarray(g, np.float64), closed, rtol=1e-6, atol=1e-7)
        _assert_bits_equal(got, optax.incremental_update(params, ema, 1.0 - decay))  # what the GAN trainer computed
    _assert_bits_equal(updates.ema_update(ema, params, 1.0), ema)  # decay 1: frozen
    # a traced decay (a sweep over it) gives the same bits as the Python float
    traced = jax.jit(updates.ema_update)(ema, params, jnp.float32(0.75))
    _assert_bits_equal(traced, jax.jit(lambda e, p: updates.ema_update(e, p, 0.75))(ema, params))
