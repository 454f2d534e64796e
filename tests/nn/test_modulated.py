"""StyleGAN2's modulated convolution (jaxgen.nn.modulated) and its [1, 3, 3, 1] resampling (jaxgen.nn.fir) against
numpy: each example's own modulated (and demodulated) weights built explicitly and convolved by loops (the fused
form the layer never builds), the x2 up-sampling as a scatter of every input pixel through the kernel and the
filter; demodulated outputs have unit variance for unit-variance inputs whatever the style; the filter's up- and
down-sampling as the bilinear weights (3/4, 1/4) and (1, 3, 3, 1) / 8 by hand."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.nn import fir
from jaxgen.nn.modulated import ModulatedConv
from tests.models.variables import key as rbg_key  # flax init with threefry keys compiles slowly
from tests.nn.test_progressive import _conv_same


def _rng(seed):
    return np.random.default_rng(seed)


def _params(k, cin, cout, d, seed):
    """Random parameters (nonzero biases: a wrong offset shows)."""
    r = _rng(seed)
    return {"affine": {"kernel": r.normal(size=(d, cin)), "bias": 1 + 0.3 * r.normal(size=cin)},
            "kernel": r.normal(size=(k, k, cin, cout)), "bias": r.normal(size=cout)}


def _weights(p, w, demodulate):
    """Each example's weights ``[N, k, k, C_in, C_out]``: ``s_i W_ijk`` (and / sqrt(sum_{k,i} (.)^2 + 1e-8))."""
    k, _, cin, _ = p["kernel"].shape
    style = w @ (p["affine"]["kernel"] / math.sqrt(w.shape[1])) + p["affine"]["bias"]  # gain 1: [N, C_in]
    weights = p["kernel"][None] / math.sqrt(k * k * cin) * style[:, None, None, :, None]
    if demodulate:
        weights = weights / np.sqrt(np.sum(weights**2, axis=(1, 2, 3), keepdims=True) + 1e-8)
    return weights


def _apply(layer, p, x, w):
    return np.asarray(layer.apply({"params": jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), p)},
                                  jnp.asarray(x, jnp.float32), jnp.asarray(w, jnp.float32)))


@pytest.mark.parametrize("demodulate,k", [(True, 3), (False, 3), (False, 1)])
def test_modulated_conv_is_each_examples_own_weights(demodulate, k):
    x, w = _rng(1).normal(size=(2, 5, 6, 4)), _rng(2).normal(size=(2, 7))
    p = _params(k, 4, 3, 7, 3)
    expected = [_conv_same(x[n:n + 1], weights)[0] for n, weights in enumerate(_weights(p, w, demodulate))]
    out = _apply(ModulatedConv(3, k, demodulate=demodulate), p, x, w)
    np.testing.assert_allclose(out, np.stack(expected) + p["bias"], rtol=1e-4, atol=1e-4)


def _transposed_then_filtered(x, weights):
    """x [H, W, C_in], weights [3, 3, C_in, C_out]: every input pixel (i, j) adds ``x_ij . weights[2 - a, 2 - b]`` to
    output (2i + a, 2j + b) of the [2H + 1, 2W + 1] grid (lax.conv_transpose without a kernel flip), then the filter
    (1, 3, 3, 1) / 4 per axis (gain 4) with one zero on each side."""
    h, w, _ = x.shape
    full = np.zeros((2 * h + 1, 2 * w + 1, weights.shape[-1]))
    for i in range(h):
        for j in range(w):
            for a in range(3):
                for b in range(3):
                    full[2 * i + a, 2 * j + b] += x[i, j] @ weights[2 - a, 2 - b]
    f = np.asarray(fir.FILTER) / 4
    padded = np.pad(full, ((1, 1), (1, 1), (0, 0)))
    rows = sum(f[t] * padded[t:t + 2 * h] for t in range(4))
    return sum(f[t] * rows[:, t:t + 2 * w] for t in range(4))


