"""The GAN trainer end to end on tiny configs and the real bundled digits.

Covers: outputs in the workdir, bit-exact resume (clean stop and Ctrl-C), reproducibility, 1 vs 8
devices, k discriminator steps, fused vs separate phases, non-finite stops, config-change refusal; the
accelerator options (bfloat16, gradient accumulation, learning-rate schedules) on in-memory batches.
"""

import functools
import json
import os
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.defaults import gan as gan_defaults
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


# The accelerator options: bfloat16, gradient accumulation, learning-rate schedules, and their errors.

def _images(n, size, seed=0):
    rng = np.random.default_rng(seed)
    return [{"image": jnp.asarray(rng.uniform(-1, 1, (size, 28, 28, 1)), jnp.float32)} for _ in range(n)]


def _float_leaves(tree):
    return [x for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.floating)]


def test_bfloat16_step_is_close_to_float32_and_keeps_float32_state(one_device_mesh):
    """DCGAN (BatchNorm in G and D) in bfloat16: the same float32 initial state, the first step's losses close to
    float32's on the same batch, four steps train finite with float32 parameters and optimizer state, samples
    float32 in [-1, 1]."""
    batch = _images(1, 16)[0]
    first, init = {}, {}
    for dtype in ("float32", "bfloat16"):
        task = gan.create_task(_config(f"dtype={dtype}"), {"image_shape": (28, 28, 1)}, one_device_mesh)
        state = task.init(jax.random.key(0))
        init[dtype] = jax.device_get(state)
        for s in range(4):
            state, metrics = task.step(state, lambda: batch, jax.random.key(s), s)
            first.setdefault(dtype, jax.device_get(metrics))
    _assert_same(init["float32"], init["bfloat16"])
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(first["bfloat16"][name], first["float32"][name], rtol=2e-2)
    state = jax.device_get(state)
    assert all(x.dtype == jnp.float32 and np.all(np.isfinite(x)) for x in _float_leaves(state))
    assert not np.allclose(state["params"]["g"]["up0"]["kernel"], init["bfloat16"]["params"]["g"]["up0"]["kernel"])
    samples = np.asarray(task.generate(state, jax.random.key(9), 4))
    assert samples.dtype == np.float32 and samples.shape == (4, 28, 28, 1) and np.abs(samples).max() <= 1.0


MICRO = ["game=tests.games.image_input_game", "model.dropout=false", "loss.penalty=r1", "loss.penalty_weight=10.0",
         "n_critic=2", "optimizer.d.name=sgd", "optimizer.g.name=sgd", "optimizer.d.learning_rate=0.1",
         "optimizer.g.learning_rate=0.1"]


