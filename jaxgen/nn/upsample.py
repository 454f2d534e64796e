"""Transposed and strided convolutions lowered per backend: fast forms for XLA:CPU, XLA's own elsewhere.

``ConvTranspose`` is a drop-in replacement for ``flax.linen.ConvTranspose`` (2-D, NHWC, same
parameters ``kernel`` ``[kh, kw, Cin, Cout]`` and ``bias`` ``[Cout]``, same initialisers, same
numbers) that, on the CPU, never calls ``lax.conv_transpose``. On XLA:CPU the kernel gradient of
``lax.conv_transpose`` (an lhs-dilated convolution) is ~17x slower than PyTorch; this layer instead
computes the *same* function as

    y  = conv(x, K_sub, stride 1)      # [N, Q, Q', s*s*Cout]   ordinary stride-1 convolution
    up = depth_to_space(y, s)          # [N, s*Q, s*Q', Cout]
    out = crop(up) + bias              # exactly the flax/PyTorch output

where ``K_sub`` (``[T, T, Cin, s*s*Cout]``, ``T = ceil(k / s)``) is rebuilt from the stored ``kernel``
inside ``__call__`` by a tiny einsum with constant one-hot matrices (no gather/scatter, no kernel reversal;
no wasted taps when ``s`` divides ``k``). All stages are ordinary ops with ordinary gradients.

Derivation (1-D; 2-D is separable). ``lax.conv_transpose(x, K, s, padding=(lo, hi))`` with
``transpose_kernel=False`` is ``out[o] = sum_j K[j] * xd[o + j - lo]`` with ``xd`` the input dilated
by ``s`` (``xd[s*m] = x[m]``, zeros between). Group the outputs in blocks of ``s``: output position
``s*q + lo - s + 1 + i`` (``i = 0..s-1``) equals ``sum_u K[s*u + s-1-i] * x[q + u]``, i.e. a stride-1
correlation of ``x`` with the taps ``K_sub[u, i] = K[s*u + s-1-i]`` (zero when ``>= k``). So the
sub-pixel conv runs over the block indices ``q`` that cover ``[0, out_len)``, and the depth-to-space
result is cropped by ``-(s*q0 + lo - s + 1)`` at the front.
For the DCGAN layer (k=4, s=2, lo=2): ``out[2q+1] = K1 x[q] + K3 x[q+1]``, ``out[2q+2] = K0 x[q] + K2 x[q+1]``:
a 2x2 stride-1 conv to ``4*Cout`` channels over ``x`` padded by 1 on both sides, depth-to-space,
crop one row/column at each end. (A 3x3 conv to 4C computes the same thing with 9/4 of the FLOPs.)

``impl="fast"`` (:func:`conv_transpose`) is a ``custom_jvp`` that picks, per role, the lowering
that XLA:CPU runs fastest: sub-pixel forward, strided-conv input gradient, and the strided conv's own kernel
gradient (with the roles of input and cotangent swapped, as PyTorch computes it).
:class:`StridedConv` is the mirror image for discriminators: XLA's strided forward conv and kernel gradient,
sub-pixel input gradient.

Which lowering runs is a fact about the backend, not part of a model's config: by default (``impl=None``) every
layer and function here uses :func:`default_impl` — ``"fast"`` on the CPU and GPU backends, where it was
measured (docs/benchmarks.md), and XLA's own ``lax.conv_transpose`` / ``lax.conv_general_dilated`` (``"lax"``)
on TPU until a measurement there says otherwise. All lowerings compute the same function with the same
parameters (tested), so a checkpoint trained on one backend samples on any other. An explicit ``impl`` on a
layer or call is for tests and benchmarks; the environment variable ``JAXGEN_UPSAMPLE_IMPL`` (``"fast"`` or
``"lax"``) replaces the backend's choice for every layer traced while it is set, to time a whole model under the
other lowering (``tools/device_check.py``). (``jaxgen.engine.compilation.jit`` also keeps XLA:CPU's
convolutions on Eigen, ~2x faster than the default YNNPACK route for these shapes.)

Padding conventions (``padding`` means exactly what it means for ``flax.linen.ConvTranspose``):

* ``'SAME'``: output ``= in * s``; for k=4, s=2 this is ``((2, 2), (2, 2))``.
* ``'VALID'``: output ``= (in - 1) * s + max(k, s)``.
* explicit ``((lo, hi), (lo, hi))`` or an int ``p`` (= ``((p, p), (p, p))``): zeros added to the
  *dilated* input before an unflipped correlation; output ``= (in - 1) * s + 1 + lo + hi - k + 1``.

PyTorch ``nn.ConvTranspose2d(k, s, padding=p, output_padding=op)`` is the same function as
``ConvTranspose(kernel_size=(k, k), strides=(s, s), padding=((k-1-p, k-1-p+op),) * 2)`` with
``kernel = torch_weight.permute(2, 3, 0, 1)[::-1, ::-1]`` (torch stores ``[Cin, Cout, kh, kw]`` and
correlates with the spatially flipped kernel; flax does not flip). Hence
PyTorch ``ConvTranspose2d(4, 2, 1)`` == flax ``padding='SAME'`` == ``((2, 2), (2, 2))`` (exact 2x).
(Note: for odd k, flax ``'SAME'`` is not a PyTorch ``p``: k=5, s=2 'SAME' is ``(3, 2)``, PyTorch
``p=2, output_padding=1`` is ``(2, 3)``; both give exactly 2x output, shifted by one kernel tap.)
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from jax import lax
from jax.custom_derivatives import SymbolicZero

from jaxgen.errors import JaxgenError
from jaxgen.nn import taps

__all__ = [
    "ConvTranspose",
    "IMPL_ENV",
    "StridedConv",
    "conv",
    "conv_transpose",
    "conv_transpose_subpixel",
    "default_impl",
    "depth_to_space",
    "space_to_depth",
    "torch_padding",
    "transpose_padding",
]

Array = jax.Array


def transpose_padding(
    padding: str | int | Sequence[int] | Sequence[tuple[int, int]],
    kernel_size: Sequence[int],
    strides: Sequence[int],
) -> tuple[tuple[int, int], ...]:
    """Resolve a ``flax.linen.ConvTranspose`` padding spec to explicit ``(lo, hi)`` pairs.

    Matches ``lax.conv_transpose``: the strings mean "the transpose of a forward conv with this padding";
    explicit pairs are the padding of the dilated input.
    """
    nd = len(kernel_size)
    if isinstance(padding, str):
        mode = padding.upper()
        if mode not in ("SAME", "VALID"):
            raise NotImplementedError(
                f"ConvTranspose padding {padding!r} is not supported (use 'SAME', 'VALID' or explicit pairs)"
            )
        out = []
        for k, s in zip(kernel_size, strides):
            if mode == "SAME":
                pad_len = k + s - 2
                pad_a = k - 1 if s > k - 1 else int(math.ceil(pad_len / 2))
            else:
                pad_len = k + s - 2 + max(k - s, 0)
                pad_a = k - 1
            out.append((pad_a, pad_len - pad_a))
        return tuple(out)
    if isinstance(padding, int):
        return ((padding, padding),) * nd
    pads = []
    for p in padding:
        if isinstance(p, int):
            pads.append((p, p))
        else:
            lo, hi = p
            pads.append((int(lo), int(hi)))
    if len(pads) != nd:
        raise ValueError(f"padding {padding!r} must have {nd} entries")
    return tuple(pads)


def torch_padding(kernel_size: int, padding: int, output_padding: int = 0) -> tuple[int, int]:
    """flax/lax explicit ``(lo, hi)`` equivalent of PyTorch ``ConvTranspose2d(padding, output_padding)``."""
    return (kernel_size - 1 - padding, kernel_size - 1 - padding + output_padding)


def depth_to_space(y: Array, s: tuple[int, int], features: int) -> Array:
    """``[N, H, W, sh*sw*C]`` (channel order ``(ih, iw, c)``) -> ``[N, H*sh, W*sw, C]``."""
    n, h, w, _ = y.shape
    sh, sw = s
    y = y.reshape(n, h, w, sh, sw, features)
    y = y.transpose(0, 1, 3, 2, 4, 5)
    return y.reshape(n, h * sh, w * sw, features)


def space_to_depth(x: Array, s: tuple[int, int]) -> Array:
    """Inverse of :func:`depth_to_space`: ``[N, H*sh, W*sw, C]`` -> ``[N, H, W, sh*sw*C]``."""
    n, hh, ww, c = x.shape
    sh, sw = s
    x = x.reshape(n, hh // sh, sh, ww // sw, sw, c)
    x = x.transpose(0, 1, 3, 2, 4, 5)
    return x.reshape(n, hh // sh, ww // sw, sh * sw * c)


def _selection(k: int, s: int, taps: int, phase_i: Sequence[int], offsets: Sequence[int]) -> np.ndarray:
    """One-hot ``S[j, w, p]``: kernel tap ``j`` lands at window position ``w`` of output phase column ``p``.

    Phase column ``p`` uses sub-position ``i = phase_i[p]`` (taps ``K_sub[u, i] = K[s*u + s-1-i]``) shifted
    by ``offsets[p]`` window positions.
    """
    t = -(-k // s)
    sel = np.zeros((k, taps, len(phase_i)), np.float32)
    for p, (i, off) in enumerate(zip(phase_i, offsets)):
        for u in range(t):
            j = s * u + s - 1 - i
            if j < k:
                sel[j, u + off, p] = 1.0
    return sel


def _build_kernel(kernel: Array, sel_h: np.ndarray, sel_w: np.ndarray) -> Array:
    """``[kh, kw, Cin, Cout]`` -> ``[Wh, Ww, Cin, Ph*Pw*Cout]`` (a tiny einsum with one-hot matrices, so that
    both the kernel and its gradient are plain dots: no gather/scatter, no reversal)."""
    _, _, cin, cout = kernel.shape
    k = jnp.einsum("hwio,hap,wbq->abipqo", kernel, sel_h.astype(kernel.dtype), sel_w.astype(kernel.dtype))
    return k.reshape(sel_h.shape[1], sel_w.shape[1], cin, sel_h.shape[2] * sel_w.shape[2] * cout)


class _Plan1D:
    """Static bookkeeping for one spatial dimension (see the module docstring)."""

    def __init__(self, n_in: int, k: int, s: int, lo: int, hi: int):
        self.n_in, self.k, self.s = n_in, k, s
        self.t = -(-k // s)
        self.out_len = (n_in - 1) * s + 1 + lo + hi - k + 1
        if self.out_len <= 0:
            raise ValueError(f"ConvTranspose output would be empty (in={n_in}, k={k}, s={s}, pad=({lo},{hi}))")
        base = lo - s + 1  # output position of (block 0, sub-position 0)
        # "subpixel": blocks q0..q1 cover [0, out_len); crop the depth-to-space result at the front.
        q0 = -(lo // s)  # ceil(-lo / s)
        q1 = -(-(self.out_len - 1 - lo) // s)
        self.sub_pad = (-q0, q1 + self.t - n_in)
        self.sub_crop = -(s * q0 + base)
        # phase-aligned impls: output s*m + r (m < M) is block q = m + d_r, sub-position i_r.
        self.aligned = self.out_len % s == 0
        self.m = self.out_len // s
        self.phase_i = [(r - base) % s for r in range(s)]
        self.phase_d = [(r - base - i) // s for r, i in zip(range(s), self.phase_i)]

    def subpixel(self):
        sel = _selection(self.k, self.s, self.t, range(self.s), [0] * self.s)
        return sel, self.sub_pad

    def window(self):
        dmin, dmax = min(self.phase_d), max(self.phase_d)
        taps = self.t + dmax - dmin
        sel = _selection(self.k, self.s, taps, self.phase_i, [d - dmin for d in self.phase_d])
        return sel, (-dmin, self.m + dmin + taps - 1 - self.n_in)

    def phase(self, r: int):
        sel = _selection(self.k, self.s, self.t, [self.phase_i[r]], [0])
        d = self.phase_d[r]
        return sel, (-d, self.m + d + self.t - 1 - self.n_in)


def _conv(x: Array, k: Array, pad_h: tuple[int, int], pad_w: tuple[int, int], precision: Any) -> Array:
    """Stride-1 NHWC/HWIO correlation; the input is padded explicitly (this keeps XLA:CPU on its fast
    Eigen convolution for the kernel gradient; folding the padding into the conv did not for 2x2 kernels)."""
    if any(pad_h + pad_w):
        x = lax.pad(x, jnp.zeros((), x.dtype), ((0, 0, 0), (*pad_h, 0), (*pad_w, 0), (0, 0, 0)))
    return lax.conv_general_dilated(
        x, k.astype(x.dtype), (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=precision
    )


_PURE_IMPLS = ("subpixel", "window", "phases", "lax")
IMPLS = ("fast",) + _PURE_IMPLS
CONV_IMPLS = ("fast", "lax")  # StridedConv / conv: sub-pixel input gradient, or XLA's own
DN = ("NHWC", "HWIO", "NHWC")


IMPL_ENV = "JAXGEN_UPSAMPLE_IMPL"  # forces default_impl() for measurements: "fast" or "lax"


def default_impl(backend: str | None = None) -> str:
    """The lowering a layer uses when none is given, by `backend` (default: ``jax.default_backend()``).

    ``"fast"`` on ``"cpu"`` (measured: XLA:CPU's lhs-dilated convolutions, the transposed conv and the strided
    conv's input gradient, are its slow path; docs/benchmarks.md) and on ``"gpu"`` (measured on an NVIDIA H200 by
    ``tools/device_check.py``: faster in all 8 rows, 1.01-1.06x at batch 64, 1.02-1.33x at batch 256);
    ``"lax"`` (XLA's own lowering) on every other backend (TPU), where nothing has been measured yet. Both are in
    :data:`IMPLS` and :data:`CONV_IMPLS`.

    ``$JAXGEN_UPSAMPLE_IMPL`` (:data:`IMPL_ENV`), when set and not empty, is returned instead, whatever the
    backend: it is read while a layer is traced, so a program compiled under it keeps that lowering. It is for
    timing one lowering against the other on a backend (``tools/device_check.py``); a value outside
    :data:`CONV_IMPLS` is a :class:`~jaxgen.errors.JaxgenError`.
    """
    forced = os.environ.get(IMPL_ENV)
    if forced:
        if forced not in CONV_IMPLS:
            raise JaxgenError(f"environment variable {IMPL_ENV} must be one of {CONV_IMPLS} (or unset: the "
                              f"backend chooses), got {forced!r}")
        return forced
    backend = jax.default_backend() if backend is None else backend
    return "fast" if backend in ("cpu", "gpu") else "lax"


def conv_transpose_subpixel(
    x: Array,
    kernel: Array,
    strides: tuple[int, int],
    padding: Any = "SAME",
    precision: Any = None,
    impl: str = "subpixel",
) -> Array:
    """``lax.conv_transpose(x, kernel, strides, padding)`` (NHWC/HWIO, no kernel flip) without lhs dilation.

    ``impl``:
      * ``"subpixel"``: one ``ceil(k/s)``-tap stride-1 conv to ``s*s*Cout`` channels, depth-to-space, crop
        (k=4, s=2: a 2x2 conv over x padded by 1, output ``(H+1, W+1)`` blocks).
      * ``"window"``: one conv whose window covers every phase's taps (zeros elsewhere), depth-to-space, no crop
        (k=4, s=2: the 3x3 "sub-pixel" conv, 9/4 of the FLOPs).
      * ``"phases"``: one ``ceil(k/s)``-tap conv per output phase (``s*s`` convs), interleaved; no wasted FLOPs.
      * ``"lax"``: ``lax.conv_transpose`` itself (reference; slow kernel gradient on XLA:CPU).
    ``"window"``/``"phases"`` need ``out % s == 0``; otherwise they fall back to ``"subpixel"``.
    """
    if x.ndim != 4 or kernel.ndim != 4:
        raise ValueError(f"expected NHWC input and HWIO kernel, got {x.shape} and {kernel.shape}")
    if impl not in _PURE_IMPLS:
        raise ValueError(f"impl must be one of {_PURE_IMPLS}, got {impl!r}")
    kh, kw, _, cout = kernel.shape
    sh, sw = strides
    pads = transpose_padding(padding, (kh, kw), (sh, sw))
    if impl == "lax":
        return lax.conv_transpose(x, kernel, (sh, sw), pads, dimension_numbers=DN, precision=precision)
    ph = _Plan1D(x.shape[1], kh, sh, *pads[0])
    pw = _Plan1D(x.shape[2], kw, sw, *pads[1])
    if impl in ("window", "phases") and not (ph.aligned and pw.aligned):
        impl = "subpixel"
    n = x.shape[0]
    if impl == "subpixel":
        (sel_h, pad_h), (sel_w, pad_w) = ph.subpixel(), pw.subpixel()
        y = _conv(x, _build_kernel(kernel, sel_h, sel_w), pad_h, pad_w, precision)
        y = depth_to_space(y, (sh, sw), cout)
        return y[:, ph.sub_crop : ph.sub_crop + ph.out_len, pw.sub_crop : pw.sub_crop + pw.out_len, :]
    if impl == "window":
        (sel_h, pad_h), (sel_w, pad_w) = ph.window(), pw.window()
        y = _conv(x, _build_kernel(kernel, sel_h, sel_w), pad_h, pad_w, precision)
        return depth_to_space(y, (sh, sw), cout)
    rows = []
    for rh in range(sh):
        cols = []
        for rw in range(sw):
            (sel_h, pad_h), (sel_w, pad_w) = ph.phase(rh), pw.phase(rw)
            cols.append(_conv(x, _build_kernel(kernel, sel_h, sel_w), pad_h, pad_w, precision))
        rows.append(jnp.stack(cols, axis=3))  # [N, M_h, M_w, sw, C]
    y = jnp.stack(rows, axis=2)  # [N, M_h, sh, M_w, sw, C]
    return y.reshape(n, ph.out_len, pw.out_len, cout)


def _primal_impl(features: int, strides: Sequence[int]) -> str:
    """Forward lowering for ``impl="fast"``: ``lax.conv_transpose`` (an lhs-dilated conv, fast forward on
    XLA:CPU) when the sub-pixel conv would have very few output channels (``s*s*features <= 16``, e.g. the RGB
    or grey output layer), else the sub-pixel conv (faster for wide layers)."""
    return "lax" if features * math.prod(strides) <= 16 else "subpixel"


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4, 5))
def _conv_transpose_fast(x, kernel, strides, pads, precision, primal):
    return conv_transpose_subpixel(x, kernel, strides, pads, precision, primal)


def _conv_transpose_fast_jvp(strides, pads, precision, primal, primals, tangents):
    x, kernel = primals
    dx, dk = tangents
    y = conv_transpose_subpixel(x, kernel, strides, pads, precision, primal)
    t = None
    if type(dx) is not SymbolicZero:
        # linear in dx; its transpose (the input gradient) is a plain strided conv of the cotangent
        t = lax.conv_transpose(dx, kernel, strides, pads, dimension_numbers=DN, precision=precision)
    if type(dk) is not SymbolicZero:
        tk = _kernel_tangent(x, dk, y, strides, pads, precision)
        t = tk if t is None else t + tk
    return y, (jnp.zeros_like(y) if t is None else t)


_conv_transpose_fast.defjvp(_conv_transpose_fast_jvp, symbolic_zeros=True)


SUBPIXEL_KERNEL_GRAD_ROWS = 512  # N*H*W of a transposed conv's input up to which its kernel gradient is sub-pixel


def _kernel_tangent(x, dk, y, strides, pads, precision):
    """``conv_transpose(x, dk)``, written so that its transpose (the kernel gradient) is XLA's own kernel
    gradient of the mirror strided conv: ``conv_transpose(x, K)`` is the input gradient of ``conv(., K~)``
    (``K~`` = ``K`` flipped, in/out swapped; padding ``k - 1 - lo``, ``k - 1 - hi``), so
    ``d <c, conv_transpose(x, K)> / dK`` is that conv's kernel gradient for input ``c`` and cotangent ``x``
    (an ordinary rhs-dilated convolution, as in PyTorch; ~1.4x faster than the stride-1 sub-pixel conv's
    kernel gradient for DCGAN's wide layers, ~6x for the image layer).

    The sub-pixel conv's kernel gradient is used instead where the mirror conv cannot express the padding
    (beyond ``k - 1``: a negative mirror padding), and where the gradient sums over few positions
    (``N * H * W <= SUBPIXEL_KERNEL_GRAD_ROWS``, the bottleneck of a U-Net: 1x1 to 4x4 inputs, 512-1024 channels):
    there the work is in the kernel-sized arrays, and XLA emits the mirror conv's kernel gradient as
    ``[Cout, kh, kw, Cin]``, which every optimizer update then reads transposed (pix2pix's step: 1.3x faster
    with the sub-pixel gradient in those layers; DCGAN's, 3136+ positions per kernel tap, 1.03-1.06x slower)."""
    kh, kw, cin, cout = dk.shape
    fpads = tuple((k - 1 - lo, k - 1 - hi) for k, (lo, hi) in zip((kh, kw), pads))
    if min(min(p) for p in fpads) < 0 or math.prod(x.shape[:3]) <= SUBPIXEL_KERNEL_GRAD_ROWS:
        return conv_transpose_subpixel(x, dk, strides, pads, precision, "subpixel")

    def kernel_grad(c):  # linear in c: [N, H_out, W_out, Cout] -> [kh, kw, Cin, Cout]
        k_mirror = jnp.zeros((kh, kw, cout, cin), dk.dtype)
        conv_c = lambda k: lax.conv_general_dilated(c, k, strides, fpads, dimension_numbers=DN, precision=precision)
        grad = jax.vjp(conv_c, k_mirror)[1](x.astype(dk.dtype))[0]
        return jnp.swapaxes(grad[::-1, ::-1], 2, 3)

    return jax.linear_transpose(kernel_grad, jax.ShapeDtypeStruct(y.shape, dk.dtype))(dk)[0]


def conv_transpose(
    x: Array,
    kernel: Array,
    strides: Sequence[int],
    padding: Any = "SAME",
    precision: Any = None,
    impl: str | None = None,
) -> Array:
    """``lax.conv_transpose(x, kernel, strides, padding, dimension_numbers=NHWC/HWIO)``, fast on XLA:CPU.

    ``impl`` None (default): :func:`default_impl` (``"fast"`` on the CPU, ``"lax"`` elsewhere).
    ``impl="fast"`` is a ``jax.custom_jvp`` function whose three roles each use the fastest
    lowering measured on XLA:CPU (jax 0.10, 2 cores, DCGAN shapes):

    * forward: the sub-pixel conv (or ``lax.conv_transpose`` for very few output channels, see
      :func:`_primal_impl`);
    * input gradient: the transpose of ``lax.conv_transpose`` w.r.t. its input, i.e. a strided convolution of
      the cotangent (no padding/space-to-depth overhead, no wasted border blocks);
    * kernel gradient: the kernel gradient of the mirror strided convolution (see :func:`_kernel_tangent`;
      ``lax.conv_transpose``'s own kernel gradient is an lhs-dilated convolution that XLA:CPU runs ~20x slower).

    Being a ``custom_jvp`` (not ``custom_vjp``), it supports ``jvp``, ``grad``, ``grad``-of-``grad`` and
    forward-over-reverse Hessian-vector products. The other ``impl`` values are the plain (autodiff)
    lowerings of :func:`conv_transpose_subpixel`.
    """
    impl = default_impl() if impl is None else impl
    if impl not in IMPLS:
        raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
    strides = tuple(int(s) for s in strides)
    pads = transpose_padding(padding, kernel.shape[:2], strides)
    if impl == "fast" and taps.few_positions("conv_transpose", math.prod(x.shape[:3]), kernel.shape):
        return taps.conv_transpose_taps(x, kernel, strides, pads, precision)
    if impl == "fast":
        return _conv_transpose_fast(x, kernel, strides, pads, precision, _primal_impl(kernel.shape[-1], strides))
    return conv_transpose_subpixel(x, kernel, strides, pads, precision, impl)


# ---------------------------------------------------------------------------------------------------------------
# Strided convolution whose *input gradient* is the sub-pixel up-sampling above.
#
# The input gradient of a strided conv is a transposed (lhs-dilated) convolution, which XLA:CPU runs at about
# half the speed of an ordinary conv; in a GAN it is on the hot path (D's hidden layers in every D step, all of
# D in every G step). ``conv`` keeps XLA's fast strided forward conv and kernel gradient, and routes the input
# gradient through :func:`conv_transpose_subpixel`.


def conv_padding(padding: Any, in_hw: Sequence[int], kernel_size: Sequence[int], strides: Sequence[int]):
    """Explicit ``((lo, hi), (lo, hi))`` for a ``flax.linen.Conv``-style padding spec."""
    if isinstance(padding, str):
        if padding.upper() not in ("SAME", "VALID"):
            raise NotImplementedError(f"conv padding {padding!r} is not supported (use 'SAME', 'VALID' or pairs)")
        pads = lax.padtype_to_pads(tuple(in_hw), tuple(kernel_size), tuple(strides), padding.upper())
        return tuple(tuple(p) for p in pads)
    if isinstance(padding, int):
        return ((padding, padding),) * len(kernel_size)
    return tuple((p, p) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in padding)


def _conv_input_transpose_padding(n_in, k, s, lo, hi):
    """Padding of the transposed conv that maps the strided conv's output cotangent back to ``n_in``."""
    m = taps.conv_out_size(n_in, k, s, lo, hi)
    a = k - 1 - lo
    return (a, n_in + k - 2 - (m - 1) * s - a)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2, 3, 4))
def _conv_fast(x, kernel, strides, pads, precision):
    return lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=DN, precision=precision)


