"""LapGAN: the Laplacian pyramid (jaxgen.nn.laplacian) against numpy, and the laplacian game (jaxgen.games.laplacian)
on configs/lapgan_emoji.py:tiny (Twemoji at 8 x 8: level 0 at 4 x 4 for steps 0-1, level 1 at 8 x 8 for steps 2-3;
batch 4).

The pyramid's levels and residuals by hand and its reconstruction; each level's reals; samples against the levels
composed by hand; through the trainer, only the stage's level changing (the others bit for bit); one-line errors;
a run stopped at the level switch or after it resuming bit for bit.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.errors import ConfigError
from jaxgen.games import laplacian as game_lib
from jaxgen.games.base import Players
from jaxgen.models import lapgan
from jaxgen.nn import laplacian
from tests.games import runs
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)

TINY = "configs/lapgan_emoji.py:tiny"


def _config(data_dir, *overrides):
    return config_lib.load(TINY, [f"data.data_dir={data_dir}", "checkpoint_every=2", "sample_every=1000",
                                  *overrides])


def _game(config):
    return game_lib.build(config, pipeline.output_info(config.data), None)


def _images(seed, size=8):
    return np.random.default_rng(seed).uniform(-1, 1, (4, size, size, 3)).astype(np.float32)


def _block_mean(x):  # numpy's 2 x 2 average pooling
    return (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) / 4


def _repeat(x):  # numpy's nearest up-sampling
    return np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)


def test_pyramid_residuals_by_hand_and_exact_reconstruction():
    x = _images(0, 16)
    dyadic = np.round(x * 64) / 64  # every mean and difference below is exact in float32: no rounding anywhere
    for images, exact in ((x, False), (dyadic, True)):
        g1 = _block_mean(images)
        g0 = _block_mean(g1)
        want = [g0, g1 - _repeat(g0), images - _repeat(g1)]  # I_0, then h_l = I_l - u(I_{l-1})
        pyramid = [np.asarray(level) for level in laplacian.laplacian(jnp.asarray(images), 3)]
        rebuilt = np.asarray(laplacian.reconstruct(pyramid))
        assert [p.shape[1] for p in pyramid] == [4, 8, 16]
        if exact:
            for got, expected in zip(pyramid, want):
                np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(rebuilt, images)
        else:
            for got, expected in zip(pyramid, want):
                np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(rebuilt, images, rtol=0, atol=1e-6)  # float32 rounding only
        for residual in pyramid[1:]:  # band-pass: no 2 x 2 block mean left (d(u(x)) = x)
            np.testing.assert_allclose(_block_mean(residual), 0.0, atol=1e-6)


def test_levels_and_reals(emoji_data_dir):
    game = _game(_config(emoji_data_dir))
    assert game.sizes == [4, 8] and game.stage_starts == (0, 2)
    assert game.g_players == ("g0", "g1") and game.d_players == ("d0", "d1")
    digits = config_lib.load("configs/lapgan_emoji.py:digits")
    assert lapgan.levels((28, 28, 1), digits.model) == [7, 14, 28] and digits.num_steps == 3 * 5000
    paper = game_lib.build(digits, {"image_shape": (28, 28, 1)}, None)  # shapes only: traced, not compiled
    params, model_state = jax.eval_shape(paper.init, jax.random.key(0))
    assert params["g0"]["h0"]["kernel"].shape == (100, 1200) and params["d0"]["h0"]["kernel"].shape == (49, 600)
    assert params["g2"]["conv0"]["kernel"].shape == (3, 3, 2, 128)  # the low-pass and the noise plane
    image = jax.eval_shape(lambda p, m: paper.sample(Players(paper.modules, p, m, 2, 0), jax.random.key(1), 3),
                           params, model_state)
    assert image.shape == (3, 28, 28, 1)
    assert lapgan.levels((32, 32, 3), config_lib.load("configs/lapgan_emoji.py").model) == [8, 16, 32]
    x = _images(1)
    real0, low0 = game.reals(jnp.asarray(x), 0)
    real1, low1 = game.reals(jnp.asarray(x), 1)
    assert low0 is None
    np.testing.assert_allclose(real0, _block_mean(x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(low1, _repeat(_block_mean(x)), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(real1, x - _repeat(_block_mean(x)), rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, emoji_data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("lapgan"))
    return workdir, runs.train(_config(emoji_data_dir), workdir, one_device_mesh)


def test_level_1_d_judges_the_batch_residual_given_its_low_pass(emoji_data_dir, uninterrupted):
    config, state = _config(emoji_data_dir), uninterrupted[1]
    game, x, k = _game(config), jnp.asarray(_images(2)), jax.random.key(4)

    @jax.jit
    def terms(params, model_state):
        players = Players(game.modules, params, model_state, 1, jnp.int32(3))
        inputs = game.d_inputs(players, {"image": x}, jax.random.key(2))
        outs, extras = game.d_terms(players, inputs, (k, k))
        critic, real, fake = game.critics(players, inputs, k)["d"]
        by_hand = game.modules["d1"].apply({"params": params["d1"]}, *game.reals(x, 1), train=True,
                                           rngs={"dropout": k})
        return inputs, outs, extras, (critic(real), critic(fake)), by_hand

    inputs, outs, extras, critic, by_hand = terms(state["params"], state["model_state"])
    assert extras == {} and inputs["fake"].shape == (4, 8, 8, 3)
    np.testing.assert_allclose(inputs["low"], _repeat(_block_mean(np.asarray(x))), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(outs["d"][0], by_hand)  # D_1(h_1, u(I_0)) of the batch
    np.testing.assert_array_equal(critic[0], outs["d"][0])  # the penalties' critic: the same D, low fixed
    np.testing.assert_array_equal(critic[1], outs["d"][1])


def test_samples_compose_the_levels(emoji_data_dir, uninterrupted):
    config, state = _config(emoji_data_dir), uninterrupted[1]
    game, key, n = _game(config), jax.random.key(3), 5

    @jax.jit
    def samples(params, model_state):
        return [game.sample(Players(game.modules, params, model_state, stage, jnp.int32(4)), key, n)
                for stage in (0, 1)]

    def apply(name, *args):
        variables = {"params": state["params"][name], **state["model_state"][name]}
        return np.asarray(game.modules[name].apply(variables, *args, train=False))

    k0, k1 = jax.random.split(key)
    coarse = apply("g0", lapgan.latent(k0, n, config.model))
    residual = apply("g1", lapgan.noise_plane(k1, n, 8), _repeat(coarse))
    stage0, stage1 = (np.asarray(s) for s in samples(state["params"], state["model_state"]))
    assert coarse.shape == (n, 4, 4, 3) and stage1.shape == (n, 8, 8, 3)
    np.testing.assert_array_equal(stage0, _repeat(coarse))  # level 1 not trained yet: up-sampled only
    np.testing.assert_allclose(stage1, _repeat(coarse) + residual, rtol=1e-6, atol=1e-6)
    assert np.abs(residual).max() > 0


def test_only_the_stage_level_learns(uninterrupted, one_device_mesh, monkeypatch):
    workdir, final = uninterrupted
    config, task, boundary, init = runs.restored(workdir, 2, one_device_mesh, monkeypatch)  # after stage 0 (steps 0-1)
    assert int(boundary["stage"]) == 0 and int(final["stage"]) == 1
    images = np.asarray(task.generate(boundary, jax.random.key(5), config.num_samples))  # stage 0's grid program
    assert images.shape == (config.num_samples, 8, 8, 3) and len(np.unique(images)) > 100
    np.testing.assert_array_equal(images, _repeat(images[:, ::2, ::2]))  # level 1 not trained: up-sampled only
    for trained, waiting, before, after in ((("g0", "d0"), ("g1", "d1"), init, boundary),
                                            (("g1", "d1"), ("g0", "d0"), boundary, final)):
        for name in waiting:  # zero gradients from fresh optimizer states: bit for bit unchanged
            runs.assert_same(after["params"][name], before["params"][name])
            runs.assert_same(after["model_state"][name], before["model_state"][name])
        for name in trained:
            assert all(not np.array_equal(a, b) for a, b in zip(jax.tree.leaves(after["params"][name]),
                                                                 jax.tree.leaves(before["params"][name])))


def test_bad_config_is_one_line_errors(emoji_data_dir):
    for override, match in (("model.base_size=3", "'model.base_size' .* base_size x 2\\*\\*n"),
                            ("model.base_size=8", "'model.base_size'"),
                            ("model.level_steps=0", "'model.level_steps'"),
                            ("model.d_dropout=1.0", "'model.d_dropout'"),
                            ("model.width=0", "'model.width'"),
                            ("remat=true", "'remat'")):
        with pytest.raises(ConfigError, match=match) as error:
            _game(_config(emoji_data_dir, override))
        assert "\n" not in str(error.value)
    with pytest.raises(ConfigError, match="model.name='dcgan' has no pyramid"):
        _game(_config(emoji_data_dir, "model.name=dcgan"))


@pytest.mark.parametrize("stop", [2, 3], ids=["at_switch", "after_switch"])
def test_stop_and_resume_is_exact(uninterrupted, emoji_data_dir, tmp_path, one_device_mesh, stop):
    first, resumed = runs.stop_and_resume(_config(emoji_data_dir), stop, tmp_path, one_device_mesh)
    assert int(first["stage"]) == (0 if stop == 2 else 1)
    runs.assert_same(resumed, uninterrupted[1])  # params, optimizers, step, stage
