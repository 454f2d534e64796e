"""The PatchGAN discriminator (jaxgen.nn.patchgan): the receptive field as computed, checked by gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.errors import ConfigError
from jaxgen.nn import patchgan


def test_the_papers_70x70_patchgan():
    assert patchgan.receptive_field(patchgan.stack(3)) == (70, 8, -23)
    assert [patchgan.receptive_field(patchgan.stack(n))[0] for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    module = patchgan.PatchGAN(layers=3)
    out = jax.eval_shape(lambda: module.init_with_output(jax.random.key(0), jnp.zeros((1, 256, 256, 6)),
                                                         train=False)[0])
    assert out.shape == (1, 30, 30)  # the paper's 30x30 map of 70x70 patches


def test_layers_sized_to_the_image():
    assert [patchgan.layers_for(s) for s in (16, 32, 64, 128, 256)] == [1, 1, 2, 3, 3]
    with pytest.raises(ConfigError, match="data.image_size"):
        patchgan.layers_for(4)


def test_an_output_reads_exactly_its_receptive_field(layers=2):
    """The gradient of one logit with respect to the image is nonzero exactly on the computed window (clipped to
    the image), for a logit inside the image and one at the corner."""
    size, (field, stride, offset) = 48, patchgan.receptive_field(patchgan.stack(layers))
    module = patchgan.PatchGAN(layers=layers, width=2)
    x = jax.random.normal(jax.random.key(0), (1, size, size, 2))
    variables = jax.jit(lambda: module.init(jax.random.key(1), x, train=False))()
    logits = jax.jit(lambda image: module.apply(variables, image, train=False)[0])
    for i, j in [(5, 6), (0, 0)]:
        touched = np.any(np.asarray(jax.grad(lambda image: logits(image)[i, j])(x))[0] != 0, axis=-1)
        expected = np.zeros((size, size), bool)
        rows, cols = stride * i + offset, stride * j + offset
        expected[max(rows, 0):rows + field, max(cols, 0):cols + field] = True
        assert np.array_equal(touched, expected), (layers, i, j)