def _conv_fast_jvp(strides, pads, precision, primals, tangents):
    x, kernel = primals
    dx, dk = tangents
    y = lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=DN, precision=precision)
    t = None
    if type(dx) is not SymbolicZero:
        kh, kw, cin, _ = kernel.shape
        kt = jnp.swapaxes(kernel[::-1, ::-1], 2, 3)  # flipped, [kh, kw, Cout, Cin]
        tpads = tuple(
            _conv_input_transpose_padding(n, k, s, lo, hi)
            for n, k, s, (lo, hi) in zip(x.shape[1:3], (kh, kw), strides, pads)
        )

        def input_grad(g):  # the exact transpose of the strided conv w.r.t. x, lowered sub-pixel
            return conv_transpose_subpixel(g, kt, strides, tpads, precision, _primal_impl(cin, strides))

        # linear in dx, written as the transpose of input_grad: reverse mode transposes it back to input_grad
        t = jax.linear_transpose(input_grad, jax.ShapeDtypeStruct(y.shape, y.dtype))(dx)[0]
    if type(dk) is not SymbolicZero:
        tk = lax.conv_general_dilated(x, dk, strides, pads, dimension_numbers=DN, precision=precision)
        t = tk if t is None else t + tk
    return y, (jnp.zeros_like(y) if t is None else t)


