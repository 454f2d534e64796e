"""BEGAN's autoencoder discriminator (Berthelot, Schumm & Metz 2017, arXiv:1703.10717) on DCGAN's layout.

The generator is DCGAN's (:mod:`jaxgen.models.dcgan`, same keys), so BEGAN is compared like for like
with the other rows of the loss table (Lucic et al. 2018 also keep one architecture family and swap in
an autoencoder discriminator for BEGAN). The discriminator is an autoencoder whose output is the
per-example L1 reconstruction energy ``e(x) = mean |x - Dec(Enc(x))|``, shape ``[N]``:

    Enc: [StridedConv(4, s2) -> ELU] * n   (channels width, 2*width, ...; no BatchNorm) -> Dense(code_dim)
    Dec: Dense(base*base*C) -> ELU -> [ConvTranspose(4, s2) -> ELU] * (n-1) -> ConvTranspose(4, s2) to C

(ELU and no normalisation, as the paper's networks.) ``num_classes`` is accepted and ignored. ``dtype``
(``config.dtype``): both networks' computation dtype; the energies are float32.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.models import dcgan
from jaxgen.nn.init import dcgan_normal
from jaxgen.nn.upsample import ConvTranspose, StridedConv

__all__ = ["AutoencoderDiscriminator", "discriminator", "generator", "latent"]

# The trainer reads this: D returns energies, not logits (only the "began" objective uses them).
ENERGY_DISCRIMINATOR = True


class AutoencoderDiscriminator(nn.Module):
    """``images [N, H, W, C] -> energies [N]`` (mean absolute reconstruction error per example)."""

    image_shape: tuple[int, int, int]
    width: int = 64
    base: int = 7
    n: int = 2
    code_dim: int = 64
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, labels=None, *, train: bool):
        del labels, train  # unconditional; no dropout or normalisation
        h = x
        for i in range(self.n):
            h = StridedConv(self.width * 2**i, (4, 4), (2, 2), padding=((1, 1), (1, 1)),
                            kernel_init=dcgan_normal, dtype=self.dtype, name=f"enc{i}")(h)
            h = nn.elu(h)
        code = nn.Dense(self.code_dim, kernel_init=dcgan_normal, dtype=self.dtype, name="code")(
            h.reshape(h.shape[0], -1))
        ch = self.width * 2 ** (self.n - 1)
        h = nn.elu(nn.Dense(self.base * self.base * ch, kernel_init=dcgan_normal, dtype=self.dtype,
                            name="dec_in")(code))
        h = h.reshape(x.shape[0], self.base, self.base, ch)
        for i in range(self.n):
            last = i == self.n - 1
            h = ConvTranspose(self.image_shape[-1] if last else ch // 2, (4, 4), (2, 2), padding="SAME",
                              kernel_init=dcgan_normal, dtype=self.dtype, name=f"dec{i}")(h)
            if not last:
                h = nn.elu(h)
                ch //= 2
        return jnp.mean(jnp.abs(x - h.astype(jnp.float32)).reshape(x.shape[0], -1), axis=1)


def generator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    return dcgan.generator(cfg, image_shape, num_classes, dtype=dtype)


def discriminator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    del num_classes  # unconditional
    base, n = dcgan.layout(image_shape, cfg.get("base_size", 0))
    return AutoencoderDiscriminator(image_shape=tuple(int(s) for s in image_shape), width=int(cfg.width),
                                    base=base, n=n, code_dim=int(cfg.code_dim), dtype=dtype)


def latent(rng, n: int, cfg) -> jax.Array:
    return dcgan.latent(rng, n, cfg)
