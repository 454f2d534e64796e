"""tools/torch_srgan.py, the PyTorch reference that tools/bench.py times beside jaxgen's SRResNet and SRGAN steps:
holding the same weights as jaxgen's networks (random, copied by ``load_flax``), its losses on one HR batch equal the
JAX trainer's phase losses (the same networks, LR down-sampling, VGG features, objectives and weights), in both
stages; a step of each stage runs. configs/srgan_photos.py:tiny (32-pixel crops, 1 block of width 8, VGG-16 relu2_2
of hed's weights). The weights are random draws on the shapes of ``game.init`` (compiling the init would cost more
than the test) with biases and BatchNorm shifts away from zero, so a wrong copy shows. tools/bench.py times
srgan_photos (SRResNet, then SRGAN) in its SRGAN stage."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.data import pipeline
from jaxgen.engine import compilation
from jaxgen.games import superres
from jaxgen.games.base import Players
from jaxgen.trainers import gan

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))  # tools/ is not a package
import torch_srgan  # noqa: E402

SHAPE = (32, 32, 3)


def _config(srgan_from):
    config = config_lib.load("configs/srgan_photos.py:tiny", [f"model.srgan_from={srgan_from}"])
    config.batch_size = 3
    return config


def test_losses_equal_jaxgens_on_the_same_weights_in_both_stages_and_a_step_runs():
    games = {s: superres.build(_config(s), pipeline.output_info(_config(s).data), None) for s in (-1, 0)}
    rng = np.random.default_rng(0)
    shapes = jax.eval_shape(games[0].init, jax.random.key(0))
    params, model_state = (jax.tree.map(lambda x: jnp.asarray(rng.normal(0, 0.1, x.shape) + 0.1, x.dtype), tree)
                           for tree in shapes)  # batch stats unused by train-mode BatchNorm: any values
    steps = {s: torch_srgan.make_step(_config(s), threads=1, image_shape=SHAPE) for s in games}
    for step in steps.values():
        for name, net in (("g", step.generator), ("d", step.discriminator)):
            torch_srgan.load_flax(net.layers.items(), {"params": params[name], **model_state[name]})
    hr = jnp.asarray(steps[0].hr.permute(0, 2, 3, 1).numpy())
    assert np.array_equal(steps[0].hr, steps[-1].hr)
    state = {"params": params, "model_state": model_state, "step": jnp.zeros((), jnp.int32)}
    keys = jax.random.split(jax.random.key(1), 3)

    @compilation.jit_once
    def jax_losses(state, hr):  # the trainer's D-main and G-main losses and terms (each game has one stage)
        out = {}
        for s, game in games.items():
            phases = gan._Phases(game.config, game, None, 0)
            players = Players(game.modules, state["params"], state["model_state"], 0, state["step"])
            if s == 0:
                d_in = game.d_inputs(players, {"image": hr}, keys[0])
                loss, (_, _, terms) = phases.d_loss(state["params"], state, d_in, keys, True)
                out["d"] = loss, terms
            g_in = game.g_inputs(players, {"image": hr}, keys[:2])
            out[f"g{s}"] = phases.g_loss(state["params"], state, g_in, keys[:2])
        return out

    want = jax_losses(state, hr)
    with torch.no_grad():
        got = {s: step.g_loss() for s, step in steps.items()}
        d_total, d_terms = steps[0].d_loss()
    np.testing.assert_allclose([float(d_total), float(d_terms["d_loss"])],
                               [float(want["d"][0]), float(want["d"][1]["d_loss"])], rtol=1e-5)
    assert set(got[-1][1]) == {"g_mse"} and set(got[0][1]) == {"g_loss", "g_perceptual"}
    for s in games:
        np.testing.assert_allclose(float(got[s][0]), float(want[f"g{s}"][0]), rtol=1e-4)
        for name, value in got[s][1].items():
            np.testing.assert_allclose(float(value), float(want[f"g{s}"][1][1][name]), rtol=1e-4, err_msg=name)
    for s, step in steps.items():
        terms = step()
        assert all(np.isfinite(float(v)) for v in terms.values()) and ("d_loss" in terms) == (s == 0)


def test_the_bench_times_srgan_photos_in_its_srgan_stage():
    import bench

    srgan_photos = config_lib.load("configs/srgan_photos.py")
    assert bench.timed_stage(srgan_photos) == ["model.srgan_from=0"] and bench.has_torch_reference(srgan_photos)
    assert bench.timed_stage(config_lib.load("configs/srresnet_photos.py")) == []
    assert bench.timed_stage(config_lib.load("configs/dcgan_mnist.py")) == []
