"""The PatchGAN discriminator of pix2pix (Isola et al. 2017, Appendix 6.1.2): one logit per image patch.

    C64 -> C128 -> ... (``layers`` Conv(4, s2, p1) blocks, channels ``width * min(2**i, 8)``)
        -> C(width * min(2**layers, 8)) Conv(4, s1, p1) -> Conv(4, s1, p1) to 1 channel: logits [N, h, w]

each conv but the last followed by [norm ->] LeakyReLU(0.2); no norm on the first (the paper, and the authors'
``NLayerDiscriminator`` with ``n_layers = layers``). At 256 px the paper's 70x70 PatchGAN is ``layers = 3``:
C64-C128-C256-C512, a 30x30 map of logits.

Receptive field (:func:`receptive_field`). Output position ``o`` of a conv (kernel k, stride s, padding p) reads
inputs ``s*o - p .. s*o - p + k - 1``. Composing the layers from the input up, output ``o`` of the stack reads
``S*o + offset .. S*o + offset + R - 1`` of the image, with ``S`` the product of the strides,
``offset = -sum_l p_l * prod_{m<l} s_m`` and ``R = 1 + sum_l (k_l - 1) * prod_{m<l} s_m``. For ``layers`` stride-2
convs and two stride-1 convs, all 4x4 with padding 1: ``R = 1 + 3 * (3 * 2**layers - 1)``, that is 16, 34, 70, 142
for ``layers`` = 1, 2, 3, 4 (``S = 2**layers``, ``offset = -(3 * 2**layers - 1)``). Windows reaching past the image
read zero padding.

Sizing to the image (:func:`layers_for`): the fewest stride-2 layers whose field covers at least the paper's
fraction of the image (70/256 = 27%): 16 px -> 1 layer (field 16), 32 -> 1 (16), 64 -> 2 (34), 128 and 256 -> 3
(70). The map has ``H / 2**layers - 2`` positions per side.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.nn.init import dcgan_normal
from jaxgen.nn.remat import rematerialised
from jaxgen.nn.unet import norm_layer
from jaxgen.nn.upsample import StridedConv

__all__ = ["PAPER_FRACTION", "PatchGAN", "layers_for", "receptive_field", "sized", "stack"]

PAPER_FRACTION = 70 / 256  # the paper's patch size over its image size


def stack(layers: int) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) of every conv of a PatchGAN with `layers` stride-2 layers, input to output."""
    return [(4, 2, 1)] * layers + [(4, 1, 1)] * 2


def receptive_field(convs: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """``(R, S, offset)`` of a conv stack: output ``o`` reads input rows ``S*o + offset .. S*o + offset + R - 1``."""
    size, jump, offset = 1, 1, 0
    for kernel, stride, padding in convs:
        size += (kernel - 1) * jump
        offset -= padding * jump
        jump *= stride
    return size, jump, offset


def layers_for(size: int) -> int:
    """The fewest stride-2 layers (>= 1) whose receptive field is at least `PAPER_FRACTION` of `size` pixels."""
    layers = 1
    while receptive_field(stack(layers))[0] < PAPER_FRACTION * size:
        layers += 1
    if size // 2**layers < 3:
        raise ConfigError(f"a PatchGAN for {size}-pixel images needs {layers} halvings, leaving fewer than 3 pixels "
                          f"for its two last 4x4 convs: use images of at least 16 pixels (data.image_size)")
    return layers


def sized(size: int, layers: int, width: int, norm: str, *, dtype=jnp.float32, remat=False) -> "PatchGAN":
    """The PatchGAN of `layers` stride-2 layers (0: :func:`layers_for` `size`) for `size`-pixel images; too many
    layers for the size is a ConfigError naming ``model.d_layers``."""
    layers = int(layers) or layers_for(size)
    if size // 2**layers < 3:
        raise ConfigError(f"model.d_layers={layers} halves {size}-pixel images below 3 pixels; use fewer (0: auto)")
    return PatchGAN(layers=layers, width=int(width), norm=norm, dtype=dtype, remat=remat)


class PatchGAN(nn.Module):
    """``images [N, H, W, C] -> logits [N, H / 2**layers - 2, W / 2**layers - 2]`` (float32)."""

    layers: int = 3
    width: int = 64
    norm: str = "batch"  # or "instance", "none"
    dtype: Any = jnp.float32
    remat: bool = False

    @nn.compact
    def __call__(self, x, *, train: bool):
        def block(module, x, i):  # Conv(4) [-> norm] -> LeakyReLU(0.2); stride 2 for the first `layers`
            normed = i > 0 and self.norm != "none"
            _, stride, pad = stack(self.layers)[i]
            x = StridedConv(self.width * min(2**i, 8), (4, 4), (stride, stride), ((pad, pad), (pad, pad)),
                            use_bias=not normed or self.norm == "instance", kernel_init=dcgan_normal,
                            dtype=self.dtype, name=f"conv{i}")(x)
            if normed:
                x = norm_layer(self.norm, train, f"conv{i}_norm", self.dtype)(x)
            return nn.leaky_relu(x, 0.2)

        block = rematerialised(block, self.remat)
        for i in range(self.layers + 1):
            x = block(self, x, i)
        x = StridedConv(1, (4, 4), (1, 1), ((1, 1), (1, 1)), kernel_init=dcgan_normal, dtype=self.dtype,
                        name="logits")(x)
        return x[..., 0].astype(jnp.float32)
