"""The cycle game (CycleGAN on unpaired toy points; four players, two optimizer groups) end to end: training with
no dataset, exact resume, `jaxgen sweep` against the runs trained alone, samples as scatter plots. `jaxgen
research` on its groups: tests/research/test_cycle_groups.py."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.engine import workdir as workdir_lib
from jaxgen.errors import ConfigError
from jaxgen.games import cycle
from jaxgen.trainers import gan, sweep
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)
from tests.trees import max_diff

TINY = "configs/cycle_toy.py:tiny"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("cycle"))
    return workdir, jax.device_get(gan.train_and_evaluate(config_lib.load(TINY), workdir, mesh=one_device_mesh))


def test_four_players_in_two_groups_with_no_dataset(trained):
    workdir, state = trained
    assert set(state["params"]) == {"g_ab", "g_ba", "d_a", "d_b"} and int(state["step"]) == 4
    assert json.load(open(os.path.join(workdir, "run.json")))["image_shape"] == [2]
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert {"d_loss", "g_loss", "g_cycle", "g_identity", "d_real_d_a", "d_fake_d_b"} <= set(rows[-1])
    assert all(np.isfinite(v) for v in rows[-1].values())
    grid = Image.open(os.path.join(workdir, "samples", "step_0000004.png"))
    assert grid.size == (256, 256) and grid.mode == "RGB"  # a scatter plot of the translated points


def test_domains_and_translation_of_a_source(trained):
    config = config_lib.load(TINY)
    game = cycle.build(config, pipeline.output_info(config.data), None)
    assert game.b.num_modes == 8 and np.allclose(np.linalg.norm(game.b.means, axis=1), 2.0)
    np.testing.assert_allclose(np.degrees(np.arctan2(game.b.means[0, 1], game.b.means[0, 0])), 22.5, rtol=1e-6)
    task = gan.create_task(config, pipeline.output_info(config.data), None)
    state = trained[1]
    source = jnp.asarray(game.a.means, jnp.float32)
    out = task.generate(state, jax.random.key(0), 8, source=source)
    direct = game.modules["g_ab"].apply({"params": state["params"]["g_ab"]}, source)
    assert out.shape == (8, 2)
    np.testing.assert_allclose(out, direct, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("override, fragment", [("data.name=grid25", "data.b"), ("data.b_scale=-1.0", "b_scale")])
def test_bad_domains_name_the_key(override, fragment):
    config = config_lib.load(TINY, [override] + (["data.b=mixture1d"] if "grid25" in override else []))
    with pytest.raises(ConfigError, match=fragment):
        gan.create_task(config, pipeline.output_info(config.data), None)


def test_a_game_that_reads_data_refuses_a_synthetic_data_name():
    config = config_lib.load("configs/gan_mnist.py:tiny", ["data.name=ring8"])
    with pytest.raises(ConfigError, match="reads a dataset.*synthetic 'ring8'"):
        gan.create_task(config, {"image_shape": (28, 28, 1)}, None)


def test_stop_and_resume_is_exact(trained, tmp_path, one_device_mesh):
    gan.train_and_evaluate(config_lib.load(TINY, ["num_steps=2"]), str(tmp_path), mesh=one_device_mesh)
    state = jax.device_get(gan.train_and_evaluate(config_lib.load(TINY), str(tmp_path), mesh=one_device_mesh))
    assert max_diff(state, trained[1]) == 0.0


def test_cli_sweep_runs_match_the_runs_trained_alone(trained, tmp_path, one_device_mesh):
    """Seeds x cycle weights, one program; each run to float rounding of the run alone (XLA:CPU rewrites batched
    programs; see jaxgen.trainers.sweep)."""
    workdir = str(tmp_path / "sweep")
    assert cli.main(["sweep", "--config", TINY, "--workdir", workdir, "--over", "seed=0:2",
                     "--over", "loss.weights.cycle=1,10"]) == 0
    config, _, state, _ = workdir_lib.restore(workdir)
    runs = sweep.runs(config)
    assert runs == [{"seed": s, "loss.weights.cycle": w} for s in (0, 1) for w in (1, 10)]
    swept = [jax.tree.map(lambda x, i=i: np.asarray(x)[i], state["params"]) for i in range(len(runs))]
    for i, run in enumerate(runs):
        if run == {"seed": 0, "loss.weights.cycle": 10}:
            alone = trained[1]  # the default run
        else:
            alone = jax.device_get(gan.train_and_evaluate(sweep.run_config(config, run), str(tmp_path / f"alone{i}"),
                                                          mesh=one_device_mesh))
        assert max_diff(swept[i], alone["params"]) < 1e-6, run
    assert max_diff(swept[0], swept[1]) > 1e-6 and max_diff(swept[0], swept[2]) > 1e-3  # the weight, the seed
    assert os.path.exists(os.path.join(workdir, "sweep.csv"))
    assert Image.open(os.path.join(workdir, "samples", "step_0000004.png")).size == (256, 256)  # a colour per run
