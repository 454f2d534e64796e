"""jaxgen.nn.multiscale: the FFT convolution against PyTorch's conv2d (and lax's), the random filters' statistics,
and the per-layer normalisation that makes the Gram loss blind to each layer's scale."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from jaxgen.engine import compilation
from jaxgen.losses import perceptual
from jaxgen.nn import multiscale


@pytest.mark.parametrize("k, shape", [(1, (2, 6, 5, 3)), (5, (1, 9, 7, 3)), (11, (1, 8, 10, 2))])
def test_fft_conv_is_pytorchs_same_padded_cross_correlation(k, shape):
    rng = np.random.default_rng(k)
    x, w = rng.normal(size=shape).astype(np.float32), rng.normal(size=(k, k, shape[-1], 4)).astype(np.float32)
    ref = F.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(w).permute(3, 2, 0, 1),
                   padding=k // 2).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(jax.jit(multiscale.fft_conv)(x, w), ref, atol=2e-4 * np.abs(ref).max())


def test_network_outputs_and_random_filters():
    m = multiscale.MultiScale(sizes=(3, 7), maps=16)
    x = jax.random.uniform(jax.random.key(0), (2, 12, 12, 3), minval=-1, maxval=1)
    variables = compilation.jit_once(m.init)(jax.random.key(1), x)
    apply = jax.jit(m.apply)
    out = apply(variables, x)
    assert sorted(out) == ["k3", "k7"] and out["k7"].shape == (2, 12, 12, 16) and float(jnp.min(out["k7"])) >= 0
    kernel = np.asarray(variables["params"]["k7_kernel"])
    np.testing.assert_allclose(kernel.mean(axis=(0, 1, 2)), 0, atol=1e-6)  # zero-mean filters
    assert kernel.std() == pytest.approx(1 / np.sqrt(7 * 7 * 3), rel=0.1)
    flat = apply(variables, jnp.full((2, 12, 12, 3), 0.7))  # a constant image: no response away from the border
    np.testing.assert_allclose(flat["k3"][:, 1:-1, 1:-1], 0, atol=1e-5)


def test_normalised_gram_loss_ignores_each_layers_scale():
    """Scaling one layer's filters (and biases) by c > 0 scales its ReLU features by c and its Gram matrices by
    c^2: the normalised loss stays, the plain one does not."""
    m = multiscale.MultiScale(sizes=(3, 5), maps=8)
    x, y = (jax.random.normal(jax.random.key(i), (1, 10, 10, 3)) for i in (0, 1))
    variables = compilation.jit_once(m.init)(jax.random.key(2), x)
    scaled = jax.tree_util.tree_map_with_path(
        lambda path, v: v * (30.0 if "k5" in jax.tree_util.keystr(path) else 1.0), variables)
    weights = {"k3": 1.0, "k5": 1.0}

    @functools.partial(jax.jit, static_argnums=1)
    def loss(v, normalize):
        return perceptual.style_loss(m.apply(v, x), m.apply(v, y), weights, normalize)

    np.testing.assert_allclose(loss(scaled, True), loss(variables, True), rtol=1e-4)
    assert float(loss(scaled, False)) > 100 * float(loss(variables, False))
