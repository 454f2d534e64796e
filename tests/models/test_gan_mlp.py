"""Goodfellow et al. 2014 MLP GAN: shapes, maxout vs numpy, dropout, noise, paper sizes."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import models
from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import gan_mlp


def _cfg(**kw):
    cfg = model_defaults.gan_mlp()
    cfg.update(kw)
    return cfg


def _key(seed=0):
    return jax.random.key(seed, impl="rbg")  # fast to compile on XLA:CPU


def _fake_params(module, x, scale=0.1):
    """The module's variable tree (jax.eval_shape: no compilation) filled with numpy noise."""
    rng = np.random.default_rng(0)
    shapes = jax.eval_shape(lambda: module.init(_key(), x, train=False))
    return jax.tree.map(lambda s: jnp.asarray(scale * rng.standard_normal(s.shape), jnp.float32), shapes)


def _count(tree):
    return sum(math.prod(a.shape) for a in jax.tree.leaves(tree))


def test_registered():
    assert models.get("gan_mlp") is gan_mlp


def test_paper_sizes():
    cfg = _cfg()
    g, d = gan_mlp.generator(cfg, (28, 28, 1), None), gan_mlp.discriminator(cfg, (28, 28, 1), None)
    gv = jax.eval_shape(lambda: g.init(_key(), jnp.zeros((2, 100)), train=False))
    dv = jax.eval_shape(lambda: d.init(_key(), jnp.zeros((2, 28, 28, 1)), train=False))
    assert _count(gv) == (100 * 1200 + 1200) + (1200 * 1200 + 1200) + (1200 * 784 + 784)
    assert _count(dv) == (784 * 1200 + 1200) + (240 * 1200 + 1200) + (240 + 1)
    assert set(gv) == {"params"} and set(dv) == {"params"}


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3), (8, 8, 1)])
def test_shapes_and_ranges(shape):
    cfg = _cfg(z_dim=8, g_hidden=(32, 16), d_units=(12, 6), d_pieces=3)
    g, d = gan_mlp.generator(cfg, shape, None), gan_mlp.discriminator(cfg, shape, None)
    z = gan_mlp.latent(_key(0), 4, cfg)
    assert z.shape == (4, 8)

    gv, dv = _fake_params(g, z), _fake_params(d, jnp.zeros((4,) + shape))

    @jax.jit  # training-mode D (dropout) is covered by test_dropout_only_in_training
    def run(gv, dv):
        x = g.apply(gv, z, train=True)
        return x, d.apply(dv, x, train=False)

    x, logits = run(gv, dv)
    assert x.shape == (4,) + shape and x.dtype == jnp.float32
    assert float(jnp.max(jnp.abs(x))) <= 1.0 and float(jnp.std(x)) > 0
    assert logits.shape == (4,) and logits.dtype == jnp.float32


def test_dropout_only_in_training():
    cfg = _cfg(d_units=(16, 16), d_pieces=2)
    d = gan_mlp.discriminator(cfg, (8, 8, 1), None)
    x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (6, 8, 8, 1)), jnp.float32)
    v = _fake_params(d, x, scale=1.0)
    d_nodrop = gan_mlp.discriminator(_cfg(d_units=(16, 16), d_pieces=2, dropout=False), (8, 8, 1), None)

    @jax.jit
    def run(v, k1, k2):
        train = lambda k: d.apply(v, x, train=True, rngs={"dropout": k})
        return train(k1), train(k2), d.apply(v, x, train=False), d_nodrop.apply(v, x, train=True)

    a, b, ev, nodrop = run(v, _key(1), _key(2))
    assert a.shape == ev.shape == (6,) and a.dtype == jnp.float32
    assert not np.allclose(a, b)
    np.testing.assert_allclose(nodrop, ev, rtol=1e-5)
    with pytest.raises(Exception, match="dropout"):
        d.apply(v, x, train=True)


@pytest.mark.parametrize("noise,bound", [("uniform", 1.0), ("uniform_unit", math.sqrt(3)), ("gaussian", None)])
def test_latent(noise, bound):
    z = gan_mlp.latent(_key(0), 2000, _cfg(noise=noise))
    assert z.shape == (2000, 100)
    if bound is None:
        assert abs(float(jnp.std(z)) - 1.0) < 0.02 and float(jnp.max(jnp.abs(z))) > 3
    else:
        assert float(jnp.max(jnp.abs(z))) <= bound and float(jnp.max(jnp.abs(z))) > 0.99 * bound


def test_bad_config():
    with pytest.raises(ConfigError, match="model.noise"):
        gan_mlp.latent(_key(0), 2, _cfg(noise="pink"))
    with pytest.raises(ConfigError, match="model.d_input_keep"):
        gan_mlp.discriminator(_cfg(d_input_keep=0.0), (28, 28, 1), None)
