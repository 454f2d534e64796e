"""jaxgen.nn.ConvTranspose == flax.linen.ConvTranspose == torch.nn.ConvTranspose2d, and jaxgen.nn.StridedConv ==
flax.linen.Conv: forward, gradients (input and kernel), jvp, grad-of-grad; the lowering properties that make
them fast on XLA:CPU, and the choice of lowering by backend."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from jax import lax

from jaxgen.errors import JaxgenError
from jaxgen.nn import (
    ConvTranspose,
    StridedConv,
    conv,
    conv_transpose,
    depth_to_space,
    space_to_depth,
)
from jaxgen.nn.upsample import (
    CONV_IMPLS,
    IMPL_ENV,
    IMPLS,
    SUBPIXEL_KERNEL_GRAD_ROWS,
    default_impl,
    torch_padding,
    transpose_padding,
)

FAST_IMPLS = [i for i in IMPLS if i != "lax"]  # fast, subpixel, window, phases
DN = ("NHWC", "HWIO", "NHWC")


def _rand(seed, shape, scale=1.0):
    # numpy, not jax.random: each new shape would cost a (slow) threefry compilation
    return jnp.asarray(scale * np.random.default_rng(seed).standard_normal(shape), jnp.float32)


def _fwd_and_grads(fn, x, k, cot):
    y, vjp = jax.vjp(fn, x, k)
    return (y,) + vjp(cot)


def _second_order(fn, x, k):
    """d/d(x, k) of a function of d/dx: the pattern of R1 / WGAN-GP penalties."""
    inner = lambda x, k: jnp.sum(jnp.sin(fn(x, k)))
    outer = lambda x, k: jnp.sum(jnp.tanh(jax.grad(inner)(x, k)) ** 2)
    return jax.grad(outer, argnums=(0, 1))(x, k)


def _allclose_rel(a, b, tol=1e-5, err_msg=""):
    np.testing.assert_allclose(a, b, atol=tol * (1.0 + float(jnp.max(jnp.abs(b)))), rtol=tol, err_msg=err_msg)


@pytest.fixture(autouse=True)
def _highest_precision():
    with jax.default_matmul_precision("highest"):
        yield


@pytest.fixture(autouse=True)
def _no_few_position_lowering():
    """These tests' layers are small: keep them on the lowerings they test, not jaxgen.nn.taps' matrix products
    for layers with few positions (tests/nn/test_taps.py tests those). Not by `monkeypatch`, which some tests
    undo halfway."""
    from jaxgen.nn import taps
    saved, taps.FEW_POSITIONS = taps.FEW_POSITIONS, {"conv": 0, "conv_transpose": 0}
    yield
    taps.FEW_POSITIONS = saved


GRAD_CASES = [  # (impl, k, s, padding, input hw, cin, cout)
    *[(impl, 4, 2, "SAME", (7, 7), 3, 5) for impl in FAST_IMPLS],  # DCGAN 7 -> 14 (== PyTorch p=1)
    ("fast", 4, 2, "SAME", (5, 5), 6, 12),  # fast with the sub-pixel forward (s*s*Cout > 16)
    ("fast", 4, 2, "SAME", (17, 17), 3, 5),  # N*H*W > SUBPIXEL_KERNEL_GRAD_ROWS: the mirror conv's kernel gradient
    ("phases", 5, 2, "VALID", (3, 3), 3, 5),
    ("subpixel", 3, 3, ((1, 0), (0, 2)), (3, 4), 3, 5),
    ("fast", 4, 2, ((0, 1), (-1, 3)), (4, 4), 3, 5),  # negative padding
    ("fast", 3, 1, ((5, 6), (4, 1)), (4, 5), 3, 2),  # padding > k - 1: the kernel-gradient fallback
]


@pytest.mark.parametrize("impl,k,s,padding,hw,cin,cout", GRAD_CASES)
def test_matches_lax_conv_transpose_fwd_and_grads(impl, k, s, padding, hw, cin, cout):
    x = _rand(0, (2,) + hw + (cin,))
    kern = _rand(1, (k, k, cin, cout))
    ref_fn = lambda x, w: lax.conv_transpose(x, w, (s, s), padding, dimension_numbers=DN)
    fast_fn = lambda x, w: conv_transpose(x, w, (s, s), padding, impl=impl)
    cot = _rand(2, jax.eval_shape(ref_fn, x, kern).shape)
    ref, got = jax.jit(lambda x, w: (_fwd_and_grads(ref_fn, x, w, cot), _fwd_and_grads(fast_fn, x, w, cot)))(x, kern)
    for name, a, b in zip(("out", "d_input", "d_kernel"), got, ref):
        assert a.shape == b.shape, name
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5, err_msg=name)


@pytest.mark.parametrize("cout", [1, 12])  # both forward lowerings of impl="fast"
@pytest.mark.parametrize("batch", [2, 26])  # both kernel gradients (N*H*W = 40, 520; SUBPIXEL_KERNEL_GRAD_ROWS)
def test_fast_conv_transpose_jvp_and_second_order(cout, batch):
    assert (batch * 5 * 4 > SUBPIXEL_KERNEL_GRAD_ROWS) == (batch == 26)  # one case on each side
    x, kern = _rand(3, (batch, 5, 4, 6)), _rand(4, (4, 4, 6, cout))
    ref_fn = lambda x, w: lax.conv_transpose(x, w, (2, 2), "SAME", dimension_numbers=DN)
    fast_fn = lambda x, w: conv_transpose(x, w, (2, 2), "SAME", impl="fast")
    tangents = (_rand(5, x.shape), _rand(6, kern.shape))

    def both(x, w):
        return [
            (jax.jvp(f, (x, w), tangents)[1], *_second_order(f, x, w), jax.grad(lambda w: jnp.sum(f(x, w) ** 2))(w))
            for f in (fast_fn, ref_fn)
        ]

    got, ref = jax.jit(both)(x, kern)
    for name, a, b in zip(("jvp", "d2_input", "d2_kernel", "kernel_only_grad"), got, ref):
        _allclose_rel(a, b, tol=1e-5 if batch == 2 else 5e-5, err_msg=name)  # float32 sums over 13x the positions


def test_many_small_configs_forward():
    """A spread of (k, s, lo, hi), including negative and asymmetric padding, for every impl."""
    x = _rand(3, (1, 3, 4, 2))
    cases = [(4, 2, 1, 1), (4, 2, 3, 3), (2, 2, 1, 1), (1, 2, 0, 0), (5, 3, 4, 0), (3, 3, -1, 2), (5, 2, 0, 3)]
    for k, s, lo, hi in cases:
        kern = _rand(4, (k, k, 2, 3))
        pad = ((lo, hi), (hi, lo))
        outs = jax.jit(
            lambda x, w: [lax.conv_transpose(x, w, (s, s), pad, dimension_numbers=DN)]
            + [conv_transpose(x, w, (s, s), pad, impl=impl) for impl in FAST_IMPLS]
        )(x, kern)
        for impl, got in zip(FAST_IMPLS, outs[1:]):
            np.testing.assert_allclose(got, outs[0], atol=1e-5, err_msg=f"k={k} s={s} pad={pad} impl={impl}")


def test_module_is_drop_in_for_flax():
    kw = dict(features=4, kernel_size=(4, 4), strides=(2, 2), padding="SAME")
    x = _rand(5, (3, 7, 7, 6))
    ours, theirs = ConvTranspose(**kw), nn.ConvTranspose(**kw)
    v, v_ours = jax.jit(lambda k, x: (theirs.init(k, x), ours.init(k, x)))(jax.random.key(0, impl="rbg"), x)
    # same parameter tree, shapes and initialisation
    assert jax.tree.map(jnp.shape, v_ours) == jax.tree.map(jnp.shape, v)
    np.testing.assert_array_equal(v_ours["params"]["kernel"], v["params"]["kernel"])
    v = jax.tree.map(lambda a: a + _rand(6, a.shape, 0.1), v)  # non-zero bias too
    cot = _rand(7, (3, 14, 14, 4))
    (y, g_v, g_x), (r_y, r_v, r_x) = jax.jit(
        lambda v, x: (_fwd_and_grads(ours.apply, v, x, cot), _fwd_and_grads(theirs.apply, v, x, cot))
    )(v, x)
    np.testing.assert_allclose(y, r_y, atol=1e-5)
    np.testing.assert_allclose(g_x, r_x, atol=1e-5)
    for a, b in zip(jax.tree.leaves(g_v), jax.tree.leaves(r_v)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


def test_module_transpose_kernel_and_extra_batch_dims():
    kw = dict(features=3, kernel_size=(3, 3), strides=(2, 2), padding="SAME", transpose_kernel=True)
    x = _rand(8, (2, 2, 5, 5, 4))
    v = jax.jit(nn.ConvTranspose(**kw).init)(jax.random.key(1, impl="rbg"), x)
    got, ref = jax.jit(lambda v, x: (ConvTranspose(**kw).apply(v, x), nn.ConvTranspose(**kw).apply(v, x)))(v, x)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_unsupported_options_raise():
    x = jnp.zeros((1, 4, 4, 2))
    with pytest.raises(NotImplementedError):
        jax.eval_shape(ConvTranspose(2, (3, 3), kernel_dilation=2).init, jax.random.key(0, impl="rbg"), x)
    with pytest.raises(NotImplementedError):
        jax.eval_shape(ConvTranspose(2, (3, 3), padding="CIRCULAR").init, jax.random.key(0, impl="rbg"), x)
    with pytest.raises(ValueError, match="impl"):
        conv_transpose(x, jnp.zeros((3, 3, 2, 2)), (2, 2), impl="magic")
    with pytest.raises(ValueError, match="impl must be one of .'fast', 'lax'."):
        conv(x, jnp.zeros((3, 3, 2, 2)), (2, 2), impl="subpixel")


def test_padding_conventions():
    assert transpose_padding("SAME", (4, 4), (2, 2)) == ((2, 2), (2, 2))
    assert torch_padding(4, 1) == (2, 2)  # PyTorch ConvTranspose2d(4, 2, padding=1) == flax 'SAME'
    assert transpose_padding("SAME", (5,), (2,)) == ((3, 2),)
    assert torch_padding(5, 2, 1) == (2, 3)
    assert transpose_padding(1, (3, 3), (1, 1)) == ((1, 1), (1, 1))


def test_depth_to_space_roundtrip():
    x = _rand(9, (2, 6, 4, 3))
    y, back = jax.jit(lambda x: (space_to_depth(x, (2, 2)), depth_to_space(space_to_depth(x, (2, 2)), (2, 2), 3)))(x)
    assert y.shape == (2, 3, 2, 12)
    np.testing.assert_array_equal(back, x)
    # channel order (ih, iw, c): pixel (1, 0) of block (0, 0) is channel 2*3 = 6..8
    np.testing.assert_array_equal(y[:, 0, 0, 6:9], x[:, 1, 0, :])


# ---------------------------------------------------------------------------------------------------------------
# StridedConv / conv: flax.linen.Conv numbers, sub-pixel input gradient

CONV_CASES = [  # (k, s, padding, input hw, cin, cout)
    (4, 2, ((1, 1), (1, 1)), (14, 14), 8, 5),  # DCGAN D hidden layer (sub-pixel input gradient)
    (5, 3, ((1, 2), (0, 1)), (11, 10), 5, 4),  # rows the conv never reads get zero gradient
]


@pytest.mark.parametrize("k,s,padding,hw,cin,cout", CONV_CASES)
def test_strided_conv_matches_lax(k, s, padding, hw, cin, cout):
    x, kern = _rand(10, (2,) + hw + (cin,)), _rand(11, (k, k, cin, cout))
    ref_fn = lambda x, w: lax.conv_general_dilated(x, w, (s, s), padding, dimension_numbers=DN)
    fast_fn = lambda x, w: conv(x, w, (s, s), padding, impl="fast")
    cot = _rand(12, jax.eval_shape(ref_fn, x, kern).shape)
    tangents = (_rand(13, x.shape), _rand(14, kern.shape))

    def both(x, w):
        return [
            _fwd_and_grads(f, x, w, cot) + (jax.jvp(f, (x, w), tangents)[1],) + _second_order(f, x, w)
            for f in (fast_fn, ref_fn)
        ]

    got, ref = jax.jit(both)(x, kern)
    for name, a, b in zip(("out", "d_input", "d_kernel", "jvp", "d2_input", "d2_kernel"), got, ref):
        assert a.shape == b.shape, name
        _allclose_rel(a, b, err_msg=name)


def test_strided_conv_module_is_drop_in_for_flax_conv():
    kw = dict(features=6, kernel_size=(4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))
    x = _rand(15, (3, 10, 10, 8))
    v, v_ours = jax.jit(lambda k, x: (nn.Conv(**kw).init(k, x), StridedConv(**kw).init(k, x)))(
        jax.random.key(0, impl="rbg"), x
    )
    assert jax.tree.map(jnp.shape, v_ours) == jax.tree.map(jnp.shape, v)
    np.testing.assert_array_equal(v_ours["params"]["kernel"], v["params"]["kernel"])
    cot = _rand(16, (3, 5, 5, 6))
    got, ref = jax.jit(
        lambda v, x: tuple(_fwd_and_grads(m(**kw).apply, v, x, cot) for m in (StridedConv, nn.Conv))
    )(v, x)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-5)


def _compiled(fn, *args, **jit_kw):
    return jax.jit(fn, **jit_kw).lower(*args).compile().as_text()


def _slow_convs(hlo_text):
    """Convolutions XLA:CPU cannot give to its Eigen kernels: lhs (base) dilation, kernel reversal, or a
    non-canonical layout (what the kernel gradient of an lhs-dilated conv becomes)."""
    convs = [line for line in hlo_text.splitlines() if " convolution(" in line]
    return [c for c in convs if "lhs_dilate=" in c or "rhs_reversal=" in c or "dim_labels=b01f_01io->b01f" not in c]


def test_fast_lowerings_avoid_lhs_dilated_convolutions():
    """The point of the fast paths: no lhs-dilated (transposed) convolution anywhere in the gradients of a wide
    up-sampling layer or of a wide strided conv (XLA:CPU runs those ~2x, and their kernel gradients ~20x, slower)."""
    x, kern, cot = _rand(17, (2, 5, 5, 16)), _rand(18, (4, 4, 16, 8)), _rand(19, (2, 10, 10, 8))
    grads = lambda f: (lambda x, w: jax.grad(lambda x, w: jnp.sum(f(x, w) * cot), argnums=(0, 1))(x, w))
    fast = _compiled(grads(lambda x, w: conv_transpose(x, w, (2, 2), "SAME", impl="fast")), x, kern)
    slow = _compiled(grads(lambda x, w: conv_transpose(x, w, (2, 2), "SAME", impl="lax")), x, kern)
    assert _slow_convs(slow)  # the check below can see them
    assert not _slow_convs(fast)
    y, w2 = _rand(20, (2, 10, 10, 16)), _rand(21, (4, 4, 16, 8))
    cot2 = _rand(22, (2, 5, 5, 8))
    penalty = lambda f: (
        lambda y, w: jax.grad(lambda w: jnp.sum(jax.grad(lambda y: jnp.sum(jnp.tanh(f(y, w)) * cot2))(y) ** 2))(w)
    )
    conv_fast = _compiled(penalty(lambda y, w: conv(y, w, (2, 2), ((1, 1), (1, 1)), impl="fast")), y, w2)
    conv_slow = _compiled(penalty(lambda y, w: conv(y, w, (2, 2), ((1, 1), (1, 1)), impl="lax")), y, w2)
    assert _slow_convs(conv_slow)
    assert not _slow_convs(conv_fast)


def test_default_impl_by_backend(monkeypatch):
    assert default_impl("cpu") == default_impl("gpu") == "fast"  # measured faster on both (docs/benchmarks.md)
    assert default_impl("tpu") == "lax"  # nothing measured there yet: XLA's own
    for backend, impl in (("cpu", "fast"), ("gpu", "fast"), ("tpu", "lax")):
        monkeypatch.setattr(jax, "default_backend", lambda b=backend: b)
        assert default_impl() == impl
        assert default_impl() in IMPLS and default_impl() in CONV_IMPLS


@pytest.mark.parametrize("backend", ["cpu", "tpu"])  # one backend of each lowering
def test_layers_lower_as_their_backend_says_with_the_same_numbers(backend, monkeypatch):
    """Without an explicit impl, ConvTranspose and StridedConv take the backend's lowering (traced with
    jax.default_backend() patched): the fast forms avoid lhs-dilated convolutions, XLA's own use them; the
    parameters and numbers are those of the explicit lowerings either way."""
    ct = dict(features=8, kernel_size=(4, 4), strides=(2, 2), padding="SAME")
    sc = dict(features=8, kernel_size=(4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))
    x, y = _rand(25, (2, 5, 5, 16)), _rand(26, (2, 10, 10, 16))
    v_ct = jax.jit(ConvTranspose(**ct).init)(jax.random.key(0, impl="rbg"), x)
    v_sc = jax.jit(StridedConv(**sc).init)(jax.random.key(1, impl="rbg"), y)

    def grads(impl):
        def loss(v_ct, v_sc, x, y):
            return (jnp.sum(jnp.tanh(ConvTranspose(**ct, impl=impl).apply(v_ct, x)))
                    + jnp.sum(jnp.tanh(StridedConv(**sc, impl=impl).apply(v_sc, y))))
        return jax.grad(loss, argnums=(0, 1, 2, 3))

    monkeypatch.setattr(jax, "default_backend", lambda: backend)
    hlo = _compiled(grads(None), v_ct, v_sc, x, y)
    got = jax.jit(grads(None))(v_ct, v_sc, x, y)
    monkeypatch.undo()
    want = jax.jit(grads(default_impl(backend)))(v_ct, v_sc, x, y)
    assert bool(_slow_convs(hlo)) == (default_impl(backend) == "lax")
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(a, b)
    ref = jax.jit(grads("lax" if default_impl(backend) == "fast" else "fast"))(v_ct, v_sc, x, y)  # the other one
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        _allclose_rel(a, b, tol=1e-4)


@pytest.mark.parametrize("forced", CONV_IMPLS)
def test_environment_variable_forces_the_lowering(forced, monkeypatch):
    """$JAXGEN_UPSAMPLE_IMPL replaces the backend's choice on every backend, and layers traced under it compile
    that lowering (XLA's lhs-dilated convolutions for "lax", none for "fast" on this CPU)."""
    monkeypatch.setenv(IMPL_ENV, forced)
    for backend in ("cpu", "gpu", "tpu"):
        assert default_impl(backend) == forced
    x = _rand(27, (2, 5, 5, 16))
    layer = ConvTranspose(features=8, kernel_size=(4, 4), strides=(2, 2), padding="SAME")
    v = jax.jit(layer.init)(jax.random.key(0, impl="rbg"), x)
    hlo = _compiled(jax.grad(lambda v, x: jnp.sum(jnp.tanh(layer.apply(v, x))), argnums=(0, 1)), v, x)
    assert bool(_slow_convs(hlo)) == (forced == "lax")


@pytest.mark.parametrize("value", ["window", "LAX", "gpu"])
def test_environment_variable_refuses_unknown_lowerings(value, monkeypatch):
    monkeypatch.setenv(IMPL_ENV, value)
    with pytest.raises(JaxgenError, match=rf"environment variable {IMPL_ENV} must be one of \('fast', 'lax'\)"):
        default_impl()
    monkeypatch.setenv(IMPL_ENV, "")  # empty: unset, the backend chooses
    assert default_impl("cpu") == "fast"


# ---------------------------------------------------------------------------------------------------------------
# PyTorch
torch = pytest.importorskip("torch")


def _to_flax_kernel(w_torch):
    """torch ConvTranspose2d weight [Cin, Cout, kh, kw] -> flax kernel [kh, kw, Cin, Cout] (spatially flipped)."""
    return jnp.asarray(w_torch.detach().numpy().transpose(2, 3, 0, 1)[::-1, ::-1].copy())


TORCH_CASES = [  # (impl, k, s, padding, output_padding, hw, cin, cout)
    ("fast", 4, 2, 1, 0, 7, 8, 5),  # the DCGAN layers
    ("fast", 4, 2, 1, 0, 14, 6, 1),
    ("subpixel", 4, 2, 1, 0, 7, 8, 5),
    ("window", 5, 2, 2, 1, 4, 3, 2),
]


@pytest.mark.parametrize("impl,k,s,p,op,hw,cin,cout", TORCH_CASES)
def test_matches_torch_conv_transpose2d(impl, k, s, p, op, hw, cin, cout):
    torch.manual_seed(0)
    conv_t = torch.nn.ConvTranspose2d(cin, cout, k, s, padding=p, output_padding=op).double()
    xt = torch.randn(2, cin, hw, hw + 1, dtype=torch.float64, requires_grad=True)
    module = ConvTranspose(cout, (k, k), strides=(s, s), padding=(torch_padding(k, p, op),) * 2, impl=impl)
    _check_against_torch(conv_t, module, xt, _to_flax_kernel)


def _check_against_torch(conv_t, module, xt, to_flax_kernel):
    """`module` with `conv_t`'s weights: output and gradients (input, kernel, bias) equal torch's."""
    yt = conv_t(xt)
    cot_t = torch.randn_like(yt)
    yt.backward(cot_t)
    params = {
        "params": {
            "kernel": to_flax_kernel(conv_t.weight.float()),
            "bias": jnp.asarray(conv_t.bias.detach().float().numpy()),
        }
    }
    x = jnp.asarray(xt.detach().numpy().transpose(0, 2, 3, 1), jnp.float32)
    cot = jnp.asarray(cot_t.numpy().transpose(0, 2, 3, 1), jnp.float32)
    y, g_params, g_x = jax.jit(lambda v, x: _fwd_and_grads(module.apply, v, x, cot))(params, x)

    np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 3, 1), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(g_x, xt.grad.numpy().transpose(0, 2, 3, 1), atol=1e-5, rtol=1e-5)
    np.testing.assert_allclose(g_params["params"]["kernel"], to_flax_kernel(conv_t.weight.grad), atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(g_params["params"]["bias"], conv_t.bias.grad.numpy(), atol=1e-4, rtol=1e-5)


def test_strided_conv_matches_torch_conv2d():
    torch.manual_seed(1)
    conv_t = torch.nn.Conv2d(8, 5, 4, 2, padding=1).double()
    xt = torch.randn(2, 8, 14, 14, dtype=torch.float64, requires_grad=True)
    module = StridedConv(5, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))
    _check_against_torch(conv_t, module, xt, lambda w: jnp.asarray(w.detach().numpy().transpose(2, 3, 1, 0)))
