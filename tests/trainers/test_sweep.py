"""`jaxgen sweep`: vmapped runs against the same runs trained alone, companions, devices, resume, outputs."""

import csv
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.errors import ConfigError
from jaxgen.trainers import gan, likelihood, sweep
from tests.trees import max_diff

BASE = "configs/gan_mnist.py:tiny"
OVER = [("seed", [0, 1]), ("lr", [1e-4, 4e-4])]


def _sweep(tmp_path_factory, over, mesh, name, *overrides):
    config = sweep.sweep_config(config_lib.load(BASE, list(overrides)), over)
    workdir = str(tmp_path_factory.mktemp(name))
    return workdir, jax.device_get(sweep.train_and_evaluate(config, workdir, mesh=mesh))


def _run(state, i):
    return jax.tree.map(lambda x: np.asarray(x)[i], state["params"])


@pytest.fixture(scope="module")
def swept(tmp_path_factory, one_device_mesh):
    return _sweep(tmp_path_factory, OVER, one_device_mesh, "sweep")


def test_parse_over():
    assert sweep.parse_over("seed=0:4") == ("seed", [0, 1, 2, 3])
    assert sweep.parse_over("seed=2:10:4") == ("seed", [2, 6])
    assert sweep.parse_over("lr=1e-4, 2e-4") == ("lr", [1e-4, 2e-4])
    assert sweep.parse_over("loss.objective=ns,hinge") == ("loss.objective", ["ns", "hinge"])
    for bad in ("seed", "seed=", "lr=1e-4,b", "seed=3:3", "x=true"):
        with pytest.raises(ConfigError, match="--over"):
            sweep.parse_over(bad)


def test_runs_are_the_grid():
    config = sweep.sweep_config(config_lib.load(BASE), OVER)
    assert sweep.runs(config) == [{"seed": 0, "lr": 1e-4}, {"seed": 0, "lr": 4e-4},
                                  {"seed": 1, "lr": 1e-4}, {"seed": 1, "lr": 4e-4}]
    run = sweep.run_config(config, {"seed": 1, "lr": 4e-4})
    assert run.trainer == "gan" and "sweep" not in run and run.seed == 1
    assert run.optimizer.g.learning_rate == run.optimizer.d.learning_rate == 4e-4


@pytest.mark.parametrize("over, fragment", [
    ([("model.name", [1])], "only numeric keys"),
    ([("optimizer.g.learnig_rate", [1e-4])], "did you mean"),
    ([("seed", [0]), ("seed", [1])], "twice"),
    ([("batch_size", [1.5])], "integer"),
    ([("lr", ["a", "b"])], "only .'loss.objective',. can be swept over names"),
    ([("model.name", ["dcgan", "gan_mlp"])], "shapes the program"),
])
def test_bad_sweeps_name_the_key(over, fragment):
    with pytest.raises(ConfigError, match=fragment):
        sweep.sweep_config(config_lib.load(BASE), over)


def test_penalty_weight_sweep_of_a_conv_gan(tmp_path, one_device_mesh):
    """Convolutions and R1's nested grad under vmap, the weight traced: run 1 against run 1 alone."""
    config = sweep.sweep_config(config_lib.load("configs/r1_mnist.py:tiny", ["num_steps=2"]),
                                [("loss.penalty_weight", [1.0, 10.0])])
    state = jax.device_get(sweep.train_and_evaluate(config, str(tmp_path / "sweep"), mesh=one_device_mesh))
    alone = gan.train_and_evaluate(sweep.run_config(config, {"loss.penalty_weight": 10.0}), str(tmp_path / "alone"),
                                   mesh=one_device_mesh)
    assert max_diff(_run(state, 1), jax.device_get(alone["params"])) < 1e-6
    assert max_diff(_run(state, 0), _run(state, 1)) > 1e-6


def test_objective_sweep_switches_per_run(tmp_path, one_device_mesh):
    """`--over loss.objective=ns,hinge`: one program, the trainer's lax.switch on each run's index; run 1 (hinge)
    against the hinge run trained alone."""
    config = sweep.sweep_config(config_lib.load(BASE, ["num_steps=2"]), [("loss.objective", ["ns", "hinge"])])
    state = jax.device_get(sweep.train_and_evaluate(config, str(tmp_path / "sweep"), mesh=one_device_mesh))
    alone = gan.train_and_evaluate(sweep.run_config(config, {"loss.objective": "hinge"}), str(tmp_path / "alone"),
                                   mesh=one_device_mesh)
    assert max_diff(_run(state, 1), jax.device_get(alone["params"])) < 1e-6
    assert max_diff(_run(state, 0), _run(state, 1)) > 1e-6


def test_clip_norm_sweep_with_schedules(tmp_path, one_device_mesh):
    """A swept (traced) `optimizer.d.clip_norm`, off in run 0, under learning-rate schedules (G warms up, D decays
    by steps): each run against the same run trained alone."""
    base = config_lib.load(BASE, ["num_steps=3", "optimizer.d.name=sgd", "optimizer.d.learning_rate=0.1",
                                  "optimizer.g.schedule.warmup_steps=2", "optimizer.d.schedule.decay=step",
                                  "optimizer.d.schedule.boundaries=(1,)", "optimizer.d.schedule.gamma=0.5"])
    config = sweep.sweep_config(base, [("optimizer.d.clip_norm", [0.0, 1e-3])])
    state = jax.device_get(sweep.train_and_evaluate(config, str(tmp_path / "sweep"), mesh=one_device_mesh))
    for i, clip_norm in enumerate((0.0, 1e-3)):
        alone = gan.train_and_evaluate(sweep.run_config(config, {"optimizer.d.clip_norm": clip_norm}),
                                       str(tmp_path / f"alone{i}"), mesh=one_device_mesh)
        assert max_diff(_run(state, i), jax.device_get(alone["params"])) < 1e-6
    assert max_diff(_run(state, 0)["d"], _run(state, 1)["d"]) > 1e-4


