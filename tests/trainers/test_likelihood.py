"""The likelihood trainer: a tiny VAE trains, evaluates with the protocol's names, samples and resumes exactly;
bfloat16 and gradient accumulation on in-memory batches."""

import functools
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.errors import ConfigError
from jaxgen.trainers import likelihood

TINY = "configs/vae_mnist.py:tiny"


def _config(spec=TINY, *overrides):
    return config_lib.load(spec, list(overrides))


@pytest.fixture(scope="module")
def tiny_vae(tmp_path_factory, data_dir, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("vae"))
    state = likelihood.train_and_evaluate(_config(), workdir, mesh=one_device_mesh)
    return workdir, jax.device_get(state)


def test_evaluation_reports_the_bounds_in_nats(tiny_vae):
    workdir, _ = tiny_vae
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    evals = [r for r in rows if "test_elbo_nats" in r]
    assert [r["step"] for r in evals] == [2, 4]
    last = evals[-1]
    assert {"test_iwae1_nats", "test_iwae3_nats"} <= set(last)
    # A binarised 28x28 image costs at most 784 ln 2 nats under a sensible model; these bounds are finite
    # and the tighter bound is not worse than the ELBO by more than noise.
    assert all(np.isfinite(last[k]) for k in last if k.startswith("test_"))
    assert last["test_iwae3_nats"] <= last["test_elbo_nats"] + 1.0
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.png"))


