"""`jaxgen research landscape|game` on a tiny trained DCGAN: the probe's losses, the files, cross-checks."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.research import game, hessian
from jaxgen.research import probe as probe_lib
from jaxgen.trainers import gan


@pytest.fixture(scope="module")
def workdir(tmp_path_factory, one_device_mesh):
    path = str(tmp_path_factory.mktemp("dcgan"))
    gan.train_and_evaluate(config_lib.load("configs/dcgan_mnist.py:tiny"), path, mesh=one_device_mesh)
    return path


@pytest.fixture(scope="module")
def probe(workdir):
    return probe_lib.load(workdir, num_batches=2)


def test_probe_losses_are_fixed_functions_of_the_parameters(probe, workdir):
    assert probe.players == ("g", "d") and probe.loss_names == ("d_loss", "g_loss")
    first = jax.device_get(jax.jit(probe.losses)(probe.params))
    again = jax.device_get(probe_lib.load(workdir, num_batches=2).losses(probe.params))
    assert first == again  # same workdir and arguments, same numbers
    assert 0.0 < first["g_loss"] < 20.0 and 0.0 < first["d_loss"] < 20.0
    moved = {**probe.params, "g": jax.tree.map(lambda x: 1.5 * x, probe.params["g"])}
    out = jax.device_get(probe.losses(moved))
    assert out["g_loss"] != first["g_loss"] and out["d_loss"] != first["d_loss"]  # D's loss sees G's fakes
    assert probe.step == 4 and probe.batches["image"].shape[:2] == (2, 16)


def test_initial_params_are_the_runs_initialisation(probe):
    init = probe.initial_params()
    assert jax.tree.structure(init) == jax.tree.structure(probe.params)
    again = probe.initial_params()
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(init), jax.tree.leaves(again)))
    assert not np.allclose(ravel_pytree(init)[0], ravel_pytree(probe.params)[0])


def test_game_jacobian_blocks_are_minus_the_players_hessians(probe):
    """The diagonal blocks of dv/dparams are -Hessians: two code paths (JVP of the field, HVP) agree."""
    g_loss, d_loss = (lambda p: probe.losses(p)["g_loss"]), (lambda p: probe.losses(p)["d_loss"])
    matvec, dim = game.jvp_operator(g_loss, d_loss, probe.params)
    g_dim = ravel_pytree(probe.params["g"])[0].size
    v = np.zeros(dim)
    v[g_dim:] = np.random.default_rng(0).standard_normal(dim - g_dim)  # moves D only
    jv = matvec(v)
    d_op = hessian.hvp_operator(lambda d: probe.losses({**probe.params, "d": d}), probe.params["d"], key="d_loss")
    hv = np.asarray(d_op.matvec(jnp.asarray(v[g_dim:], jnp.float32)), np.float64)
    np.testing.assert_allclose(jv[g_dim:], -hv, rtol=2e-3, atol=2e-3 * np.abs(hv).max())


def _run(capsys, *argv):
    code = cli.main(list(argv))
    return code, capsys.readouterr()


def test_cli_landscape_kinds_write_arrays_and_plots(workdir, tmp_path, capsys):
    out = str(tmp_path / "r")
    for kind, extra in (("interp", ["--points", "5"]), ("slice2d", ["--points", "3", "--players", "d"]),
                        ("hessian", ["--k", "2", "--iters", "6", "--draws", "1", "--players", "g"])):
        code, captured = _run(capsys, "research", "landscape", "--workdir", workdir, "--kind", kind, "--batches", "1",
                              "--out", out, *extra)
        assert code == 0, captured.err
    files = set(os.listdir(out))
    assert {"interp.json", "interp.npz", "interp.png", "slice2d_d.json", "slice2d_d_contour.png",
            "slice2d_d_surface.png", "hessian_g.json", "hessian_g.png"} <= files
    assert "slice2d_g.json" not in files
    interp = json.load(open(os.path.join(out, "interp.json")))
    assert len(interp["losses"]["g_loss"]) == 5 and interp["start"] == "init"
    plane = np.load(os.path.join(out, "slice2d_d.npz"))
    assert plane["d_loss"].shape == (3, 3) and np.isfinite(plane["d_loss"]).all()
    spectrum = json.load(open(os.path.join(out, "hessian_g.json")))
    assert len(spectrum["largest"]) == 2 and spectrum["largest"][0] >= spectrum["largest"][1]


def test_cli_game_writes_eigenvalues(workdir, tmp_path, capsys):
    out = str(tmp_path / "g")
    code, captured = _run(capsys, "research", "game", "--workdir", workdir, "--batches", "1", "--k", "3",
                          "--krylov", "12", "--which", "real", "--out", out)
    assert code == 0, captured.err
    record = json.load(open(os.path.join(out, "game.json")))
    assert record["method"] == "arnoldi" and record["which"] == "real" and len(record["real"]) == 3
    assert np.all(np.diff(record["real"]) <= 1e-9)  # largest real part first
    assert os.path.getsize(os.path.join(out, "game.png")) > 1000


def test_likelihood_workdir_has_one_player(tmp_path, capsys, one_device_mesh):
    from jaxgen.trainers import likelihood

    path = str(tmp_path / "vae")
    likelihood.train_and_evaluate(config_lib.load("configs/vae_mnist.py:tiny", ["num_steps=2"]), path,
                                  mesh=one_device_mesh)
    code, captured = _run(capsys, "research", "landscape", "--workdir", path, "--kind", "slice2d", "--points", "3",
                          "--batches", "1")
    assert code == 0, captured.err
    plane = np.load(os.path.join(path, "research", "slice2d_all.npz"))
    assert plane["nll_nats"].shape == (3, 3) and np.isfinite(plane["nll_nats"]).all()
    vae = probe_lib.load(path, num_batches=1)
    assert vae.players == ("all",)
    centre = float(vae.losses(vae.params)["nll_nats"])
    np.testing.assert_allclose(plane["nll_nats"][1, 1], centre, rtol=1e-5)  # the plane's origin is the checkpoint
    code, captured = _run(capsys, "research", "game", "--workdir", path)
    assert code == cli.EXIT_USAGE and "not a GAN" in captured.err


@pytest.mark.parametrize("argv, fragment", [
    (["--kind", "interp", "--k", "3"], "--kind interp does not take --k"),
    (["--kind", "slice2d", "--players", "x"], "players are g, d"),
    (["--kind", "slice2d", "--batches", "0"], "--batches must be at least 1"),
])
def test_cli_bad_research_input_is_one_line(workdir, capsys, argv, fragment):
    code, captured = _run(capsys, "research", "landscape", "--workdir", workdir, *argv)
    assert code == cli.EXIT_USAGE and fragment in captured.err and "Traceback" not in captured.err
