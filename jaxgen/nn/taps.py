"""Convolutions that XLA:CPU runs at a few GFLOP/s (RGB layers, a U-Net's bottleneck), as matrix products by taps.

XLA:CPU's Eigen convolution packs a ``kh * kw * Cin`` patch for every output position whatever the number of
output channels, so a layer with ``Cout <= 4`` runs at a few GFLOP/s: SRResNet's 9x9 64 -> 3 output layer at
96 px takes ~270 ms forward and ~310 ms for its kernel gradient on one core, more than its 16 residual blocks
together. Computed by taps instead, the same function is one matrix product and a sum of shifted slices:

    z[n, h, w, (i, j, d)] = sum_c x[n, h, w, c] K[i, j, c, d]        # [N, H, W, kh*kw*Cout]: one dot
    y[n, o_h, o_w, d]     = sum_{i, j} zp[n, o_h + i, o_w + j, (i, j, d)]    # zp: z padded like x

and its kernel gradient is the transpose of the same idea, one matrix product over the cotangent's shifted copies:

    dK[i, j, c, d] = sum_{n, h, w} x[n, h, w, c] g[n, h - i + lo_h, w - j + lo_w, d]   # [(i, j, d), NHW] @ [NHW, Cin]

The input gradient stays XLA's (a convolution to ``Cin`` outputs, which Eigen runs well). Measured on one core
(jax 0.10.2, forward + both gradients, docs/benchmarks.md): 9x9 64 -> 3 at 16x96x96 720 -> 417 ms, 7x7 64 -> 3 at
4x64x64 81 -> 27 ms, 3x3 64 -> 3 at 64x32x32 45 -> 16 ms; 3x3 64 -> 8 is already slower (44 -> 59 ms), and a
wide output layer (3 -> 64) is far slower: :func:`faster` says where taps win.

The mirror case is an RGB *input* layer whose input gradient is needed (a loss network such as VGG differentiated
with respect to the image, a critic's first layer in G's phase, the second generator of a cycle): that gradient is
a convolution of the cotangent to ``Cin <= 4`` outputs, Eigen's slow case again (VGG-16's 3x3 3 -> 64 layer at
16x96x96: 74 ms; a 7x7 3 -> 64 layer at 4x70x70: 48 ms). :func:`conv_input_taps` keeps XLA's forward and kernel
gradient and computes the input gradient by the taps above (16 ms and 3 ms); :func:`input_faster` says where.

Layers with few positions (a U-Net's bottleneck: 1x1 to 4x4 maps of 512-1024 channels at batch 4) are the third
case: their work is reading and writing 4-8 M-entry kernels, and XLA:CPU's convolutions there run at a few GFLOP/s
(the 2x2 -> 1x1 layer's forward alone took 28 ms in pix2pix's step). :func:`conv_patches` computes a (strided)
convolution as the input's patches ``[N*H'*W', kh*kw*Cin]`` times the kernel as it is stored (HWIO flattened, no
transpose), and :func:`conv_transpose_taps` a transposed convolution as one product per kernel tap placed on the
output's dilated grid; both are plain JAX ops with ordinary gradients. :func:`few_positions` says where (measured
fwd + both gradients, one core: pix2pix's 2x2 -> 1x1 conv 61 -> 3 ms, 1x1 -> 2x2 transposed 68 -> 10 ms, 4x4 -> 8x8
transposed 161 -> 104 ms; from 8x8 inputs (256 positions) the transposed form loses alone, and whole CycleGAN steps,
whose PatchGANs end in 144-256-position layers, were 3 % slower with the conv's threshold at 256: 64 for both; and
only for kernels of 1 M entries or more, where the work is the kernel).

:func:`conv_taps` and :func:`conv_input_taps` are ``jax.custom_jvp`` functions (forward mode, reverse mode and nested
derivatives work; tests/nn/test_taps.py); their sums run in float32 for float16/bfloat16 inputs, as a convolution
accumulates. Every function here computes the same numbers as XLA's convolution up to float rounding.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax
from jax.custom_derivatives import SymbolicZero

__all__ = ["conv_input_taps", "conv_out_size", "conv_patches", "conv_taps", "conv_transpose_taps", "faster",
           "few_positions", "input_faster"]

Array = jax.Array
DN = ("NHWC", "HWIO", "NHWC")
FEW_CHANNELS = 4  # channels up to which taps beat Eigen's convolution (outputs measured at 1, 3, 4; not at 8)
MANY_CHANNELS = 16  # and on the other side from (the ratio of the two is what makes the dot worth it)


def faster(kernel_shape, strides, backend: str | None = None) -> bool:
    """Whether a convolution of this ``[kh, kw, Cin, Cout]`` kernel runs faster by taps on `backend` (default:
    ``jax.default_backend()``): XLA:CPU, stride 1, a kernel wider than 1x1, ``Cout <= 4`` and ``Cin >= 16``."""
    kh, kw, cin, cout = kernel_shape
    backend = jax.default_backend() if backend is None else backend
    return (backend == "cpu" and tuple(strides) == (1, 1) and kh * kw > 1 and cout <= FEW_CHANNELS
            and cin >= MANY_CHANNELS)


FEW_POSITIONS = {"conv": 64, "conv_transpose": 64}  # positions up to which a layer runs as matrix products
BIG_KERNEL = 1 << 20  # kernel entries from which (a U-Net bottleneck's 4x4x512x512 = 4 M; StyleGAN2's 3x3x128x128
# layers at 2x2-4x4 ran 3 % slower as matrix products)


def few_positions(kind: str, positions: int, kernel_shape, backend: str | None = None) -> bool:
    """Whether a layer of `kind` ("conv": output positions ``N*H'*W'``; "conv_transpose": input positions
    ``N*H*W``) and kernel ``[kh, kw, Cin, Cout]`` runs faster as matrix products (:func:`conv_patches`,
    :func:`conv_transpose_taps`) on `backend`: XLA:CPU, few positions, a big kernel."""
    backend = jax.default_backend() if backend is None else backend
    return backend == "cpu" and positions <= FEW_POSITIONS[kind] and math.prod(kernel_shape) >= BIG_KERNEL


def input_faster(kernel_shape, strides, pads, backend: str | None = None) -> bool:
    """Whether a convolution of this kernel gets its input gradient faster by taps (:func:`conv_input_taps`):
    XLA:CPU, stride 1, a kernel wider than 1x1, ``Cin <= 4``, ``Cout >= 16``, padding within ``k - 1``."""
    kh, kw, cin, cout = kernel_shape
    backend = jax.default_backend() if backend is None else backend
    return (backend == "cpu" and tuple(strides) == (1, 1) and kh * kw > 1 and cin <= FEW_CHANNELS
            and cout >= MANY_CHANNELS and all(0 <= p <= k - 1 for (lo, hi), k in zip(pads, (kh, kw)) for p in (lo, hi)))


def _sum_dtype(dtype):
    return jnp.float32 if jnp.dtype(dtype).itemsize < 4 else dtype


def _forward(x: Array, kernel: Array, pads, precision) -> Array:
    """``[N, H, W, Cin]``, ``[kh, kw, Cin, Cout]`` -> ``[N, H', W', Cout]`` (the correlation lax computes)."""
    kh, kw, cin, cout = kernel.shape
    _, h, w, _ = x.shape
    (lo_h, hi_h), (lo_w, hi_w) = pads
    ho, wo = h + lo_h + hi_h - kh + 1, w + lo_w + hi_w - kw + 1
    taps = jnp.transpose(kernel, (2, 0, 1, 3)).reshape(cin, kh * kw * cout).astype(x.dtype)
    z = lax.dot_general(x, taps, (((3,), (0,)), ((), ())), precision=precision,
                        preferred_element_type=_sum_dtype(x.dtype))  # [N, H, W, kh*kw*Cout]
    z = lax.pad(z, jnp.zeros((), z.dtype), ((0, 0, 0), (lo_h, max(hi_h, 0), 0), (lo_w, max(hi_w, 0), 0), (0, 0, 0)))
    y = None
    for i in range(kh):
        for j in range(kw):
            t = (i * kw + j) * cout
            part = z[:, i:i + ho, j:j + wo, t:t + cout]
            y = part if y is None else y + part
    return y.astype(x.dtype)


def _kernel_grad(x: Array, g: Array, kernel_shape, pads, precision) -> Array:
    """``d <g, conv(x, K)> / dK``: ``[N, H, W, Cin]``, ``[N, H', W', Cout]`` -> ``[kh, kw, Cin, Cout]``."""
    kh, kw, cin, cout = kernel_shape
    n, h, w, _ = x.shape
    (lo_h, hi_h), (lo_w, hi_w) = pads
    gt = jnp.transpose(g, (3, 0, 1, 2))  # [Cout, N, H', W']: each shifted copy below is a block of whole rows
    gt = lax.pad(gt, jnp.zeros((), g.dtype),
                 ((0, 0, 0), (0, 0, 0), (kh - 1, max(kh - 1 - hi_h, 0), 0), (kw - 1, max(kw - 1 - hi_w, 0), 0)))
    shifted = [gt[:, :, lo_h - i + kh - 1:lo_h - i + kh - 1 + h, lo_w - j + kw - 1:lo_w - j + kw - 1 + w]
               for i in range(kh) for j in range(kw)]  # g[n, h - i + lo_h, w - j + lo_w] (zero outside)
    spread = jnp.stack(shifted, 0).reshape(kh * kw * cout, n * h * w)
    dk = lax.dot_general(spread, x.reshape(n * h * w, cin).astype(g.dtype), (((1,), (0,)), ((), ())),
                         precision=precision, preferred_element_type=_sum_dtype(g.dtype))  # [(i, j, d), Cin]
    return jnp.swapaxes(dk.reshape(kh, kw, cout, cin), 2, 3)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _conv_taps(x, kernel, pads, precision):
    return _forward(x, kernel, pads, precision)


def _conv_taps_jvp(pads, precision, primals, tangents):
    x, kernel = primals
    dx, dk = tangents
    y = _forward(x, kernel, pads, precision)
    t = None
    if type(dx) is not SymbolicZero:  # linear in dx; reverse mode transposes it to XLA's input-gradient conv
        t = lax.conv_general_dilated(dx, kernel.astype(dx.dtype), (1, 1), pads, dimension_numbers=DN,
                                     precision=precision)
    if type(dk) is not SymbolicZero:
        def kernel_grad(g):  # linear in g; written as its transpose so that reverse mode runs it as it is
            return _kernel_grad(x, g, kernel.shape, pads, precision).astype(dk.dtype)

        tk = jax.linear_transpose(kernel_grad, jax.ShapeDtypeStruct(y.shape, y.dtype))(dk)[0]
        t = tk if t is None else t + tk
    return y, (jnp.zeros_like(y) if t is None else t)


_conv_taps.defjvp(_conv_taps_jvp, symbolic_zeros=True)


def _input_grad(g: Array, kernel: Array, pads, precision) -> Array:
    """``d <g, conv(x, K)> / dx``: the cotangent ``[N, H', W', Cout]`` correlated with K flipped and its channels
    swapped, padded ``k - 1 - lo`` / ``k - 1 - hi``, by taps: ``[N, H, W, Cin]``."""
    kh, kw = kernel.shape[:2]
    flipped = jnp.swapaxes(kernel[::-1, ::-1], 2, 3)  # [kh, kw, Cout, Cin]
    tpads = tuple((k - 1 - lo, k - 1 - hi) for (lo, hi), k in zip(pads, (kh, kw)))
    return _forward(g, flipped.astype(g.dtype), tpads, precision)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _conv_input_taps(x, kernel, pads, precision):
    return lax.conv_general_dilated(x, kernel, (1, 1), pads, dimension_numbers=DN, precision=precision)


def _conv_input_taps_jvp(pads, precision, primals, tangents):
    x, kernel = primals
    dx, dk = tangents
    y = lax.conv_general_dilated(x, kernel, (1, 1), pads, dimension_numbers=DN, precision=precision)
    t = None
    if type(dx) is not SymbolicZero:
        def input_grad(g):  # linear in g; written as its transpose so that reverse mode runs it as it is
            return _input_grad(g, kernel, pads, precision).astype(dx.dtype)

        t = jax.linear_transpose(input_grad, jax.ShapeDtypeStruct(y.shape, y.dtype))(dx)[0]
    if type(dk) is not SymbolicZero:  # linear in dk; reverse mode transposes it to XLA's kernel gradient
        tk = lax.conv_general_dilated(x, dk.astype(x.dtype), (1, 1), pads, dimension_numbers=DN, precision=precision)
        t = tk if t is None else t + tk
    return y, (jnp.zeros_like(y) if t is None else t)


_conv_input_taps.defjvp(_conv_input_taps_jvp, symbolic_zeros=True)


def conv_input_taps(x: Array, kernel: Array, pads, precision: Any = None) -> Array:
    """``lax.conv_general_dilated(x, kernel, (1, 1), pads)`` (NHWC/HWIO) whose input gradient runs by taps (an RGB
    input layer); forward and kernel gradient are XLA's. ``pads`` within ``[0, k - 1]`` (:func:`input_faster`)."""
    pads = tuple((int(lo), int(hi)) for lo, hi in pads)
    if not input_faster(kernel.shape, (1, 1), pads, backend="cpu"):
        raise NotImplementedError(f"conv_input_taps needs stride 1, a kernel wider than 1x1, padding within k - 1, "
                                  f"Cin <= {FEW_CHANNELS} and Cout >= {MANY_CHANNELS}; got kernel {kernel.shape}, "
                                  f"pads {pads}")
    return _conv_input_taps(x, kernel, pads, precision)


