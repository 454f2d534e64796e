"""The super-resolution game (jaxgen.games.superres): SRResNet on MSE (stage 0), then SRGAN (stage 1) in one run.

The LR down-sampling against PyTorch; G's terms against hand-computed values in both stages (pixel MSE; VGG
features scaled by 1/12.75, MSE; 1e-3 x -log D(G(LR))); the optimizer reset at the switch; exact resume from
the boundary; the evaluation's protocol names; a missing VGG file as a one-line error naming the config key.
Everything runs on configs/srgan_photos.py:tiny (32-pixel crops, 1 block of width 8, VGG-16 relu2_2).
"""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.engine import optimizers
from jaxgen.errors import ConfigError
from jaxgen.games import superres
from jaxgen.games.base import Players
from jaxgen.nn import vgg
from jaxgen.trainers import gan
from tests.games.task_cache import one_task_per_config  # noqa: F401 (autouse: one compiled task per config)

TINY = "configs/srgan_photos.py:tiny"  # SRGAN from step 2 of 4


def _config(num_steps=4):
    config = config_lib.load(TINY)
    config.num_steps = num_steps
    config.eval.every = 2  # in both stages: a run stopped at the switch compiles nothing new
    return config


def _hr(n=4, size=32, seed=0):
    """8-bit HR images in [-1, 1] with some structure (smoothed noise)."""
    x = np.random.default_rng(seed).uniform(-1, 1, (n, size, size, 3))
    x = (x + np.roll(x, 1, 1) + np.roll(x, 1, 2)) / 3
    return np.asarray(superres.quantise(jnp.asarray(x, jnp.float32)))


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, one_device_mesh):
    workdir = str(tmp_path_factory.mktemp("srgan"))
    return workdir, jax.device_get(gan.train_and_evaluate(_config(), workdir, mesh=one_device_mesh))


def test_downsampling_is_torch_antialiased_bicubic():
    hr = _hr(2, 32)
    expected = torch.nn.functional.interpolate(torch.tensor(hr).permute(0, 3, 1, 2), size=(8, 8), mode="bicubic",
                                               antialias=True, align_corners=False).permute(0, 2, 3, 1).numpy()
    raw = jax.image.resize(jnp.asarray(hr), (2, 8, 8, 3), "bicubic", antialias=True)
    np.testing.assert_allclose(raw, expected, atol=1e-6)  # one kernel (Keys a=-0.5, stretched x4); float32 sums
    lr = np.asarray(superres.downsample(jnp.asarray(hr), 4))
    levels = np.round((np.clip(expected, -1, 1) + 1) * 127.5)
    # 8-bit rounding can differ only where the value lies within float32 noise (1e-6) of a rounding tie
    assert np.abs((lr + 1) * 127.5 - levels).max() <= 1 + 1e-4 and np.mean(np.isclose((lr + 1) * 127.5, levels)) > 0.99
    with pytest.raises(ConfigError, match="divisible by model.scale=4"):
        superres.downsample(jnp.zeros((1, 30, 32, 3)), 4)


def test_terms_of_both_stages_against_hand_computed_values(uninterrupted):
    config, state = _config(), uninterrupted[1]
    game = superres.build(config, pipeline.output_info(config.data), None)
    params, model_state = state["params"], state["model_state"]
    hr = jnp.asarray(_hr())
    keys = (jax.random.key(1), jax.random.key(2))
    g, d = game.modules["g"], game.modules["d"]
    net, variables = vgg.load_vgg(16, "hed", outputs=("relu2_2",))  # the paper's VGG22 on hed's VGG-16

    @jax.jit
    def both():
        out = {}
        for stage in (0, 1):
            phases = gan._Phases(config, game, None, stage)
            players = Players(game.modules, params, model_state, stage, state["step"])
            inputs = game.g_inputs(players, {"image": hr}, keys)
            out[f"g{stage}"] = phases.g_loss(params, {**state, "model_state": model_state}, inputs, keys)[0:2]
            out[f"d{stage}"] = game.d_terms(players, game.d_inputs(players, {"image": hr}, keys[0]), keys)
        lr = superres.downsample(hr, 4)
        sr = g.apply({"params": params["g"], **model_state["g"]}, lr, train=True, mutable=["batch_stats"])[0]
        logits = d.apply({"params": params["d"], **model_state["d"]}, sr, train=True, mutable=["batch_stats"])[0]
        f_sr, f_hr = (net.apply(variables, x)["relu2_2"] / 12.75 for x in (sr, hr))
        return out, sr, lr, logits, jnp.mean((f_sr - f_hr) ** 2)

    out, sr, lr, logits, perceptual = both()
    assert lr.shape == (4, 8, 8, 3) and sr.shape == (4, 32, 32, 3)  # x4
    mse = np.mean((np.asarray(sr, np.float64) - np.asarray(hr)) ** 2)
    loss0, (_, terms0) = out["g0"]
    np.testing.assert_allclose([loss0, terms0["g_mse"]], [mse, mse], rtol=1e-5)  # SRResNet: MSE alone
    assert float(terms0["g_loss"]) == 0.0 and out["d0"] == ({}, {})  # no critic before SRGAN
    loss1, (_, terms1) = out["g1"]
    adversarial = np.mean(np.logaddexp(0.0, -np.asarray(logits, np.float64)))  # -log D(G(LR)), D = sigmoid(logits)
    np.testing.assert_allclose([terms1["g_loss"], terms1["g_perceptual"]], [adversarial, perceptual], rtol=1e-5)
    np.testing.assert_allclose(loss1, perceptual + 1e-3 * adversarial, rtol=1e-5)
    assert set(out["d1"][0]) == {"d"} and "g_mse" not in terms1


