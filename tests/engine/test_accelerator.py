"""jaxgen.engine.accelerator: gradient accumulation against the gradient of the whole batch, rematerialised
networks against the same networks without remat, and the options' errors."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.defaults import models as model_defaults
from jaxgen.engine import accelerator
from jaxgen.errors import ConfigError
from jaxgen.models import dcgan, gated_pixelcnn, pixelcnn, pixelrnn


def _options(**keys):
    config = ml_collections.ConfigDict({"model": {"name": "test"}, **config_lib.NETWORK_DEFAULTS})
    config.update(keys)
    return config


def test_accumulate_is_the_gradient_of_the_concatenated_batch():
    """k micro-batches: the mean of their gradients is the gradient of the mean loss over their concatenation;
    the carry is threaded through them in order; scalars are averaged and per-example leaves joined."""
    rng = np.random.default_rng(0)
    w = jnp.asarray(rng.standard_normal((3, 2)), jnp.float32)
    x = jnp.asarray(rng.standard_normal((4, 5, 3)), jnp.float32)  # k = 4 micro-batches of 5

    def loss(w, batch):
        return jnp.mean(jnp.tanh(batch @ w) ** 2)

    def fn(count, batch, key):
        value, grads = jax.value_and_grad(loss)(w, batch)
        return grads, count + 1, (value, jnp.sum(batch @ w, -1), jax.random.key_data(key))

    grads, count, (values, outs, keys) = jax.jit(accelerator.accumulate, static_argnums=(0, 4))(
        fn, jnp.int32(0), x, jax.random.key(3), 4)
    # the same sums in another order: float32 rounding, relative to the gradient's scale (1e-1), not to each entry
    np.testing.assert_allclose(grads, jax.grad(loss)(w, x.reshape(20, 3)), rtol=1e-6, atol=1e-7)
    assert int(count) == 4
    np.testing.assert_allclose(values, loss(w, x.reshape(20, 3)), rtol=1e-6)
    np.testing.assert_allclose(outs, jnp.sum(x.reshape(20, 3) @ w, -1), rtol=1e-6)
    folded = np.stack([jax.random.key_data(jax.random.fold_in(jax.random.key(3), j)) for j in range(4)])
    np.testing.assert_array_equal(keys.reshape(folded.shape), folded)  # micro-batch j: fold_in(key, j)
    single = accelerator.accumulate(fn, jnp.int32(0), x[0], jax.random.key(3), 1)
    np.testing.assert_array_equal(single[0], jax.grad(loss)(w, x[0]))  # k = 1: fn itself, with the key as is
    np.testing.assert_array_equal(single[2][2], jax.random.key_data(jax.random.key(3)))


def _dcgan_grads(remat):
    cfg = model_defaults.dcgan()
    cfg.update(width=8, spectral_norm=True)
    shape = (28, 28, 1)
    g, d = dcgan.generator(cfg, shape, remat=remat), dcgan.discriminator(cfg, shape, remat=remat)
    z = jax.random.normal(jax.random.key(0), (6, 100))
    gv = g.init(jax.random.key(1), z, train=False)
    dv = d.init(jax.random.key(2), jnp.zeros((6, *shape)), train=False)

    def loss(gp, dp):  # G and D in training mode: batch statistics, BatchNorm and power-iteration updates
        x, g_state = g.apply({**gv, "params": gp}, z, train=True, mutable=["batch_stats"])
        out, d_state = d.apply({**dv, "params": dp}, x, train=True, mutable=["batch_stats"])
        return jnp.mean(jax.nn.softplus(-out)), (g_state, d_state)

    fn = jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)
    return jax.jit(fn)(gv["params"], dv["params"]), str(jax.make_jaxpr(fn)(gv["params"], dv["params"]))


def _autoregressive_grads(module, remat, **sizes):
    cfg = model_defaults.config(module.__name__.rsplit(".", 1)[1])
    cfg.update(features=6, head_features=6, **sizes)
    net = module.model(cfg, (6, 6, 1), 3, remat=remat)
    x = jax.random.bernoulli(jax.random.key(0), 0.4, (4, 6, 6, 1)).astype(jnp.float32)
    labels = jnp.arange(4) % 3 if cfg.get("conditional") else None
    params = net.init(jax.random.key(1), x, labels)["params"]

    def loss(params):
        logits = net.apply({"params": params}, x, labels)
        return jnp.mean(jax.nn.softplus(-logits) + (1 - x) * logits)

    fn = jax.value_and_grad(loss)
    return jax.jit(fn)(params), str(jax.make_jaxpr(fn)(params))


REMAT = {
    "dcgan": _dcgan_grads,
    "pixelcnn": lambda remat: _autoregressive_grads(pixelcnn, remat, blocks=2),
    "gated_pixelcnn": lambda remat: _autoregressive_grads(gated_pixelcnn, remat, layers=2, conditional=True),
}


@pytest.mark.parametrize("family", REMAT)
def test_remat_gives_the_same_gradients(family):
    """The rematerialised network has the same parameters and gives the same loss, gradients and model state
    (BatchNorm statistics, spectral-norm vectors) as without remat, to float rounding (XLA fuses the recomputed
    blocks differently); its backward pass recomputes (remat ops)."""
    (plain, plain_jaxpr), (rematted, remat_jaxpr) = REMAT[family](False), REMAT[family](True)
    assert jax.tree.structure(plain) == jax.tree.structure(rematted)
    for a, b in zip(jax.tree.leaves(plain), jax.tree.leaves(rematted)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert "remat" not in plain_jaxpr and "remat" in remat_jaxpr


def test_network_passes_the_options_or_names_the_key():
    cfg = model_defaults.dcgan()
    net = accelerator.network(dcgan.generator, _options(dtype="bfloat16", remat=True), cfg, (28, 28, 1))
    assert net.dtype == jnp.bfloat16 and net.remat
    assert accelerator.network(dcgan.generator, _options(), cfg, (28, 28, 1)).dtype == jnp.float32
    rnn = model_defaults.pixelrnn()
    assert accelerator.network(pixelrnn.density, _options(), rnn, (6, 6, 1)).exact  # float32: no option needed
    with pytest.raises(ConfigError, match="config key 'dtype': model 'test' .*pixelrnn.density.* set dtype=float32"):
        accelerator.network(pixelrnn.density, _options(dtype="bfloat16"), rnn, (6, 6, 1))
    with pytest.raises(ConfigError, match="config key 'remat'.* set remat=False"):
        accelerator.network(pixelrnn.density, _options(remat=True), rnn, (6, 6, 1))


@pytest.mark.parametrize("keys, fragment", [
    ({"dtype": "float16"}, r"config key 'dtype' must be one of \('float32', 'bfloat16'\)"),
    ({"accumulate": 0}, "config key 'accumulate' .* >= 1"),
])
def test_bad_options_name_the_key(keys, fragment):
    with pytest.raises(ConfigError, match=fragment):
        accelerator.check(_options(**keys))


def test_options_a_builder_does_not_honour_are_refused():
    assert accelerator.check(_options(accumulate=3), honoured=()) == 3
    with pytest.raises(ConfigError, match="config key 'dtype': game 'g' builds its networks without it"):
        accelerator.check(_options(dtype="bfloat16"), honoured=("remat",), who="game 'g'")