def conv_out_size(n: int, k: int, s: int, lo: int, hi: int) -> int:
    """A convolution's output length along an axis of length `n`: kernel `k`, stride `s`, padding (`lo`, `hi`)."""
    return (n + lo + hi - k) // s + 1


def conv_patches(x: Array, kernel: Array, strides, pads, precision: Any = None) -> Array:
    """``lax.conv_general_dilated(x, kernel, strides, pads)`` (NHWC/HWIO) as ``patches @ kernel``: the input's
    ``kh*kw`` strided slices ``[N, H', W', kh, kw, Cin]`` flattened against the kernel flattened as stored."""
    kh, kw, cin, cout = kernel.shape
    n, h, w, _ = x.shape
    (sh, sw), ((lo_h, hi_h), (lo_w, hi_w)) = strides, pads
    ho, wo = conv_out_size(h, kh, sh, lo_h, hi_h), conv_out_size(w, kw, sw, lo_w, hi_w)
    xp = lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (lo_h, hi_h, 0), (lo_w, hi_w, 0), (0, 0, 0)))
    patches = jnp.stack([xp[:, i:i + (ho - 1) * sh + 1:sh, j:j + (wo - 1) * sw + 1:sw, :]
                         for i in range(kh) for j in range(kw)], 3)  # [N, H', W', kh*kw, Cin]
    flat = kernel.reshape(kh * kw * cin, cout).astype(x.dtype)  # HWIO as stored: rows (i, j, c), no transpose
    y = lax.dot_general(patches.reshape(n * ho * wo, kh * kw * cin), flat, (((1,), (0,)), ((), ())),
                        precision=precision)
    return y.reshape(n, ho, wo, cout)


