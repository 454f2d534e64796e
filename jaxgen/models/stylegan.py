"""StyleGAN's generator (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", and the official
``networks_stylegan.py``), growing as ProGAN does; the discriminator is ProGAN's (:mod:`jaxgen.models.progan`).

Levels, widths, toRGB per level, fade-in and the progressive game's ``(stage, alpha)`` arguments are ProGAN's.
``Generator(z [N, z_dim], stage, alpha, *, train, psi=1.0) -> images [N, r, r, C]``, r = 4 * 2**stage:

* mapping network (``model.mapping_layers``, 8 in the paper; 0 = none): ``w = f(pixel_norm(z))``, equalized dense
  layers of ``z_dim`` units with LReLU 0.2 and the learning-rate multiplier ``model.mapping_lr_mul`` (0.01);
  w has ``z_dim`` entries. With 0 layers ``w = pixel_norm(z)``.
* synthesis (``styles(ws [N, 2 L, z_dim], stage, alpha)``): layers ``i = 0 .. 2L - 1``, two per level, each with its
  own w (``ws[:, i]``): layer 0 is the 4 x 4 input, a learned constant ``[4, 4, width_0]`` (``model.const_input``)
  or ProGAN's dense of ``ws[:, 0]`` (the traditional input: with no mapping network, ProGAN's dense of the
  normalised z); layer 1 the 4 x 4 conv; level l has ``conv{r}_0`` after nearest x2 up-sampling (then the
  [1, 2, 1] blur when ``model.blur``: the paper's bilinear up-sampling, B's "tuning") and ``conv{r}_1``. After each
  layer: per-pixel noise with a learned strength per channel (``model.noise``), LReLU, then AdaIN with the layer's
  w (``model.styles``) or, without styles, ProGAN's pixel norm.
* style mixing regularisation (training only, ``model.mixing_prob``, 0.9 in the paper): with that probability per
  batch a second latent ``z2`` is drawn and the layers from a crossover ``c ~ U{1, .., 2 (stage + 1) - 1}`` on take
  its w (the official code: one crossover per batch, among the layers of the current stage).
* the average w (``batch_stats/w_avg``): every training call moves it toward the batch's mean w,
  ``w_avg <- mean(w) + decay (w_avg - mean(w))`` with ``model.w_avg_decay`` (0.995), so it lives in the players'
  model state beside BatchNorm statistics and is checkpointed; sampling leaves it as it is.
* truncation ``psi``: ``w' = w_avg + psi (w - w_avg)`` on every layer (the paper's eq.; the official code's
  ``truncation_cutoff`` limits it to the 8 coarsest layers at 1024 px); ``psi = 1`` is exactly w.

Randomness (noise images, the mixing latent and crossover) comes from the ``"dropout"`` rng stream, the one the
players pass to every network call; the training mixing and noise need it in ``apply(..., rngs=)``. Editing calls
``mapping``, ``truncate``, ``latents`` and ``styles`` (``module.apply(variables, ..., method="styles")``) to give
each layer its own w: style-mixing grids copy layers from B into A. The mapping network, the average w, mixing,
truncation and these methods are :class:`StyleGenerator`'s, which StyleGAN2's generator
(:mod:`jaxgen.models.stylegan2`) shares.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.models.progan import discriminator, faded_rgb, latent, levels, widths
from jaxgen.nn.progressive import SQRT2, EqualizedConv, EqualizedDense, lerp, pixel_norm, upsample_nearest
from jaxgen.nn.style import AdaIN, NoiseInput, blur

__all__ = ["Generator", "Mapping", "StyleGenerator", "Synthesis", "check", "discriminator", "generator", "latent",
           "levels", "mix", "widths"]

RNG = "dropout"  # the stream of the noise inputs and the mixing draws: what the players pass (games.base.apply)


def _act(x):
    return nn.leaky_relu(x, 0.2)


def mix(w1, w2, cutoff, num_layers: int):
    """``ws [N, num_layers, D]``: ``w1 [N, D]`` on the layers ``< cutoff``, ``w2 [N, D]`` on the rest."""
    first = (jnp.arange(num_layers) < cutoff)[None, :, None]
    return jnp.where(first, w1[:, None, :], w2[:, None, :])


class Mapping(nn.Module):
    """``z [N, D] -> w [N, D]``: pixel norm, then ``layers`` x [EqualizedDense(D, lr_mul), LReLU 0.2]."""

    layers: int
    lr_mul: float
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z):
        x = pixel_norm(z.astype(jnp.float32))
        for i in range(self.layers):
            x = _act(EqualizedDense(z.shape[-1], lr_mul=self.lr_mul, dtype=self.dtype, name=f"dense{i}")(x))
        return x.astype(jnp.float32)


class Synthesis(nn.Module):
    """``(ws [N, 2L, D], stage, alpha) -> images [N, r, r, C]``: the layers of the module docstring."""

    widths: tuple[int, ...]
    channels: int
    styles: bool = True
    const_input: bool = True
    noise: bool = True
    blur: bool = True
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, ws, stage: int, alpha):
        n, w0 = ws.shape[0], self.widths[0]
        conv = lambda width, name, k=3, gain=SQRT2: EqualizedConv(width, k, gain, dtype=self.dtype, name=name)  # noqa: E731

        def epilogue(x, i):  # noise, LReLU, AdaIN with ws[:, i] (or ProGAN's pixel norm)
            if self.noise:
                x = NoiseInput(RNG, dtype=self.dtype, name=f"noise{i}")(x)
            x = _act(x)
            return AdaIN(self.dtype, name=f"style{i}")(x, ws[:, i]) if self.styles else pixel_norm(x)

        if self.const_input:
            x = jnp.broadcast_to(self.param("const", nn.initializers.ones, (4, 4, w0), jnp.float32), (n, 4, 4, w0))
        else:
            x = EqualizedDense(16 * w0, SQRT2 / 4, use_bias=False, dtype=self.dtype, name="dense")(ws[:, 0])
            x = x.reshape(n, 4, 4, w0) + self.param("dense_bias", nn.initializers.zeros, (w0,))
        features = [epilogue(conv(w0, "conv4")(epilogue(x.astype(self.dtype), 0)), 1)]
        top = len(self.widths) - 1 if self.is_initializing() else stage
        for level in range(1, top + 1):
            r = 4 * 2**level
            x = conv(self.widths[level], f"conv{r}_0")(upsample_nearest(features[-1]))
            x = epilogue(blur(x) if self.blur else x, 2 * level)
            features.append(epilogue(conv(self.widths[level], f"conv{r}_1")(x), 2 * level + 1))
        to_rgb = [conv(self.channels, f"to_rgb{4 * 2**level}", 1, 1.0) for level in range(len(features))]
        return faded_rgb(to_rgb, features, stage, alpha, self.is_initializing())


class StyleGenerator(nn.Module):
    """What StyleGAN's and StyleGAN2's generators share (:mod:`jaxgen.models.stylegan2`): the mapping network, the
    average w in ``batch_stats`` and truncation, style mixing, and the editing interface. A subclass builds its
    synthesis network ``self.synthesis`` in ``setup`` (after ``super().setup()``) and gives ``styles(ws, *args)``
    and ``mixing_layers(*args)``; ``*args`` are what its ``__call__`` takes after z (StyleGAN's stage and alpha,
    none for StyleGAN2).

    ``__call__(z, *args, train, psi=1.0) = styles(truncate(latents(z, *args, train=train), psi), *args)``.
    """

    widths: tuple[int, ...]
    channels: int
    w_dim: int
    mapping_layers: int = 8
    mapping_lr_mul: float = 0.01
    mixing_prob: float = 0.9
    w_avg_decay: float = 0.995
    dtype: Any = jnp.float32

    def setup(self):
        self.mapping_network = Mapping(self.mapping_layers, self.mapping_lr_mul, self.dtype)
        self.w_avg = self.variable("batch_stats", "w_avg", jnp.zeros, (self.w_dim,), jnp.float32)

    @property
    def num_layers(self) -> int:
        """The ws of ``styles``: two per resolution."""
        return 2 * len(self.widths)

    def mapping(self, z):
        """``z [N, z_dim] -> w [N, z_dim]``."""
        return self.mapping_network(z)

    def truncate(self, ws, psi):
        """``w_avg + psi (ws - w_avg)`` (``ws [..., z_dim]``): exactly ``ws`` at ``psi = 1``, ``w_avg`` at 0."""
        return lerp(self.w_avg.value, ws, psi)

    def latents(self, z, *args, train: bool):
        """``z [N, z_dim] -> ws [N, num_layers, z_dim]``: ``w = mapping(z)`` on every layer; a training call moves
        ``w_avg`` toward the batch's mean w (when ``batch_stats`` is mutable) and mixes styles: with probability
        ``mixing_prob`` a second latent's w from a crossover ``U{1, .., mixing_layers(*args) - 1}`` on."""
        w = self.mapping(z)
        if train and not self.is_initializing() and self.is_mutable_collection("batch_stats"):
            mean = jnp.mean(jax.lax.stop_gradient(w), axis=0)
            self.w_avg.value = lerp(mean, self.w_avg.value, self.w_avg_decay)
        ws = mix(w, w, 0, self.num_layers)
        if train and self.mixing_prob > 0:
            kz, kp, kc = jax.random.split(self.make_rng(RNG), 3)
            current = self.mixing_layers(*args)
            cutoff = jnp.where(jax.random.uniform(kp) < self.mixing_prob,
                               jax.random.randint(kc, (), 1, max(current, 2)), current)
            ws = mix(w, self.mapping(jax.random.normal(kz, z.shape, z.dtype)), cutoff, self.num_layers)
        return ws

    def __call__(self, z, *args, train: bool, psi=1.0):
        return self.styles(self.truncate(self.latents(z, *args, train=train), psi), *args)


