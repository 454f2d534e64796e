"""PixelRNN (van den Oord, Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent Neural Networks",
arXiv:1601.06759, Sec. 3): a 7x7 type-A masked conv to ``features``, ``layers`` residual LSTM layers
(``h <- h + LSTM(h)``, ``features`` hidden units), then the head of `jaxgen.models.autoregressive`.
``cell`` selects the layer:

* ``"row_lstm"`` (Sec. 3.1): ``lax.scan`` over rows; input-to-state a masked 1x3 type-B conv of the layer's
  input (whole map at once), state-to-state a 1x3 conv of the previous row's hidden state (all of it is in
  the past, so unmasked). Its receptive field is a triangle above the pixel (by design, not the whole past).
* ``"diagonal_bilstm"`` (Sec. 3.2): input-to-state a 1x1 type-B conv; the map is skewed (row ``i`` moved
  right by ``i``) so that diagonals become columns, then ``lax.scan`` over the columns with a 2x1
  state-to-state conv (the left and upper neighbours), then unskewed. The right-to-left direction runs the
  same on the horizontally flipped map and is shifted down one row (so it sees rows above only) before
  being added to the left-to-right one. Positions of the skewed map outside the image hold a zero state.

Deviation from the paper: the right-to-left direction also reads the raw pixels (their scaled values,
all colours, concatenated to its input). After the shift they are one row up, hence all in the past; without
them the last pixel of row ``i - 1`` reaches pixel ``(i, j)`` only through the 7x7 first layer (``j >= W -
4``), a blind spot in the paper's "complete" receptive field (the test suite checks it is complete).

The gates of each hidden unit (input, forget, output, candidate) are interleaved so that they keep its
colour group. Data and heads as `jaxgen.models.pixelcnn`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from jax import lax

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import autoregressive as ar
from jaxgen.models.density import Density
from jaxgen.nn.masked import MaskedConv

__all__ = ["CELLS", "DiagonalBiLSTM", "PixelRNN", "RowLSTM", "density", "model"]

CELLS = ("row_lstm", "diagonal_bilstm")


def _lstm(gates: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """One LSTM update from interleaved pre-activations ``[..., 4F]`` and the cell ``[..., F]`` -> (h, c)."""
    i, f, o, g = ar.gate(gates, 4)
    c = nn.sigmoid(f) * c + nn.sigmoid(i) * jnp.tanh(g)
    return nn.sigmoid(o) * jnp.tanh(c), c


def _state_kernel(module: nn.Module, shape) -> jax.Array:
    return module.param("state_kernel", nn.initializers.lecun_normal(), shape, jnp.float32)


class RowLSTM(nn.Module):
    """``[B, H, W, F] -> [B, H, W, features]``: one Row LSTM layer (see the module docstring)."""

    features: int
    groups: int

    @nn.compact
    def __call__(self, x):
        f = self.features
        inputs = MaskedConv(4 * f, (1, 3), "B", self.groups, name="input_to_state")(x)
        kernel = _state_kernel(self, (1, 3, f, 4 * f))

        def row(carry, gates):  # gates [B, W, 4F]
            h, c = carry
            s = lax.conv_general_dilated(h[:, None], kernel, (1, 1), "SAME",
                                         dimension_numbers=("NHWC", "HWIO", "NHWC"))[:, 0]
            h, c = _lstm(gates + s, c)
            return (h, c), h

        zeros = jnp.zeros(x.shape[:1] + x.shape[2:3] + (f,), jnp.float32)
        _, hs = lax.scan(row, (zeros, zeros), jnp.moveaxis(inputs, 1, 0))
        return jnp.moveaxis(hs, 0, 1)


def _skew(x: jax.Array) -> jax.Array:
    """``[B, H, W, F] -> [B, H, W + H - 1, F]``, row ``i`` moved right by ``i``."""
    h = x.shape[1]
    return jnp.stack([jnp.pad(x[:, i], ((0, 0), (i, h - 1 - i), (0, 0))) for i in range(h)], axis=1)


def _unskew(x: jax.Array, width: int) -> jax.Array:
    return jnp.stack([x[:, i, i:i + width] for i in range(x.shape[1])], axis=1)


class DiagonalLSTM(nn.Module):
    """``[B, H, W, F] -> [B, H, W, features]``: one direction (left to right) of the Diagonal BiLSTM."""

    features: int
    groups: int

    @nn.compact
    def __call__(self, x):
        f, (n, h, w, _) = self.features, x.shape
        gates = _skew(MaskedConv(4 * f, (1, 1), "B", self.groups, name="input_to_state")(x))
        kernel = _state_kernel(self, (2, f, 4 * f))  # [upper neighbour, left neighbour]
        rows = np.arange(h)[:, None]
        valid = ((np.arange(w + h - 1)[None, :] - rows >= 0) & (np.arange(w + h - 1)[None, :] - rows < w))

        def column(carry, inp):  # gates [B, H, 4F], valid [H]
            g, ok = inp
            hid, c = carry
            above = jnp.pad(hid, ((0, 0), (1, 0), (0, 0)))[:, :-1]
            hid, c = _lstm(g + above @ kernel[0] + hid @ kernel[1], c)
            ok = ok[None, :, None]
            return (hid * ok, c * ok), hid * ok

        zeros = jnp.zeros((n, h, f), jnp.float32)
        _, hs = lax.scan(column, (zeros, zeros), (jnp.moveaxis(gates, 2, 0), jnp.asarray(valid.T, jnp.float32)))
        return _unskew(jnp.moveaxis(hs, 0, 2), w)


class DiagonalBiLSTM(nn.Module):
    """``h [B, H, W, F]``, ``pixels [B, H, W, C]`` -> ``[B, H, W, features]``: both directions (the right-to-left
    one on the flipped map, shifted down one row, reading ``pixels`` too; see the module docstring)."""

    features: int
    groups: int

    @nn.compact
    def __call__(self, h, pixels):
        left = DiagonalLSTM(self.features, self.groups, name="left_to_right")(h)
        flipped = jnp.concatenate([h, pixels], axis=-1)[:, :, ::-1]
        right = DiagonalLSTM(self.features, 1, name="right_to_left")(flipped)[:, :, ::-1]
        return left + ar.down_shift(right)


class PixelRNN(ar.Autoregressive):
    """See the module docstring and `jaxgen.models.autoregressive.Autoregressive` for shapes."""

    cell: str = "row_lstm"
    features: int = 32
    layers: int = 2

    @nn.compact
    def __call__(self, x, labels=None):
        c, f = self.channels, self.features
        h = MaskedConv(f, (7, 7), "A", c, name="input")(x)
        for layer in range(self.layers):
            if self.cell == "row_lstm":
                h = h + RowLSTM(f, c, name=f"lstm{layer}")(h)
            else:
                h = h + DiagonalBiLSTM(f, c, name=f"lstm{layer}")(h, x)
        return self.head()(h)


def model(cfg, image_shape, num_classes=None) -> PixelRNN:
    """The PixelRNN of ``cfg`` (unconditional: ``num_classes`` is ignored)."""
    get = ar.config_getter(cfg, model_defaults.pixelrnn)
    data, channels = ar.validate(get, image_shape, "features", "head_features")
    if get("cell") not in CELLS:
        raise ConfigError(f"model.cell={get('cell')!r}; choose one of {CELLS}")
    return PixelRNN(data=data, channels=channels, head_features=int(get("head_features")), cell=get("cell"),
                    features=int(get("features")), layers=int(get("layers")))


def density(cfg, image_shape, num_classes=None) -> Density:
    """The PixelRNN of ``cfg`` as an exact `Density` on ``image_shape = (H, W, C)``."""
    return ar.density(model(cfg, image_shape, num_classes), image_shape)
