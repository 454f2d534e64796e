"""Every row of the loss zoo through the GAN trainer, and the training options, each against a closed form.

Rows train end to end from their tiny configs on the bundled digits; the options (weight clipping, lazy
regularisation, EMA, TTUR, BEGAN's k_t) are checked on the trainer's task with synthetic 8x8 batches.
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen import models
from jaxgen.errors import ConfigError
from jaxgen.losses import penalties, zoo
from jaxgen.trainers import gan

INFO = {"image_shape": (8, 8, 1), "num_classes": 10}


def _config(row, *overrides):
    return config_lib.load(f"configs/{row}_mnist.py:tiny", list(overrides))


def _task(config, mesh):
    """The task of `config` on 8x8 images, its initial state and a fixed synthetic batch."""
    task = gan.create_task(config, INFO, mesh)
    state = task.init(jax.random.key(0))
    rng = np.random.default_rng(0)
    batch = {"image": jnp.asarray(rng.uniform(-1, 1, (config.batch_size, 8, 8, 1)), jnp.float32),
             "label": jnp.asarray(rng.integers(0, 10, config.batch_size), jnp.int32)}
    return task, state, batch


def _run(task, state, batch, steps, start=0):
    history = []
    for i in range(start, start + steps):
        state, metrics = task.step(state, lambda: batch, jax.random.key(100 + i), i)
        history.append((jax.device_get(state), jax.device_get(metrics)))
    return state, history


@pytest.mark.parametrize("row", sorted(zoo.ROWS))
def test_every_row_trains_from_its_config(row, tmp_path, one_device_mesh):
    config = _config(row)
    state = gan.train_and_evaluate(config, str(tmp_path), mesh=one_device_mesh)
    assert int(state["step"]) == config.num_steps
    rows = [json.loads(line) for line in open(os.path.join(tmp_path, "metrics.jsonl"))]
    expected = {"d_loss", "g_loss", "d_real", "d_fake"}
    expected |= {"penalty"} if config.loss.penalty != "none" else set()
    expected |= {"k", "m_global"} if row == "began" else set()
    assert expected <= set(rows[-1]) and all(np.isfinite(v) for r in rows for v in r.values())
    if config.optimizer.d.name == "adam":  # n_critic D updates per step
        assert int(state["opt"]["d"][0].count) == config.num_steps * config.n_critic


def test_penalised_rows_use_no_batchnorm_and_the_combination_is_refused(one_device_mesh):
    for row, (_, penalty, _) in zoo.ROWS.items():
        if penalty != "none":
            assert _config(row).model.d_norm == "none", row
    with pytest.raises(ConfigError, match=r"model.d_norm='batch'.*--config.model.d_norm=none"):
        gan.create_task(_config("wgan_gp", "model.d_norm='batch'"), INFO, one_device_mesh)


def test_mismatched_discriminators_are_refused(one_device_mesh):
    with pytest.raises(ConfigError, match="set model.name='began'"):
        gan.create_task(_config("ns", "loss.objective='began'"), INFO, one_device_mesh)
    with pytest.raises(ConfigError, match="only with loss.objective='began'"):
        gan.create_task(_config("began", "loss.objective='ns'"), INFO, one_device_mesh)
    with pytest.raises(ConfigError, match="n_critic"):
        gan.create_task(_config("ns", "n_critic=0"), INFO, one_device_mesh)
    with pytest.raises(ConfigError, match="ema_decay"):
        gan.create_task(_config("ns", "ema_decay=1.0"), INFO, one_device_mesh)


def test_wgan_clips_every_discriminator_weight(one_device_mesh):
    task, state, batch = _task(_config("wgan", "n_critic=2"), one_device_mesh)
    assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(state["params"]["d"])) > 0.01
    state, _ = _run(task, state, batch, 2)
    assert max(float(jnp.max(jnp.abs(p))) for p in jax.tree.leaves(state["params"]["d"])) <= 0.01 + 1e-7


def test_lazy_regularisation_runs_its_own_phase_every_n_steps(one_device_mesh, monkeypatch):
    """reg_every=2: D-reg runs at steps 0 and 2 only (D's Adam counts 4 + 2 updates), compiled once."""
    traces = []
    r1 = penalties.r1
    monkeypatch.setattr(penalties, "r1", lambda d_fn, x: traces.append(1) or r1(d_fn, x))
    task, state, batch = _task(_config("r1", "loss.reg_every=2"), one_device_mesh)
    state, history = _run(task, state, batch, 4)
    assert int(state["opt"]["d"][0].count) == 6 and int(state["opt"]["g"][0].count) == 4
    assert ["penalty" in m for _, m in history] == [True, False, True, False]
    assert len(traces) == 1


def test_lazy_penalty_step_is_scaled_by_the_interval(one_device_mesh):
    """The D-reg phase descends reg_every * gamma * R1: its first (Adam) step equals a direct computation."""
    config = _config("r1", "loss.reg_every=4", "optimizer.d.name='sgd'", "optimizer.d.learning_rate=0.01",
                     "optimizer.d.momentum=0.0")
    task, state, batch = _task(config, one_device_mesh)
    before = jax.device_get(state)
    d_params = before["params"]["d"]
    disc = models.get("dcgan").discriminator(config.model, INFO["image_shape"])

    def reg_loss(p):
        d_fn = lambda x: disc.apply({"params": p, **before["model_state"]["d"]}, x, train=True)
        return 4 * config.loss.penalty_weight * penalties.r1(d_fn, batch["image"])

    expected = jax.tree.map(lambda p, g: p - (0.01 * 4 / 5) * g, d_params, jax.grad(reg_loss)(d_params))
    reg_state, metrics = task.step.phases["d_reg"](jax.device_put(before), batch, jax.random.key(1))
    for x, y in zip(jax.tree.leaves(reg_state["params"]["d"]), jax.tree.leaves(expected)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-4, atol=1e-7)


def test_ema_follows_its_recursion(one_device_mesh):
    task, state, batch = _task(_config("ns", "ema_decay=0.9"), one_device_mesh)
    ema = jax.device_get(state["params"]["g"])
    state, history = _run(task, state, batch, 3)
    for s, _ in history:
        ema = jax.tree.map(lambda e, p: 0.9 * e + 0.1 * p, ema, s["params"]["g"])
    for x, y in zip(jax.tree.leaves(jax.device_get(state["ema"])), jax.tree.leaves(ema)):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)
    images = task.generate(state, jax.random.key(3), 4)
    assert images.shape == (4, 8, 8, 1)


