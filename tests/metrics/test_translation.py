"""Held-out translation metrics (jaxgen.metrics.translation): values and protocol names."""

import numpy as np
import pytest

from jaxgen.errors import MetricError
from jaxgen.metrics import features, image_quality, kid, names, translation


def test_values_and_names():
    rng = np.random.default_rng(0)
    target = rng.uniform(-1, 1, (6, 12, 12, 3)).astype(np.float32)
    fake = np.clip(target + rng.normal(0, 0.1, target.shape), -1, 1).astype(np.float32)
    net = features.FeatureNet("toy", "0", None, lambda x: {"pool": x.reshape(len(x), -1)[:, :5]}, outputs=("pool",))
    results = translation.evaluate(fake, target, "test", translation.METRICS, net)
    assert set(results) == {"l1_test", "psnr_test", "ssim_test", "kid6_test_toy"}
    np.testing.assert_allclose(results["l1_test"], np.mean(np.abs(fake - target)), rtol=1e-6)
    mse = np.mean(((fake - target) / 2) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(results["psnr_test"], np.mean(-10 * np.log10(mse)), rtol=1e-5)
    np.testing.assert_allclose(results["ssim_test"], np.mean(image_quality.ssim(fake, target)), rtol=1e-6)
    expected, _ = kid.kid(target.reshape(6, -1)[:, :5], fake.reshape(6, -1)[:, :5], num_subsets=1, subset_size=6)
    np.testing.assert_allclose(results["kid6_test_toy"], expected)
    assert names.higher_is_better("psnr_test") and names.higher_is_better("ssim_test")
    assert not names.higher_is_better("l1_test") and not names.higher_is_better("kid6_test_toy")


def test_bad_input_is_named():
    with pytest.raises(MetricError, match="eval.metrics.*'fid'"):
        translation.parse("l1,fid")
    with pytest.raises(MetricError, match="NaN"):
        translation.evaluate(np.full((2, 12, 12, 3), np.nan), np.zeros((2, 12, 12, 3)), "test", ("l1",))
