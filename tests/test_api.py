"""The Python API (`jaxgen.load` -> `jaxgen.api.Model`) and `jaxgen export`, on tiny trained runs.

Two runs, each trained once per module (2 steps, a checkpoint after each): a class-conditional DCGAN with an
EMA of G, and a VAE (a likelihood model, unconditional). Every comparison is against an independent path:
`engine.loop.sample_grid` on `engine.workdir.restore`'s task and state (what `jaxgen sample` draws), the model
family's own latent and networks, `research.probe`. Compilation dominates the time, so the tests share loaded
models where they can.
"""

import copy
import dataclasses
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import serialization

import jaxgen
from jaxgen import api, cli, models
from jaxgen import config as config_lib
from jaxgen.engine import loop
from jaxgen.engine import workdir as workdir_lib
from jaxgen.errors import ConfigError, JaxgenError
from jaxgen.losses import likelihood as lik
from jaxgen.trainers import gan, likelihood

SHORT = ["num_steps=2", "checkpoint_every=1", "log_every=1", "sample_every=2"]
N = 8  # every sample call draws N images: `generate` compiles once per n


def _train(tmp_path_factory, mesh, trainer, spec, *overrides):
    workdir = str(tmp_path_factory.mktemp(spec.split("/")[-1].split(".")[0]))
    trainer.train_and_evaluate(config_lib.load(spec, SHORT + list(overrides)), workdir, mesh=mesh)
    return workdir


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory, data_dir, one_device_mesh):
    """Conditional DCGAN (10 classes) with an EMA of G (decay 0.5: after 2 steps it differs from G)."""
    return _train(tmp_path_factory, one_device_mesh, gan, "configs/cdcgan_mnist.py:tiny", "ema_decay=0.5")


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, data_dir, one_device_mesh):
    return _train(tmp_path_factory, one_device_mesh, likelihood, "configs/vae_mnist.py:tiny",
                  "eval.every=0", "eval.iwae_samples=()")


@pytest.fixture(scope="module")
def gan_model(gan_run):
    return jaxgen.load(gan_run)


@pytest.fixture(scope="module")
def gan_reference(gan_run):
    """(config, task, state, step) as `jaxgen sample` restores them: the independent path."""
    return workdir_lib.restore(gan_run)


@pytest.fixture(scope="module")
def vae_model(vae_run):
    return jaxgen.load(vae_run)


@pytest.fixture(scope="module")
def gan_export(gan_run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("export") / "cdcgan.msgpack")
    assert api.export(gan_run, out) == (out, 2)
    with open(out, "rb") as f:
        return out, serialization.msgpack_restore(f.read())


