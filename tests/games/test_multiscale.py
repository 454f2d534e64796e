"""The multiscale game (jaxgen.games.multiscale) on configs/msggan_emoji.py:tiny (Twemoji at 8 x 8: scales 4 and 8,
batch 4): D's reals are the batch average-pooled by hand, its fakes G's list; the drift term against D on the
reals; samples at 8 x 8; one-line errors; and a run stopped after 2 of its 4 steps resuming bit for bit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.defaults import gan as gan_defaults
from jaxgen.errors import ConfigError
from jaxgen.games import multiscale
from jaxgen.games.base import Players
from tests.games import runs
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)

TINY = "configs/msggan_emoji.py:tiny"


def _config(data_dir, *overrides):
    return config_lib.load(TINY, [f"data.data_dir={data_dir}", "checkpoint_every=2", "sample_every=1000",
                                  *overrides])


def _game(config):
    return multiscale.build(config, pipeline.output_info(config.data), None)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, emoji_data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("msggan"))
    return workdir, runs.train(_config(emoji_data_dir), workdir, one_device_mesh)


def test_reals_are_the_pooled_pyramid_fakes_g_list_and_drift(emoji_data_dir, uninterrupted):
    config, state = _config(emoji_data_dir), uninterrupted[1]
    game = _game(config)
    x = np.random.default_rng(0).uniform(-1, 1, (4, 8, 8, 3)).astype(np.float32)

    @jax.jit
    def terms(params, model_state, images):
        players = Players(game.modules, params, model_state, 0, jnp.int32(4))
        inputs = game.d_inputs(players, {"image": images}, jax.random.key(2))
        outs, extras = game.d_terms(players, inputs, (jax.random.key(3), jax.random.key(4)))
        return inputs, outs, extras, game.modules["d"].apply({"params": params["d"]}, inputs["real"], train=False)

    inputs, outs, extras, d_real = terms(state["params"], state["model_state"], jnp.asarray(x))
    pooled = (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) / 4
    np.testing.assert_allclose(inputs["real"][0], pooled, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(inputs["real"][1], x)
    assert [f.shape for f in inputs["fake"]] == [(4, 4, 4, 3), (4, 8, 8, 3)]
    np.testing.assert_allclose(outs["d"][0], d_real, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(extras["drift"], np.mean(np.square(np.asarray(d_real))), rtol=1e-5)
    assert config.loss.weights.drift == 0.001 and config.loss.penalty == "wgan_gp"


def test_samples_are_g_full_resolution_images(emoji_data_dir, uninterrupted, one_device_mesh, monkeypatch):
    config, task, state, _ = runs.restored(uninterrupted[0], 4, one_device_mesh, monkeypatch)
    images = np.asarray(task.generate(state, jax.random.key(5), config.num_samples))  # the grid program
    game = _game(config)
    z = game.family.latent(jax.random.key(5), config.num_samples, config.model)
    direct = jax.jit(lambda p: game.modules["g"].apply({"params": p}, z, train=False))(state["ema"])  # G of the EMA
    assert [x.shape for x in direct] == [(16, 4, 4, 3), (16, 8, 8, 3)]
    np.testing.assert_allclose(images, np.clip(direct[-1], -1, 1), rtol=1e-5, atol=1e-5)  # shown as images are
    assert np.abs(direct[-1]).max() > 1  # G's linear output leaves [-1, 1]: the clip is tested
    assert len(np.unique(images)) > 100


def test_bad_config_is_one_line_errors(emoji_data_dir):
    dcgan = gan_defaults.default_config("dcgan", "wgan_gp", game="multiscale")
    with pytest.raises(ConfigError, match="model.name='dcgan' is not multi-scale"):
        multiscale.build(dcgan, {"image_shape": (8, 8, 3)}, None)
    with pytest.raises(ConfigError, match="power of two"):
        _game(_config(emoji_data_dir, "data.image_size=12"))
    with pytest.raises(ConfigError, match="unknown config key .loss.weights.path_length."):  # G returns a list: none
        _config(emoji_data_dir, "loss.weights.path_length=2.0")


def test_stop_and_resume_is_exact(uninterrupted, emoji_data_dir, tmp_path, one_device_mesh):
    first, resumed = runs.stop_and_resume(_config(emoji_data_dir), 2, tmp_path, one_device_mesh)
    assert int(first["step"]) == 2 and int(resumed["step"]) == 4
    runs.assert_same(resumed, uninterrupted[1])
