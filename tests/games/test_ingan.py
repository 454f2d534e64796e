"""The InGAN game and networks: G's output shapes for arbitrary targets, the reconstruction (cycle) term against a
direct computation, exact resume, the sample grid of target shapes, and bad inputs as one-line ConfigErrors."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.errors import ConfigError
from jaxgen.games import ingan
from jaxgen.games.base import Players
from jaxgen.models import ingan as ingan_model
from jaxgen.trainers import gan
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)
from tests.trees import max_diff

TINY = "configs/ingan_photo.py:tiny"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("ingan"))
    return workdir, jax.device_get(gan.train_and_evaluate(config_lib.load(TINY), workdir, mesh=one_device_mesh))


def test_generator_output_shapes_for_arbitrary_targets():
    g = ingan_model.Generator(width=4, blocks=1)
    x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (2, 16, 24, 3)), jnp.float32)
    apply = jax.jit(g.apply, static_argnums=2)
    params = jax.jit(g.init, static_argnums=2)(jax.random.key(0), x, (16, 24))
    for shape in [(16, 36), (28, 20)]:
        out = apply(params, x, shape)
        assert out.shape == (2, *shape, 3) and float(jnp.abs(out).max()) <= 1.0
    assert ingan_model.target_shape((40, 64), (0.7, 1.3)) == (28, 84)  # rounded to multiples of 4
    assert ingan.retarget(lambda images, shape: apply(params, images, shape), x[0], (15, 37)).shape == (16, 36, 3)


def test_reconstruction_term_is_the_l1_of_the_cycle():
    config = config_lib.load(TINY)
    game = ingan.build(config, pipeline.output_info(config.data), None)
    params, model_state = jax.jit(game.init)(jax.random.key(1))

    @jax.jit
    def term(params, key):
        players = Players(game.modules, params, model_state)
        return game.g_terms(players, game.g_inputs(players, {}, (key,)), (key, key))[1]["reconstruction"]

    g = jax.jit(game.modules["g"].apply, static_argnums=2)
    x = jnp.asarray(game.image)[None]
    direct = np.mean([np.mean(np.abs(np.asarray(g({"params": params["g"]}, g({"params": params["g"]}, x, s),
                                                  game.shape), np.float64) - game.image))
                      for s in game.train_shapes])
    extras = {"reconstruction": term(params, jax.random.key(2))}
    assert game.train_shapes == [(16, 48), (32, 72)] and game.image.shape == (32, 48, 3)
    assert float(extras["reconstruction"]) == pytest.approx(direct, rel=1e-5)


def test_trains_and_samples_a_grid_of_shapes(trained):
    workdir, state = trained
    assert int(state["step"]) == 4 and set(state["params"]) == {"g", "d"}
    grid = np.asarray(Image.open(os.path.join(workdir, "samples", "step_0000004.png")))
    assert grid.ndim == 3 and grid.shape[0] >= 48 and grid.shape[1] >= 2 * 72  # canvases of the largest shape
    config = config_lib.load(TINY)
    task = gan.create_task(config, pipeline.output_info(config.data), None)
    images = np.asarray(task.generate(state, jax.random.key(0), 4))
    assert images.shape == (4, 48, 72, 3)
    assert np.all(images[0, 16:] == 1.0) and np.all(images[0, :, 24:] == 1.0)  # 16x24 on white
    assert np.all(images[3, :, 36:] == 1.0) and not np.all(images[3, :, :36] == 1.0)  # 48x36


def test_stop_and_resume_is_exact(trained, tmp_path, one_device_mesh):
    gan.train_and_evaluate(config_lib.load(TINY, ["num_steps=2"]), str(tmp_path), mesh=one_device_mesh)
    state = jax.device_get(gan.train_and_evaluate(config_lib.load(TINY), str(tmp_path), mesh=one_device_mesh))
    assert max_diff(state, trained[1]) == 0.0


@pytest.mark.parametrize("override, fragment", [
    ("data.image=/no/such/photo.png", "data.image='/no/such/photo.png' is neither an image file"),
    ("model.sample_scales=((0.25, 1.0),)", "model.sample_scales: scale (0.25, 1.0) of the 32x48 image gives 8x48"),
    ("data.max_size=12", "data.max_size=12"),
    ("data.name=mnist5k", "data.name='single_image'"),
])
def test_bad_inputs_are_one_line_errors(override, fragment):
    config = config_lib.load(TINY, [override])
    with pytest.raises(ConfigError) as e:
        ingan.build(config, {}, None)
    assert fragment in str(e.value) and "\n" not in str(e.value)
