"""The progressive game (jaxgen.games.progressive) on configs/progan_emoji.py:tiny (Twemoji at 8 x 8: stage 0 at
4 x 4 for steps 0-3, stage 1 at 8 x 8 from step 4, alpha 0, 0.5, 1, ... by images shown; batch 4).

The schedule; the reals D sees (average-pooled, faded in); the drift term against D's outputs; samples up-sampled
to 8 x 8; one-line errors; and a run stopped at the stage switch or just after it (mid-fade) resuming bit for bit,
with the 8 x 8 level untouched through stage 0 and the optimizer states fresh at the switch.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.defaults import gan as gan_defaults
from jaxgen.errors import ConfigError
from jaxgen.games import progressive
from jaxgen.games.base import Players
from jaxgen.nn.progressive import avg_pool, upsample_nearest
from tests.games import runs
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)

TINY = "configs/progan_emoji.py:tiny"
STEPS = 6  # stage 0: steps 0-3; stage 1: steps 4 (alpha 0) and 5 (alpha 0.5)


def _config(data_dir, *overrides):
    return config_lib.load(TINY, [f"data.data_dir={data_dir}", f"num_steps={STEPS}", "checkpoint_every=4",
                                  "sample_every=1000", *overrides])


def _game(config):
    return progressive.build(config, pipeline.output_info(config.data), None)


def _images(seed):  # numpy's draw: XLA:CPU takes seconds to compile a 4-D jax.random draw
    return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, (4, 8, 8, 3)), jnp.float32)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, emoji_data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("progan"))
    return workdir, runs.train(_config(emoji_data_dir), workdir, one_device_mesh)


def test_stages_and_fade_in_by_images_shown(emoji_data_dir):
    game = _game(_config(emoji_data_dir))
    assert game.levels == 2 and game.stage_starts == (0, 4)  # 16 images a stage, batch 4
    assert [float(game.alpha(1, s)) for s in (4, 5, 6, 7, 9)] == [0.0, 0.5, 1.0, 1.0, 1.0]  # over 8 images
    assert float(game.alpha(0, 2)) == 1.0
    paper = _game(_config(emoji_data_dir, "model.stage_images=1200000", "batch_size=16", "accumulate=2"))
    assert paper.stage_starts == (0, 37_500)  # 1.2M images of 32 a step
    assert float(paper.alpha(1, 37_500 + 4_687)) == pytest.approx(4_687 * 32 / 600_000)


def test_reals_are_pooled_to_the_stage_and_faded_in(emoji_data_dir):
    reals = jax.jit(_game(_config(emoji_data_dir)).reals, static_argnums=1)
    x = _images(0)
    pooled = (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) / 4
    np.testing.assert_allclose(reals(x, 0, jnp.float32(1)), pooled, rtol=1e-6, atol=1e-7)  # summation order (CPU model)
    np.testing.assert_array_equal(reals(x, 1, jnp.float32(1)), x)
    np.testing.assert_array_equal(reals(x, 1, jnp.float32(0)), upsample_nearest(avg_pool(x)))
    np.testing.assert_allclose(reals(x, 1, jnp.float32(0.5)), 0.5 * (x + upsample_nearest(avg_pool(x))),
                               rtol=1e-6, atol=1e-7)


def test_drift_term_against_d_on_the_faded_reals(emoji_data_dir, uninterrupted):
    config, state = _config(emoji_data_dir), uninterrupted[1]
    game = _game(config)
    batch = {"image": _images(1)}

    @jax.jit
    def terms(params, model_state, batch):
        players = Players(game.modules, params, model_state, 1, jnp.int32(5))  # alpha 0.5
        inputs = game.d_inputs(players, batch, jax.random.key(2))
        outs, extras = game.d_terms(players, inputs, (jax.random.key(3), jax.random.key(4)))
        d_real = game.modules["d"].apply({"params": params["d"]}, game.reals(batch["image"], 1, 0.5), 1,
                                         jnp.float32(0.5), train=False)
        return inputs["fake"], outs, extras, d_real

    fake, outs, extras, d_real = terms(state["params"], state["model_state"], batch)
    assert fake.shape == (4, 8, 8, 3)
    np.testing.assert_allclose(outs["d"][0], d_real, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(extras["drift"], np.mean(np.square(np.asarray(d_real))), rtol=1e-5)
    assert config.loss.weights.drift == 0.001 and config.loss.penalty == "wgan_gp" and config.n_critic == 1


def test_bad_config_is_one_line_errors(emoji_data_dir):
    with pytest.raises(ConfigError, match="'model.stage_images' .* at least two steps"):
        _game(_config(emoji_data_dir, "model.stage_images=7"))
    with pytest.raises(ConfigError, match="power of two"):
        _game(_config(emoji_data_dir, "data.image_size=12"))
    dcgan = gan_defaults.default_config("dcgan", "wgan_gp", game="progressive")
    with pytest.raises(ConfigError, match="model.name='dcgan' does not grow"):
        progressive.build(dcgan, {"image_shape": (8, 8, 3)}, None)


def test_the_new_level_waits_through_stage_0_and_samples_are_up_sampled(uninterrupted, one_device_mesh, monkeypatch):
    config, task, boundary, init = runs.restored(uninterrupted[0], 4, one_device_mesh, monkeypatch)  # after stage 0
    assert int(boundary["stage"]) == 0
    for role, names in (("g", ("conv8_0", "conv8_1", "to_rgb8")), ("d", ("from_rgb8", "conv8_0", "conv8_1"))):
        for name in names:  # zero gradients through stage 0: exactly the initial weights
            runs.assert_same(boundary["params"][role][name], init["params"][role][name])
        assert not np.array_equal(boundary["params"][role]["conv4"]["kernel"], init["params"][role]["conv4"]["kernel"])
    images = np.asarray(task.generate(boundary, jax.random.key(5), config.num_samples))  # stage 0's grid program
    assert images.shape == (config.num_samples, 8, 8, 3)  # 4 x 4 images up-sampled to the data's size
    np.testing.assert_array_equal(images, np.repeat(np.repeat(images[:, ::2, ::2], 2, 1), 2, 2))
    assert len(np.unique(images[:, ::2, ::2])) > 100


@pytest.mark.parametrize("stop", [4, 5], ids=["at_switch", "mid_fade"])
def test_stop_and_resume_is_exact(uninterrupted, emoji_data_dir, tmp_path, one_device_mesh, stop):
    first, resumed = runs.stop_and_resume(_config(emoji_data_dir), stop, tmp_path, one_device_mesh)
    assert int(first["stage"]) == (0 if stop == 4 else 1)
    if stop == 5:  # one update since the switch reset both optimizers: Adam's counts are 1
        counts = [int(v) for v in jax.tree.leaves(first["opt"]) if np.asarray(v).dtype == np.int32]
        assert counts and set(counts) == {1}
    runs.assert_same(resumed, uninterrupted[1])  # params, EMA, optimizers, step, stage