def test_likelihood_trainer_sweep(tmp_path, one_device_mesh):
    """The likelihood trainer's pure step (a VAE, its re-binarisation and reparameterisation noise) swept."""
    config = sweep.sweep_config(config_lib.load("configs/vae_mnist.py:tiny", ["num_steps=2"]), [("lr", [1e-3, 3e-3])])
    state = jax.device_get(sweep.train_and_evaluate(config, str(tmp_path / "sweep"), mesh=one_device_mesh))
    alone = likelihood.train_and_evaluate(sweep.run_config(config, {"lr": 3e-3}), str(tmp_path / "alone"),
                                          mesh=one_device_mesh)
    assert max_diff(_run(state, 1), jax.device_get(alone["params"])) < 1e-6
    assert max_diff(_run(state, 0), _run(state, 1)) > 1e-5


def test_structural_key_is_refused(tmp_path, one_device_mesh):
    config = sweep.sweep_config(config_lib.load(BASE), [("n_critic", [1, 2])])
    with pytest.raises(ConfigError, match="n_critic.*separate sweeps"):
        sweep.train_and_evaluate(config, str(tmp_path), mesh=one_device_mesh)


def test_each_run_matches_the_run_trained_alone(swept, tmp_path, one_device_mesh):
    """To float rounding: XLA:CPU rewrites batched programs (see the sweep module's docstring)."""
    _, state = swept
    config = sweep.sweep_config(config_lib.load(BASE), OVER)
    for i in (1, 2):  # another learning rate; another seed (another data order and initialisation)
        alone = gan.train_and_evaluate(sweep.run_config(config, sweep.runs(config)[i]), str(tmp_path / str(i)),
                                       mesh=one_device_mesh)
        assert max_diff(_run(state, i), jax.device_get(alone["params"])) < 1e-6
    assert max_diff(_run(state, 0), _run(state, 1)) > 1e-5  # the learning rate matters ...
    assert max_diff(_run(state, 0), _run(state, 2)) > 1e-2  # ... and the seed more


def test_a_run_does_not_depend_on_its_companions(swept, tmp_path_factory, one_device_mesh):
    _, state = swept
    _, other = _sweep(tmp_path_factory, [("seed", [0, 5]), ("lr", [1e-4, 3e-4])], one_device_mesh, "companions")
    assert max_diff(_run(state, 0), _run(other, 0)) == 0.0  # bitwise
    assert max_diff(_run(state, 3), _run(other, 3)) > 1e-3


def test_runs_sharded_over_devices(swept, tmp_path_factory, eight_device_mesh):
    _, state = swept
    mesh = sweep.run_mesh(4, eight_device_mesh.devices.flat)
    assert mesh.devices.size == 4
    _, sharded = _sweep(tmp_path_factory, OVER, mesh, "sharded")
    assert max_diff(state["params"], sharded["params"]) < 1e-6


def test_resumed_sweep_replays_the_uninterrupted_one(swept, tmp_path, one_device_mesh):
    _, state = swept
    config = sweep.sweep_config(config_lib.load(BASE, ["num_steps=2"]), OVER)
    sweep.train_and_evaluate(config, str(tmp_path), mesh=one_device_mesh)
    config = sweep.sweep_config(config_lib.load(BASE), OVER)
    resumed = jax.device_get(sweep.train_and_evaluate(config, str(tmp_path), mesh=one_device_mesh))
    assert max_diff(state, resumed) == 0.0


def test_outputs_table_figure_and_grid(swept):
    workdir, _ = swept
    with open(os.path.join(workdir, "sweep.csv")) as f:
        rows = list(csv.DictReader(f))
    assert [(int(r["seed"]), float(r["lr"])) for r in rows] == [(0, 1e-4), (0, 4e-4), (1, 1e-4), (1, 4e-4)]
    assert {"d_loss", "g_loss", "diverged"} <= set(rows[0]) and all(r["diverged"] == "False" for r in rows)
    logged = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert float(rows[3]["g_loss"]) == logged[-1]["g_loss/run03"]
    assert json.load(open(os.path.join(workdir, "sweep.json")))["runs"][2]["seed"] == 1
    assert os.path.getsize(os.path.join(workdir, "sweep.png")) > 1000
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.png"))


def test_sample_label_picks_a_run(swept, tmp_path):
    workdir, _ = swept
    outs = [str(tmp_path / f"run{i}.png") for i in (0, 1, 2)]
    for i, out in enumerate(outs):
        assert cli.main(["sample", "--workdir", workdir, "--label", str(i), "--num", "4", "--out", out]) == 0
    images = [open(out, "rb").read() for out in outs]
    assert len(set(images)) == 3  # each run samples from its own parameters (runs 0 and 1 share a sampler)


def test_per_run_metrics_count_diverged_runs():
    out = sweep.per_run_metrics({"loss": jnp.asarray([1.0, jnp.nan, 3.0])})
    assert float(out["loss"]) == 2.0 and int(out["runs_finite"]) == 2
    assert np.isnan(float(out["loss/run01"])) and float(out["loss/run02"]) == 3.0


def test_cli_sweep(tmp_path, capsys):
    workdir = str(tmp_path / "cli")
    assert cli.main(["sweep", "--config", BASE, "--workdir", workdir, "--over", "seed=0:2",
                     "--config.num_steps=2"]) == 0
    assert "2 runs" in capsys.readouterr().out
    assert os.path.exists(os.path.join(workdir, "sweep.csv"))