def test_accumulated_micro_batches_equal_one_step_on_their_concatenation(one_device_mesh):
    """accumulate=2 with batches of 8 gives the updates of batches of 16 (their concatenation): a model without
    BatchNorm or dropout, noise-free inputs (the image-input game), R1, two D updates per step; the pure step (what
    a sweep vmaps) of one step's batches, stacked, agrees."""
    micro = _images(8, 8)
    whole = [{"image": jnp.concatenate([micro[2 * i]["image"], micro[2 * i + 1]["image"]])} for i in range(4)]
    tasks, states, metrics = {}, {}, {}
    for k, size, batches in ((2, 8, micro), (1, 16, whole)):
        config = _config(*MICRO, f"accumulate={k}", f"batch_size={size}", spec="configs/gan_mnist.py:tiny")
        tasks[k] = gan.create_task(config, {"image_shape": (28, 28, 1)}, one_device_mesh)
        assert tasks[k].batches_per_step == 2 * k
        state = init = jax.device_get(tasks[k].init(jax.random.key(0)))
        next_batch = functools.partial(next, iter(batches))
        for s in range(2):
            state, metrics[k] = tasks[k].step(state, next_batch, jax.random.key(s), s)
        states[k] = jax.device_get(state)["params"]
    moves = {k: [a - b for a, b in zip(jax.tree.leaves(states[k]), jax.tree.leaves(init["params"]))] for k in states}
    for a, b in zip(moves[2], moves[1]):  # the parameters' changes over two steps
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-8)
    assert max(np.max(np.abs(m)) for m in moves[2]) > 1e-4
    for name in ("d_loss", "g_loss", "penalty", "d_real"):
        np.testing.assert_allclose(metrics[2][name], metrics[1][name], rtol=1e-5, atol=1e-9)
    stacked = jnp.stack([b["image"] for b in micro[:4]])  # step 0's 2 D updates x 2 micro-batches
    pure = {k: jax.jit(tasks[k].pure_step)(jax.device_put(init), {"image": images}, jax.random.key(0))[0]["params"]
            for k, images in ((2, stacked), (1, stacked.reshape(2, 16, 28, 28, 1)))}
    for a, b in zip(jax.tree.leaves(pure[2]), jax.tree.leaves(pure[1])):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_schedules_follow_the_training_step(one_device_mesh):
    """G warms up over 2 steps (rate 0 at step 0), D's rate decays linearly to 0 at step 2. With n_critic=2 D is
    updated twice a step: the rate follows the step, not the update count (which would stop D a step early)."""
    task = gan.create_task(_config("n_critic=2", "optimizer.g.schedule.warmup_steps=2",
                                   "optimizer.d.schedule.decay=linear", "optimizer.d.schedule.decay_start=1",
                                   "optimizer.d.schedule.decay_steps=1", spec="configs/gan_mnist.py:tiny"),
                           {"image_shape": (28, 28, 1)}, one_device_mesh)
    state, stream = task.init(jax.random.key(0)), iter(_images(6, 16))
    params = [jax.device_get(state["params"])]
    for s in range(3):
        state, _ = task.step(state, lambda: next(stream), jax.random.key(s), s)
        params.append(jax.device_get(state["params"]))

    def moved(role, a, b):
        return any(not np.array_equal(x, y) for x, y in zip(jax.tree.leaves(params[a][role]),
                                                             jax.tree.leaves(params[b][role])))

    assert not moved("g", 0, 1) and moved("g", 1, 2) and moved("g", 2, 3)  # warm-up: lr * t / 2
    assert moved("d", 0, 1) and moved("d", 1, 2) and not moved("d", 2, 3)  # lr at steps 0, 1; 0 from step 2


@pytest.mark.parametrize("spec, override, shape, fragment", [
    ("configs/gan_mnist.py:tiny", "remat=true", (28, 28, 1), "config key 'remat': model 'gan_mlp' .* set remat=False"),
    ("configs/cycle_toy.py:tiny", "dtype=bfloat16", (2,),
     "config key 'dtype': model 'translator_mlp' .* set dtype=float32"),
    (TINY, "accumulate=0", (28, 28, 1), "config key 'accumulate'"),
    (TINY, "dtype=float16", (28, 28, 1), "config key 'dtype' must be one of"),
])
def test_bad_accelerator_options_are_config_errors(spec, override, shape, fragment, one_device_mesh):
    with pytest.raises(ConfigError, match=fragment):
        gan.create_task(_config(override, spec=spec), {"image_shape": shape}, one_device_mesh)


def test_a_game_without_the_options_refuses_them(one_device_mesh):
    """A game of one's own that builds its networks itself (the test two-stage game) is float32 without remat."""
    config = gan_defaults.default_config("two_stage", "ns", game="tests.games.two_stage_game")
    config.data.name, config.dtype = "ring8", "bfloat16"
    with pytest.raises(ConfigError, match="config key 'dtype': game 'tests.games.two_stage_game' builds its "
                                          "networks without it; set dtype=float32"):
        gan.create_task(config, {"image_shape": (2,)}, one_device_mesh)