def conv_transpose_taps(x: Array, kernel: Array, strides, pads, precision: Any = None) -> Array:
    """``lax.conv_transpose(x, kernel, strides, pads)`` (NHWC/HWIO, unflipped kernel) as one product per tap:
    ``z[n, m, a, b] = x[n, m] @ K[a, b]``, and ``z[..., a, b, :]`` lands on output ``s*m + lo - a`` (a pad with
    ``s - 1`` zeros between the input positions), summed over the taps."""
    kh, kw, _, cout = kernel.shape
    (sh, sw), ((lo_h, hi_h), (lo_w, hi_w)) = strides, pads
    z = jnp.einsum("nhwi,abio->nhwabo", x, kernel.astype(x.dtype), precision=precision)
    y = None
    for a in range(kh):
        for b in range(kw):
            part = lax.pad(z[:, :, :, a, b, :], jnp.zeros((), z.dtype),
                           ((0, 0, 0), (lo_h - a, hi_h - (kh - 1 - a), sh - 1), (lo_w - b, hi_w - (kw - 1 - b), sw - 1),
                            (0, 0, 0)))
            y = part if y is None else y + part
    return y


def conv_taps(x: Array, kernel: Array, pads, precision: Any = None) -> Array:
    """``lax.conv_general_dilated(x, kernel, (1, 1), pads, dimension_numbers=NHWC/HWIO/NHWC)`` by taps.

    x ``[N, H, W, Cin]``, kernel ``[kh, kw, Cin, Cout]``, pads ``((lo_h, hi_h), (lo_w, hi_w))`` (non-negative) ->
    ``[N, H + lo_h + hi_h - kh + 1, W + lo_w + hi_w - kw + 1, Cout]`` in x's dtype."""
    pads = tuple((int(lo), int(hi)) for lo, hi in pads)
    if min(min(p) for p in pads) < 0:
        raise NotImplementedError(f"conv_taps needs non-negative padding, got {pads}")
    return _conv_taps(x, kernel, pads, precision)
