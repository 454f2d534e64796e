"""StyleGAN's generator (jaxgen.models.stylegan, jaxgen.nn.style) on 8 x 8 images (levels 4, 8: layers 0-3):
AdaIN against numpy; the mapping network's learning-rate multiplier (effective weights, one Adam step); with every
switch off it is ProGAN's G on the same weights; fade-in continuity; noise; truncation; style mixing swaps exactly
the chosen layers (the per-layer activations); the average w and mixing in training calls only; the A-F configs
and bad values (the training step through the game: tests/games/test_stylegan.py; noise images given in the "noise"
collection: tests/edit/test_project.py)."""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen import config as config_lib
from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import progan, stylegan
from jaxgen.nn.progressive import EqualizedDense, upsample_nearest
from jaxgen.nn.style import AdaIN, NoiseInput, blur
from tests.models.test_progan import _perturbed
from tests.models.variables import key as rbg_key  # flax init with threefry keys compiles slowly

SHAPE = (8, 8, 3)
Z = 6


def _cfg(**keys):
    cfg = model_defaults.stylegan()
    cfg.z_dim, cfg.width, cfg.width_base, cfg.mapping_layers, cfg.mapping_lr_mul = Z, 8, 64, 2, 1.0
    cfg.update(keys)
    return cfg


def _variables(module, seed):
    """Init's shapes (nothing compiles) filled with numpy N(0, 1): every weight, strength and bias shows."""
    shapes = jax.eval_shape(lambda k: module.init(k, jnp.zeros((2, Z)), 1, jnp.ones(()), train=False),
                            jax.random.key(0))
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: jnp.asarray(rng.normal(size=s.shape), jnp.float32), shapes)


@pytest.fixture(scope="module")
def full():
    g = stylegan.generator(_cfg(), SHAPE)
    return g, _variables(g, 0)


@pytest.fixture(scope="module")
def switched_off():  # B's network without the blur: ProGAN's G
    g = stylegan.generator(_cfg(mapping_layers=0, styles=False, const_input=False, noise=False, blur=False,
                                mixing_prob=0.0), SHAPE)
    return g, _variables(g, 7)


def _g(module, variables, z, stage, alpha, psi=1.0, seed=0):
    """G's images, eval mode (``alpha``, ``psi`` and ``seed`` traced: one program per network and stage)."""
    return _g_jit(module, variables, z, stage, jnp.float32(alpha), None if psi is None else jnp.float32(psi),
                  jnp.int32(seed))


@functools.partial(jax.jit, static_argnums=(0, 3))
def _g_jit(module, variables, z, stage, alpha, psi, seed):  # psi None: ProGAN's G (no such argument)
    truncation = {} if psi is None else {"psi": psi}
    return module.apply(variables, z, stage, alpha, train=False, rngs={"dropout": jax.random.key(seed)}, **truncation)


def _styles(module, variables, ws, stage, alpha, seed=0):
    """(images, {layer i: its AdaIN output}) of the per-layer ``ws``."""
    return _styles_jit(module, variables, ws, stage, jnp.float32(alpha), jnp.int32(seed))


@functools.partial(jax.jit, static_argnums=(0, 3))
def _styles_jit(module, variables, ws, stage, alpha, seed):
    out, inter = module.apply(variables, ws, stage, alpha, method="styles", capture_intermediates=True,
                              mutable=["intermediates"], rngs={"dropout": jax.random.key(seed)})
    syn = inter["intermediates"]["synthesis"]
    return out, {int(k[5:]): v["__call__"][0] for k, v in syn.items() if k.startswith("style")}


@functools.partial(jax.jit, static_argnums=0)
def _mapping(module, variables, z):
    return module.apply(variables, z, method="mapping")


def _z(seed, n=4):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(n, Z)), jnp.float32)


def _same(w, n_layers=4):
    return jnp.broadcast_to(w[:, None], (w.shape[0], n_layers, w.shape[-1]))