def test_up_sampling_modulated_conv_is_the_transposed_conv_then_the_filter():
    x, w = _rng(4).normal(size=(2, 3, 4, 2)), _rng(5).normal(size=(2, 5))
    p = _params(3, 2, 3, 5, 6)
    out = _apply(ModulatedConv(3, 3, up=True), p, x, w)
    assert out.shape == (2, 6, 8, 3)
    expected = [_transposed_then_filtered(x[n], weights) for n, weights in enumerate(_weights(p, w, True))]
    np.testing.assert_allclose(out, np.stack(expected) + p["bias"], rtol=1e-4, atol=1e-4)


def test_demodulated_outputs_have_unit_variance_for_unit_inputs_whatever_the_style():
    """Interior pixels (all 9 taps inside) of N(0, 1) inputs: Var y_j = sum_{k,i} w''_ijk^2 = 1 (up to the 1e-8) for
    every example's style, here scales over two orders of magnitude; without demodulation it follows the style."""
    x = _rng(7).normal(size=(2, 2000, 3, 16))
    w = np.stack([np.full(3, 0.1), np.full(3, 10.0)])  # two very different styles
    p = _params(3, 16, 5, 3, 8)
    p["bias"] = np.zeros(5)
    for demodulate in (True, False):
        y = _apply(ModulatedConv(5, 3, demodulate=demodulate), p, x, w)[:, 1:-1, 1]  # [2, 1998, 5]
        expected = np.sum(_weights(p, w, demodulate) ** 2, axis=(1, 2, 3))  # [2, 5]: the variance in closed form
        np.testing.assert_allclose(y.var(axis=1), expected, rtol=0.15)
        if demodulate:
            np.testing.assert_allclose(expected, 1.0, rtol=1e-6)
        else:
            assert expected[1].min() > 10 * expected[0].max()


def test_affine_bias_starts_at_one_and_the_kernel_unit_normal():
    params = jax.eval_shape(ModulatedConv(8, 3).init, jax.random.key(0), jnp.zeros((1, 4, 4, 6)), jnp.zeros((1, 5)))
    assert jax.tree.map(lambda s: s.shape, params["params"]) == {
        "affine": {"kernel": (5, 6), "bias": (6,)}, "kernel": (3, 3, 6, 8), "bias": (8,)}
    params = ModulatedConv(8, 3).init(rbg_key(0), jnp.zeros((1, 4, 4, 6)), jnp.zeros((1, 5)))["params"]
    np.testing.assert_array_equal(params["affine"]["bias"], np.ones(6))
    np.testing.assert_array_equal(params["bias"], np.zeros(8))
    assert abs(float(jnp.std(params["kernel"])) - 1) < 0.2


def _axis(x, fn):
    """A 1-D operation on both spatial axes of [N, H, W, C]."""
    return np.apply_along_axis(fn, 2, np.apply_along_axis(fn, 1, x))


def test_upsample2d_and_downsample2d_by_hand():
    x = _rng(9).normal(size=(2, 4, 6, 3))

    def up(v):  # bilinear x2 with zero beyond the edges: (v[m-1] + 3 v[m]) / 4, (3 v[m] + v[m+1]) / 4
        p = np.pad(v, 1)
        out = np.empty(2 * len(v))
        out[0::2], out[1::2] = (p[:-2] + 3 * p[1:-1]) / 4, (3 * p[1:-1] + p[2:]) / 4
        return out

    def down(v):  # (v[2m-1] + 3 v[2m] + 3 v[2m+1] + v[2m+2]) / 8 with zero beyond the edges
        p = np.pad(v, 1)
        return np.asarray([(p[2 * m] + 3 * p[2 * m + 1] + 3 * p[2 * m + 2] + p[2 * m + 3]) / 8
                           for m in range(len(v) // 2)])

    np.testing.assert_allclose(fir.upsample2d(jnp.asarray(x, jnp.float32)), _axis(x, up), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fir.downsample2d(jnp.asarray(x, jnp.float32)), _axis(x, down), rtol=1e-5, atol=1e-6)
