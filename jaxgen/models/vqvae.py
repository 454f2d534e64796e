"""The VQ-VAE autoencoder (van den Oord et al. 2017, section 4.1), used by the vq game (:mod:`jaxgen.games.vq`).

Encoder ``x [N, H, W, C] -> z [N, H/4, W/4, D]``: two 4x4 stride-2 convolutions (``width / 2``, ``width``
channels, ReLU), a 3x3 convolution, ``res_blocks`` residual blocks ``x + conv1(relu(conv3(relu(x))))``
(``res_width`` hidden channels), ReLU and a 1x1 convolution to the code dimension ``D = code_dim``.
Quantiser (:class:`jaxgen.nn.quantizer.VectorQuantizer`): ``num_codes`` codes, EMA or loss-trained.
Decoder ``z_q -> x_hat [N, H, W, C]``: a 3x3 convolution to ``width``, the residual blocks, ReLU, two 4x4
stride-2 transposed convolutions (``width / 2``, ReLU, then ``C``); linear output (the pixel scale [-1, 1]).
28 -> 7 for digits, 64 -> 16 for emoji.

``log_scale`` (a scalar parameter) is the decoder likelihood's: a logistic of mean ``x_hat`` and scale
``exp(log_scale)`` discretised into the 256 levels (:func:`jaxgen.losses.likelihood.discretized_logistic_log_prob`),
trained by the game on the reconstruction with ``x_hat`` held fixed, so it only measures (the bits/dim bound).

Methods: ``__call__(x, with_hidden, train)`` -> ``(x_hat, codes [N, h, w], {codebook, commitment, perplexity,
usage}[, the last layer's input])``; ``encode(x)`` -> codes; ``decode(codes)`` -> ``x_hat``; ``last(hidden)``, the
decoder's last layer ``LAST`` (VQ-GAN's adaptive weight differentiates its kernel).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.nn.quantizer import VectorQuantizer
from jaxgen.nn.upsample import ConvTranspose, StridedConv

__all__ = ["DOWNSAMPLE", "VQAutoencoder", "autoencoder", "code_shape"]

DOWNSAMPLE = 4  # two stride-2 convolutions
LAST = "up1"  # the decoder's last layer


class _Residual(nn.Module):
    hidden: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        h = nn.Conv(self.hidden, (3, 3), dtype=self.dtype, name="conv3")(nn.relu(x))
        return x + nn.Conv(x.shape[-1], (1, 1), dtype=self.dtype, name="conv1")(nn.relu(h))


class VQAutoencoder(nn.Module):
    """See the module docstring."""

    channels: int
    width: int = 64
    res_blocks: int = 2
    res_width: int = 32
    num_codes: int = 64
    code_dim: int = 16
    ema: bool = True
    decay: float = 0.99
    restart_after: int = 0
    dtype: Any = jnp.float32

    def setup(self):
        w, d = self.width, self.dtype
        self.down0 = StridedConv(w // 2, (4, 4), (2, 2), ((1, 1), (1, 1)), dtype=d)
        self.down1 = StridedConv(w, (4, 4), (2, 2), ((1, 1), (1, 1)), dtype=d)
        self.enc_conv = nn.Conv(w, (3, 3), dtype=d)
        self.enc_res = [_Residual(self.res_width, d) for _ in range(self.res_blocks)]
        self.to_code = nn.Conv(self.code_dim, (1, 1), dtype=d)
        self.quantizer = VectorQuantizer(self.num_codes, self.code_dim, self.ema, self.decay,
                                         restart_after=self.restart_after)
        self.dec_conv = nn.Conv(w, (3, 3), dtype=d)
        self.dec_res = [_Residual(self.res_width, d) for _ in range(self.res_blocks)]
        self.up0 = ConvTranspose(w // 2, (4, 4), (2, 2), "SAME", dtype=d)
        self.up1 = ConvTranspose(self.channels, (4, 4), (2, 2), "SAME", dtype=d)
        self.log_scale = self.param("log_scale", nn.initializers.constant(-2.0), ())

    def encoder(self, x):
        """``x [N, H, W, C]`` -> ``z [N, H/4, W/4, D]`` (float32)."""
        h = nn.relu(self.down0(x))
        h = self.enc_conv(nn.relu(self.down1(h)))
        for block in self.enc_res:
            h = block(h)
        return self.to_code(nn.relu(h)).astype(jnp.float32)

    def hidden(self, z_q):
        """``z_q [N, h, w, D]`` -> the decoder's last layer's input ``[N, 2h, 2w, width / 2]``."""
        h = self.dec_conv(z_q)
        for block in self.dec_res:
            h = block(h)
        return nn.relu(self.up0(nn.relu(h)))

    def last(self, hidden):
        """The decoder's last layer: its input -> ``x_hat [N, H, W, C]`` (float32)."""
        return self.up1(hidden).astype(jnp.float32)

    def decoder(self, z_q):
        """``z_q [N, h, w, D]`` -> ``x_hat [N, 4h, 4w, C]`` (float32)."""
        return self.last(self.hidden(z_q))

    def __call__(self, x, with_hidden: bool = False, train: bool = False):
        z_q, codes, aux = self.quantizer(self.encoder(x), train=train)
        hidden = self.hidden(z_q)
        out = (self.last(hidden), codes, aux)
        return (*out, hidden) if with_hidden else out

    def encode(self, x):
        """``x [N, H, W, C]`` -> codes ``[N, H/4, W/4]`` int32."""
        return self.quantizer(self.encoder(x))[1]

    def decode(self, codes):
        """codes ``[N, h, w]`` -> ``x_hat [N, 4h, 4w, C]``."""
        return self.decoder(self.quantizer.lookup(codes))



