"""Staged games in the adversarial trainer: `begin_stage` at the boundary, a fade-in read from `players.step`, and
bit-exact resume from inside stage 0, exactly at the boundary, and inside stage 1 (mid-fade).

The game is tests/games/two_stage_game.py (stage 1 starts at step 3 and fades in over 4 steps; 6 steps in all).
"""

import jax
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen import games
from jaxgen.defaults import gan as gan_defaults
from jaxgen.engine import keys
from jaxgen.engine import workdir as workdir_lib
from jaxgen.errors import ConfigError
from jaxgen.trainers import gan
from tests.games import runs
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)

GAME = "tests.games.two_stage_game"
STEPS = 6


def _config(num_steps=STEPS):
    config = gan_defaults.default_config("two_stage", "ns", game=GAME)
    config.data.name = "ring8"
    config_lib.shrink_for_tests(config)
    config.num_steps = num_steps
    config.log_every = 1
    config.checkpoint_every = 3  # the boundary's state stays in the uninterrupted workdir
    config.sample_every = 1000  # grids at the first and last steps only
    return config


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("staged"))
    return workdir, runs.train(_config(), workdir, one_device_mesh)


def test_dotted_game_path_and_stage_schedule():
    game = games.get(GAME).build(_config(), {"image_shape": (2,)}, None)
    assert game.stage_starts == (0, 3) and game.synthetic
    assert [float(game.alpha(1, s)) for s in (3, 4, 5, 6, 7)] == [0.25, 0.5, 0.75, 1.0, 1.0]


def test_stage_starts_must_start_at_zero_and_increase(monkeypatch):
    module = games.get(GAME)
    game = module.build(_config(), {"image_shape": (2,)}, None)
    monkeypatch.setattr(module, "build", lambda *args: game)
    for bad in ((1, 3), (0, 3, 3)):
        game.stage_starts = bad
        with pytest.raises(ConfigError, match=r"stage_starts \(.*must start at 0 and increase"):
            gan.create_task(_config(), {"image_shape": (2,)}, None)


def test_begin_stage_ran_once_at_the_boundary(uninterrupted):
    workdir, state = uninterrupted
    assert int(state["step"]) == STEPS and int(state["stage"]) == 1
    config, task, boundary, _ = workdir_lib.restore(workdir, 3)  # after steps 0, 1, 2: still stage 0
    boundary = jax.device_get(boundary)
    assert int(boundary["stage"]) == 0 and float(boundary["model_state"]["g"]["stage"]["noise_amp"]) == 0.0
    game = games.get(GAME).build(config, {"image_shape": (2,)}, None)
    expected = jax.jit(game.noise_amp, static_argnums=2)(boundary["params"]["g"], boundary["model_state"]["g"], 1)
    amp = state["model_state"]["g"]["stage"]["noise_amp"]
    assert float(amp) > 0.0
    np.testing.assert_allclose(amp, expected, rtol=1e-6)  # measured on the stage-0 generator at step 3
    init = jax.device_get(task.init(keys.init_key(config.seed)))
    for name in ("fine_h", "fine_out"):  # stage 0 trains the coarse path only, stage 1 the fine block too
        runs.assert_same(boundary["params"]["g"][name], init["params"]["g"][name])
        assert not np.array_equal(boundary["params"]["g"][name]["kernel"], state["params"]["g"][name]["kernel"])
    assert not np.array_equal(boundary["params"]["g"]["coarse_h"]["kernel"], init["params"]["g"]["coarse_h"]["kernel"])


@pytest.mark.parametrize("stop", [2, 3, 5], ids=["inside_stage0", "at_boundary", "mid_fade"])
def test_stop_and_resume_is_exact(uninterrupted, tmp_path, one_device_mesh, stop):
    first, resumed = runs.stop_and_resume(_config(), stop, tmp_path, one_device_mesh)
    assert int(first["stage"]) == (0 if stop <= 3 else 1)
    runs.assert_same(resumed, uninterrupted[1])  # params, optimizer, step, stage and the stage's noise amplitude
