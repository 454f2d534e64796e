"""The diffusion family (jaxgen.models.diffusion): the U-Net's shapes and config errors, the bound's terms summing
to the reported nll and its one-t estimate agreeing with the full sum, the samplers' identities through the
network, and a tiny run from the CLI that resumes exactly with its EMA and samples through `jaxgen.load`."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxgen
from jaxgen import cli
from jaxgen import config as config_lib
from jaxgen.errors import ConfigError
from jaxgen.models import diffusion

SHAPE = (8, 8, 1)
TINY = "configs/ddpm_mnist.py:tiny"


def _cfg(*overrides):
    return config_lib.load(TINY, list(overrides)).model


@pytest.fixture(scope="module")
def tiny():
    """(density, params) of the tiny U-Net on 8x8 images, its zero-initialised output layer made non-zero."""
    dens = diffusion.density(_cfg(), SHAPE)
    x = jnp.zeros((1, *SHAPE), jnp.int32)
    params = jax.jit(dens.init)(jax.random.key(0), x)
    out = params["out"]
    params = {**params, "out": {**out, "kernel": 0.1 * jax.random.normal(jax.random.key(1), out["kernel"].shape)}}
    return dens, params


def _images(n, seed=0):
    return jax.random.randint(jax.random.key(seed), (n, *SHAPE), 0, 256)


def test_unet_shapes_and_config_errors():
    cfg = _cfg("model.channel_mult=(1,2,2)", "model.attention_below=14", "model.conditional=True")
    net = diffusion.model(cfg, (28, 28, 1), num_classes=10)
    x, t, labels = jnp.zeros((2, 28, 28, 1)), jnp.array([1, 10]), jnp.array([3, 7])
    params = jax.eval_shape(net.init, jax.random.key(0), x, t, labels)["params"]  # shapes only: nothing compiles
    assert "label_embed" in params and "down1_attn0" in params and "down0_attn0" not in params
    assert jax.eval_shape(lambda p: net.apply({"params": p}, x, t, labels), params).shape == (2, 28, 28, 1)
    with pytest.raises(ConfigError, match="model.channel_mult"):
        diffusion.model(_cfg("model.channel_mult=(1,2,2,2)"), (28, 28, 1))
    with pytest.raises(ConfigError, match="model.conditional"):
        diffusion.model(cfg, (28, 28, 1))
    with pytest.raises(ConfigError, match="model.data"):
        diffusion.density(_cfg("model.data=binary"), SHAPE)
    with pytest.raises(ConfigError, match="model.sample_steps"):
        diffusion.density(_cfg("model.sample_steps=5"), SHAPE)  # ddpm takes every step


def test_bound_terms_sum_to_the_nll_and_the_one_t_estimate_is_the_full_sum(tiny):
    dens, params = tiny
    full = diffusion.density(_cfg("model.eval_bound=full"), SHAPE)
    x = jnp.repeat(_images(1), 256, axis=0)  # one image, independent draws per row
    nll, parts = jax.jit(dens.nll)(params, x, jax.random.key(2))
    np.testing.assert_allclose(nll, parts["prior"] + parts["diffusion"] + parts["decoder"], rtol=1e-6)
    whole, whole_parts = jax.jit(full.nll)(params, x[:64], jax.random.key(3))
    np.testing.assert_allclose(whole, whole_parts["prior"] + whole_parts["diffusion"] + whole_parts["decoder"],
                               rtol=1e-6)
    assert dens.bound == "vlb_sampled" and full.bound == "vlb"
    # both are unbiased for the same bound: their means agree within their Monte Carlo errors
    se = np.sqrt(np.var(nll) / len(nll) + np.var(whole) / len(whole))
    assert abs(float(jnp.mean(nll) - jnp.mean(whole))) < 5 * se, (float(jnp.mean(nll)), float(jnp.mean(whole)), se)


def test_samplers_through_the_network(tiny):
    _, params = tiny
    x_t = jax.random.normal(jax.random.key(4), (2, *SHAPE))
    net = diffusion.model(_cfg(), SHAPE)

    def run(*overrides):
        cfg = _cfg(*overrides)
        return jax.jit(diffusion.sampler(cfg, net, diffusion._schedule(cfg)), static_argnames="trajectory")

    ddim0 = run("model.sampler=ddim", "model.eta=0.0")
    np.testing.assert_array_equal(ddim0(params, x_t, jax.random.key(5)), ddim0(params, x_t, jax.random.key(6)))
    ddim1 = run("model.sampler=ddim", "model.eta=1.0", "model.variance=beta_tilde")
    ddpm = run("model.sampler=ddpm", "model.variance=beta_tilde")
    np.testing.assert_allclose(ddim1(params, x_t, jax.random.key(7)), ddpm(params, x_t, jax.random.key(7)), atol=1e-5)
    few = run("model.sampler=ddim", "model.sample_steps=3")
    x0, xs = few(params, x_t, jax.random.key(5), trajectory=True)
    assert xs.shape == (3, 2, *SHAPE) and np.array_equal(xs[-1], x0) and float(jnp.abs(x0).max()) <= 1.0


def test_tiny_cli_run_samples_loads_and_resumes_exactly_with_its_ema(tmp_path, data_dir):
    whole, parts = str(tmp_path / "whole"), str(tmp_path / "parts")
    assert cli.main(["train", "--config", TINY, "--workdir", whole]) == 0
    assert (tmp_path / "whole" / "samples" / "step_0000004.png").exists()
    assert cli.main(["train", "--config", TINY, "--workdir", parts, "--config.num_steps=2"]) == 0
    assert cli.main(["train", "--config", TINY, "--workdir", parts]) == 0
    a, b = jaxgen.load(whole), jaxgen.load(parts)
    assert "ema" in a.state and a.ema
    for x, y in zip(jax.tree.leaves(jax.device_get(a.state)), jax.tree.leaves(jax.device_get(b.state))):
        np.testing.assert_array_equal(x, y)
    images = a.sample(3, seed=1)
    assert images.shape == (3, 28, 28, 1) and np.abs(images).max() <= 1 + 1e-6  # level 255 -> 1.0000001
    raw = jaxgen.load(whole, ema=False)
    assert not np.array_equal(raw.sample(3, seed=1), images)  # the raw weights differ from their average
    assert jax.tree.all(jax.tree.map(np.array_equal, raw.params, jax.device_get(a.state["params"])))
    assert cli.main(["sample", "--workdir", whole, "--num", "4", "--out", str(tmp_path / "s.png"), "--no-ema"]) == 0
