"""Masked convolutions: the usual A/B masks for one channel, R -> G -> B grouping for three, causality."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgen.nn.masked import MaskedConv, channel_groups, mask


def test_single_channel_masks():
    a, b = mask((3, 3), 1, 1, "A")[..., 0, 0], mask((3, 3), 1, 1, "B")[..., 0, 0]
    np.testing.assert_array_equal(a, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b, [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(mask((1, 3), 1, 1, "B")[..., 0, 0], [[1, 1, 0]])


def test_colour_groups_in_the_centre_pixel():
    np.testing.assert_array_equal(channel_groups(6, 3), [0, 0, 1, 1, 2, 2])
    a, b = mask((3, 3), 3, 6, "A", groups=3), mask((3, 3), 6, 3, "B", groups=3)
    np.testing.assert_array_equal(a[1, 1], [[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(b[1, 1], [[1, 1, 1], [1, 1, 1], [0, 1, 1], [0, 1, 1], [0, 0, 1], [0, 0, 1]])
    assert a[0].all() and a[1, 0].all() and not a[1, 2].any() and not a[2].any()  # all colours off-centre


def test_bad_masks():
    with pytest.raises(ValueError, match="odd"):
        mask((2, 3), 1, 1, "A")
    with pytest.raises(ValueError, match="mask_type"):
        mask((3, 3), 1, 1, "C")
    with pytest.raises(ValueError, match="colour groups"):
        mask((3, 3), 2, 3, "B", groups=3)


@pytest.mark.parametrize("kernel", [(5, 5), (1, 1)])
def test_masked_conv_is_causal(kernel):
    """Output (2, 2) colour g of a type-A conv depends on earlier pixels and on colours < g of its own."""
    conv = MaskedConv(3, kernel, "A", groups=3)
    x = jnp.asarray(np.random.default_rng(0).standard_normal((1, 5, 5, 3)), jnp.float32)
    params = conv.init(jax.random.key(0), x)
    assert params["params"]["kernel"].shape == kernel + (3, 3)
    for g in range(3):
        grad = jax.grad(lambda x: conv.apply(params, x)[0, 2, 2, g])(x)[0]
        assert not grad[3:].any() and not grad[2, 3:].any() and not grad[2, 2, g:].any()
        assert grad[2, 2, :g].all()
