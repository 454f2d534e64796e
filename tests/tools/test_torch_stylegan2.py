"""tools/torch_stylegan2.py, the PyTorch reference that tools/bench.py times beside jaxgen's StyleGAN2 step: holding
the same weights as jaxgen's networks (numpy noise on the shapes of ``init``, copied by ``load_flax``; noise
strengths 0, as the two frameworks draw different noise), its mapping network, synthesis network and residual D
compute jaxgen's functions; two steps of configs/stylegan2_emoji.py:tiny run, the first with both lazy phases."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.models import stylegan2

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))  # tools/ is not a package
import torch_stylegan2  # noqa: E402

SHAPE = (8, 8, 3)


def _filled(module, *inputs, seed):
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(lambda k: module.init(k, *inputs, train=False), jax.random.key(0))
    return jax.tree_util.tree_map_with_path(
        lambda path, s: jnp.zeros(s.shape) if "strength" in jax.tree_util.keystr(path)
        else jnp.asarray(rng.normal(size=s.shape), jnp.float32), shapes)


def test_networks_equal_jaxgens_on_the_same_weights_and_two_steps_run():
    config = config_lib.load("configs/stylegan2_emoji.py:tiny")
    step = torch_stylegan2.make_step(config, threads=1, image_shape=SHAPE)
    g, d = stylegan2.generator(config.model, SHAPE), stylegan2.discriminator(config.model, SHAPE)
    gv, dv = _filled(g, jnp.zeros((4, 8)), seed=0), _filled(d, jnp.zeros((4, *SHAPE)), seed=1)
    torch_stylegan2.load_flax(step.generator, gv["params"], gv)
    torch_stylegan2.load_flax(step.discriminator, dv["params"])
    rng = np.random.default_rng(2)
    z, ws, x = (rng.normal(size=s).astype(np.float32) for s in ((4, 8), (4, 4, 8), (4, *SHAPE)))
    want = jax.jit(lambda gv, dv: (g.apply(gv, z, method="mapping"),
                                   g.apply(gv, ws, method="styles", rngs={"dropout": jax.random.key(0)}),
                                   d.apply(dv, x, train=False)))(gv, dv)
    with torch.no_grad():
        got = (step.generator.mapping(torch.from_numpy(z)),
               step.generator.synthesis(torch.from_numpy(ws)).permute(0, 2, 3, 1),
               step.discriminator(torch.from_numpy(x).permute(0, 3, 1, 2)))
    for name, a, b in zip(("mapping", "synthesis", "discriminator"), got, want):
        np.testing.assert_allclose(a.numpy(), np.asarray(b), rtol=1e-4, atol=1e-4, err_msg=name)
    np.testing.assert_array_equal(step.generator.w_avg.numpy(), gv["batch_stats"]["w_avg"])
    first, second = step(), step()
    assert set(first) == {"d_loss", "penalty", "g_loss", "g_path_length"} and set(second) == {"d_loss", "g_loss"}
    assert all(np.isfinite(float(v)) for v in (*first.values(), *second.values()))


def test_the_bench_has_the_reference_for_stylegan2():
    import bench

    assert bench.has_torch_reference(config_lib.load("configs/stylegan2_emoji.py"))
    assert not bench.has_torch_reference(config_lib.load("configs/stylegan2_emoji.py", ["dtype='bfloat16'"]))