def test_adain_against_numpy():
    x, w = np.random.default_rng(1).normal(size=(2, 4, 4, 3)), np.random.default_rng(2).normal(size=(2, 5))
    layer = AdaIN()
    assert not jnp.any(layer.init(rbg_key(0), jnp.asarray(x), jnp.asarray(w))["params"]["style"]["bias"])
    k, b = np.random.default_rng(3).normal(size=(5, 6)), np.random.default_rng(4).normal(size=6)
    out = layer.apply({"params": {"style": {"kernel": k, "bias": b}}}, jnp.asarray(x, jnp.float32),
                      jnp.asarray(w, jnp.float32))
    centred = x - x.mean(axis=(1, 2), keepdims=True)
    normed = centred / np.sqrt((centred**2).mean(axis=(1, 2), keepdims=True) + 1e-8)
    style = w @ (k / math.sqrt(5)) + b  # gain 1: [scale - 1 | bias] per channel
    expected = normed * (1 + style[:, None, None, :3]) + style[:, None, None, 3:]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_mapping_lr_multiplier_scales_the_effective_weights_and_their_steps():
    x = jnp.asarray(np.random.default_rng(5).normal(size=(8, 100)), jnp.float32)
    layer = EqualizedDense(50, lr_mul=0.01)
    params = layer.init(rbg_key(1), x)["params"]
    stored = np.asarray(params["kernel"])
    assert abs(stored.std() - 100) < 2  # N(0, 1 / lr_mul^2) as stored ...
    effective = stored * math.sqrt(2 / 100) * 0.01  # ... the same N(0, 2 / fan_in) effective weights as lr_mul 1
    assert abs(effective.std() - math.sqrt(2 / 100)) < 0.01
    params = {"kernel": params["kernel"], "bias": jnp.full((50,), 3.0)}
    np.testing.assert_allclose(layer.apply({"params": params}, x), x @ effective + 0.03, rtol=1e-4, atol=1e-4)
    # one Adam step moves every stored weight by ~lr (sign of its gradient): the effective weights by lr * c * 0.01
    tx, target = optax.adam(1e-3), jnp.asarray(np.random.default_rng(6).normal(size=(8, 50)), jnp.float32)
    grads = jax.grad(lambda p: jnp.sum(layer.apply({"params": p}, x) * target))(params)
    new = optax.apply_updates(params, tx.update(grads, tx.init(params))[0])
    step = np.abs(np.asarray(new["kernel"]) - stored) * math.sqrt(2 / 100) * 0.01
    np.testing.assert_allclose(step, 1e-3 * math.sqrt(2 / 100) * 0.01, rtol=2e-2)  # float32 weights ~100
    assert stylegan.generator(_cfg(mapping_lr_mul=0.01), SHAPE).mapping_lr_mul == 0.01


def test_with_every_switch_off_it_is_progans_generator(switched_off):
    off, variables = switched_off
    pro = progan.generator(_cfg(), SHAPE)
    z = _z(0)
    expected = _g(pro, {"params": variables["params"]["synthesis"]}, z, 1, 0.5, psi=None)  # both levels, blended
    np.testing.assert_allclose(_g(off, variables, z, 1, 0.5), expected, rtol=1e-5, atol=1e-5)


def test_fade_in_at_alpha_0_is_the_previous_stage_up_sampled(full):
    g, v = full
    z = _z(1)
    np.testing.assert_array_equal(_g(g, v, z, 1, 0.0), upsample_nearest(_g(g, v, z, 0, 1.0)))  # noise included
    old_rgb = {**v, "params": {**v["params"], "synthesis": _perturbed(v["params"]["synthesis"], "to_rgb4")}}
    np.testing.assert_array_equal(_g(g, old_rgb, z, 1, 1.0), _g(g, v, z, 1, 1.0))
    assert not np.allclose(_g(g, v, z, 1, 0.0), _g(g, v, z, 1, 1.0))


def test_noise_off_is_deterministic(full, switched_off):
    (g, v), (quiet, vq) = full, switched_off
    z = _z(2)
    assert not np.allclose(_g(g, v, z, 1, 0.5, seed=0), _g(g, v, z, 1, 0.5, seed=1))
    np.testing.assert_array_equal(_g(quiet, vq, z, 1, 0.5, seed=0), _g(quiet, vq, z, 1, 0.5, seed=1))


def test_truncation_psi_0_is_the_average_ws_image_and_psi_1_the_identity(full):
    g, v = full
    z = _z(3)
    w, w_avg = _mapping(g, v, z), v["batch_stats"]["w_avg"]
    np.testing.assert_array_equal(_g(g, v, z, 1, 0.5, psi=1.0), _styles(g, v, _same(w), 1, 0.5)[0])
    at_avg = np.asarray(_g(g, v, z, 1, 0.5, psi=0.0))
    np.testing.assert_allclose(at_avg, _styles(g, v, _same(jnp.broadcast_to(w_avg, w.shape)), 1, 0.5)[0],
                               rtol=1e-5, atol=1e-5)
    half = _styles(g, v, _same(0.5 * (w + w_avg)), 1, 0.5)[0]
    np.testing.assert_allclose(_g(g, v, z, 1, 0.5, psi=0.5), half, rtol=1e-4, atol=1e-4)
    assert not np.allclose(at_avg, half)


@pytest.mark.parametrize("cutoff", [1, 2, 3])
def test_style_mixing_swaps_exactly_the_chosen_layers(full, cutoff):
    g, v = full
    wa, wb, wb2 = (_mapping(g, v, _z(s)) for s in (4, 5, 6))
    mixed = stylegan.mix(wa, wb, cutoff, 4)
    expected = np.concatenate([np.repeat(np.asarray(wa)[:, None], cutoff, 1),
                               np.repeat(np.asarray(wb)[:, None], 4 - cutoff, 1)], 1)  # [A] * c + [B] * (4 - c)
    np.testing.assert_array_equal(mixed, expected)
    out_a, layers_a = _styles(g, v, _same(wa), 1, 1.0)
    out_mix, layers_mix = _styles(g, v, mixed, 1, 1.0)
    out_mix2, layers_mix2 = _styles(g, v, stylegan.mix(wa, wb2, cutoff, 4), 1, 1.0)  # another B
    assert sorted(layers_a) == [0, 1, 2, 3]
    for i in range(4):
        if i < cutoff:  # A's layers: as A alone, whatever B is
            np.testing.assert_array_equal(layers_mix[i], layers_a[i])
            np.testing.assert_array_equal(layers_mix2[i], layers_a[i])
        else:  # B's: from its crossover on, every layer changes with B
            assert not np.allclose(layers_mix[i], layers_a[i]) and not np.allclose(layers_mix2[i], layers_mix[i])
    assert not np.allclose(out_mix, out_a) and not np.allclose(out_mix2, out_mix)


