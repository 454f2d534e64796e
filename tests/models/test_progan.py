"""ProGAN's networks (jaxgen.models.progan) on 16 x 16 images (levels 4, 8, 16; widths 8, 8, 4): every level's
parameters from init; G at stage 0 against a numpy forward pass; the fade-in: alpha = 0 is exactly the previous
stage's network (G: its image up-sampled; D: on the average-pooled image), alpha = 1 does not depend on the previous
level's toRGB / fromRGB, and alpha in between is the blend of the two ends."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import progan
from jaxgen.nn.progressive import avg_pool, upsample_nearest
from tests.nn.test_progressive import _conv_same

SHAPE = (16, 16, 3)


def _cfg(**keys):
    cfg = model_defaults.progan()
    cfg.z_dim, cfg.width, cfg.width_base = 6, 8, 64  # 4: min(8, 16) = 8, 8: 8, 16: 4
    cfg.update(keys)
    return cfg


@pytest.fixture(scope="module")
def nets():
    cfg = _cfg()
    g, d = progan.generator(cfg, SHAPE), progan.discriminator(cfg, SHAPE)
    one, rng = jnp.ones(()), np.random.default_rng(0)
    # the parameters' shapes from init (the layers' N(0, 1) draws are tests/nn/test_progressive.py's), then random
    # values, biases included, so that every term of the blend shows
    g_shapes = jax.eval_shape(lambda k: g.init(k, jnp.zeros((2, 6)), 2, one, train=False), jax.random.key(0))
    d_shapes = jax.eval_shape(lambda k: d.init(k, jnp.zeros((4, *SHAPE)), 2, one, train=False), jax.random.key(1))
    g_params, d_params = (jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape), jnp.float32), v["params"])
                          for v in (g_shapes, d_shapes))
    return g, d, g_params, d_params


@functools.partial(jax.jit, static_argnums=(0, 3))
def _apply(module, params, x, stage, alpha):
    return module.apply({"params": params}, x, stage, jnp.float32(alpha), train=False)


def test_every_level_has_parameters_from_init(nets):
    _, _, g_params, d_params = nets
    assert progan.widths(_cfg(), SHAPE) == (8, 8, 4) and progan.levels(SHAPE) == 3
    assert set(g_params) == {"dense", "dense_bias", "conv4", "conv8_0", "conv8_1", "conv16_0", "conv16_1", "to_rgb4",
                             "to_rgb8", "to_rgb16"}
    assert set(d_params) == {"from_rgb4", "from_rgb8", "from_rgb16", "conv16_0", "conv16_1", "conv8_0", "conv8_1",
                             "conv4", "dense", "out"}
    assert g_params["dense"]["kernel"].shape == (6, 16 * 8) and g_params["conv16_0"]["kernel"].shape == (3, 3, 8, 4)
    assert g_params["to_rgb8"]["kernel"].shape == (1, 1, 8, 3) and d_params["from_rgb16"]["kernel"].shape == (1, 1, 3, 4)
    assert d_params["conv16_1"]["kernel"].shape == (3, 3, 4, 8)  # to the next level's width before the pool
    assert d_params["conv4"]["kernel"].shape == (3, 3, 9, 8)  # + the minibatch-stddev channel
    assert d_params["dense"]["kernel"].shape == (16 * 8, 8) and d_params["out"]["kernel"].shape == (8, 1)


def test_generator_at_stage_0_against_numpy(nets):
    g, _, p, _ = nets
    z = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    pn = lambda x: x / np.sqrt(np.mean(x**2, -1, keepdims=True) + 1e-8)  # noqa: E731
    lrelu = lambda x: np.where(x > 0, x, 0.2 * x)  # noqa: E731
    k = {name: np.asarray(v["kernel"], np.float64) for name, v in p.items() if isinstance(v, dict)}
    x = pn(z.astype(np.float64)) @ k["dense"] * (math.sqrt(2) / 4 / math.sqrt(6))  # gain sqrt(2)/4
    x = pn(lrelu(x.reshape(3, 4, 4, 8) + np.asarray(p["dense_bias"])))
    x = pn(lrelu(_conv_same(x, k["conv4"] * math.sqrt(2 / 72)) + np.asarray(p["conv4"]["bias"])))
    rgb = _conv_same(x, k["to_rgb4"] / math.sqrt(8)) + np.asarray(p["to_rgb4"]["bias"])  # gain 1
    out = _apply(g, p, jnp.asarray(z), 0, 1.0)
    assert out.shape == (3, 4, 4, 3) and out.dtype == jnp.float32
    np.testing.assert_allclose(out, rgb, rtol=1e-4, atol=1e-5)


def _perturbed(params, name):
    return {**params, name: jax.tree.map(lambda v: v + 1.0, params[name])}


@pytest.mark.parametrize("stage", [1, 2])
def test_generator_fade_in(nets, stage):
    g, _, p, _ = nets
    z = jax.random.normal(jax.random.key(2), (4, 6))
    ends = [_apply(g, p, z, stage, a) for a in (0.0, 1.0)]
    r = 4 * 2**stage
    assert ends[0].shape == (4, r, r, 3)
    np.testing.assert_array_equal(ends[0], upsample_nearest(_apply(g, p, z, stage - 1, 1.0)))  # exactly
    old_rgb = _perturbed(p, f"to_rgb{r // 2}")
    np.testing.assert_array_equal(_apply(g, old_rgb, z, stage, 1.0), ends[1])  # the new level alone
    assert not np.allclose(_apply(g, old_rgb, z, stage, 0.25), _apply(g, p, z, stage, 0.25))
    np.testing.assert_allclose(_apply(g, p, z, stage, 0.25), 0.75 * ends[0] + 0.25 * ends[1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(ends[0], ends[1])


@pytest.mark.parametrize("stage", [1, 2])
def test_discriminator_fade_in(nets, stage):
    _, d, _, p = nets
    r = 4 * 2**stage
    x = jnp.asarray(np.random.default_rng(3).normal(size=(4, r, r, 3)), jnp.float32)  # (a 4-D jax draw compiles slowly)
    ends = [_apply(d, p, x, stage, a) for a in (0.0, 1.0)]
    assert ends[0].shape == (4,)
    np.testing.assert_array_equal(ends[0], _apply(d, p, avg_pool(x), stage - 1, 1.0))  # exactly
    old_rgb = _perturbed(p, f"from_rgb{r // 2}")
    np.testing.assert_array_equal(_apply(d, old_rgb, x, stage, 1.0), ends[1])
    assert not np.allclose(_apply(d, old_rgb, x, stage, 0.5), _apply(d, p, x, stage, 0.5))
    assert not np.allclose(ends[0], ends[1])


def test_bad_shapes_and_widths_are_config_errors():
    with pytest.raises(ConfigError, match="power of two"):
        progan.generator(_cfg(), (12, 12, 3))
    with pytest.raises(ConfigError, match="model.width_base"):
        progan.generator(_cfg(width_base=8), SHAPE)
    with pytest.raises(ConfigError, match="model.mbstd_group"):
        progan.discriminator(_cfg(mbstd_group=0), SHAPE)
