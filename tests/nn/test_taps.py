"""jaxgen.nn.taps.conv_taps and conv_input_taps == lax.conv_general_dilated at stride 1 (forward, both gradients,
jvp, grad-of-grad, paddings, bfloat16), where they are used (the rules, StridedConv at stride 1 with an RGB output
or input), and that the lowerings they promise compile: no convolution in the forward pass or the kernel gradient
of an RGB output layer, none in the input gradient of an RGB input layer."""

import jax
import jax.numpy as jnp
import pytest
from flax import linen as nn
from jax import lax

from jaxgen.nn import StridedConv, taps
from tests.nn.test_upsample import DN, _allclose_rel, _highest_precision, _rand  # noqa: F401 (an autouse fixture)

CASES = [  # (kernel hw, padding, input hw, cin, cout)
    ((9, 9), ((4, 4), (4, 4)), (12, 11), 16, 3),  # SRResNet's output layer ('SAME')
    ((3, 3), ((0, 0), (0, 0)), (7, 9), 16, 1),  # 'VALID' (SinGAN's layers), grey output
    ((5, 3), ((1, 3), (0, 2)), (6, 5), 17, 4),  # asymmetric kernel and padding
    ((2, 4), ((6, 0), (1, 5)), (4, 6), 16, 2),  # padding beyond the kernel
]


INPUT_CASES = [  # (kernel hw, padding, input hw, cin, cout): RGB input layers
    ((3, 3), ((1, 1), (1, 1)), (9, 8), 3, 16),  # VGG's first layer
    ((7, 5), ((0, 0), (2, 4)), (10, 7), 1, 17),  # 'VALID' rows (a reflect-padded layer), asymmetric columns
]


def _assert_same_derivatives(fn, ref_fn, x, kern, seed):
    """fn == ref_fn at (x, kern): value, both vjp cotangents, jvp, and the gradient of a function of the input
    gradient (an R1 / WGAN-GP penalty's pattern)."""
    cot = _rand(seed, jax.eval_shape(ref_fn, x, kern).shape)
    tangents = (_rand(seed + 1, x.shape), _rand(seed + 2, kern.shape))

    def all_of(f, x, w):
        y, vjp = jax.vjp(f, x, w)
        inner = lambda x, w: jnp.sum(jnp.sin(f(x, w)))
        outer = lambda x, w: jnp.sum(jnp.tanh(jax.grad(inner)(x, w)) ** 2)
        return (y, *vjp(cot), jax.jvp(f, (x, w), tangents)[1], *jax.grad(outer, argnums=(0, 1))(x, w))

    got, ref = jax.jit(lambda x, w: (all_of(fn, x, w), all_of(ref_fn, x, w)))(x, kern)
    for name, a, b in zip(("out", "d_input", "d_kernel", "jvp", "d2_input", "d2_kernel"), got, ref):
        assert a.shape == b.shape, name
        _allclose_rel(a, b, err_msg=name)


@pytest.mark.parametrize("lowering,kernel_hw,pads,hw,cin,cout",
                         [("outputs", *c) for c in CASES] + [("inputs", *c) for c in INPUT_CASES])
def test_matches_lax_forward_gradients_jvp_and_second_order(lowering, kernel_hw, pads, hw, cin, cout):
    x, kern = _rand(0, (2, *hw, cin)), 0.3 * _rand(1, (*kernel_hw, cin, cout))
    ref_fn = lambda x, w: lax.conv_general_dilated(x, w, (1, 1), pads, dimension_numbers=DN)
    lowered = taps.conv_taps if lowering == "outputs" else taps.conv_input_taps
    taps_fn = lambda x, w: lowered(x, w, pads)
    _assert_same_derivatives(taps_fn, ref_fn, x, kern, seed=2)


def test_bfloat16_sums_like_a_convolution():
    """In bfloat16 the 81 taps are summed in float32: as close to the float32 result as lax's bfloat16 conv."""
    x, kern, pads = _rand(5, (2, 16, 16, 32)), 0.05 * _rand(6, (9, 9, 32, 3)), ((4, 4), (4, 4))
    exact = lax.conv_general_dilated(x, kern, (1, 1), pads, dimension_numbers=DN)
    xb, kb = x.astype(jnp.bfloat16), kern.astype(jnp.bfloat16)
    got = taps.conv_taps(xb, kb, pads)
    ref = lax.conv_general_dilated(xb, kb, (1, 1), pads, dimension_numbers=DN)
    assert got.dtype == jnp.bfloat16
    err, ref_err = (float(jnp.max(jnp.abs(y.astype(jnp.float32) - exact))) for y in (got, ref))
    assert err <= 1.5 * ref_err + 1e-3, (err, ref_err)