def test_eval_task_metric_reproduces_the_logged_evaluation(tiny_vae, capsys):
    """`jaxgen eval --workdir W --metrics task` runs the run's own evaluation on its newest checkpoint with training's
    evaluation key: the numbers training logged at that step (the bounds are stochastic: the same key, the same
    draws); --split moves it to another split; the line is appended to metrics.jsonl."""
    from jaxgen import cli

    workdir, _ = tiny_vae
    logged = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl")) if "test_elbo_nats" in line][-1]
    assert cli.main(["eval", "--workdir", workdir, "--metrics", "task"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["step"] == logged["step"] == 4
    for key in ("test_elbo_nats", "test_iwae1_nats", "test_iwae3_nats"):
        assert line[key] == pytest.approx(logged[key], rel=1e-6), key
    assert cli.main(["eval", "--workdir", workdir, "--metrics", "task", "--split", "train[:16]"]) == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert "train_elbo_nats" in line and "test_elbo_nats" not in line and np.isfinite(line["train_elbo_nats"])
    rows = [json.loads(r) for r in open(os.path.join(workdir, "metrics.jsonl"))]
    assert "train_elbo_nats" in rows[-1] and rows[-1]["step"] == 4


def test_resume_is_exact(tiny_vae, tmp_path, one_device_mesh):
    _, uninterrupted = tiny_vae
    likelihood.train_and_evaluate(_config(TINY, "num_steps=2"), str(tmp_path), mesh=one_device_mesh)
    resumed = likelihood.train_and_evaluate(_config(), str(tmp_path), mesh=one_device_mesh)
    for a, b in zip(jax.tree.leaves(uninterrupted), jax.tree.leaves(jax.device_get(resumed))):
        np.testing.assert_array_equal(a, b)


def test_conditional_pixelcnn_resumes_exactly_and_reports_exact_nll(tmp_path, one_device_mesh):
    spec = "configs/gated_pixelcnn_mnist.py:cond,tiny"
    whole = jax.device_get(likelihood.train_and_evaluate(_config(spec), str(tmp_path / "a"), mesh=one_device_mesh))
    likelihood.train_and_evaluate(_config(spec, "num_steps=2"), str(tmp_path / "b"), mesh=one_device_mesh)
    resumed = likelihood.train_and_evaluate(_config(spec), str(tmp_path / "b"), mesh=one_device_mesh)
    for a, b in zip(jax.tree.leaves(whole), jax.tree.leaves(jax.device_get(resumed))):
        np.testing.assert_array_equal(a, b)
    rows = [json.loads(line) for line in open(tmp_path / "a" / "metrics.jsonl")]
    assert np.isfinite([r for r in rows if "test_nll_nats" in r][-1]["test_nll_nats"])
    assert (tmp_path / "a" / "samples" / "step_0000004.png").exists()  # one row per class


@pytest.mark.parametrize("spec,metric", [("configs/ae_mnist.py:tiny", "test_reconstruction_nats"),
                                         ("configs/vae_mnist.py:8bit,tiny", "test_elbo_bpd"),
                                         ("configs/vae_mnist.py:gaussian,conv,tiny", "test_elbo_bpd")])
def test_variants_train_and_report_their_units(spec, metric, tmp_path, one_device_mesh):
    config = _config(spec, "num_steps=2")
    likelihood.train_and_evaluate(config, str(tmp_path), mesh=one_device_mesh)
    rows = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert np.isfinite([r for r in rows if metric in r][-1][metric])


def test_iwae_needs_a_vae(tmp_path, one_device_mesh):
    with pytest.raises(ConfigError, match="eval.iwae_samples"):
        likelihood.train_and_evaluate(_config("configs/ae_mnist.py:tiny", "eval.iwae_samples=(5,)"), str(tmp_path),
                                      mesh=one_device_mesh)


def _images(n, size, seed=0):
    rng = np.random.default_rng(seed)
    return [{"image": jnp.asarray(rng.uniform(-1, 1, (size, 28, 28, 1)), jnp.float32),
             "label": jnp.asarray(rng.integers(0, 10, size), jnp.int32)} for _ in range(n)]


@pytest.mark.parametrize("spec, overrides", [("configs/vae_mnist.py:conv,tiny", ()),
                                             ("configs/gated_pixelcnn_mnist.py:cond,tiny", ("remat=true",))])
def test_bfloat16_step_is_close_to_float32_and_keeps_float32_state(spec, overrides, one_device_mesh):
    """A conv VAE and a conditional Gated PixelCNN (rematerialised) in bfloat16: the first step's NLL within 1 %
    of float32's on the same batch and noise; three steps finite, parameters and Adam state float32."""
    info, batch = {"image_shape": (28, 28, 1), "num_classes": 10}, _images(1, 16)[0]
    first = {}
    for dtype in ("float32", "bfloat16"):
        task = likelihood.create_task(_config(spec, f"dtype={dtype}", *overrides), info, one_device_mesh)
        state = task.init(jax.random.key(0))
        for s in range(3):
            state, metrics = task.step(state, lambda: batch, jax.random.key(s), s)
            first.setdefault(dtype, float(metrics["nll_nats"]))
    np.testing.assert_allclose(first["bfloat16"], first["float32"], rtol=1e-2)
    leaves = [x for x in jax.tree.leaves(jax.device_get(state)) if jnp.issubdtype(x.dtype, jnp.floating)]
    assert all(x.dtype == jnp.float32 and np.all(np.isfinite(x)) for x in leaves)


def test_accumulated_micro_batches_equal_one_step_on_their_concatenation(one_device_mesh):
    """An 8-bit PixelCNN (a deterministic loss, no BatchNorm): accumulate=3 with batches of 4 gives the SGD updates
    of batches of 12; its pure step (what a sweep vmaps) on the stacked micro-batches agrees."""
    micro = _images(6, 4)
    whole = [{k: jnp.concatenate([b[k] for b in micro[3 * i:3 * i + 3]]) for k in ("image", "label")}
             for i in range(2)]
    params, tasks = {}, {}
    for k, size, batches in ((3, 4, micro), (1, 12, whole)):
        config = _config("configs/pixelcnn_mnist.py:8bit,tiny", f"accumulate={k}", f"batch_size={size}",
                         "optimizer.name=sgd", "optimizer.learning_rate=1e-3")
        tasks[k] = likelihood.create_task(config, {"image_shape": (28, 28, 1)}, one_device_mesh)
        assert tasks[k].batches_per_step == k
        state = init = jax.device_get(tasks[k].init(jax.random.key(0)))
        next_batch = functools.partial(next, iter(batches))
        for s in range(2):
            state, _ = tasks[k].step(state, next_batch, jax.random.key(s), s)
        params[k] = jax.device_get(state["params"])
    moves = {k: [a - b for a, b in zip(jax.tree.leaves(params[k]), jax.tree.leaves(init["params"]))] for k in params}
    for a, b in zip(moves[3], moves[1]):  # the parameters' changes over two steps
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-7)
    assert max(np.max(np.abs(m)) for m in moves[3]) > 1e-3
    stacked = {k: jnp.stack([b[k] for b in micro[:3]]) for k in ("image", "label")}
    pure = jax.jit(tasks[3].pure_step)(jax.device_put(init), stacked, jax.random.key(0))[0]["params"]
    alone = jax.jit(tasks[1].pure_step)(jax.device_put(init), jax.tree.map(lambda x: x.reshape(1, 12, *x.shape[2:]),
                                                                            stacked), jax.random.key(0))[0]["params"]
    for a, b in zip(jax.tree.leaves(pure), jax.tree.leaves(alone)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_model_without_bfloat16_is_a_config_error(one_device_mesh):
    with pytest.raises(ConfigError, match="config key 'dtype': model 'pixelrnn' .* set dtype=float32"):
        likelihood.create_task(_config("configs/pixelrnn_mnist.py:tiny", "dtype=bfloat16"),
                               {"image_shape": (28, 28, 1)}, one_device_mesh)


def test_ema_after_two_steps_is_the_hand_computed_average_and_leaves_training_alone(one_device_mesh):
    """ema_decay d: after steps p0 -> p1 -> p2, ema = d (d p0 + (1 - d) p1) + (1 - d) p2; the parameters are those of
    the same run without an EMA, and a state without one has no "ema" entry (old checkpoints stay valid)."""
    info, batches = {"image_shape": (28, 28, 1)}, _images(2, 16)
    states = {}
    for decay in (0.0, 0.75):
        task = likelihood.create_task(_config(TINY, f"ema_decay={decay}"), info, one_device_mesh)
        state = task.init(jax.random.key(0))
        trail = [jax.device_get(state["params"])]
        for s in range(2):
            state, _ = task.step(state, lambda s=s: batches[s], jax.random.key(s), s)
            trail.append(jax.device_get(state["params"]))
        states[decay] = (jax.device_get(state), trail)
    assert "ema" not in states[0.0][0]
    (with_ema, trail), d = states[0.75], 0.75
    want = jax.tree.map(lambda p0, p1, p2: d * (d * p0 + (1 - d) * p1) + (1 - d) * p2, *trail)
    for a, b in zip(jax.tree.leaves(with_ema["ema"]), jax.tree.leaves(want)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(jax.tree.leaves(with_ema["params"]), jax.tree.leaves(states[0.0][0]["params"])):
        np.testing.assert_array_equal(a, b)
