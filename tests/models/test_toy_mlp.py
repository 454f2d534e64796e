"""Toy MLPs of PacGAN's synthetic experiments: sizes, maxout layout, packing, BatchNorm, autoencoder energy."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import models
from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import toy_mlp


def _cfg(**kw):
    cfg = model_defaults.toy_mlp()
    cfg.update(kw)
    return cfg


def _count(tree):
    return sum(math.prod(a.shape) for a in jax.tree.leaves(tree))


def _noise_params(module, *inputs, seed=0, scale=0.3):
    shapes = jax.eval_shape(lambda: module.init(jax.random.key(0), *inputs))
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: jnp.asarray(scale * rng.standard_normal(s.shape), jnp.float32), shapes)


def test_registered():
    assert models.get("toy_mlp") is toy_mlp


def test_pacgan_sizes():
    """G: 4 x (Linear 400 without bias + BatchNorm scale/shift) + Linear(2); D: 3 maxout 200 x 5 + Linear(1)."""
    cfg, m = _cfg(arch="pacgan"), 3
    g = toy_mlp.generator(cfg, (2,))
    gv = jax.eval_shape(lambda: g.init(jax.random.key(0), jnp.zeros((4, 2)), train=False))
    assert _count(gv["params"]) == 2 * 400 + 3 * 400 * 400 + 4 * 2 * 400 + (400 * 2 + 2)
    assert _count(gv["batch_stats"]) == 4 * 2 * 400
    d = toy_mlp.discriminator(cfg)
    dv = jax.eval_shape(lambda: d.init(jax.random.key(0), jnp.zeros((4, 2 * m))))
    assert _count(dv) == (2 * m * 1000 + 1000) + 2 * (200 * 1000 + 1000) + 201
    assert set(dv) == {"params"}  # no BatchNorm in D


def test_pack():
    x = jnp.arange(24.0).reshape(12, 2)
    packed = toy_mlp.pack(x, 3)
    assert packed.shape == (4, 6)
    np.testing.assert_array_equal(packed[1], np.concatenate([x[3], x[4], x[5]]))
    with pytest.raises(ValueError, match="do not split into packs of 5"):
        toy_mlp.pack(x, 5)


def test_generator_batchnorm_statistics():
    """train=True normalises with the batch and moves the population mean by 0.05 of the batch mean
    (Blocks' ``0.95 p + 0.05 m``); train=False uses the population statistics."""
    g = toy_mlp.generator(_cfg(arch="tiny"), (2,))
    z = jnp.asarray(np.random.default_rng(2).normal(size=(32, 2)), jnp.float32)
    variables = g.init(jax.random.key(3), z, train=False)
    out, new = g.apply(variables, z, train=True, mutable=["batch_stats"])
    pre = np.asarray(z) @ np.asarray(variables["params"]["h0"]["kernel"])  # layer 0 has no bias
    np.testing.assert_allclose(new["batch_stats"]["bn0"]["mean"], 0.05 * pre.mean(0), rtol=1e-4, atol=1e-7)
    assert out.shape == (32, 2)
    eval_out = g.apply({**variables, "batch_stats": new["batch_stats"]}, z[:1], train=False)
    assert eval_out.shape == (1, 2)  # population statistics: a batch of one works


def test_autoencoder_energy_matches_numpy():
    cfg = _cfg(arch="tiny", d_kind="autoencoder", code_dim=3)
    ae = toy_mlp.discriminator(cfg)
    x = jnp.asarray(np.random.default_rng(4).normal(size=(6, 4)), jnp.float32)
    params = _noise_params(ae, x)
    p = jax.tree.map(np.asarray, params["params"])

    def dense(h, name):
        return h @ p[name]["kernel"] + p[name]["bias"]

    def elu(h):
        return np.where(h > 0, h, np.expm1(np.minimum(h, 0)))

    h = elu(dense(elu(dense(np.asarray(x), "enc0")), "enc1"))
    h = elu(dense(elu(dense(dense(h, "code"), "dec0")), "dec1"))
    expected = np.abs(np.asarray(x) - dense(h, "out")).mean(1)
    np.testing.assert_allclose(ae.apply(params, x), expected, rtol=1e-4)


def test_bad_config():
    with pytest.raises(ConfigError, match="model.arch='huge'"):
        toy_mlp.generator(_cfg(arch="huge"), (2,))
    with pytest.raises(ConfigError, match="model.d_kind='conv'"):
        toy_mlp.discriminator(_cfg(d_kind="conv"))


def test_latent():
    z = toy_mlp.latent(jax.random.key(0), 4000, _cfg())
    assert z.shape == (4000, 2)
    np.testing.assert_allclose(np.std(np.asarray(z), 0), 1.0, atol=0.05)
