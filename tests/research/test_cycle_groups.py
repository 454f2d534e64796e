"""`jaxgen research` on a game of four players (the cycle game): the probe's players are the optimizer groups
"g" = {g_ab, g_ba} and "d" = {d_a, d_b}; D's loss gradient over its group against finite differences; the
landscape and game commands on the workdir."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.research import probe as probe_lib
from jaxgen.trainers import gan
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("cycle"))
    config = config_lib.load("configs/cycle_toy.py:tiny")
    return workdir, jax.device_get(gan.train_and_evaluate(config, workdir, mesh=one_device_mesh))


@pytest.fixture(scope="module")
def probe(trained):
    return probe_lib.load(trained[0], num_batches=2)


def test_probe_players_are_the_optimizer_groups(probe):
    assert probe.players == ("g", "d") and probe.own_loss("d") == "d_loss"
    assert set(probe.group("g")) == {"g_ab", "g_ba"} and set(probe.group("d")) == {"d_a", "d_b"}
    assert probe.batches == {} and probe.num_batches == 2  # the points come from the probe's fixed keys
    moved = probe.with_group("d", jax.tree.map(lambda x: 2 * x, probe.group("d")))
    assert moved["g_ab"] is probe.params["g_ab"] and np.array_equal(moved["d_b"]["out"]["kernel"],
                                                                    2 * probe.params["d_b"]["out"]["kernel"])


def test_d_loss_gradient_over_group_d_matches_a_finite_difference(probe):
    d = probe.group("d")
    value_and_grad = jax.jit(jax.value_and_grad(lambda p: probe.losses(probe.with_group("d", p))["d_loss"]))
    value, grad = value_and_grad(d)
    assert np.isfinite(value) and set(grad) == {"d_a", "d_b"}
    assert all(np.any(np.asarray(leaf) != 0) for leaf in jax.tree.leaves(grad))
    rng = np.random.default_rng(3)
    u = jax.tree.map(lambda x: rng.standard_normal(np.shape(x)).astype(np.float32), d)
    u = jax.tree.map(lambda x: x / np.linalg.norm(ravel_pytree(u)[0]), u)  # a unit direction
    eps = 1e-3
    plus, minus = (float(value_and_grad(jax.tree.map(lambda p, v, t=t: p + t * v, d, u))[0]) for t in (eps, -eps))
    directional = float(jnp.vdot(ravel_pytree(grad)[0], ravel_pytree(u)[0]))
    assert abs(directional) > 1e-3
    np.testing.assert_allclose((plus - minus) / (2 * eps), directional, rtol=2e-2)


def test_cli_research_on_the_cycle_workdir_is_finite(trained, tmp_path, capsys):
    workdir, out = trained[0], str(tmp_path / "r")
    for argv in (["landscape", "--kind", "interp", "--points", "3", "--from-step", "2"],  # (init: test_commands)
                 ["game", "--k", "3", "--method", "arnoldi", "--krylov", "8"]):
        code = cli.main(["research", *argv[:1], "--workdir", workdir, "--batches", "1", "--out", out, *argv[1:]])
        assert code == 0, capsys.readouterr().err
    interp = json.load(open(os.path.join(out, "interp.json")))
    assert all(len(v) == 3 and np.all(np.isfinite(v)) for v in interp["losses"].values())
    record = json.load(open(os.path.join(out, "game.json")))
    size = sum(x.size for x in jax.tree.leaves(trained[1]["params"]))
    assert record["parameters"] == size and len(record["real"]) == 3  # the game Jacobian of both groups
    assert np.all(np.isfinite(record["real"])) and np.all(np.isfinite(record["imag"]))
