"""SIFID against a brute-force computation: per-position features computed independently (numpy convolutions for
a VGG layer, PyTorch for InceptionV3's first block, both on random weights), np.cov and scipy.linalg.sqrtm."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import linalg

from jaxgen.errors import MetricError
from jaxgen.metrics import sifid as sifid_mod
from jaxgen.nn import FID_WEIGHTS_FILE, vgg
from tests.nn.torch_inception import FIDInceptionV3, randomize_


def brute_force_fd(a, b):
    """The SinGAN / pytorch-fid formula on ``[P, C]`` per-position features."""
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = np.real(linalg.sqrtm(s1 @ s2))
    return (mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def _image(seed, h, w):
    rng = np.random.default_rng(seed)
    smooth = np.cumsum(rng.normal(size=(h, w, 3)), axis=1) * 0.2  # correlated pixels, like a photo's
    return np.tanh(smooth + rng.normal(0, 0.3, (h, w, 3))).astype(np.float32)


def numpy_relu1_1(image, kernel, bias):
    """VGG's relu1_1 with ImageNet preprocessing, one position at a time: ``[H, W, 3]`` -> ``[H * W, 64]``."""
    x = ((image + 1) / 2 - np.array(vgg.IMAGENET.mean)) / np.array(vgg.IMAGENET.std)
    x = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    h, w, _ = image.shape
    rows = [x[i:i + 3, j:j + 3].reshape(-1) @ kernel.reshape(-1, kernel.shape[-1]) + bias
            for i in range(h) for j in range(w)]
    return np.maximum(np.array(rows), 0)


def test_vgg_layer_matches_brute_force_with_different_sizes():
    import jax

    module = vgg.VGG(16, outputs=("relu1_1",), preprocessing=vgg.IMAGENET)
    real, fake = _image(0, 20, 24), _image(1, 14, 30)  # other sizes and aspect ratios: patch statistics
    variables = module.init(jax.random.key(0), real[None])
    features = sifid_mod.PatchFeatures(module, variables, "vgg16test", "relu1_1")
    kernel, bias = (np.asarray(variables["params"]["conv1_1"][k], np.float64) for k in ("kernel", "bias"))
    expected = brute_force_fd(numpy_relu1_1(real, kernel, bias), numpy_relu1_1(fake, kernel, bias))
    got = sifid_mod.sifid(real, [fake, real], features)
    assert got[0] == pytest.approx(expected, rel=1e-4)
    assert got[1] == pytest.approx(0.0, abs=1e-6 * expected)
    assert features.metric_name == "sifid_vgg16test_relu1_1"


def test_inception_first_block_matches_torch_brute_force(tmp_path):
    model = randomize_(FIDInceptionV3(resize_input=False), seed=0)
    path = tmp_path / FID_WEIGHTS_FILE
    torch.save(model.state_dict(), path)
    features = sifid_mod.PatchFeatures.load("inception", weights=str(path))
    assert features.metric_name == "sifid_inception_maxpool1"
    real, fakes = _image(2, 64, 56), [_image(3, 56, 72), _image(4, 64, 56)]

    @torch.no_grad()
    def block0(image):
        x = torch.from_numpy(image).permute(2, 0, 1)[None]
        x = model.Conv2d_2b_3x3(model.Conv2d_2a_3x3(model.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        return x[0].permute(1, 2, 0).reshape(-1, 64).double().numpy()

    expected = [brute_force_fd(block0(real), block0(f)) for f in fakes]
    np.testing.assert_allclose(sifid_mod.sifid(real, fakes, features), expected, rtol=1e-3)


def test_default_is_hed_vgg_at_relu2_2_and_small_images_are_refused():
    features = sifid_mod.PatchFeatures.load()
    assert features.metric_name == "sifid_vgg16hed_relu2_2"
    real = _image(5, 32, 32)
    scores = sifid_mod.sifid(real, [real, _image(6, 32, 48)], features)
    assert scores[0] < 1e-6 * scores[1] and scores[1] > 0
    with pytest.raises(MetricError, match="more positions than channels"):
        sifid_mod.sifid(real, [_image(7, 16, 16)], features)  # 8x8 = 64 positions for 128 channels
    with pytest.raises(MetricError, match="unknown"):
        sifid_mod.PatchFeatures.load("alexnet")
