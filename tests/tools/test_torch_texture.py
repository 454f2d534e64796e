"""tools/torch_texture.py, the PyTorch texture iteration that tools/bench.py times beside jaxgen's: on the same
(random, tools/torch_vgg.py's) VGG-16 weights, its Gram loss equals jaxgen's (`jaxgen.nn.vgg.VGG` with HED's
preprocessing, `perceptual.style_loss`), and a step runs and lowers it. 16 px, layers relu1_1 and relu2_1."""

import os
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen import config as config_lib
from jaxgen.losses import perceptual
from jaxgen.nn import vgg

torch = pytest.importorskip("torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))  # tools/ is not a package
import torch_texture  # noqa: E402
import torch_vgg  # noqa: E402


def test_torch_texture_loss_is_jaxgens():
    config = config_lib.load("configs/texture_brick.py:adam", [
        "data.image_size=16", "batch_size=2", "loss.style_layers.relu3_1=0", "loss.style_layers.relu4_1=0",
        "loss.style_layers.pool4=0", "loss.style_layers.relu2_1=0.5"])
    step = torch_texture.make_step(config, threads=1)
    full, _ = torch_vgg.features(16, seed=0)  # the same draws: layers are initialised in order from seed 0
    state = {f"features.{k.split('.')[0]}.{k.split('.')[1]}": v.numpy() for k, v in full.state_dict().items()}
    module = vgg.VGG(16, outputs=("relu1_1", "relu2_1"), preprocessing=vgg.HED)
    variables = vgg.variables_from_torchvision(state, 16)
    image = jnp.asarray(step.image.detach().permute(0, 2, 3, 1).numpy())
    target = jnp.asarray(step.target.permute(0, 2, 3, 1).numpy())
    ours = perceptual.style_loss(module.apply(variables, image), module.apply(variables, target),
                                 {"relu1_1": 1.0, "relu2_1": 0.5})
    before = step.loss().item()
    np.testing.assert_allclose(float(ours), before, rtol=1e-4)
    step()
    assert step.loss().item() < before


def test_the_bench_compares_first_order_vgg_iterations_only():
    import bench

    assert bench.has_torch_reference(config_lib.load("configs/texture_brick.py:adam"))
    assert not bench.has_torch_reference(config_lib.load("configs/texture_brick.py"))  # L-BFGS: a line search
    assert not bench.has_torch_reference(config_lib.load("configs/texture_brick.py:multiscale"))
