"""SinGAN's networks (Rott Shaham et al. 2019): one fully convolutional G and one patch D per scale.

Both are the official code's `layers` (5) 3 x 3 convolutions, "valid" (no padding), each but the last followed by
BatchNorm (PyTorch's momentum 0.1, eps 1e-5) and LeakyReLU(0.2), `width` channels throughout; weights N(0, 0.02),
BatchNorm scales N(1, 0.02) (the official `weights_init`) (the official G
narrows its body towards 32 channels at the wider scales: here every layer has `width`).

    Generator(width)(z [N, h, w, 3], prev [N, h, w, 3]) -> prev + tanh(body(pad(amp * z + prev)))   [N, h, w, 3]
    Discriminator(width)(x [N, h, w, 3]) -> a patch score map [N, h - 2 layers, w - 2 layers]

The input of G is zero-padded by `layers` px (one per convolution) so that its output has the input's size, as the
official code pads before G. G keeps its scale's noise amplitude ``amp`` (a scalar, 1 until the game measures it)
and, at the coarsest scale (``rec_shape`` set), the fixed reconstruction noise ``z_rec`` [1, h, w, 1], drawn at
init, in the ``singan`` collection: the game's `model_state`, checkpointed with the run.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgen.nn import init
from jaxgen.nn.upsample import StridedConv


class _Body(nn.Module):
    """`layers` valid 3 x 3 convolutions: conv-BN-LeakyReLU(0.2) x (layers - 1), then a conv to `out` channels."""

    width: int
    out: int
    layers: int
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool):
        for i in range(self.layers - 1):
            x = StridedConv(self.width, (3, 3), padding="VALID", kernel_init=init.dcgan_normal, dtype=self.dtype,
                            name=f"conv{i}")(x)  # nn.Conv (the RGB layer's input gradient by taps)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5, scale_init=init.dcgan_bn_scale,
                             dtype=self.dtype, name=f"bn{i}")(x)
            x = nn.leaky_relu(x, 0.2)
        return StridedConv(self.out, (3, 3), padding="VALID", kernel_init=init.dcgan_normal, dtype=self.dtype,
                           name="tail")(x).astype(jnp.float32)  # nn.Conv; by taps on the CPU (1 or 3 outputs)


class Generator(nn.Module):
    """G_n: ``prev + tanh(body(pad(amp * z + prev)))``; `z` may have 1 channel (broadcast to 3)."""

    width: int
    layers: int = 5
    rec_shape: tuple | None = None  # the coarsest scale's (1, h, w, 1): it holds the reconstruction noise z*
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, z, prev, train: bool = True):
        amp = self.variable("singan", "amp", lambda: jnp.ones((), jnp.float32)).value
        if self.rec_shape is not None:
            self.variable("singan", "z_rec", lambda: jax.random.normal(self.make_rng("params"), self.rec_shape))
        x = amp * z + prev
        x = jnp.pad(x, ((0, 0), (self.layers, self.layers), (self.layers, self.layers), (0, 0)))
        return prev + jnp.tanh(_Body(self.width, prev.shape[-1], self.layers, self.dtype, name="body")(x, train))


class Discriminator(nn.Module):
    """D_n: a score per overlapping (2 layers + 1)-px patch (11 x 11), [N, h - 2 layers, w - 2 layers] (a WGAN
    critic: no output activation)."""

    width: int
    layers: int = 5
    dtype: jnp.dtype = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = True):
        return _Body(self.width, 1, self.layers, self.dtype, name="body")(x, train)[..., 0]


def generators(cfg, sizes, channels: int = 3, dtype=jnp.float32) -> list[Generator]:
    """G_0 .. G_N of the scales' `sizes` [(h, w)] (widths from :func:`jaxgen.defaults.singan.width`)."""
    from jaxgen.defaults import singan

    return [Generator(singan.width(n, cfg), cfg.layers, (1, *sizes[0], 1) if n == 0 else None, dtype)
            for n in range(len(sizes))]


def discriminators(cfg, sizes, channels: int = 3, dtype=jnp.float32) -> list[Discriminator]:
    """D_0 .. D_N."""
    from jaxgen.defaults import singan

    return [Discriminator(singan.width(n, cfg), cfg.layers, dtype) for n in range(len(sizes))]
