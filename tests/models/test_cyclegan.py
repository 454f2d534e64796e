"""CycleGAN's networks (jaxgen.models.cyclegan): the ResNet generator's shapes, block counts and parameter count,
the 70x70 PatchGAN with instance norm, and both against tools/torch_cyclegan.py's PyTorch modules with copied
weights (reflection padding, the 3x3 transposed convolution's output_padding, instance norm)."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import cyclegan
from jaxgen.nn import patchgan

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import torch_cyclegan  # noqa: E402
import torch_pix2pix  # noqa: E402


def _cfg(**changes):
    cfg = model_defaults.cyclegan()
    cfg.update(changes)
    return cfg


def _params(module, shape):
    return jax.eval_shape(lambda: module.init(jax.random.key(0), jnp.zeros((1, *shape)), train=False))["params"]


def test_generator_shapes_blocks_and_the_authors_parameter_count():
    g = cyclegan.generator(_cfg(), (64, 64, 3))
    assert g.blocks == 6 and cyclegan.generator(_cfg(), (256, 256, 3)).blocks == 9  # the paper's 6 / 9 blocks
    out = jax.eval_shape(lambda: g.init_with_output(jax.random.key(0), jnp.zeros((2, 64, 64, 3)), train=False)[0])
    assert out.shape == (2, 64, 64, 3)
    params = _params(g, (64, 64, 3))
    assert params["res0"]["conv0"]["conv"]["kernel"].shape == (3, 3, 256, 256)  # R256 at 16x16
    count = sum(x.size for x in jax.tree.leaves(params))
    assert count == sum(p.numel() for p in torch_cyclegan.ResNetGenerator(3, 64, 6).parameters())  # 7,845,123
    with pytest.raises(ConfigError, match="multiples of 4"):
        cyclegan.generator(_cfg(), (30, 30, 3))


def test_the_70x70_patchgan_with_instance_norm_but_not_on_its_first_layer():
    d = cyclegan.discriminator(_cfg(), (256, 256, 3))
    assert d.layers == 3 and d.norm == "instance" and patchgan.receptive_field(patchgan.stack(3))[0] == 70
    params = _params(d, (256, 256, 3))
    assert "conv0_norm" not in params and {"conv1_norm", "conv2_norm", "conv3_norm"} <= set(params)
    out = jax.eval_shape(lambda: d.init_with_output(jax.random.key(0), jnp.zeros((1, 256, 256, 3)), train=False)[0])
    assert out.shape == (1, 30, 30)
    assert cyclegan.discriminator(_cfg(d_layers=0), (64, 64, 3)).layers == 2  # 0: sized to the image


def _copy(torch_module, paths, params):
    """`params` with the weights of `torch_module`'s convolutions and norms, in order, at `paths`."""
    layers = [m for m in torch_module.modules()
              if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.InstanceNorm2d))]
    assert len(layers) == len(paths)
    params = jax.tree.map(np.asarray, params)
    for layer, path in zip(layers, paths):
        node = params
        for part in path:
            node = node[part]
        w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
        if isinstance(layer, torch.nn.InstanceNorm2d):
            node["scale"], node["bias"] = w, b
        elif isinstance(layer, torch.nn.ConvTranspose2d):  # [Cin, Cout, kh, kw], flipped: flax does not flip
            node["kernel"], node["bias"] = w.transpose(2, 3, 0, 1)[::-1, ::-1], b
        else:
            node["kernel"], node["bias"] = w.transpose(2, 3, 1, 0), b
    return params


def test_generator_and_critic_match_pytorch_with_the_same_weights():
    torch.manual_seed(0)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    x_torch = torch.from_numpy(x.transpose(0, 3, 1, 2))
    g = cyclegan.generator(_cfg(g_width=4, g_blocks=2), (16, 16, 3))
    tg = torch_cyclegan.ResNetGenerator(3, 4, 2)
    for p in tg.parameters():  # random weights everywhere, norms included
        torch.nn.init.normal_(p, 0.0, 0.3)
    res = [(f"res{i}", *part) for i in range(2) for part in (("conv0", "conv"), ("conv0_norm",), ("conv1", "conv"),
                                                              ("conv1_norm",))]
    paths = [("c7s1", "conv"), ("c7s1_norm",), ("down1",), ("down1_norm",), ("down2",), ("down2_norm",), *res,
             ("up1",), ("up1_norm",), ("up0",), ("up0_norm",), ("out", "conv")]
    params = _copy(tg, paths, _params(g, (16, 16, 3)))
    with torch.no_grad():
        want = tg(x_torch).numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(g.apply({"params": params}, x, train=True), want, atol=2e-5)

    d = cyclegan.discriminator(_cfg(d_width=4, d_layers=1), (16, 16, 3))
    td = torch_pix2pix.PatchGAN(3, 1, 4, norm="instance")
    for p in td.parameters():
        torch.nn.init.normal_(p, 0.0, 0.3)
    params = _copy(td, [("conv0",), ("conv1",), ("conv1_norm",), ("logits",)], _params(d, (16, 16, 3)))
    with torch.no_grad():
        want = td(x_torch).numpy()
    np.testing.assert_allclose(d.apply({"params": params}, x, train=True), want, atol=2e-5)