def test_srgan_starts_with_fresh_optimizers_and_resumes_exactly_across_the_switch(uninterrupted, tmp_path,
                                                                                  one_device_mesh):
    config, final = _config(), uninterrupted[1]
    boundary = jax.device_get(gan.train_and_evaluate(_config(2), str(tmp_path), mesh=one_device_mesh))
    assert int(boundary["step"]) == 2 and int(boundary["stage"]) == 0 and int(final["stage"]) == 1
    game = superres.build(config, pipeline.output_info(config.data), None)
    assert game.stage_starts == (0, 2) and game.begin_stage(boundary, 0) is boundary
    d_opt = boundary["opt"]["d"]  # stage 0 has no D phase: D's Adam state is its initial one, D unchanged
    assert int(optax.tree_utils.tree_get(d_opt, "count")) == 0 and not game.trains_d(0) and game.trains_d(1)
    assert not any(np.any(m) for name in ("mu", "nu") for m in jax.tree.leaves(optax.tree_utils.tree_get(d_opt, name)))
    fresh = game.begin_stage(boundary, 1)["opt"]
    for role in ("g", "d"):  # zeros are optax's initial state of the configured Adam (with its step schedule)
        expected = optimizers.make(config.optimizer[role], f"optimizer.{role}").init(boundary["params"][role])
        assert jax.tree.structure(fresh[role]) == jax.tree.structure(expected)
        assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(fresh[role]), jax.tree.leaves(expected)))
    resumed = jax.device_get(gan.train_and_evaluate(_config(), str(tmp_path), mesh=one_device_mesh))
    assert jax.tree.structure(resumed) == jax.tree.structure(final)
    for a, b in zip(jax.tree.leaves(resumed), jax.tree.leaves(final)):
        np.testing.assert_array_equal(a, b)


def test_evaluation_names_and_samples(uninterrupted):
    workdir, state = uninterrupted
    rows = [json.loads(line) for line in open(os.path.join(workdir, "metrics.jsonl"))]
    evals = [r for r in rows if "psnr_y_test_x4" in r]
    assert [r["step"] for r in evals] == [2, 4]
    assert {"ssim_y_test_x4", "psnr_y_test_x4_bicubic", "ssim_y_test_x4_bicubic"} <= set(evals[0])
    assert 15 < evals[0]["psnr_y_test_x4_bicubic"] < 40 and 0 < evals[0]["ssim_y_test_x4_bicubic"] < 1
    assert {"g_perceptual", "d_real", "d_fake"} <= set(rows[-2]) and "g_mse" in rows[0]
    assert "d_loss" not in rows[0]  # SRResNet's stage has no D phase
    assert os.path.exists(os.path.join(workdir, "samples", "step_0000004.png"))
    hr = jnp.asarray(_hr(1, 64))
    np.testing.assert_allclose(superres.quality(hr, hr, 4)["ssim_y_test_x4"], 1.0, rtol=1e-6)


def test_missing_vgg_file_is_one_line_naming_the_key():
    config = _config()
    info = pipeline.output_info(config.data)
    config.model.vgg_weights = "/nonexistent/vgg19-dcbe5a2e.pth"
    with pytest.raises(ConfigError, match=r"^config key 'model.vgg_weights' .*not found") as e:
        superres.build(config, info, None)
    assert "\n" not in str(e.value)
    config.model.vgg_layer = "relu5_4"  # VGG-19's, not VGG-16's
    with pytest.raises(ConfigError, match="model.vgg_layer"):
        superres.build(config, info, None)
    config.model.srgan_from = -1  # SRResNet alone needs no VGG
    assert superres.build(config, info, None).stage_starts == (0,)
