"""The vmapped mode-coverage benchmark: grouping, one run vs many in one program, the simultaneous
update against two separately computed gradients, WGAN clipping, and the `jaxgen toy` command."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgen import cli
from jaxgen.data import toy as toy_data
from jaxgen.engine import keys
from jaxgen.losses import gan as gan_losses
from jaxgen.losses import penalties
from jaxgen.models import toy_mlp
from jaxgen.trainers import sweep, toy


def _config(**kw):
    config = toy.default_config()
    config.update(dict(dataset="grid25", steps=5, batch_size=16, eval_samples=200, chunks=2))
    config.model.arch = "tiny"
    config.update(kw)
    return config


def test_groups_of_all_losses():
    groups = toy.group_losses(toy.resolve_losses("all"))
    by_key = {(g.d_kind, g.penalty): g.losses for g in groups}
    assert by_key[("maxout", "none")] == ("mm", "ns", "wgan", "lsgan", "hinge")
    assert by_key[("autoencoder", "none")] == ("began",)
    for penalty in ("wgan_gp", "dragan", "r1", "r2"):
        assert len(by_key[("maxout", penalty)]) == 1
    assert sum(len(g.losses) for g in groups) == 10
    assert toy.resolve_losses(" ns, ns,r1") == ("ns", "r1")


def test_vmapped_runs_match_a_single_run():
    """(wgan, seed 1) trained among 6 runs of 3 losses x 2 seeds, with packing and a partial last chunk,
    gives the same samples as trained alone in one chunk."""
    many = toy.run(_config(losses="ns,wgan,lsgan", seeds=2, pack=2), report=lambda line: None)
    one = toy.run(_config(losses="wgan", seeds=1, first_seed=1, pack=2, chunks=1), report=lambda line: None)
    np.testing.assert_allclose(many.samples["wgan"][1], one.samples["wgan"][0], rtol=1e-4, atol=1e-5)
    assert many.metrics["wgan"]["modes_captured"][1] == one.metrics["wgan"]["modes_captured"][0]
    assert not np.allclose(many.samples["wgan"][1], many.samples["ns"][1])  # the objective index matters
    assert not np.allclose(many.samples["wgan"][0], many.samples["wgan"][1])  # so does the seed
    assert many.curves["ns"]["d_loss"].shape == (2, 2)  # [chunks, seeds]
    assert set(many.timings) == {"maxout/none: ns,wgan,lsgan"}


def _one_step(loss, pack=2):
    """One step of ``loss`` (tiny networks): the group's run program (the adversarial trainer's joint phase on
    the points game) for a single run."""
    config = _config(pack=pack)
    mixture = toy_data.get(config.dataset)
    group = toy.group_losses([loss])[0]
    prog = sweep.run_program(toy.trainer_config(config, group), toy.run_table(group, [0]),
                             {"image_shape": (mixture.dim,)})
    hp = jax.tree.map(lambda a: a[0], prog.hp)
    state = jax.jit(prog.init_one)(hp, prog.seeds[0])
    new_state, logs = jax.jit(prog.step_one)(hp, prog.seeds[0], state, {}, 7)
    key = keys.step_key(0, 7)  # the step's key
    return config, mixture, state, new_state, logs, key


def test_simultaneous_update_equals_separate_gradients():
    """R1 row: D descends d_loss + gamma R1 with G's samples fixed, G descends g_loss through the old D,
    both from the same batch, each with its own Adam (Adam is per-parameter, so one Adam over both is the same)."""
    config, mixture, state, new_state, logs, key = _one_step("r1")
    gen, disc = toy_mlp.generator(config.model, (2,)), toy_mlp.discriminator(config.model)
    m, batch = config.pack, config.batch_size
    ns = gan_losses.objective("ns")
    tx = optax.adam(config.optimizer.learning_rate, b1=config.optimizer.b1, b2=config.optimizer.b2)

    @jax.jit
    def reference(state, key):
        k_real, k_z, _ = jax.random.split(key, 3)
        real = toy_mlp.pack(mixture.sample(k_real, batch * m), m)
        z = toy_mlp.latent(k_z, batch * m, config.model)
        g_params, d_params = state["params"]["g"], state["params"]["d"]

        def generate(g):
            x, new = gen.apply({"params": g, **state["model_state"]["g"]}, z, train=True, mutable=["batch_stats"])
            return toy_mlp.pack(x, m), new["batch_stats"]

        fake, bn = generate(g_params)

        def d_objective(d):
            def d_fn(x):
                return disc.apply({"params": d}, x)

            return ns.d_loss(d_fn(real), d_fn(fake)) + 10.0 * penalties.r1(d_fn, real)

        def g_objective(g):
            return ns.g_loss(disc.apply({"params": d_params}, generate(g)[0]))

        expected = {}
        for name, params, objective in (("d", d_params, d_objective), ("g", g_params, g_objective)):
            updates, _ = tx.update(jax.grad(objective)(params), tx.init(params), params)
            expected[name] = optax.apply_updates(params, updates)
        return expected, bn, g_objective(g_params)

    expected, bn, g_loss = reference(state, key)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), new_state["params"], expected)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7), new_state["model_state"]["g"]["batch_stats"], bn)
    assert float(logs["g_loss"]) == pytest.approx(float(g_loss), rel=1e-5)


def test_wgan_clips_only_the_critic():
    _, _, state, new_state, _, _ = _one_step("wgan", pack=1)
    assert max(float(jnp.abs(p).max()) for p in jax.tree.leaves(state["params"]["d"])) > 0.01
    assert max(float(jnp.abs(p).max()) for p in jax.tree.leaves(new_state["params"]["d"])) <= 0.01 * (1 + 1e-6)
    assert max(float(jnp.abs(p).max()) for p in jax.tree.leaves(new_state["params"]["g"])) > 0.01


def test_cli_toy_writes_table_and_pictures(tmp_path, capsys):
    out = tmp_path / "toy"
    argv = ["toy", "--losses", "began", "--dataset", "ring8", "--seeds", "2", "--steps", "3", "--arch", "tiny",
            "--batch-size", "8", "--out", str(out)]
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "| began |" in captured.out and "modes (max 8)" in captured.out
    assert "step 3/3" in captured.err and "steps/s" in captured.err and "ETA" in captured.err
    assert sorted(os.listdir(out)) == ["results.json", "results.md", "samples_began.png", "samples_overview.png"]
    record = json.loads((out / "results.json").read_text())
    assert len(record["metrics"]["began"]["modes_captured"]) == 2 and record["config"]["steps"] == 3
    assert (out / "samples_began.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("argv, fragment", [
    (["--losses", "ns,nope"], "unknown loss 'nope'"),
    (["--dataset", "moons"], "unknown toy dataset 'moons'"),
    (["--seeds", "0"], "seeds must be >= 1"),
    (["--pack", "0"], "pack must be >= 1"),
    (["--arch", "huge"], "model.arch='huge'"),
])
def test_cli_toy_bad_input_is_one_line_error(argv, fragment, capsys):
    assert cli.main(["toy", *argv]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxgen: error: ") and "\n" not in err and fragment in err, err
