"""pix2pix's networks (Isola et al. 2017): the U-Net generator and the PatchGAN discriminator of :mod:`jaxgen.nn`.

``generator(cfg, source_shape, target_shape)``: :class:`jaxgen.nn.unet.UNet` from ``source [N, H, W, Cs]`` to
``target [N, H, W, Ct]``, its depth log2(H) (6 at 64 px, the paper's 8 at 256). ``discriminator(cfg, source_shape,
target_shape)``: :class:`jaxgen.nn.patchgan.PatchGAN` on ``concat(source, target) [N, H, W, Cs + Ct]`` (the
conditional D the paired game feeds), ``cfg.d_layers`` stride-2 layers (0: sized to the image,
:func:`jaxgen.nn.patchgan.layers_for`: 70x70 patches at 256 px, 34x34 at 64 px). Both take ``dtype`` / ``remat``.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxgen.errors import ConfigError
from jaxgen.nn import patchgan, unet

__all__ = ["discriminator", "generator"]


def _square(shape, what: str) -> int:
    if len(shape) != 3 or shape[0] != shape[1]:
        raise ConfigError(f"pix2pix needs square images [H, H, C]; the {what} images are {tuple(shape)} "
                          f"(set data.image_size or data.crop)")
    return int(shape[0])


def _norm(cfg) -> str:
    return unet.checked_norm(cfg.norm)


def generator(cfg, source_shape, target_shape, *, dtype=jnp.float32, remat=False) -> unet.UNet:
    """The U-Net of ``cfg`` from source images to target images (shapes ``(H, W, C)``, the same H and W)."""
    size = _square(source_shape, "source")
    if tuple(source_shape[:2]) != tuple(target_shape[:2]):
        raise ConfigError(f"pix2pix translates images of one size; source {tuple(source_shape)}, target "
                          f"{tuple(target_shape)}")
    if not 0 <= cfg.dropout < 1:
        raise ConfigError(f"model.dropout must be in [0, 1), got {cfg.dropout}")
    return unet.UNet(out_channels=int(target_shape[-1]), depth=unet.depth_for(size), width=int(cfg.g_width),
                     norm=_norm(cfg), dropout=float(cfg.dropout), dropout_blocks=int(cfg.dropout_blocks), dtype=dtype,
                     remat=remat)


def discriminator(cfg, source_shape, target_shape, *, dtype=jnp.float32, remat=False) -> patchgan.PatchGAN:
    """The PatchGAN of ``cfg`` on ``concat(source, target)``."""
    del target_shape  # D reads the channels from its input
    return patchgan.sized(_square(source_shape, "source"), cfg.d_layers, cfg.d_width, _norm(cfg), dtype=dtype,
                          remat=remat)
