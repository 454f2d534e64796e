"""tools/torch_ddpm.py, the PyTorch reference that tools/bench.py times beside jaxgen's DDPM step: holding jaxgen's
weights (numpy noise on the shapes of ``init``, copied by ``load_flax``), its U-Net computes jaxgen's ε_θ(x_t, t) at
every level (attention included); two steps of configs/ddpm_emoji.py:tiny run."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.models import diffusion

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))  # tools/ is not a package
import torch_ddpm  # noqa: E402

# 8 px: two levels, a residual block with a skip projection on each, attention at 8 and 4 px
OVERRIDES = ["model.width=8", "model.channel_mult=(1, 2)", "model.num_res_blocks=1", "model.attention_below=8"]


def test_unet_equals_jaxgens_on_the_same_weights_and_two_steps_run():
    config = config_lib.load("configs/ddpm_emoji.py:tiny", OVERRIDES)
    shape = (8, 8, 3)
    module = diffusion.model(config.model, shape)
    x, t = np.random.default_rng(0).normal(size=(4, *shape)).astype(np.float32), np.array([1, 3, 7, 10])
    shapes = jax.eval_shape(lambda k: module.init(k, jnp.zeros((1, *shape)), jnp.ones((1,), jnp.int32)),
                            jax.random.key(0))
    rng = np.random.default_rng(1)
    params = jax.tree.map(lambda s: jnp.asarray(0.3 * rng.normal(size=s.shape), jnp.float32), shapes)["params"]
    assert any("attn" in name for name in params) and "skip" in params["down1_0"]
    net = torch_ddpm.unet(config).eval()
    torch_ddpm.load_flax(net, params)
    want = module.apply({"params": params}, jnp.asarray(x), jnp.asarray(t))
    with torch.no_grad():
        got = net(torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(t)).permute(0, 2, 3, 1).numpy()
    assert np.abs(np.asarray(want)).mean() > 0.1  # the zero-initialised output layer is filled too
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-4, atol=1e-4)
    step = torch_ddpm.make_step(config, threads=1)
    step(), step()


def test_the_bench_has_the_reference_for_ddpm():
    import bench

    assert bench.has_torch_reference(config_lib.load("configs/ddpm_emoji.py"))
    assert not bench.has_torch_reference(config_lib.load("configs/ddpm_mnist.py:cond"))