_conv_fast.defjvp(_conv_fast_jvp, symbolic_zeros=True)


def conv(
    x: Array, kernel: Array, strides: Sequence[int], padding: Any = "SAME", precision: Any = None,
    impl: str | None = None,
) -> Array:
    """``lax.conv_general_dilated`` (NHWC/HWIO); with ``impl="fast"`` and strides > 1, a sub-pixel input gradient
    (``custom_jvp``). With ``impl="fast"`` on the CPU and non-negative padding, :mod:`jaxgen.nn.taps`' matrix-product
    lowerings where its rules say they win: few positions and a big kernel (a U-Net's bottleneck,
    :func:`~jaxgen.nn.taps.few_positions`), few outputs at stride 1 (an RGB output layer,
    :func:`~jaxgen.nn.taps.faster`), few inputs at stride 1 (an RGB input layer's input gradient,
    :func:`~jaxgen.nn.taps.input_faster`).
    ``impl`` None (default): :func:`default_impl` (``"fast"`` on the CPU, ``"lax"`` elsewhere)."""
    impl = default_impl() if impl is None else impl
    if impl not in CONV_IMPLS:
        raise ValueError(f"impl must be one of {CONV_IMPLS}, got {impl!r}")
    strides = tuple(int(s) for s in strides)
    pads = conv_padding(padding, x.shape[1:3], kernel.shape[:2], strides)
    if impl == "fast" and min(min(p) for p in pads) >= 0:
        out_hw = [taps.conv_out_size(n, k, s, lo, hi)
                  for n, k, s, (lo, hi) in zip(x.shape[1:3], kernel.shape[:2], strides, pads)]
        if taps.few_positions("conv", x.shape[0] * math.prod(out_hw), kernel.shape):
            return taps.conv_patches(x, kernel, strides, pads, precision)
        if taps.faster(kernel.shape, strides):
            return taps.conv_taps(x, kernel, pads, precision)
        if taps.input_faster(kernel.shape, strides, pads):
            return taps.conv_input_taps(x, kernel, pads, precision)
    if impl == "lax" or strides == (1, 1):
        return lax.conv_general_dilated(x, kernel, strides, pads, dimension_numbers=DN, precision=precision)
    return _conv_fast(x, kernel, strides, pads, precision)


