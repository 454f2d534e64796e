"""The progressive-growing layers (jaxgen.nn.progressive) against hand computations in numpy: equalized dense and
conv (N(0, 1) weights scaled by sqrt(2 / fan_in) at run time; strided: the stride-1 conv subsampled), pixel norm,
minibatch stddev (the official group layout, looped by hand), the fade-in blend's ends, nearest up-sampling and
average pooling."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.nn import progressive as pg


def _x(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


def test_equalized_dense_is_unit_normal_weights_times_he_constant():
    layer = pg.EqualizedDense(300)
    x = _x((5, 200))
    params = layer.init(jax.random.key(0), x)["params"]
    w = np.asarray(params["kernel"])
    assert w.shape == (200, 300) and abs(w.std() - 1.0) < 0.01 and abs(w.mean()) < 0.01  # N(0, 1) as stored
    np.testing.assert_array_equal(params["bias"], np.zeros(300))
    b = _x((300,), 1)
    y = layer.apply({"params": {"kernel": w, "bias": b}}, x)
    np.testing.assert_allclose(y, x @ (w * math.sqrt(2 / 200)) + b, rtol=1e-4, atol=1e-4)
    y1 = pg.EqualizedDense(300, gain=1.0, use_bias=False).apply({"params": {"kernel": w}}, x)
    np.testing.assert_allclose(y1, x @ w / math.sqrt(200), rtol=1e-4, atol=1e-4)


def _conv_same(x, w):
    """A stride-1 'SAME' convolution (cross-correlation) by explicit loops: x [N, H, W, C], w [k, k, C, F]."""
    k = w.shape[0]
    p = k // 2
    xp = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
    n, h, wd, _ = x.shape
    out = np.zeros((n, h, wd, w.shape[-1]), np.float64)
    for i in range(h):
        for j in range(wd):
            out[:, i, j] = np.einsum("nabc,abcf->nf", xp[:, i:i + k, j:j + k], w)
    return out


def test_equalized_conv_is_unit_normal_kernel_times_he_constant():
    x = _x((2, 5, 6, 4))
    shapes = jax.eval_shape(pg.EqualizedConv(7).init, jax.random.key(1), x)["params"]
    assert shapes["kernel"].shape == (3, 3, 4, 7) and shapes["bias"].shape == (7,)
    for k in (3, 1):
        layer = pg.EqualizedConv(7, kernel_size=k)
        w, b = _x((k, k, 4, 7), 1), _x((7,), 2)
        y = layer.apply({"params": {"kernel": w, "bias": b}}, x)
        expected = _conv_same(x.astype(np.float64), w * math.sqrt(2 / (k * k * 4))) + b
        np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    kernel = np.asarray(pg.unit_normal(jax.random.key(3), (3, 3, 64, 64)))  # stored N(0, 1): scaled at run time
    assert kernel.shape == (3, 3, 64, 64) and abs(kernel.std() - 1.0) < 0.02 and abs(kernel.mean()) < 0.02


def test_strided_equalized_conv_is_the_stride_1_conv_subsampled_and_the_bias_init():
    x = _x((2, 7, 9, 4))
    w, b = _x((3, 3, 4, 5), 1), _x((5,), 2)
    y = pg.EqualizedConv(5, stride=2, padding="VALID").apply({"params": {"kernel": w, "bias": b}}, x)
    valid = _conv_same(x.astype(np.float64), w * math.sqrt(2 / 36))[:, 1:-1, 1:-1]  # the stride-1 "VALID" outputs
    assert y.shape == (2, 3, 4, 5)
    np.testing.assert_allclose(y, valid[:, ::2, ::2] + b, rtol=1e-4, atol=1e-4)
    params = pg.EqualizedDense(3, bias_init=1.0).init(jax.random.key(0), _x((1, 2)))["params"]
    np.testing.assert_array_equal(params["bias"], np.ones(3))


def test_pixel_norm_gives_unit_rms_per_pixel():
    x = _x((2, 3, 4, 5))
    expected = x / np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=-1, keepdims=True) + 1e-8)
    np.testing.assert_allclose(pg.pixel_norm(jnp.asarray(x)), expected, rtol=1e-5)
    np.testing.assert_allclose(np.sqrt(np.mean(np.asarray(pg.pixel_norm(jnp.asarray(x))) ** 2, -1)), 1.0, rtol=1e-5)


def _mbstd_by_hand(x, group, features):
    n, h, w, c = x.shape
    g = min(group, n)
    m = n // g
    out = np.zeros((n, h, w, features))
    for j in range(m):  # group j: examples j, j + m, j + 2m, ...
        members = x[j::m].astype(np.float64)
        for f in range(features):
            block = members[..., f * c // features:(f + 1) * c // features]
            std = np.sqrt(((block - block.mean(0)) ** 2).mean(0) + 1e-8)
            out[j::m, :, :, f] = std.mean()
    return np.concatenate([x, out], axis=-1)


@pytest.mark.parametrize("n,group,features", [(8, 4, 1), (6, 4, 1), (8, 2, 2), (3, 4, 1)])
def test_minibatch_stddev_against_a_hand_loop(n, group, features):
    x = _x((n, 3, 3, 4), 3) * np.arange(1, n + 1, dtype=np.float32)[:, None, None, None]
    g = min(group, n)
    if n % g:
        with pytest.raises(ValueError, match="multiple of the group size"):
            pg.minibatch_stddev(jnp.asarray(x), group, features)
        return
    y = pg.minibatch_stddev(jnp.asarray(x), group, features)
    assert y.shape == (n, 3, 3, 4 + features)
    np.testing.assert_allclose(y, _mbstd_by_hand(x, group, features), rtol=1e-5)


def test_lerp_is_exact_at_both_ends_and_resampling_by_hand():
    a, b = jnp.asarray(_x((2, 4, 4, 3), 4) * 1e6), jnp.asarray(_x((2, 4, 4, 3), 5))
    np.testing.assert_array_equal(pg.lerp(a, b, 0.0), a)
    np.testing.assert_array_equal(pg.lerp(a, b, 1.0), b)
    np.testing.assert_allclose(pg.lerp(a, b, 0.25), 0.75 * np.asarray(a) + 0.25 * np.asarray(b), rtol=1e-6)
    x = _x((2, 4, 6, 3), 6)
    up = np.asarray(pg.upsample_nearest(jnp.asarray(x)))
    assert up.shape == (2, 8, 12, 3)
    for di in (0, 1):
        for dj in (0, 1):
            np.testing.assert_array_equal(up[:, di::2, dj::2], x)
    pooled = (x[:, 0::2, 0::2] + x[:, 1::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 1::2]) / 4
    np.testing.assert_allclose(pg.avg_pool(jnp.asarray(x)), pooled, rtol=1e-6)
    np.testing.assert_allclose(pg.avg_pool(jnp.asarray(x), 2)[:, :1, :1], x[:, :2, :2].mean((1, 2), keepdims=True),
                               rtol=1e-6)
