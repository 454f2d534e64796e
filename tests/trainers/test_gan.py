"""The GAN trainer end to end on tiny configs and the real bundled digits.

Covers: outputs in the workdir, bit-exact resume (clean stop and Ctrl-C), reproducibility, 1 vs 8
devices, k discriminator steps, fused vs separate phases, non-finite stops, config-change refusal.
"""

import json
import os
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.engine import loop
from jaxgen.errors import ConfigError
from jaxgen.losses import gan as gan_losses
from jaxgen.trainers import gan

TINY = "configs/dcgan_mnist.py:tiny"


def _config(*overrides, spec=TINY):
    return config_lib.load(spec, list(overrides))


def _assert_same(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("full"))
    state = gan.train_and_evaluate(_config(), workdir, mesh=one_device_mesh)
    return workdir, jax.device_get(state)


def test_workdir_outputs(uninterrupted):
    workdir, state = uninterrupted
    assert int(state["step"]) == 4
    assert sorted(os.listdir(os.path.join(workdir, "checkpoints"))) == ["2", "4"]
    assert sorted(os.listdir(os.path.join(workdir, "samples"))) == [
        "step_0000000.png", "step_0000002.png", "step_0000004.png"]
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    assert [r["step"] for r in rows] == [2, 4]
    assert {"d_loss", "g_loss", "d_real", "d_fake", "steps_per_sec"} <= set(rows[0])
    assert json.load(open(os.path.join(workdir, "config.json")))["model"]["width"] == 8
    info = json.load(open(os.path.join(workdir, "run.json")))
    assert info["image_shape"] == [28, 28, 1] and info["versions"]["jax"] == jax.__version__
    assert os.listdir(os.path.join(workdir, "tensorboard"))


def test_same_seed_same_parameters(uninterrupted, tmp_path, one_device_mesh):
    state = gan.train_and_evaluate(_config(), str(tmp_path), mesh=one_device_mesh)
    _assert_same(state, uninterrupted[1])
    other = gan.train_and_evaluate(_config("seed=1"), str(tmp_path / "other"), mesh=one_device_mesh)
    assert not np.array_equal(np.asarray(jax.tree.leaves(other["params"]["g"])[0]),
                              np.asarray(jax.tree.leaves(uninterrupted[1]["params"]["g"])[0]))


def test_stop_and_resume_is_exact(uninterrupted, tmp_path, one_device_mesh):
    gan.train_and_evaluate(_config("num_steps=2"), str(tmp_path), mesh=one_device_mesh)
    state = gan.train_and_evaluate(_config(), str(tmp_path), mesh=one_device_mesh)
    _assert_same(state, uninterrupted[1])


def test_ctrl_c_saves_and_resume_is_exact(uninterrupted, tmp_path, one_device_mesh, monkeypatch):
    create_task = gan.create_task

    def interrupting_task(*args):
        task = create_task(*args)
        inner = task.step

        def step(state, next_batch, rng, step_index):
            out = inner(state, next_batch, rng, step_index)
            if int(out[0]["step"]) == 3:
                os.kill(os.getpid(), signal.SIGINT)
            return out

        task.step = step
        return task

    monkeypatch.setattr(gan, "create_task", interrupting_task)
    with pytest.raises(loop.Interrupted, match="interrupted at step 3"):
        gan.train_and_evaluate(_config(), str(tmp_path), mesh=one_device_mesh)
    assert "3" in os.listdir(os.path.join(tmp_path, "checkpoints"))
    monkeypatch.setattr(gan, "create_task", create_task)
    state = gan.train_and_evaluate(_config(), str(tmp_path), mesh=one_device_mesh)
    _assert_same(state, uninterrupted[1])


def test_eight_devices_match_one(uninterrupted, tmp_path, eight_device_mesh):
    state = gan.train_and_evaluate(_config(), str(tmp_path), mesh=eight_device_mesh)
    assert all(x.sharding.is_fully_replicated for x in jax.tree.leaves(state))
    for x, y in zip(jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(uninterrupted[1])):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=2e-5, atol=2e-6)


def test_fused_phases_match_separate(uninterrupted, tmp_path, one_device_mesh):
    state = gan.train_and_evaluate(_config("fuse_phases=false"), str(tmp_path), mesh=one_device_mesh)
    for x, y in zip(jax.tree.leaves(jax.device_get(state)), jax.tree.leaves(uninterrupted[1])):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=2e-5, atol=2e-6)


def test_k_discriminator_steps(tmp_path, one_device_mesh):
    """With k = 3, D's Adam has taken 3 steps per G step, and 3 batches were read per step."""
    state = gan.train_and_evaluate(_config("n_critic=3", "num_steps=2"), str(tmp_path), mesh=one_device_mesh)
    assert int(state["opt"]["d"][0].count) == 6 and int(state["opt"]["g"][0].count) == 2


def test_minimax_mlp_gan_trains(tmp_path, one_device_mesh):
    config = _config("loss.objective=mm", spec="configs/gan_mnist.py:tiny")
    state = gan.train_and_evaluate(config, str(tmp_path), mesh=one_device_mesh)
    assert int(state["step"]) == 4


def test_non_finite_loss_stops_with_last_good_checkpoint(tmp_path, one_device_mesh, monkeypatch):
    gan.train_and_evaluate(_config("num_steps=2"), str(tmp_path), mesh=one_device_mesh)
    nan_d_loss = gan_losses.Objective(lambda r, f: jnp.mean(r) * jnp.nan, gan_losses.non_saturating_g_loss)
    monkeypatch.setitem(gan_losses.OBJECTIVES, "ns", nan_d_loss)
    with pytest.raises(loop.NonFiniteLoss, match=r"d_loss.*at step 3.*last good checkpoint is step 2"):
        gan.train_and_evaluate(_config(), str(tmp_path), mesh=one_device_mesh)
    assert sorted(os.listdir(os.path.join(tmp_path, "checkpoints"))) == ["2"]


def test_changed_config_is_refused(uninterrupted, one_device_mesh):
    with pytest.raises(ConfigError, match=r"different config \(model.width: 8 -> 9\).*--allow-config-change"):
        gan.train_and_evaluate(_config("model.width=9"), uninterrupted[0], mesh=one_device_mesh)


def test_each_phase_is_traced_once(tmp_path, one_device_mesh, monkeypatch):
    """Four steps of k = 2 discriminator updates: the D phase is traced (compiled) once, not eight times."""
    traces = []
    ns = gan_losses.OBJECTIVES["ns"]
    counting = gan_losses.Objective(lambda r, f: traces.append(1) or ns.d_loss(r, f), ns.g_loss)
    monkeypatch.setitem(gan_losses.OBJECTIVES, "ns", counting)
    gan.train_and_evaluate(_config("n_critic=2"), str(tmp_path), mesh=one_device_mesh)
    assert len(traces) == 1