class StridedConv(nn.Module):
    """2-D convolution with ``flax.linen.Conv``'s parameters and numbers (``kernel [kh, kw, Cin, Cout]``,
    ``bias``), lowered by :func:`conv`: for strides > 1 its input gradient avoids XLA:CPU's slow lhs-dilated
    convolution; RGB layers and few-position layers with big kernels run as matrix products on the CPU.
    ``impl``: None (the backend's :func:`default_impl`), ``"fast"`` or ``"lax"`` (for tests and benchmarks).
    Not supported: dilation, feature groups, ``'CIRCULAR'`` padding, masks."""

    features: int
    kernel_size: int | Sequence[int]
    strides: int | Sequence[int] | None = None
    padding: Any = "SAME"
    use_bias: bool = True
    dtype: Any = None
    param_dtype: Any = jnp.float32
    precision: Any = None
    kernel_init: Any = nn.initializers.lecun_normal()
    bias_init: Any = nn.initializers.zeros_init()
    impl: str | None = None

    @nn.compact
    def __call__(self, inputs: Array) -> Array:
        ks, st = _pair(self.kernel_size), _pair(self.strides)
        if len(ks) != 2 or inputs.ndim != 4:
            raise NotImplementedError("StridedConv supports 2-D NHWC inputs only")
        kernel = self.param("kernel", self.kernel_init, ks + (inputs.shape[-1], self.features), self.param_dtype)
        bias = self.param("bias", self.bias_init, (self.features,), self.param_dtype) if self.use_bias else None
        inputs, kernel, bias = nn.dtypes.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        y = conv(inputs, kernel, st, self.padding, self.precision, self.impl)
        if bias is not None:
            y = y + bias.reshape((1, 1, 1, -1))
        return y


