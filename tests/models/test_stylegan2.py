"""StyleGAN2's networks (jaxgen.models.stylegan2) on 8 x 8 images (levels 4, 8: ws 0-3), variables filled with
numpy noise: the residual D's wiring against its layers' own outputs and its parameter shapes at 16 px; the skip
generator's image as up-sampled toRGB sums; which layers each w reaches; the editing interface shared with StyleGAN
(``styles`` of the broadcast ``mapping(z)`` is the network, ``psi = 0`` the average w's image, ``latents`` tracks
``w_avg`` and mixes at a crossover among all layers); configs/stylegan2_emoji.py and bad values as one-line errors.
The training step, the path length in W and resume: tests/games/test_stylegan2.py."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import stylegan2
from jaxgen.nn import fir
from jaxgen.nn.progressive import EqualizedConv, minibatch_stddev

SHAPE = (8, 8, 3)
Z = 8


def _cfg(**keys):
    cfg = model_defaults.stylegan2()
    cfg.z_dim, cfg.width, cfg.width_base, cfg.mapping_layers = Z, 8, 64, 2
    cfg.update(keys)
    return cfg


def _filled(shapes, seed):
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape), jnp.float32), shapes)


@pytest.fixture(scope="module")
def g():
    module = stylegan2.generator(_cfg(), SHAPE)
    shapes = jax.eval_shape(lambda k: module.init(k, jnp.zeros((2, Z)), train=False), jax.random.key(0))
    return module, _filled(shapes, 0)


def _z(seed, n=4):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(n, Z)), jnp.float32)


def _same(w, layers=4):
    return jnp.broadcast_to(w[:, None], (w.shape[0], layers, w.shape[-1]))


@functools.partial(jax.jit, static_argnums=0)
def _call(module, variables, z, psi):
    return module.apply(variables, z, train=False, psi=psi, rngs={"dropout": jax.random.key(1)})


@functools.partial(jax.jit, static_argnums=0)
def _styles(module, variables, ws):
    """(images, {module name: its output}) of ``styles(ws)``, noise from the same key as `_call`."""
    out, inter = module.apply(variables, ws, method="styles", capture_intermediates=True, mutable=["intermediates"],
                              rngs={"dropout": jax.random.key(1)})
    return out, {k: v["__call__"][0] for k, v in inter["intermediates"]["synthesis"].items() if k != "__call__"}


@functools.partial(jax.jit, static_argnums=0)
def _mapping(module, variables, z):
    return module.apply(variables, z, method="mapping")


def test_discriminator_is_residual_blocks_of_its_layers():
    d = stylegan2.discriminator(_cfg(), SHAPE)
    x = jnp.asarray(np.random.default_rng(1).normal(size=(4, *SHAPE)), jnp.float32)
    variables = _filled(jax.eval_shape(lambda k: d.init(k, x, train=False), jax.random.key(0)), 1)
    out, inter = jax.jit(lambda v, x: d.apply(v, x, train=False, capture_intermediates=True,
                                              mutable=["intermediates"]))(variables, x)
    layer = {k: v["__call__"][0] for k, v in inter["intermediates"].items() if k != "__call__"}
    p, lrelu = variables["params"], lambda a: jnp.where(a > 0, a, 0.2 * a)
    h8 = lrelu(layer["from_rgb8"])
    skip = jnp.einsum("nhwc,cf->nhwf", fir.downsample2d(h8), p["skip8"]["kernel"][0, 0]) / math.sqrt(8)  # gain 1
    np.testing.assert_allclose(layer["skip8"], skip, rtol=1e-4, atol=1e-4)
    main = EqualizedConv(8, stride=2, padding="VALID").apply({"params": p["conv8_1"]},
                                                             fir.filter2d(lrelu(layer["conv8_0"]), (2, 2)))
    np.testing.assert_allclose(layer["conv8_1"], main, rtol=1e-4, atol=1e-4)
    h4 = (skip + lrelu(main)) / math.sqrt(2)  # the block: (skip + main) / sqrt(2)
    conv4 = EqualizedConv(8).apply({"params": p["conv4"]}, minibatch_stddev(h4, 4))
    np.testing.assert_allclose(layer["conv4"], conv4, rtol=1e-4, atol=1e-4)
    assert out.shape == (4,)
    shapes = jax.eval_shape(lambda k: stylegan2.discriminator(_cfg(), (16, 16, 3)).init(
        k, jnp.zeros((4, 16, 16, 3)), train=False), jax.random.key(0))["params"]
    assert jax.tree.map(lambda s: s.shape, shapes) == {  # widths min(8, 64 / r): 8, 8, 4
        "from_rgb16": {"kernel": (1, 1, 3, 4), "bias": (4,)},
        "conv16_0": {"kernel": (3, 3, 4, 4), "bias": (4,)}, "conv16_1": {"kernel": (3, 3, 4, 8), "bias": (8,)},
        "skip16": {"kernel": (1, 1, 4, 8)},
        "conv8_0": {"kernel": (3, 3, 8, 8), "bias": (8,)}, "conv8_1": {"kernel": (3, 3, 8, 8), "bias": (8,)},
        "skip8": {"kernel": (1, 1, 8, 8)},
        "conv4": {"kernel": (3, 3, 9, 8), "bias": (8,)}, "dense": {"kernel": (128, 8), "bias": (8,)},
        "out": {"kernel": (8, 1), "bias": (1,)}}


def test_skip_generator_sums_up_sampled_torgb_images_and_each_w_reaches_its_layers(g):
    module, v = g
    assert module.num_layers == 4
    ws = _same(_mapping(module, v, _z(2)))
    image, layers = _styles(module, v, ws)
    assert image.shape == (4, 8, 8, 3) and set(layers) >= {"conv4", "to_rgb4", "conv8_0", "conv8_1", "to_rgb8"}
    np.testing.assert_allclose(image, fir.upsample2d(layers["to_rgb4"]) + layers["to_rgb8"], rtol=1e-5, atol=1e-5)
    order = ("conv4", "to_rgb4", "conv8_0", "conv8_1", "to_rgb8")
    reached = {0: order, 1: order[1:], 2: order[3:], 3: order[4:]}  # to_rgb4 shares w 1 with conv8_0
    for i, changed in reached.items():
        _, other = _styles(module, v, ws.at[:, i].add(1.0))
        assert {name for name in order if not np.allclose(other[name], layers[name])} == set(changed), i


def test_editing_interface_styles_truncation_and_latents(g):
    module, v = g
    z = _z(3)
    w, w_avg = _mapping(module, v, z), v["batch_stats"]["w_avg"]
    np.testing.assert_array_equal(_call(module, v, z, 1.0), _styles(module, v, _same(w))[0])
    np.testing.assert_allclose(_call(module, v, z, 0.0), _styles(module, v, _same(jnp.broadcast_to(w_avg, w.shape)))[0],
                               rtol=1e-5, atol=1e-5)
    assert not np.allclose(_call(module, v, z, 0.0), _call(module, v, z, 1.0))
    mixing = stylegan2.generator(_cfg(mixing_prob=1.0), SHAPE)
    ws, state = jax.jit(lambda v: mixing.apply(v, z, train=True, method="latents", mutable=["batch_stats"],
                                               rngs={"dropout": jax.random.key(4)}))(v)
    np.testing.assert_allclose(state["batch_stats"]["w_avg"], w.mean(0) + 0.995 * (w_avg - w.mean(0)), rtol=1e-5,
                               atol=1e-6)
    ws = np.asarray(ws)
    cutoff = int(np.argmax(~np.all(np.isclose(ws, np.asarray(w)[:, None]), axis=(0, 2))))  # the first layer not w
    assert 1 <= cutoff <= 3 and np.allclose(ws[:, :cutoff], np.asarray(w)[:, None])
    np.testing.assert_array_equal(ws[:, cutoff:], np.broadcast_to(ws[:, cutoff:cutoff + 1], ws[:, cutoff:].shape))


def test_configs_and_bad_values():
    c = config_lib.load("configs/stylegan2_emoji.py")
    assert (c.game, c.model.name, c.loss.objective, c.loss.penalty, c.loss.reg_every, c.loss.g_reg_every) == (
        "unconditional", "stylegan2", "ns", "r1", 16, 4)
    assert c.loss.weights.path_length == 2.0 and c.model.mixing_prob == 0.9 and c.data.image_size == 32
    assert math.isclose(c.loss.penalty_weight, 0.0002 * 32 * 32 / 16)  # gamma = 0.0002 H W / batch
    assert (c.optimizer.g.learning_rate, c.optimizer.g.b1, c.optimizer.g.b2) == (2e-3, 0.0, 0.99) == (
        c.optimizer.d.learning_rate, c.optimizer.d.b1, c.optimizer.d.b2)
    assert math.isclose(c.ema_decay, 0.5 ** (16 / 10_000))
    assert math.isclose(config_lib.load("configs/stylegan2_emoji.py:64").loss.penalty_weight, 0.0002 * 64 * 64 / 16)
    assert config_lib.load("configs/stylegan2_emoji.py:tiny").data.image_size == 8
    with pytest.raises(ConfigError, match="unknown variant 'huge'"):
        config_lib.load("configs/stylegan2_emoji.py:huge")
    for keys, key in ((dict(mixing_prob=1.5), "model.mixing_prob"), (dict(mapping_layers=-1), "model.mapping_layers"),
                      (dict(w_avg_decay=1.0), "model.w_avg_decay"), (dict(mapping_lr_mul=0.0), "model.mapping_lr_mul"),
                      (dict(width_base=2), "model.width_base")):
        with pytest.raises(ConfigError, match=key):
            stylegan2.generator(_cfg(**keys), SHAPE)
    with pytest.raises(ConfigError, match="model.mbstd_group"):
        stylegan2.discriminator(_cfg(mbstd_group=0), SHAPE)
    with pytest.raises(ConfigError, match="data.image_size"):
        stylegan2.generator(_cfg(), (12, 12, 3))