def code_shape(image_shape) -> tuple[int, int]:
    """The code grid ``(H / 4, W / 4)`` of images ``(H, W, C)``; a ConfigError when not divisible."""
    h, w = image_shape[:2]
    if h % DOWNSAMPLE or w % DOWNSAMPLE:
        raise ConfigError(f"the VQ autoencoder downsamples by {DOWNSAMPLE}: images {h}x{w} must be multiples of it; "
                          f"set data.image_size or data.pad")
    return h // DOWNSAMPLE, w // DOWNSAMPLE


def autoencoder(cfg, image_shape, *, dtype=jnp.float32) -> VQAutoencoder:
    """The autoencoder of ``cfg`` (``config.model``) for images ``(H, W, C)``; bad keys are ConfigErrors."""
    code_shape(image_shape)
    for key in ("width", "res_width", "num_codes", "code_dim"):
        if int(cfg[key]) < 1:
            raise ConfigError(f"config key 'model.{key}' must be >= 1, got {cfg[key]}")
    if int(cfg.width) % 2:
        raise ConfigError(f"config key 'model.width' must be even (the first layer has width / 2), got {cfg.width}")
    if not 0.0 < float(cfg.decay) < 1.0:
        raise ConfigError(f"config key 'model.decay' (the EMA codebook's) must be in (0, 1), got {cfg.decay}")
    if int(cfg.restart_after) < 0:
        raise ConfigError(f"config key 'model.restart_after' must be >= 0 (0 = no dead-code restarts), got "
                          f"{cfg.restart_after}")
    if int(cfg.restart_after) > 0 and not cfg.ema:
        raise ConfigError("dead-code restarts reset the EMA codebook: set model.ema=True or model.restart_after=0")
    return VQAutoencoder(channels=int(image_shape[-1]), width=int(cfg.width), res_blocks=int(cfg.res_blocks),
                         res_width=int(cfg.res_width), num_codes=int(cfg.num_codes), code_dim=int(cfg.code_dim),
                         ema=bool(cfg.ema), decay=float(cfg.decay), restart_after=int(cfg.restart_after), dtype=dtype)


def defaults():
    return model_defaults.vqvae()