def _same_tree(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _raw(m):
    """The model of `m`'s state with ema=False, sharing its task (and so its compiled sampler)."""
    return api.Model(m.config, m.task, m.state, m.step, ema=False, workdir=m.workdir)


def test_unconditional_sample_is_what_jaxgen_sample_draws(vae_run, vae_model):
    m = vae_model
    _, task, state, _ = workdir_lib.restore(vae_run)
    assert (m.step, m.config.model.name, m.workdir, m.num_classes, m.ema) == (2, "vae", vae_run, None, False)
    for seed in (0, 3):
        images = m.sample(N, seed=seed)
        assert images.shape == (N, 28, 28, 1) and images.dtype == np.float32 and isinstance(images, np.ndarray)
        assert np.all(np.abs(images) <= 1)
        np.testing.assert_array_equal(images, loop.sample_grid(task, state, jax.random.key(seed), N)[0])
    assert not np.array_equal(m.sample(N, seed=0), m.sample(N, seed=3))
    with pytest.raises(JaxgenError, match="at least 1"):
        m.sample(0)
    with pytest.raises(ConfigError, match="unconditional"):
        m.sample(4, labels=1)
    with pytest.raises(ConfigError, match="no EMA"):
        jaxgen.load(vae_run, ema=True)
    with pytest.raises(JaxgenError, match="not found"):
        jaxgen.load(os.path.join(vae_run, "nope"))


def test_likelihood_apply_and_losses(vae_run, vae_model):
    from jaxgen.research import probe

    m = vae_model
    assert set(m.task.modules) == {"model"}
    _same_tree(m.params, m.state["params"])  # the network's params themselves, not keyed by "model"
    z = jax.random.normal(jax.random.key(4), (N, m.config.model.latent_dim))  # how the VAE samples
    decode = jax.jit(lambda z: m.apply("model", m.apply("model", z, method="decode"), method="mode"))
    np.testing.assert_allclose(np.asarray(lik.to_images(decode(z), m.config.model.data)), m.sample(N, seed=4),
                               atol=1e-6)
    p = probe.load(vae_run, num_batches=1)
    got, expected = jax.jit(lambda: (m.losses(num_batches=1), p.losses(p.params)))()  # one compiled program
    assert set(got) == set(expected) == {"nll_nats"}
    np.testing.assert_allclose(float(got["nll_nats"]), float(expected["nll_nats"]), rtol=1e-6)


def test_conditional_sample_and_labels(gan_model, gan_reference):
    m, (_, task, state, _) = gan_model, gan_reference
    assert (m.step, m.config.model.name, m.num_classes) == (2, "dcgan", 10)
    key = jax.random.key(2)
    threes = m.sample(N, seed=2, labels=3)  # what `jaxgen sample --label 3 --seed 2` draws
    assert threes.shape == (N, 28, 28, 1) and threes.dtype == np.float32
    np.testing.assert_array_equal(threes, loop.sample_grid(task, state, key, N, label=3)[0])
    cycling = np.arange(N, dtype=np.int32) % 10  # Task.generate's default
    np.testing.assert_array_equal(m.sample(N, seed=2), np.asarray(task.generate(state, key, N, cycling)))
    labels = [7, 7, 1, 0, 9, 9, 2, 3]
    np.testing.assert_array_equal(m.sample(N, seed=2, labels=labels),
                                  np.asarray(task.generate(state, key, N, np.asarray(labels, np.int32))))
    assert not np.array_equal(m.sample(N, seed=2, labels=0), m.sample(N, seed=2, labels=1))
    for bad, fragment in [(10, "label 10 is out of range"), ([0, -1, 2, 3, 4, 5, 6, 7], "label -1 is out of range"),
                          ([1, 2], f"one int or {N} ints"), (1.5, "must be ints")]:
        with pytest.raises(ConfigError, match=fragment):
            m.sample(N, labels=bad)
    with pytest.raises(JaxgenError, match="at least 1"):
        m.sample(-2)


def test_ema_flag_and_params(gan_run, gan_model, gan_reference):
    m, state = gan_model, gan_reference[2]
    raw = jaxgen.load(gan_run, ema=False)
    assert m.ema and not raw.ema and raw.step == 2
    ema_g = state["ema"]["g"] if "g" in state["ema"] else state["ema"]  # {G player: params}, or G's params
    _same_tree(m.params["g"], ema_g)
    _same_tree(raw.params["g"], state["params"]["g"])
    _same_tree(m.params["d"], state["params"]["d"])
    _same_tree(m.state, state)
    assert not np.array_equal(jax.tree.leaves(m.params["g"])[0], jax.tree.leaves(raw.params["g"])[0])
    assert not np.array_equal(m.sample(N), _raw(m).sample(N))
    earlier = jaxgen.load(gan_run, step=1)
    assert earlier.step == 1 and int(earlier.state["step"]) == 1
    assert not np.array_equal(jax.tree.leaves(earlier.params["d"])[0], jax.tree.leaves(m.params["d"])[0])


def test_apply_generator_is_sample(gan_model):
    labels = jnp.asarray([3, 1, 4, 1, 5, 9, 2, 6], jnp.int32)
    z = models.get(gan_model.config.model.name).latent(jax.random.key(5), N, gan_model.config.model)  # generate's

    @jax.jit  # one program for both weight sets (eager apply compiles op by op)
    def g(params, z, y):
        view = copy.copy(gan_model)
        view.params = params
        return view.apply("g", z, y, train=False)

    for m in (gan_model, _raw(gan_model)):  # EMA and raw generator weights
        np.testing.assert_allclose(np.asarray(g(m.params, z, labels)), m.sample(N, seed=5, labels=labels), atol=2e-5)
    logits = jax.jit(lambda x, y: gan_model.apply("d", x, y, train=False))(gan_model.sample(N, seed=5), labels)
    assert logits.shape == (N,) and np.all(np.isfinite(np.asarray(logits)))
    with pytest.raises(JaxgenError, match="no network 'x'"):
        gan_model.apply("x", z)
    m = gan_model
    empty = api.Model(m.config, dataclasses.replace(m.task, modules={}), m.state, m.step)
    with pytest.raises(JaxgenError, match="exposes no networks"):
        empty.apply("g", z)


def test_losses_are_the_probe_and_differentiable(gan_run, gan_model):
    from jaxgen.research import probe

    m, p = gan_model, probe.load(gan_run, num_batches=1)

    def g_loss(params):  # m.losses beside the research probe's own, in one compiled program (compiles are slow)
        losses = m.losses(params, num_batches=1)
        return losses["g_loss"], (losses, p.losses(params))

    value_and_grad = jax.jit(jax.value_and_grad(g_loss, has_aux=True))
    (_, (got, expected)), _ = value_and_grad(p.params)  # the trained params (m.losses' default), not the EMA
    assert set(got) == set(expected) == {"g_loss", "d_loss"}
    for name in got:
        np.testing.assert_allclose(float(got[name]), float(expected[name]), rtol=1e-6)
    (value, _), grads = value_and_grad(m.params)
    grads = jax.device_get(grads)
    assert np.isfinite(float(value)) and float(value) != float(got["g_loss"])  # the EMA G
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(grads))
    norm = float(np.sqrt(sum(np.sum(x**2) for x in jax.tree.leaves(grads["g"]))))
    assert norm > 0
    # Finite difference along G's normalised gradient: the directional derivative is the gradient's norm.
    eps = 1e-2
    step = {**jax.tree.map(np.zeros_like, grads), "g": jax.tree.map(lambda x: eps * x / norm, grads["g"])}
    (plus, _), _ = value_and_grad(jax.tree.map(np.add, m.params, step))
    (minus, _), _ = value_and_grad(jax.tree.map(np.subtract, m.params, step))
    np.testing.assert_allclose(float(plus - minus) / (2 * eps), norm, rtol=0.05)


