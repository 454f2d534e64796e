"""Gated PixelCNN (van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu 2016, "Conditional
Image Generation with PixelCNN Decoders", arXiv:1606.05328, Fig. 2), without the blind spot.

Two stacks of ``layers`` gated layers (``n = kernel_size``, ``F = features``):

* vertical: sees the rows strictly above: its input is the image moved down one row (`down_shift`), then
  each layer is a ``(n//2 + 1) x n`` conv covering its input's rows ``i - n//2 .. i`` (no future rows);
* horizontal: ``1 x n`` masked convs over the current row (type A in the first layer, B after: columns
  ``<= j``, colour groups as `jaxgen.nn.masked`), plus a 1x1 conv of the vertical pre-activation (it sees
  rows above only, so all its colours may flow into every colour group);
* gates ``tanh(a) * sigmoid(b)`` on ``2F`` pre-activations (``a, b`` interleaved so each keeps its colour
  group), a 1x1 B conv and a residual connection in the horizontal stack (from the second layer on);
* class conditioning (``conditional=True``, labels in ``0..num_classes-1``): a learned embedding
  ``[num_classes, 2F]`` per layer, added to both stacks' pre-activations.

Code grids (``data="codes"``, the VQ-VAE prior): the codes ``[B, H, W, 1]`` are embedded (``levels`` x ``F``)
before both stacks; one colour group. The horizontal stack's output goes through the head of `jaxgen.models.autoregressive`. The receptive field
is the whole past (every earlier pixel, and the earlier colours of the current one) once ``layers * (n//2)``
reaches the image's width and height.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.models import autoregressive as ar
from jaxgen.models.density import Density
from jaxgen.nn.masked import MaskedConv
from jaxgen.nn.remat import rematerialised

__all__ = ["GatedPixelCNN", "density", "model"]


def _gated(a):
    t, s = ar.gate(a)
    return nn.tanh(t) * nn.sigmoid(s)


class GatedPixelCNN(ar.Autoregressive):
    """See the module docstring and `jaxgen.models.autoregressive.Autoregressive` for shapes."""

    features: int = 32
    layers: int = 6
    kernel_size: int = 3

    @property
    def field(self):
        reach = self.layers * (self.kernel_size // 2)
        return 1 + reach, reach  # the down shift, then n//2 rows / columns per layer

    @nn.compact
    def __call__(self, x, labels=None):
        c, f, k, dtype = self.channels, self.features, self.kernel_size, self.dtype

        def gated_layer(module, stacks, layer):  # (v, h, labels) -> (v, h, labels) after gated layer `layer`
            v, h, labels = stacks
            cond = 0.0
            if self.num_classes is not None:
                cond = nn.Embed(self.num_classes, 2 * f, dtype=dtype, name=f"embed{layer}")(labels)[:, None, None, :]
            v_pre = nn.Conv(2 * f, (k // 2 + 1, k), padding=((k // 2, 0), (k // 2, k // 2)), dtype=dtype,
                            name=f"v{layer}")(v)
            h_pre = MaskedConv(2 * f, (1, k), "A" if layer == 0 else "B", c, dtype=dtype, name=f"h{layer}")(h)
            h_pre = h_pre + nn.Dense(2 * f, dtype=dtype, name=f"v_to_h{layer}")(v_pre)
            v = _gated(v_pre + cond)
            out = MaskedConv(f, (1, 1), "B", c, dtype=dtype, name=f"h_out{layer}")(_gated(h_pre + cond))
            return v, (out if layer == 0 else h + out), labels

        gated_layer = rematerialised(gated_layer, self.remat)
        if self.data == "codes":  # a VQ code grid [B, H, W, 1] of ints: one learned vector per code
            x = nn.Embed(self.levels, f, dtype=dtype, name="embed_codes")(x[..., 0])
        stacks = (ar.down_shift(x), x, labels)
        for layer in range(self.layers):
            stacks = gated_layer(self, stacks, layer)
        return self.head()(stacks[1])


def model(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> GatedPixelCNN:
    """The Gated PixelCNN of ``cfg``; ``num_classes`` (the data's class count) is used iff ``cfg.conditional``;
    computing in ``dtype``, its gated layers rematerialised if ``remat``."""
    get = ar.config_getter(cfg, model_defaults.gated_pixelcnn)
    data, channels = ar.validate(get, image_shape, "features", "head_features")
    k = int(get("kernel_size"))
    if k < 3 or k % 2 == 0:
        raise ConfigError(f"model.kernel_size={k} must be odd and >= 3")
    classes = None
    if get("conditional"):
        if num_classes is None:
            raise ConfigError("model.conditional=True needs class labels, but the data has none; use labelled "
                              "data or model.conditional=False")
        classes = int(num_classes)
    return GatedPixelCNN(data=data, channels=channels, head_features=int(get("head_features")),
                         num_classes=classes, features=int(get("features")), layers=int(get("layers")),
                         kernel_size=k, dtype=dtype, remat=remat)


def density(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> Density:
    """The Gated PixelCNN of ``cfg`` as an exact `Density` on ``image_shape = (H, W, C)`` (see :func:`model`)."""
    return ar.density(model(cfg, image_shape, num_classes, dtype=dtype, remat=remat), image_shape)