def test_the_rule_picks_few_outputs_at_stride_one_on_the_cpu_only():
    assert taps.faster((9, 9, 64, 3), (1, 1), "cpu") and taps.faster((3, 3, 16, 1), (1, 1), "cpu")
    assert not taps.faster((3, 3, 64, 8), (1, 1), "cpu")  # measured slower from 8 outputs
    assert not taps.faster((9, 9, 3, 64), (1, 1), "cpu")  # a wide input layer
    assert not taps.faster((4, 4, 64, 3), (2, 2), "cpu") and not taps.faster((1, 1, 64, 3), (1, 1), "cpu")
    assert not taps.faster((9, 9, 64, 3), (1, 1), "gpu") and not taps.faster((9, 9, 64, 3), (1, 1), "tpu")
    same = ((1, 1), (1, 1))
    assert taps.input_faster((3, 3, 3, 64), (1, 1), same, "cpu") and taps.input_faster((7, 7, 1, 16), (1, 1),
                                                                                      ((0, 0), (0, 0)), "cpu")
    assert not taps.input_faster((3, 3, 8, 64), (1, 1), same, "cpu")  # not few inputs
    assert not taps.input_faster((3, 3, 3, 8), (1, 1), same, "cpu")  # not many outputs
    assert not taps.input_faster((3, 3, 3, 64), (2, 2), same, "cpu")  # strided: upsample.conv's own path
    assert not taps.input_faster((3, 3, 3, 64), (1, 1), ((3, 0), (0, 0)), "cpu")  # padding beyond k - 1
    assert not taps.input_faster((3, 3, 3, 64), (1, 1), same, "gpu")


def _convs(fn, *args):
    hlo = jax.jit(fn).lower(*args).compile().as_text()
    return [line for line in hlo.splitlines() if " convolution(" in line]


def _same_as_flax_conv(kw, x, cot):
    """(nn.Conv(**kw)'s variables, loss(module) -> (v, x) -> <module(**kw)(x), cot>), after checking that
    StridedConv(**kw) has nn.Conv's parameters and the same loss and gradients."""
    v = nn.Conv(**kw).init(jax.random.key(0), x)
    assert jax.tree.map(jnp.shape, StridedConv(**kw).init(jax.random.key(0), x)) == jax.tree.map(jnp.shape, v)

    def loss(m):
        return lambda v, x: jnp.sum(m(**kw).apply(v, x) * cot)

    got, ref = jax.jit(lambda v, x: [jax.value_and_grad(loss(m), argnums=(0, 1))(v, x)
                                     for m in (StridedConv, nn.Conv)])(v, x)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        _allclose_rel(a, b, tol=1e-4)
    return v, loss


def test_strided_conv_at_stride_one_is_flax_conv_and_lowers_by_taps():
    """StridedConv(3 outputs, 9x9, 'SAME') has nn.Conv's parameters and numbers; on the CPU its forward pass and
    kernel gradient contain no convolution (the input gradient is XLA's convolution to Cin outputs)."""
    kw = dict(features=3, kernel_size=(9, 9), padding="SAME")
    x = _rand(7, (2, 12, 12, 16))
    v, loss = _same_as_flax_conv(kw, x, _rand(8, (2, 12, 12, 3)))
    assert _convs(lambda v, x: StridedConv(**kw).apply(v, x), v, x) == []
    assert _convs(jax.grad(loss(StridedConv)), v, x) == []  # kernel gradient only
    assert len(_convs(jax.grad(loss(StridedConv), argnums=1), v, x)) == 1  # the input gradient
    assert _convs(lambda v, x: nn.Conv(**kw).apply(v, x), v, x)  # what it replaces is a convolution


def test_strided_conv_with_an_rgb_input_takes_its_input_gradient_by_taps():
    """StridedConv(3 -> 16, 3x3, 'SAME') equals nn.Conv with its gradients; on the CPU its forward pass and kernel
    gradient are XLA's convolutions, its input gradient has none."""
    kw = dict(features=16, kernel_size=(3, 3), padding="SAME")
    x = _rand(9, (2, 10, 10, 3))
    v, loss = _same_as_flax_conv(kw, x, _rand(10, (2, 10, 10, 16)))
    assert len(_convs(lambda v, x: StridedConv(**kw).apply(v, x), v, x)) == 1
    assert len(_convs(jax.grad(loss(StridedConv)), v, x)) == 1  # the kernel gradient
    assert _convs(jax.grad(loss(StridedConv), argnums=1), v, x) == []  # the input gradient, by taps
    assert _convs(jax.grad(loss(nn.Conv), argnums=1), v, x)  # what it replaces is a convolution


