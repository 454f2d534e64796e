"""StyleGAN2's networks (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN", configs E/F of
table 1; details as the official stylegan2 / stylegan2-ada-pytorch code): no growing, every resolution from the start.

Levels ``l = 0 .. L-1`` at resolutions ``4 * 2**l`` up to the image's, ``width_l`` channels as ProGAN's
(:func:`jaxgen.models.progan.widths`: ``min(model.width, model.width_base / r)``).

Generator ``(z [N, z_dim], *, train, psi=1.0) -> images [N, H, H, C]`` float32 (linear), with StyleGAN's mapping
network, average w, truncation, style mixing and editing methods (:class:`jaxgen.models.stylegan.StyleGenerator`:
``mapping``, ``truncate``, ``latents``, ``styles(ws [N, 2L, z_dim])``, ``num_layers`` = 2L). Synthesis:

* a learned constant ``[4, 4, width_0]`` (N(0, 1) at init), then per level a style layer
  ``SQRT2 * lrelu(ModulatedConv(x, w) + noise)`` (:class:`jaxgen.nn.modulated.ModulatedConv`: modulation,
  demodulation, a bias; the official ``bias_act`` gain sqrt(2) keeps unit variance after the LReLU; per-pixel noise
  with a learned strength per channel, :class:`jaxgen.nn.style.NoiseInput`): level 0 has one (``conv4``), level l > 0
  two, the first up-sampling x2 (``conv{r}_0``: transposed convolution + [1, 3, 3, 1] filter), then ``conv{r}_1``;
* skip architecture: every level has a toRGB (``to_rgb{r}``: a 1 x 1 modulated convolution without demodulation,
  linear), and the image is ``upsample2d(image) + toRGB_l(x)`` level by level (:func:`jaxgen.nn.fir.upsample2d`);
* the ws: ``conv4`` takes ``ws[:, 0]``, ``to_rgb4`` ``ws[:, 1]``; level l's ``conv{r}_0``, ``conv{r}_1`` and
  ``to_rgb{r}`` take ``ws[:, 2l - 1]``, ``ws[:, 2l]``, ``ws[:, 2l + 1]`` (a toRGB shares its w with the next level's
  first convolution, as the official code's ``num_ws``).

Discriminator ``(images [N, H, H, C], *, train) -> logits [N]`` float32, residual: ``from_rgb{H}`` (1 x 1 conv,
LReLU), then per level l = L-1 .. 1 a residual block at resolution r, ``(skip + main) / sqrt(2)`` with
``skip = conv1x1(downsample2d(x))`` (no bias, gain 1) and ``main`` = conv 3x3 (width_l), LReLU, the [1, 3, 3, 1]
filter (padding 2), conv 3x3 stride 2 (width_{l-1}), LReLU; at 4 x 4 ProGAN's output block
(:func:`jaxgen.models.progan.d_output`: minibatch stddev (``model.mbstd_group``, one channel), conv 3x3, dense,
dense to 1). D's layers are equalized with He's gain sqrt(2) on the weights before LReLU (jaxgen's ProGAN layers),
where the official code puts the sqrt(2) after the LReLU: the same function at init (biases 0), the biases' scale
differs.

Noise and the mixing draws come from the ``"dropout"`` rng stream, the one the players pass to every network call.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgen.models import progan, stylegan
from jaxgen.models.progan import conv, d_output, latent, levels, lrelu
from jaxgen.nn import fir
from jaxgen.nn.modulated import ModulatedConv
from jaxgen.nn.progressive import SQRT2, EqualizedConv
from jaxgen.nn.style import NoiseInput

__all__ = ["Discriminator", "Generator", "Synthesis", "discriminator", "generator", "latent", "levels"]

RNG = stylegan.RNG


class Synthesis(nn.Module):
    """``ws [N, 2L, D] -> images [N, H, H, C]`` float32: the layers of the module docstring."""

    widths: tuple[int, ...]
    channels: int
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, ws):
        n, w0 = ws.shape[0], self.widths[0]

        def layer(x, i, width, name, up=False):  # modulated conv with ws[:, i], noise, bias, LReLU x sqrt(2)
            x = ModulatedConv(width, 3, up=up, dtype=self.dtype, name=name)(x, ws[:, i])
            return SQRT2 * lrelu(NoiseInput(RNG, dtype=self.dtype, name=f"noise_{name}")(x))

        def to_rgb(x, i, name):
            return ModulatedConv(self.channels, 1, demodulate=False, dtype=self.dtype, name=name)(x, ws[:, i])

        const = self.param("const", nn.initializers.normal(1.0), (4, 4, w0), jnp.float32)
        x = layer(jnp.broadcast_to(const, (n, 4, 4, w0)).astype(self.dtype), 0, w0, "conv4")
        image = to_rgb(x, 1, "to_rgb4").astype(jnp.float32)
        for level in range(1, len(self.widths)):
            r, width = 4 * 2**level, self.widths[level]
            x = layer(x, 2 * level - 1, width, f"conv{r}_0", up=True)
            x = layer(x, 2 * level, width, f"conv{r}_1")
            image = fir.upsample2d(image) + to_rgb(x, 2 * level + 1, f"to_rgb{r}").astype(jnp.float32)
        return image


class Generator(stylegan.StyleGenerator):
    """``(z [N, z_dim], *, train, psi=1.0) -> images [N, H, H, C]`` float32 (module docstring); ``mapping(z) -> w``,
    ``truncate(ws, psi)``, ``latents(z, *, train)`` and ``styles(ws [N, 2L, z_dim])`` are its parts
    (:class:`jaxgen.models.stylegan.StyleGenerator`)."""

    def setup(self):
        super().setup()
        self.synthesis = Synthesis(self.widths, self.channels, self.dtype)

    def mixing_layers(self):
        """Every layer: a crossover falls among all of them."""
        return self.num_layers

    def styles(self, ws):
        """``ws [N, 2L, z_dim]`` (one w per layer) -> images [N, H, H, C]."""
        return self.synthesis(ws)


class Discriminator(nn.Module):
    """``(images [N, H, H, C], *, train) -> logits [N]`` float32: the residual D of the module docstring."""

    widths: tuple[int, ...]
    mbstd_group: int = 4
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, *, train: bool):
        del train
        top = len(self.widths) - 1
        h = lrelu(conv(self, self.widths[top], f"from_rgb{x.shape[1]}", 1)(x.astype(self.dtype)))
        for level in range(top, 0, -1):
            r, width, out = 4 * 2**level, self.widths[level], self.widths[level - 1]
            skip = EqualizedConv(out, 1, 1.0, use_bias=False, dtype=self.dtype, name=f"skip{r}")(fir.downsample2d(h))
            y = lrelu(conv(self, width, f"conv{r}_0")(h))
            y = EqualizedConv(out, 3, stride=2, padding="VALID", dtype=self.dtype, name=f"conv{r}_1")(
                fir.filter2d(y, (2, 2)))
            h = (skip + lrelu(y)) * (1 / math.sqrt(2))
        return d_output(self, h, self.widths[0], self.mbstd_group)


def generator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The Generator of ``cfg`` for images of ``image_shape`` (unconditional: ``num_classes`` is not used)."""
    del num_classes
    stylegan.check(cfg)
    return Generator(widths=progan.widths(cfg, image_shape), channels=int(image_shape[-1]), w_dim=int(cfg.z_dim),
                     mapping_layers=int(cfg.mapping_layers), mapping_lr_mul=float(cfg.mapping_lr_mul),
                     mixing_prob=float(cfg.mixing_prob), w_avg_decay=float(cfg.w_avg_decay), dtype=dtype)


def discriminator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The residual Discriminator of ``cfg`` for images of ``image_shape`` (ProGAN's widths and checks)."""
    d = progan.discriminator(cfg, image_shape, num_classes, dtype=dtype)
    return Discriminator(widths=d.widths, mbstd_group=d.mbstd_group, dtype=dtype)
