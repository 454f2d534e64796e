"""CycleGAN's networks (Zhu et al. 2017, Appendix 7.2): the ResNet generator and the 70x70 PatchGAN, NHWC.

``generator(cfg, image_shape)``: :class:`ResNetGenerator`, ``images [N, H, W, C] -> [N, H, W, C]`` in [-1, 1]::

    c7s1-w   ReflectConv 7x7 (w = cfg.g_width, the paper's 64) -> norm -> ReLU
    d2w d4w  Conv 3x3 stride 2 (zero padding 1) -> norm -> ReLU, twice               [N, H/4, W/4, 4w]
    R4w x B  :class:`jaxgen.nn.resnet.ResidualBlock` (B = cfg.g_blocks; 0: 6 below 256 px, 9 from 256, the paper)
    u2w uw   ConvTranspose 3x3 stride 2 (PyTorch padding 1, output_padding 1) -> norm -> ReLU, twice
    c7s1-C   ReflectConv 7x7 to the image's channels -> tanh

``norm`` is ``cfg.norm`` (``"instance"``, the paper: :class:`jaxgen.nn.InstanceNorm`, flax's InstanceNorm with a
learnt scale and bias, initialised at 1 and 0: the authors' code has ``affine=False``, the same function at
initialisation); every convolution keeps its bias (the authors' ``use_bias`` with instance norm). H and W must be
multiples of 4 and at least 8.

``discriminator(cfg, image_shape)``: :class:`jaxgen.nn.patchgan.PatchGAN` with ``cfg.d_layers`` stride-2 layers (3:
the paper's 70x70 patches, C64-C128-C256-C512, used at every image size as the authors' code; 0: sized to the
image, :func:`jaxgen.nn.patchgan.layers_for`), ``cfg.norm``, no norm on the first layer, one logit per patch
``[N, h, w]``. Initialisation ``N(0, 0.02)``, biases 0. Both take ``dtype`` / ``remat``.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.nn import patchgan, unet
from jaxgen.nn.init import dcgan_normal
from jaxgen.nn.remat import rematerialised
from jaxgen.nn.resnet import ReflectConv, ResidualBlock
from jaxgen.nn.upsample import ConvTranspose, StridedConv, torch_padding

__all__ = ["ResNetGenerator", "blocks_for", "discriminator", "generator"]


def blocks_for(size: int) -> int:
    """The paper's residual blocks for `size`-pixel images: 6 below 256 (its 128x128 setting), 9 from 256."""
    return 9 if size >= 256 else 6


def _size(shape) -> int:
    if len(shape) != 3 or shape[0] % 4 or shape[1] % 4 or min(shape[:2]) < 8:
        raise ConfigError(f"the CycleGAN generator halves the image twice: it needs images [H, W, C] with H and W "
                          f"multiples of 4, at least 8 (set data.image_size); got {tuple(shape)}")
    return int(min(shape[:2]))


class ResNetGenerator(nn.Module):
    """``images [N, H, W, C] -> images [N, H, W, out_channels]`` in [-1, 1] (see the module docstring)."""

    out_channels: int
    blocks: int = 6
    width: int = 64
    norm: str = "instance"
    dtype: Any = jnp.float32
    remat: bool = False

    @nn.compact
    def __call__(self, x, *, train: bool):
        def normed(y, name):
            return nn.relu(unet.norm_layer(self.norm, train, f"{name}_norm", self.dtype)(y))

        x = normed(ReflectConv(self.width, 7, self.dtype, name="c7s1")(x), "c7s1")
        for i in (1, 2):  # d128, d256
            x = StridedConv(self.width * 2**i, (3, 3), (2, 2), ((1, 1), (1, 1)), kernel_init=dcgan_normal,
                            dtype=self.dtype, name=f"down{i}")(x)
            x = normed(x, f"down{i}")

        def block(module, x, i):
            return ResidualBlock(self.norm, self.dtype, name=f"res{i}")(x, train=train)

        block = rematerialised(block, self.remat)
        for i in range(self.blocks):
            x = block(self, x, i)
        pad = torch_padding(3, 1, 1)  # PyTorch's ConvTranspose2d(3, stride 2, padding 1, output_padding 1): exact 2x
        for i in (1, 0):  # u128, u64
            x = ConvTranspose(self.width * 2**i, (3, 3), (2, 2), (pad, pad), kernel_init=dcgan_normal,
                              dtype=self.dtype, name=f"up{i}")(x)
            x = normed(x, f"up{i}")
        x = ReflectConv(self.out_channels, 7, self.dtype, name="out")(x)
        return jnp.tanh(x).astype(jnp.float32)


def generator(cfg, image_shape, *, dtype=jnp.float32, remat=False) -> ResNetGenerator:
    """The ResNet generator of ``cfg`` for images of ``image_shape`` ``(H, W, C)`` (to the same shape)."""
    size = _size(image_shape)
    blocks = int(cfg.g_blocks) or blocks_for(size)
    if blocks < 0:
        raise ConfigError(f"config key 'model.g_blocks' must be >= 0 (0: the paper's 6 or 9), got {cfg.g_blocks}")
    return ResNetGenerator(out_channels=int(image_shape[-1]), blocks=blocks, width=int(cfg.g_width),
                           norm=unet.checked_norm(cfg.norm), dtype=dtype, remat=remat)


def discriminator(cfg, image_shape, *, dtype=jnp.float32, remat=False) -> patchgan.PatchGAN:
    """The PatchGAN of ``cfg`` on images of ``image_shape``."""
    return patchgan.sized(_size(image_shape), cfg.d_layers, cfg.d_width, unet.checked_norm(cfg.norm), dtype=dtype,
                          remat=remat)
