"""PixelCNN as in van den Oord, Kalchbrenner & Kavukcuoglu 2016, "Pixel Recurrent Neural Networks"
(arXiv:1601.06759, Table 1 / Sec. 3.5): a 7x7 type-A masked conv to ``features`` (the paper's ``2h``),
``blocks`` residual blocks ``h + [ReLU -> 1x1 B (h/2) -> ReLU -> 3x3 B (h/2) -> ReLU -> 1x1 B (h)](h)``,
then the output head of `jaxgen.models.autoregressive` (``head_features`` hidden units, ReLU, 1x1 B).

Data ``"binary"`` (one Bernoulli logit per sub-pixel) or ``"8bit"`` (256-way softmax per sub-pixel, R -> G
-> B); see `jaxgen.models.autoregressive` for the input scaling and the sampler. The receptive field of
stacked masked 3x3 convs has the well-known blind spot (upper-right pixels it never sees); see
`jaxgen.models.gated_pixelcnn` for the fix.
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

__all__ = ["PixelCNN", "density", "model"]


class PixelCNN(ar.Autoregressive):
    """See the module docstring and `jaxgen.models.autoregressive.Autoregressive` for shapes."""

    features: int = 64
    blocks: int = 5

    @property
    def field(self):
        return 3 + self.blocks, 3 + self.blocks  # 7x7: 3 rows up / 3 columns each side; each 3x3: one more

    @nn.compact
    def __call__(self, x, labels=None):
        c, f, dtype = self.channels, self.features, self.dtype
        h = MaskedConv(f, (7, 7), "A", c, dtype=dtype, name="input")(x)

        def block(module, h, b):  # h + 1x1 (f/2) -> 3x3 (f/2) -> 1x1 (f), each after a ReLU
            r = MaskedConv(f // 2, (1, 1), "B", c, dtype=dtype, name=f"block{b}_in")(nn.relu(h))
            r = MaskedConv(f // 2, (3, 3), "B", c, dtype=dtype, name=f"block{b}_conv")(nn.relu(r))
            return h + MaskedConv(f, (1, 1), "B", c, dtype=dtype, name=f"block{b}_out")(nn.relu(r))

        block = rematerialised(block, self.remat)
        for b in range(self.blocks):
            h = block(self, h, b)
        return self.head()(h)


def model(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> PixelCNN:
    """The PixelCNN of ``cfg`` (unconditional: ``num_classes`` is ignored), computing in ``dtype``, its blocks
    rematerialised if ``remat``."""
    get = ar.config_getter(cfg, model_defaults.pixelcnn)
    data, channels = ar.validate(get, image_shape, "features", "head_features")
    if int(get("features")) % (2 * channels):
        raise ConfigError(f"model.features={get('features')} must be a multiple of 2 * {channels} channels "
                          f"(the blocks' inner width is features / 2)")
    return PixelCNN(data=data, channels=channels, head_features=int(get("head_features")),
                    features=int(get("features")), blocks=int(get("blocks")), dtype=dtype, remat=remat)


def density(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> Density:
    """The PixelCNN of ``cfg`` as an exact `Density` on ``image_shape = (H, W, C)`` (see :func:`model`)."""
    return ar.density(model(cfg, image_shape, num_classes, dtype=dtype, remat=remat), image_shape)