FEW_POSITION_CASES = [  # (kind, kernel hw, strides, padding, input hw, cin, cout)
    ("conv", (4, 4), (2, 2), ((1, 1), (1, 1)), (2, 2), 8, 6),  # a U-Net's innermost 2x2 -> 1x1
    ("conv", (3, 5), (3, 2), ((0, 2), (1, 0)), (7, 6), 5, 4),  # odd strides and padding
    ("conv_transpose", (4, 4), (2, 2), "SAME", (1, 1), 8, 6),  # the decoder's 1x1 -> 2x2
    ("conv_transpose", (3, 4), (3, 2), ((0, 1), (-1, 3)), (2, 3), 5, 4),  # negative padding
]


@pytest.mark.parametrize("kind,kernel_hw,strides,padding,hw,cin,cout", FEW_POSITION_CASES)
def test_few_position_lowerings_match_lax(kind, kernel_hw, strides, padding, hw, cin, cout):
    """conv_patches / conv_transpose_taps == XLA's conv / conv_transpose: values, both gradients, jvp, grad-of-grad."""
    from jaxgen.nn import upsample

    x, kern = _rand(11, (2, *hw, cin)), 0.3 * _rand(12, (*kernel_hw, cin, cout))
    if kind == "conv":
        pads = upsample.conv_padding(padding, hw, kernel_hw, strides)
        ref_fn = lambda x, w: lax.conv_general_dilated(x, w, strides, pads, dimension_numbers=DN)
        new_fn = lambda x, w: taps.conv_patches(x, w, strides, pads)
    else:
        pads = upsample.transpose_padding(padding, kernel_hw, strides)
        ref_fn = lambda x, w: lax.conv_transpose(x, w, strides, pads, dimension_numbers=DN)
        new_fn = lambda x, w: taps.conv_transpose_taps(x, w, strides, pads)
    _assert_same_derivatives(new_fn, ref_fn, x, kern, seed=13)


def test_few_position_layers_lower_to_matrix_products_on_the_cpu_only():
    """A U-Net bottleneck (StridedConv 2x2 -> 1x1, ConvTranspose 1x1 -> 2x2) compiles with no convolution at all on the
    CPU, gradients included; from FEW_POSITIONS on (and off the CPU) the layers keep their other lowerings."""
    from jaxgen.nn import ConvTranspose, upsample

    big, small = (4, 4, 256, 256), (3, 3, 128, 128)  # 1 M entries: a U-Net bottleneck; StyleGAN2's
    assert taps.few_positions("conv", 64, big, "cpu") and not taps.few_positions("conv", 65, big, "cpu")
    assert taps.few_positions("conv_transpose", 64, big, "cpu") and not taps.few_positions("conv_transpose", 65, big,
                                                                                            "cpu")
    assert not taps.few_positions("conv", 4, small, "cpu") and not taps.few_positions("conv_transpose", 4, small, "cpu")
    assert not taps.few_positions("conv", 4, big, "gpu") and not taps.few_positions("conv_transpose", 4, big, "tpu")
    down = StridedConv(256, (4, 4), (2, 2), ((1, 1), (1, 1)))
    up = ConvTranspose(256, (4, 4), (2, 2), "SAME")
    x = _rand(16, (4, 2, 2, 256))
    vd = down.init(jax.random.key(0), x)
    vu = up.init(jax.random.key(1), down.apply(vd, x))

    def loss(vd, vu, x):
        return jnp.sum(jnp.tanh(up.apply(vu, down.apply(vd, x))))

    grads = jax.grad(loss, argnums=(0, 1, 2))
    assert _convs(grads, vd, vu, x) == []
    assert _convs(lambda v, x: down.apply(v, x), vd, _rand(17, (4, 8, 8, 256))) == []  # 4 x 4 x 4 = 64 positions
    assert _convs(lambda v, x: down.apply(v, x), vd, _rand(18, (4, 10, 10, 256)))  # 100: XLA's convolution
    assert _convs(lambda v, x: up.apply(v, x), vu, _rand(18, (4, 8, 8, 256)))
    small = StridedConv(8, (4, 4), (2, 2), ((1, 1), (1, 1)))  # few positions, a small kernel: XLA's convolution
    assert _convs(lambda v, x: small.apply(v, x), small.init(jax.random.key(2), x[..., :8]), x[..., :8])
    assert upsample.conv(x, _rand(19, (4, 4, 256, 6)), (2, 2), ((1, 1), (1, 1)), impl="lax").shape == (4, 1, 1, 6)


def test_bad_padding_is_refused():
    with pytest.raises(NotImplementedError, match="non-negative padding"):
        taps.conv_taps(jnp.zeros((1, 8, 8, 16)), jnp.zeros((3, 3, 16, 3)), ((-1, 0), (0, 0)))
    with pytest.raises(NotImplementedError, match="padding within k - 1"):
        taps.conv_input_taps(jnp.zeros((1, 8, 8, 3)), jnp.zeros((3, 3, 3, 16)), ((3, 0), (0, 0)))