def test_ttur_separate_learning_rates(one_device_mesh):
    """Adam's first step moves each weight by lr * g / (|g| + eps): about lr_d for D and lr_g for G."""
    task, state, batch = _task(_config("ns", "optimizer.d.learning_rate=4e-3", "optimizer.g.learning_rate=1e-4",
                                       "optimizer.d.b1=0.0"), one_device_mesh)
    before = jax.device_get(state["params"])
    state, _ = _run(task, state, batch, 1)
    for net, lr in (("d", 4e-3), ("g", 1e-4)):
        moves = np.concatenate([np.abs(a - b).ravel() for a, b in zip(
            jax.tree.leaves(jax.device_get(state["params"][net])), jax.tree.leaves(before[net]))])
        assert moves.max() <= lr * (1 + 1e-3) and np.median(moves) == pytest.approx(lr, rel=0.05), net


def test_began_k_follows_the_proportional_control(one_device_mesh):
    config = _config("began", "loss.began_gamma=2.0", "loss.began_lambda_k=0.5")
    task, state, batch = _task(config, one_device_mesh)
    _, history = _run(task, state, batch, 2)
    k = 0.0
    for s, m in history:
        k = float(np.clip(k + 0.5 * (2.0 * m["d_real"] - m["d_fake"]), 0.0, 1.0))
        assert float(s["loss_state"]["k"]) == pytest.approx(k, rel=1e-5, abs=1e-7)
        assert float(m["m_global"]) == pytest.approx(m["d_real"] + abs(2.0 * m["d_real"] - m["d_fake"]), rel=1e-5)
    assert k > 0


@pytest.mark.parametrize("aux_weight", [0.0, 1.0])
def test_acgan_class_head_trains_only_through_the_auxiliary_loss(aux_weight, one_device_mesh):
    config = _config("ns", "model.conditioning='acgan'", f"loss.weights.aux={aux_weight}")
    task, state, batch = _task(config, one_device_mesh)
    head = jax.device_get(state["params"]["d"]["class_logits"])
    state, history = _run(task, state, batch, 1)
    moved = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), jax.device_get(state["params"]["d"]["class_logits"]),
                         head)
    assert {"d_aux", "g_aux"} <= set(history[0][1])
    assert (max(jax.tree.leaves(moved)) > 0) == (aux_weight > 0)
    assert task.num_classes == 10
    one, two = task.generate(state, jax.random.key(0), 2, jnp.asarray([1, 1])), task.generate(
        state, jax.random.key(0), 2, jnp.asarray([1, 7]))
    np.testing.assert_array_equal(one[0], two[0])
    assert not np.allclose(one[1], two[1])
