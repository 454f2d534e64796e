"""jaxgen.nn.inception == an independent PyTorch FID InceptionV3 (tests/nn/torch_inception.py) on random weights,
loaded from a ``torch.save`` file by the torch-free loader; the loader itself (zip and legacy formats, strided and
offset tensors, .npz, hostile pickles, key/shape errors, the missing-file message); and the resize against
``torch.nn.functional.interpolate``.

Tolerance of the network comparisons: ``|flax - torch| <= 1e-4 * max|torch| + 1e-4 * |torch|`` per output
(features are O(1): max |pool| ~ 4; the measured error is ~3e-7 of the scale).
"""

import io
import pickle
import zipfile

import jax
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jaxgen.engine import compilation
from jaxgen.errors import MetricError
from jaxgen.nn import (
    FID_WEIGHTS_FILE,
    FID_WEIGHTS_URL,
    INCEPTION_WEIGHTS_ENV,
    InceptionV3,
    fid_inception_weights_path,
    load_fid_inception,
    load_torch_state_dict,
    resize_bilinear,
    variables_from_state_dict,
)
from tests.nn.torch_inception import FIDInceptionV3, randomize_

TOL = 1e-4


def _images(seed, shape):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def _assert_close(actual, ref):
    ref = np.asarray(ref)
    np.testing.assert_allclose(np.asarray(actual), ref, rtol=TOL, atol=TOL * np.abs(ref).max())


@pytest.fixture(scope="module")
def torch_model():
    return randomize_(FIDInceptionV3(), seed=0)


@pytest.fixture(scope="module")
def state_dict(torch_model):
    return {k: v.numpy() for k, v in torch_model.state_dict().items()}