def test_export_round_trip(gan_run, gan_model, gan_export, vae_run, vae_model, tmp_path):
    out, payload = gan_export
    assert set(payload) == {"format", "version", "config", "run", "step", "params", "model_state", "ema"}  # no opt
    assert (payload["format"], payload["version"], payload["step"]) == ("jaxgen-model", 1, 2)
    assert payload["config"] == config_lib.to_json(gan_model.config)
    with open(os.path.join(gan_run, "run.json")) as f:
        assert payload["run"] == json.load(f)

    m = jaxgen.load(out)
    assert (m.step, m.workdir, m.ema) == (2, None, True)
    assert m.config.to_dict() == gan_model.config.to_dict()
    _same_tree(m.params, gan_model.params)
    for name in ("step", "params", "model_state", "ema"):
        _same_tree(m.state[name], gan_model.state[name])
    assert jax.tree.structure(m.state["opt"]) == jax.tree.structure(gan_model.state["opt"])
    assert all(not np.any(np.asarray(x)) for x in jax.tree.leaves(m.state["opt"]))  # zeros: not exported
    np.testing.assert_array_equal(m.sample(N, seed=1), gan_model.sample(N, seed=1))
    np.testing.assert_array_equal(_raw(m).sample(N, seed=1), _raw(gan_model).sample(N, seed=1))
    _same_tree(jaxgen.load(out, ema=False).params, _raw(gan_model).params)
    assert set(m.task.modules) == {"g", "d"}  # rebuilt from the config: apply works as on the workdir
    with pytest.raises(JaxgenError, match="exported file"):
        m.losses()
    with pytest.raises(JaxgenError, match="holds step 2 only"):
        jaxgen.load(out, step=1)

    vae_out = str(tmp_path / "vae.msgpack")
    api.export(vae_run, vae_out)
    with open(vae_out, "rb") as f:
        assert set(serialization.msgpack_restore(f.read())) == {"format", "version", "config", "run", "step", "params"}
    v = jaxgen.load(vae_out)
    assert (v.step, v.ema, set(v.task.modules)) == (2, False, {"model"})
    _same_tree(v.params, vae_model.params)


def test_bad_export_files(gan_export, tmp_path):
    def write(name, data):
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    _, payload = gan_export
    with pytest.raises(JaxgenError, match="is not a jaxgen model export"):
        jaxgen.load(write("noise.bin", os.urandom(256)))
    with pytest.raises(JaxgenError, match="is not a jaxgen model export"):
        jaxgen.load(write("other.msgpack", serialization.msgpack_serialize({"format": "something", "params": {}})))
    with pytest.raises(JaxgenError, match="version 2"):
        jaxgen.load(write("v2.msgpack", serialization.msgpack_serialize({**payload, "version": 2})))
    wider = json.loads(payload["config"])
    wider["model"]["width"] = 16
    with pytest.raises(JaxgenError, match=r"does not match its config: .*kernel'\] is float32\[.*the config makes"):
        jaxgen.load(write("wider.msgpack", serialization.msgpack_serialize({**payload, "config": json.dumps(wider)})))
    no_ema = {k: v for k, v in payload.items() if k != "ema"}
    with pytest.raises(JaxgenError, match="holds state entries"):
        jaxgen.load(write("no_ema.msgpack", serialization.msgpack_serialize(no_ema)))


def test_cli_export(gan_run, tmp_path, capsys):
    out = str(tmp_path / "cli.msgpack")
    assert cli.main(["export", "--workdir", gan_run, "--out", out, "--step", "1"]) == 0
    assert f"wrote checkpoint 1 of {gan_run} to {out}" in capsys.readouterr().out
    m = jaxgen.load(out)
    assert m.step == 1 and int(m.state["step"]) == 1
    _same_tree(m.params, jaxgen.load(gan_run, step=1).params)
    assert cli.main(["export", "--workdir", str(tmp_path / "none"), "--out", out]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxgen: error: ") and "\n" not in err and "a jaxgen workdir" in err


def test_import_jaxgen_stays_light():
    code = ("import sys, jaxgen; assert callable(jaxgen.load); "
            "print(sorted(m for m in ('jax', 'flax', 'jaxgen.api') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert result.stdout.strip() == "[]"