def test_training_calls_track_the_average_w_and_mix():
    g = stylegan.generator(_cfg(mixing_prob=1.0), SHAPE)
    v = _variables(g, 1)
    z = _z(7)

    @jax.jit
    def train(variables):
        return g.apply(variables, z, 1, jnp.float32(1), train=True, mutable=["batch_stats", "intermediates"],
                       capture_intermediates=True, rngs={"dropout": jax.random.key(3)})

    _, state = train(v)
    w = np.asarray(_mapping(g, v, z))
    old = np.asarray(v["batch_stats"]["w_avg"])
    np.testing.assert_allclose(state["batch_stats"]["w_avg"], w.mean(0) + 0.995 * (old - w.mean(0)), rtol=1e-5,
                               atol=1e-6)
    # mixing (probability 1): layer 0 keeps z's w, the crossover is in 1..3, so the last layer has the second w
    syn = state["intermediates"]["synthesis"]
    plain, layers = _styles(g, v, _same(jnp.asarray(w)), 1, 1.0, seed=3)  # the same noise draws
    np.testing.assert_allclose(syn["style0"]["__call__"][0], layers[0], rtol=1e-5, atol=1e-5)
    assert not np.allclose(syn["style3"]["__call__"][0], layers[3])
    np.testing.assert_array_equal(_g(g, v, z, 1, 1.0, seed=3), plain)  # sampling: no mixing, w_avg unchanged


def test_the_table_rows_and_bad_values():
    rows = {row: config_lib.load(f"configs/stylegan_emoji.py:{row}") for row in "bcdef"}
    switches = ("blur", "mapping_layers", "styles", "const_input", "noise", "mixing_prob")
    assert {row: tuple(c.model[k] for k in switches) for row, c in rows.items()} == {
        "b": (True, 0, False, False, False, 0.0), "c": (True, 8, True, False, False, 0.0),
        "d": (True, 8, True, True, False, 0.0), "e": (True, 8, True, True, True, 0.0),
        "f": (True, 8, True, True, True, 0.9)}
    assert config_lib.to_json(config_lib.load("configs/stylegan_emoji.py")) == config_lib.to_json(rows["f"])
    budget = ("num_steps", "batch_size", "model.stage_images", "model.width", "model.z_dim", "loss", "optimizer",
              "ema_decay", "data")
    a = config_lib.load("configs/progan_emoji.py")
    for c in rows.values():
        assert all(str(c[k] if "." not in k else c.model[k[6:]]) == str(a[k] if "." not in k else a.model[k[6:]])
                   for k in budget)
    assert config_lib.load("configs/stylegan_emoji.py:c,tiny").model.width == 8
    with pytest.raises(ConfigError, match="unknown variant 'g'"):
        config_lib.load("configs/stylegan_emoji.py:g")
    for keys, key in ((dict(styles=False), "model.const_input"), (dict(mixing_prob=1.5), "model.mixing_prob"),
                      (dict(mapping_layers=-1), "model.mapping_layers"), (dict(w_avg_decay=1.0), "model.w_avg_decay"),
                      (dict(mapping_lr_mul=0.0), "model.mapping_lr_mul")):
        with pytest.raises(ConfigError, match=key):
            stylegan.generator(_cfg(**keys), SHAPE)



def test_blur_and_noise_layers_by_hand():
    x = np.random.default_rng(8).normal(size=(2, 5, 6, 3))
    k = np.outer([1, 2, 1], [1, 2, 1]) / 16
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    expected = sum(k[a, b] * xp[:, a:a + 5, b:b + 6] for a in range(3) for b in range(3))
    np.testing.assert_allclose(blur(jnp.asarray(x, jnp.float32)), expected, rtol=1e-5, atol=1e-6)
    strength = np.asarray([0.0, 1.0, -2.0], np.float32)
    out = NoiseInput().apply({"params": {"strength": strength}}, jnp.asarray(x, jnp.float32),
                             rngs={"dropout": jax.random.key(0)})
    added = np.asarray(out) - x  # one noise image per example, scaled per channel
    np.testing.assert_allclose(added[..., 0], 0, atol=1e-6)
    np.testing.assert_allclose(added[..., 2], -2 * added[..., 1], rtol=1e-4, atol=1e-5)
    assert abs(added[..., 1].std() - 1) < 0.5 and not np.allclose(added[0, ..., 1], added[1, ..., 1])