def _pair(value) -> tuple[int, ...]:
    """A flax-style 2-D size attribute (None = 1, an int, or a sequence) as a tuple."""
    value = 1 if value is None else value
    return (value,) * 2 if isinstance(value, int) else tuple(value)


class ConvTranspose(nn.Module):
    """2-D transposed convolution, numerically ``flax.linen.ConvTranspose``, lowered to a sub-pixel conv.

    Attributes mirror ``flax.linen.ConvTranspose`` (see the module docstring for the padding
    conventions and the PyTorch mapping), plus ``impl`` (see :func:`conv_transpose`; default None: the backend's
    :func:`default_impl`; set it only in tests and benchmarks).
    Not supported: kernel dilation, ``'CIRCULAR'`` padding, inputs other than ``[..., H, W, C]``.
    """

    features: int
    kernel_size: int | Sequence[int]
    strides: int | Sequence[int] | None = None
    padding: Any = "SAME"
    kernel_dilation: int | Sequence[int] | None = None
    use_bias: bool = True
    mask: Array | None = None
    dtype: Any = None
    param_dtype: Any = jnp.float32
    precision: Any = None
    kernel_init: Any = nn.initializers.lecun_normal()
    bias_init: Any = nn.initializers.zeros_init()
    transpose_kernel: bool = False
    impl: str | None = None

    @nn.compact
    def __call__(self, inputs: Array) -> Array:
        ks = _pair(self.kernel_size)
        if len(ks) != 2:
            raise NotImplementedError(f"ConvTranspose supports 2-D kernels only, got kernel_size={self.kernel_size}")
        st = _pair(self.strides)
        if _pair(self.kernel_dilation) != (1, 1):
            raise NotImplementedError("ConvTranspose: kernel_dilation is not supported (use flax.linen.ConvTranspose)")

        batch_shape = inputs.shape[:-3]
        if len(batch_shape) != 1:
            inputs = inputs.reshape((-1,) + inputs.shape[-3:])
        in_features = inputs.shape[-1]
        kshape = ks + ((self.features, in_features) if self.transpose_kernel else (in_features, self.features))
        if self.mask is not None and self.mask.shape != kshape:
            raise ValueError(f"Mask needs to have the same shape as weights. Shapes are: {self.mask.shape}, {kshape}")
        kernel = self.param("kernel", self.kernel_init, kshape, self.param_dtype)
        if self.mask is not None:
            kernel = kernel * self.mask
        bias = self.param("bias", self.bias_init, (self.features,), self.param_dtype) if self.use_bias else None
        inputs, kernel, bias = nn.dtypes.promote_dtype(inputs, kernel, bias, dtype=self.dtype)
        if self.transpose_kernel:  # lax: flip spatial axes and swap in/out channels
            kernel = jnp.swapaxes(kernel[::-1, ::-1], 2, 3)

        y = conv_transpose(inputs, kernel, st, self.padding, self.precision, self.impl)
        if bias is not None:
            y = y + bias.reshape((1, 1, 1, -1))
        if len(batch_shape) != 1:
            y = y.reshape(batch_shape + y.shape[1:])
        return y
