"""jaxgen.metrics.image_quality against scikit-image (``peak_signal_noise_ratio``; ``structural_similarity`` with
Wang et al.'s Gaussian defaults) on random images and on crops of skimage's astronaut, in three value ranges
(SSIM depends on the range's offset: jaxgen maps the stated range to [0, 1] first)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from jaxgen.errors import MetricError
from jaxgen.metrics import image_quality


def _sk_ssim(x, y, data_range):
    return structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=data_range, channel_axis=-1)


def _random_pairs(seed, shape, noise):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, shape)
    smooth = (x + np.roll(x, 1, axis=1) + np.roll(x, 1, axis=2)) / 3  # some structure for SSIM to see
    return smooth, np.clip(smooth + noise * rng.normal(size=shape), 0, 1)


def _astronaut_pairs():
    """Four 48x40 crops and their degraded versions (noise; 2x box down-and-up), uint8 values as float64."""
    img = data.astronaut().astype(np.float64)
    crops = np.stack([img[r: r + 48, c: c + 40] for r, c in ((0, 0), (100, 180), (300, 250), (400, 60))])
    noisy = np.clip(crops[:2] + np.random.default_rng(0).normal(0, 20, crops[:2].shape), 0, 255)
    low = crops[2:].reshape(2, 24, 2, 20, 2, 3).mean(axis=(2, 4))
    blurred = low.repeat(2, axis=1).repeat(2, axis=2)
    return crops, np.concatenate([noisy, blurred])


@pytest.mark.parametrize("jit", [False, True])
@pytest.mark.parametrize("value_range", [(0.0, 1.0), (0.0, 255.0), (-1.0, 1.0)])
def test_random_images_match_scikit_image_in_any_range(jit, value_range):
    x01, y01 = _random_pairs(0, (3, 16, 13, 3), noise=0.1)
    lo, hi = value_range
    x, y = (jnp.asarray(v * (hi - lo) + lo) for v in (x01, y01))
    psnr, ssim = (jax.jit(f) if jit else f for f in (image_quality.psnr, image_quality.ssim))
    out_psnr, out_ssim = psnr(x, y, value_range), ssim(x, y, value_range)
    assert out_psnr.shape == out_ssim.shape == (3,)
    ref_psnr = [peak_signal_noise_ratio(a, b, data_range=1.0) for a, b in zip(x01, y01)]
    np.testing.assert_allclose(out_psnr, ref_psnr, rtol=1e-5)
    np.testing.assert_allclose(out_ssim, [_sk_ssim(a, b, 1.0) for a, b in zip(x01, y01)], atol=2e-5)


def test_astronaut_crops_in_minus_one_one_match_scikit_image_on_8_bit_values():
    x, y = _astronaut_pairs()
    ref_ssim = [_sk_ssim(a, b, 255.0) for a, b in zip(x, y)]
    assert 0.2 < min(ref_ssim) and max(ref_ssim) < 0.95  # the degradations are visible, not extreme
    xm, ym = jnp.asarray(x / 127.5 - 1), jnp.asarray(y / 127.5 - 1)  # jaxgen's range, the default
    np.testing.assert_allclose(image_quality.ssim(xm, ym), ref_ssim, atol=2e-5)
    np.testing.assert_allclose(image_quality.psnr(xm, ym),
                               [peak_signal_noise_ratio(a, b, data_range=255.0) for a, b in zip(x, y)], rtol=1e-5)
    grey = image_quality.ssim(jnp.asarray(x[..., :1]), jnp.asarray(y[..., :1]), (0.0, 255.0))  # one channel
    np.testing.assert_allclose(grey, [_sk_ssim(a, b, 255.0) for a, b in zip(x[..., :1], y[..., :1])], atol=2e-5)


def test_identical_images_and_bad_shapes():
    x = jnp.asarray(_random_pairs(1, (2, 11, 11, 3), 0.0)[0])
    np.testing.assert_allclose(image_quality.ssim(x, x, (0.0, 1.0)), 1.0, rtol=1e-6)
    assert np.isinf(image_quality.psnr(x, x)).all()
    with pytest.raises(MetricError, match=r"H, W >= 11, got \(2, 10, 11, 3\)"):
        image_quality.ssim(x[:, 1:], x[:, 1:])
    with pytest.raises(MetricError, match="of one shape"):
        image_quality.psnr(x, x[:1])


def test_luma_matches_scikit_image_rgb2ycbcr():
    from skimage.color import rgb2ycbcr

    crops, _ = _astronaut_pairs()  # uint8 values as float64
    y = image_quality.rgb_to_y(jnp.asarray(crops / 127.5 - 1.0))  # jaxgen's [-1, 1]
    np.testing.assert_allclose(y[..., 0], rgb2ycbcr(crops / 255.0)[..., 0], atol=1e-3)  # float32 of values ~100
    assert y.shape == crops.shape[:3] + (1,)
    np.testing.assert_allclose(image_quality.rgb_to_y(jnp.asarray([[[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]]]),
                                                      (0.0, 1.0))[..., 0], [[[16.0, 235.0]]], atol=1e-4)
    with pytest.raises(MetricError, match=r"RGB images \[N, H, W, 3\]"):
        image_quality.rgb_to_y(jnp.zeros((1, 4, 4, 1)))