class Generator(StyleGenerator):
    """``(z [N, z_dim], stage, alpha, *, train, psi=1.0) -> images [N, r, r, C]`` (module docstring); the methods
    ``mapping(z) -> w``, ``truncate(ws, psi)``, ``latents(z, stage, alpha, *, train)`` and
    ``styles(ws [N, 2L, z_dim], stage, alpha)`` are its parts (:class:`StyleGenerator`)."""

    styles_on: bool = True
    const_input: bool = True
    noise: bool = True
    blur: bool = True

    def setup(self):
        super().setup()
        self.synthesis = Synthesis(self.widths, self.channels, self.styles_on, self.const_input, self.noise,
                                   self.blur, self.dtype)

    def mixing_layers(self, stage: int, alpha):
        """The layers of this stage: a crossover falls among them."""
        del alpha
        return 2 * (stage + 1)

    def styles(self, ws, stage: int, alpha):
        """``ws [N, 2L, z_dim]`` (one w per layer) -> images [N, r, r, C]."""
        return self.synthesis(ws, stage, alpha)


def check(cfg) -> None:
    """One-line errors naming the bad key among the style-based generators' shared keys (mapping, mixing, w_avg)."""
    if int(cfg.mapping_layers) < 0:
        raise ConfigError(f"config key 'model.mapping_layers' must not be negative (0: no mapping network), "
                          f"got {cfg.mapping_layers}")
    if not float(cfg.mapping_lr_mul) > 0:
        raise ConfigError(f"config key 'model.mapping_lr_mul' must be positive, got {cfg.mapping_lr_mul}")
    if not 0 <= float(cfg.mixing_prob) <= 1:
        raise ConfigError(f"config key 'model.mixing_prob' must be in [0, 1], got {cfg.mixing_prob}")
    if not 0 <= float(cfg.w_avg_decay) < 1:
        raise ConfigError(f"config key 'model.w_avg_decay' must be in [0, 1), got {cfg.w_avg_decay}")


def generator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The Generator of ``cfg`` for images of ``image_shape`` (unconditional: ``num_classes`` is not used)."""
    del num_classes
    check(cfg)
    if cfg.const_input and not cfg.styles:
        raise ConfigError("config key 'model.const_input' needs model.styles: without styles a constant input makes "
                          "every image the same")
    return Generator(widths=widths(cfg, image_shape), channels=int(image_shape[-1]), w_dim=int(cfg.z_dim),
                     mapping_layers=int(cfg.mapping_layers), mapping_lr_mul=float(cfg.mapping_lr_mul),
                     styles_on=bool(cfg.styles), const_input=bool(cfg.const_input), noise=bool(cfg.noise),
                     blur=bool(cfg.blur), mixing_prob=float(cfg.mixing_prob), w_avg_decay=float(cfg.w_avg_decay),
                     dtype=dtype)