@pytest.fixture(scope="module")
def weights_file(torch_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / FID_WEIGHTS_FILE
    torch.save(torch_model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def fid(weights_file):
    """``(module, variables, jitted apply)`` loaded through the public entry point."""
    module, variables = load_fid_inception(weights_file)
    return module, variables, compilation.jit(module.apply)


def _torch_forward(model, images_nhwc):
    with torch.no_grad():
        pool, logits = model(torch.from_numpy(images_nhwc).permute(0, 3, 1, 2))
    return pool.numpy(), logits.numpy()


# ---------------------------------------------------------------------------------------------------------------
# The network against PyTorch


@pytest.mark.parametrize("shape", [(1, 28, 28, 1), (1, 47, 61, 3)], ids=["grey-28x28", "rgb-47x61"])
def test_matches_torch_through_the_resize(fid, torch_model, shape):
    _, variables, apply = fid
    x = _images(1, shape)
    out = apply(variables, x)
    pool, logits = _torch_forward(torch_model, x)
    assert out["pool"].shape == (shape[0], 2048) and out["logits"].shape == (shape[0], 1008)
    assert np.abs(pool).max() > 0.5 and pool.std() > 0.1  # the random weights keep the features non-trivial
    _assert_close(out["pool"], pool)
    _assert_close(out["logits"], logits)


def test_raw_network_at_the_minimum_size_matches_torch(fid, torch_model):
    _, variables, _ = fid
    raw = FIDInceptionV3(resize_input=False).eval()
    raw.load_state_dict(torch_model.state_dict())
    x = _images(2, (2, 75, 75, 3))
    out = compilation.jit(InceptionV3(resize_input=False).apply)(variables, x)
    pool, logits = _torch_forward(raw, x)
    _assert_close(out["pool"], pool)
    _assert_close(out["logits"], logits)


@pytest.mark.parametrize(
    "shape, resize, match",
    [((1, 74, 80, 3), False, "at least 75x75"), ((1, 32, 32, 2), True, "C = 1 or 3"), ((32, 32, 3), True, "N, H")],
)
def test_bad_image_shapes_are_rejected(fid, shape, resize, match):
    _, variables, _ = fid
    with pytest.raises(MetricError, match=match):
        InceptionV3(resize_input=resize).apply(variables, np.zeros(shape, np.float32))


@pytest.mark.parametrize("src, dst", [((28, 28), (299, 299)), ((40, 33), (299, 299)), ((500, 411), (299, 299)),
                                      ((13, 300), (17, 5)), ((299, 299), (299, 299))])
def test_resize_is_torch_bilinear_without_antialiasing(src, dst):
    x = _images(3, (2, *src, 3))
    ref = F.interpolate(torch.from_numpy(x).permute(0, 3, 1, 2), size=dst, mode="bilinear", align_corners=False)
    np.testing.assert_allclose(np.asarray(resize_bilinear(x, dst)), ref.permute(0, 2, 3, 1).numpy(), atol=2e-6)


# ---------------------------------------------------------------------------------------------------------------
# The loader


def _awkward_state_dict():
    """Tensors whose storages are shared, offset and strided, in several dtypes."""
    g = torch.Generator().manual_seed(0)
    base = torch.randn(6, 10, generator=g)
    return {
        "plain": torch.randn(3, 4, 5, generator=g),
        "transposed": base.T,  # non-contiguous
        "strided_view": base[1:5:2, 2:9:3],  # offset 12, strides (20, 3) into base's storage
        "row": base[3],  # the same storage, offset 30
        "f64": torch.randn(4, generator=g, dtype=torch.float64)[::2],
        "f16": torch.randn(2, 3, generator=g).half(),
        "bf16": torch.randn(5, generator=g).bfloat16(),
        "i64": torch.arange(12).reshape(3, 4)[:, 1:],
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(7),
        "empty": torch.zeros(0, 3),
    }


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_loader_round_trips_strided_offset_and_shared_tensors(tmp_path, zip_format):
    sd = _awkward_state_dict()
    path = tmp_path / "w.pth"
    torch.save(sd, path, _use_new_zipfile_serialization=zip_format)
    assert zipfile.is_zipfile(path) == zip_format
    loaded = load_torch_state_dict(path)
    assert loaded.keys() == sd.keys()
    for k, t in sd.items():
        ref = t.float().numpy() if t.dtype == torch.bfloat16 else t.numpy()
        got = loaded[k].astype(np.float32) if t.dtype == torch.bfloat16 else loaded[k]
        assert got.shape == ref.shape and got.dtype == ref.dtype, k
        np.testing.assert_array_equal(got, ref, err_msg=k)
        assert loaded[k].flags.c_contiguous and loaded[k].flags.writeable, k


def test_npz_weights_give_the_same_variables(fid, state_dict, tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, **state_dict)
    assert load_torch_state_dict(path).keys() == state_dict.keys()
    _, variables = load_fid_inception(path)
    jax.tree.map(np.testing.assert_array_equal, variables, fid[1])


def test_the_weight_file_is_the_torch_state_dict(weights_file, state_dict):
    loaded = load_torch_state_dict(weights_file)
    assert loaded.keys() == state_dict.keys()
    assert any(k.endswith("num_batches_tracked") for k in loaded)  # present, and ignored by the mapping
    for k in ("Conv2d_1a_3x3.conv.weight", "Mixed_7c.branch_pool.bn.running_var", "fc.weight"):
        np.testing.assert_array_equal(loaded[k], state_dict[k])


def test_missing_unexpected_and_misshapen_keys_are_named(state_dict):
    sd = dict(state_dict)
    del sd["Mixed_6b.branch7x7_2.conv.weight"]
    sd["AuxLogits.fc.weight"] = np.zeros((1008, 768), np.float32)
    sd["fc.weight"] = np.zeros((1000, 2048), np.float32)
    with pytest.raises(MetricError) as e:
        variables_from_state_dict(sd)
    msg = str(e.value)
    assert "missing keys: Mixed_6b.branch7x7_2.conv.weight" in msg
    assert "unexpected keys: AuxLogits.fc.weight" in msg
    assert "wrong shapes: fc.weight (1000, 2048) (expected (1008, 2048))" in msg


def test_missing_file_says_what_to_download_and_where(tmp_path, monkeypatch):
    absent = tmp_path / "nowhere.pth"
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, str(absent))
    monkeypatch.setenv("JAXGEN_CACHE_DIR", str(tmp_path / "cache"))
    default = tmp_path / "cache" / "weights" / FID_WEIGHTS_FILE
    with pytest.raises(MetricError) as e:
        load_fid_inception()
    msg = str(e.value)
    for part in (str(absent), FID_WEIGHTS_FILE, FID_WEIGHTS_URL, INCEPTION_WEIGHTS_ENV, str(default)):
        assert part in msg

    monkeypatch.delenv(INCEPTION_WEIGHTS_ENV)
    assert fid_inception_weights_path() == default
    monkeypatch.delenv("JAXGEN_CACHE_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    home_default = tmp_path / ".cache" / "jaxgen" / "weights" / FID_WEIGHTS_FILE
    assert fid_inception_weights_path() == home_default
    with pytest.raises(MetricError, match=str(home_default)):
        load_fid_inception()


def test_path_argument_beats_the_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv(INCEPTION_WEIGHTS_ENV, str(tmp_path / "env.pth"))
    assert fid_inception_weights_path() == tmp_path / "env.pth"
    assert fid_inception_weights_path(tmp_path / "arg.pth") == tmp_path / "arg.pth"


class _Hostile:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        import os

        return os.mkdir, (self.target,)


@pytest.mark.parametrize("zip_format", [True, False], ids=["zip", "legacy"])
def test_hostile_pickles_are_refused_not_run(tmp_path, zip_format):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"w": _Hostile(str(marker))}, protocol=2)
    path = tmp_path / "evil.pth"
    if zip_format:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("archive/data.pkl", payload)
    else:
        header = io.BytesIO()
        for obj in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
            pickle.dump(obj, header, protocol=2)
        path.write_bytes(header.getvalue() + payload)
    with pytest.raises(MetricError, match=r"refusing to load \w+\.mkdir"):
        load_torch_state_dict(path)
    assert not marker.exists()


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(MetricError, match="cannot read PyTorch weights"):
        load_torch_state_dict(path)
