"""Masked convolutions for autoregressive image models (van den Oord, Kalchbrenner & Kavukcuoglu 2016,
"Pixel Recurrent Neural Networks", arXiv:1601.06759, Sec. 3.4 and Fig. 2).

A ``kh x kw`` kernel (both odd) centred on pixel ``(i, j)`` sees the rows above the centre and, in the
centre row, the columns left of it. In the centre pixel, the ``C`` colour channels are ordered R -> G -> B:
input and output features are split into ``C`` contiguous groups (feature ``f`` of ``F`` is in group
``f * C // F``; the image itself is ``F = C``, one channel per group) and an output of group ``j`` sees
input groups ``< j`` (type ``"A"``, the first layer: no pixel sees itself) or ``<= j`` (type ``"B"``, every
later layer). With ``C = 1`` these are the usual single-channel masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from jax import lax

__all__ = ["MASK_TYPES", "MaskedConv", "channel_groups", "mask"]

MASK_TYPES = ("A", "B")


def channel_groups(features: int, groups: int) -> np.ndarray:
    """The colour group (0 = R, 1 = G, ...) of each of ``features`` features: contiguous blocks -> int [F]."""
    if features < groups:
        raise ValueError(f"{features} features cannot be split into {groups} colour groups")
    return np.arange(features) * groups // features


def mask(kernel_size: Sequence[int], in_features: int, out_features: int, mask_type: str,
         groups: int = 1) -> np.ndarray:
    """The 0/1 mask of a ``kernel_size`` convolution of type ``mask_type`` -> float32 ``[kh, kw, Cin, Cout]``."""
    kh, kw = kernel_size
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"masked convolutions need odd kernel sizes, got {tuple(kernel_size)}")
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}")
    ci, cj = kh // 2, kw // 2
    m = np.zeros((kh, kw, in_features, out_features), np.float32)
    m[:ci] = 1.0
    m[ci, :cj] = 1.0
    g_in = channel_groups(in_features, groups)[:, None]
    g_out = channel_groups(out_features, groups)[None, :]
    m[ci, cj] = (g_in < g_out) if mask_type == "A" else (g_in <= g_out)
    return m


class MaskedConv(nn.Module):
    """Stride-1 ``SAME`` convolution whose kernel ``[kh, kw, Cin, Cout]`` is multiplied by :func:`mask`:
    ``[N, H, W, Cin] -> [N, H, W, features]``. A 1x1 kernel is computed as a matrix product."""

    features: int
    kernel_size: tuple[int, int]
    mask_type: str = "B"
    groups: int = 1  # colour channels C
    use_bias: bool = True
    kernel_init: Any = nn.initializers.lecun_normal()
    bias_init: Any = nn.initializers.zeros_init()
    dtype: Any = jnp.float32  # computation dtype (parameters float32)

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        shape = tuple(self.kernel_size) + (x.shape[-1], self.features)
        m = mask(self.kernel_size, x.shape[-1], self.features, self.mask_type, self.groups)
        kernel = self.param("kernel", self.kernel_init, shape, jnp.float32) * m
        bias = self.param("bias", self.bias_init, (self.features,), jnp.float32) if self.use_bias else None
        x, kernel, bias = nn.dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)
        if shape[:2] == (1, 1):
            y = x @ kernel[0, 0]
        else:
            y = lax.conv_general_dilated(x, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        return y if bias is None else y + bias
