"""What the autoregressive families (`pixelcnn`, `gated_pixelcnn`, `pixelrnn`) share: the base module, the
output head, the likelihood and the exact sampler, turned into a `jaxgen.models.density.Density`.

Order: ``p(x) = prod_t p(x_t | x_<t)`` over sub-pixels ``t`` in raster order (rows top to bottom, columns
left to right) and, within a pixel, colour channels R -> G -> B (see `jaxgen.nn.masked`).

Network input (``preprocess``): data ``"binary"`` as is ({0, 1} floats); ``"8bit"`` levels scaled to
``[-1, 1]`` (``k / 127.5 - 1``, one input channel per colour). Output (:class:`Head`): ``ReLU -> 1x1 B ->
ReLU -> 1x1 B`` to ``C * K`` features, ``K = 1`` logit per sub-pixel (Bernoulli) for ``"binary"``,
``K = 256`` logits (softmax over the levels) for ``"8bit"``, ``K = levels`` for ``"codes"`` (the code grid of
a VQ autoencoder, one channel of ints in ``0..levels-1``, which a family embeds itself); the channel groups of the masks make sub-pixel
``c``'s logits depend on the channels ``< c`` of its own pixel only. The networks compute in ``dtype``
(``config.dtype``; parameters float32) and return float32 logits; ``remat`` (``config.remat``) rematerialises
their repeated blocks (:func:`jaxgen.nn.remat.rematerialised`).

The sampler (:func:`sampler`) is one ``lax.fori_loop`` over the ``H * W * C`` sub-pixels; each
iteration runs the network and draws one sub-pixel (key ``fold_in(rng, t)``). A model with a finite
receptive field (``field = (up, side)``: the logits at ``(i, j)`` depend on input rows ``i - up .. i`` and
columns ``j - side .. j + side`` only) is run on that window of the canvas alone, a fixed-size
``dynamic_slice``, which gives the same logits as the whole image (zero padding is the image's where the
window touches its border, and out of reach elsewhere); ``field = None`` runs it on the whole canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn
from jax import lax

from jaxgen.errors import ConfigError
from jaxgen.losses.likelihood import bernoulli_log_prob, categorical_log_prob
from jaxgen.models.density import Density
from jaxgen.nn.masked import MaskedConv

__all__ = ["DATA", "IMAGE_DATA", "Autoregressive", "Head", "config_getter", "density", "down_shift", "gate", "preprocess",
           "sampler", "top_k_logits", "validate"]

DATA = ("binary", "8bit", "codes")
IMAGE_DATA = DATA[:2]  # what a family takes as `model.data` on images
LEVELS = 256


class Autoregressive(nn.Module):
    """Base of the autoregressive networks: ``x [B, H, W, C]`` (:func:`preprocess`ed), ``labels`` int32 [B]
    (iff ``num_classes``) -> logits ``[B, H, W, C]`` (binary) or ``[B, H, W, C, levels]`` (8bit: 256, codes)."""

    data: str = "binary"
    levels: int = LEVELS
    channels: int = 1
    head_features: int = 32
    num_classes: int | None = None
    dtype: Any = jnp.float32
    remat: bool = False

    @property
    def field(self) -> tuple[int, int] | None:
        """``(up, side)``: rows above and columns either side of the receptive field; None = unbounded."""
        return None

    def head(self) -> Head:
        return Head(self.data, self.channels, self.head_features, self.dtype, self.levels, name="head")


class Head(nn.Module):
    """Features ``[B, H, W, F]`` -> logits (see :class:`Autoregressive`): ReLU, 1x1 B, ReLU, 1x1 B."""

    data: str
    channels: int
    features: int
    dtype: Any = jnp.float32
    levels: int = LEVELS

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        k = 1 if self.data == "binary" else self.levels
        h = MaskedConv(self.features, (1, 1), "B", self.channels, dtype=self.dtype, name="hidden")(nn.relu(h))
        out = MaskedConv(self.channels * k, (1, 1), "B", self.channels, dtype=self.dtype, name="logits")(nn.relu(h))
        out = out.astype(jnp.float32).reshape(out.shape[:-1] + (self.channels, k))
        return out[..., 0] if k == 1 else out


def gate(a: jax.Array, parts: int = 2) -> tuple[jax.Array, ...]:
    """Splits ``[..., parts * F]`` into ``parts`` arrays ``[..., F]``, interleaved (feature ``f`` of each part
    is ``a[..., parts * f + p]``), so that each keeps the colour groups of a layer with ``F`` features."""
    a = a.reshape(a.shape[:-1] + (a.shape[-1] // parts, parts))
    return tuple(a[..., p] for p in range(parts))


def down_shift(x: jax.Array) -> jax.Array:
    """``[B, H, W, F]`` moved down one row (row 0 zeros): row ``i`` then holds row ``i - 1``."""
    return jnp.pad(x, ((0, 0), (1, 0), (0, 0), (0, 0)))[:, :-1]


def preprocess(x: jax.Array, data: str) -> jax.Array:
    """Data space ``[B, H, W, C]`` -> network input: binary as is, 8bit levels to ``[-1, 1]`` (float32); codes as
    they are (int32, for the family's embedding)."""
    if data == "codes":
        return x.astype(jnp.int32)
    x = x.astype(jnp.float32)
    return x / 127.5 - 1.0 if data == "8bit" else x


def _dtype(data: str):
    return jnp.float32 if data == "binary" else jnp.int32


def log_prob(logits: jax.Array, x: jax.Array, data: str) -> jax.Array:
    """log p(x) in nats per image [B] from the logits of :class:`Head`."""
    if data == "binary":
        return bernoulli_log_prob(logits, x.astype(jnp.float32))
    return categorical_log_prob(logits, x.astype(jnp.int32))


def top_k_logits(logits: jax.Array, k: int) -> jax.Array:
    """``logits [..., K]`` with all but the ``k`` largest of each row set to -inf (``k`` = 0: as they are)."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kth = lax.top_k(logits, k)[0][..., -1:]
    return jnp.where(logits < kth, -jnp.inf, logits)


def _draw(rng: jax.Array, logits: jax.Array, data: str, top_k: int = 0) -> tuple[jax.Array, jax.Array]:
    """One sub-pixel per example from its logits ``[n]`` / ``[n, levels]`` (of the ``top_k`` most likely values
    only, renormalised, when ``top_k`` > 0) -> (values [n], log-probs [n] under the distribution drawn from)."""
    if data == "binary":
        v = jax.random.bernoulli(rng, jax.nn.sigmoid(logits)).astype(jnp.float32)
        return v, v * jax.nn.log_sigmoid(logits) + (1.0 - v) * jax.nn.log_sigmoid(-logits)
    logits = top_k_logits(logits, top_k)
    v = jax.random.categorical(rng, logits, axis=-1)
    return v.astype(jnp.int32), jnp.take_along_axis(jax.nn.log_softmax(logits), v[:, None], axis=1)[:, 0]


def sampler(model: Autoregressive, image_shape, top_k: int = 0) -> Callable[..., tuple[jax.Array, jax.Array]]:
    """The exact sampler, pure (jit it with `jaxgen.engine.compilation.jit`):
    ``(params, rng, canvas [n, H, W, C], start, labels) -> (canvas, log_prob [n])``
    draws the sub-pixels ``start .. H*W*C - 1`` (raster order, R -> G -> B) and returns the sum of the
    log-probabilities of the drawn values (the sub-pixels before ``start`` are kept); ``top_k`` > 0 draws each
    from its ``top_k`` most likely values."""
    h, w, c = image_shape
    up, side = model.field or (h, w)
    rh, rw = min(up + 1, h), min(2 * side + 1, w)

    def run(params, rng, canvas, start, labels):
        n = canvas.shape[0]

        def body(t, state):
            canvas, total = state
            i, j, ch = t // (w * c), (t // c) % w, t % c
            r0, c0 = jnp.clip(i - up, 0, h - rh), jnp.clip(j - side, 0, w - rw)
            window = lax.dynamic_slice(canvas, (0, r0, c0, 0), (n, rh, rw, c))
            logits = model.apply({"params": params}, preprocess(window, model.data), labels)
            value, lp = _draw(jax.random.fold_in(rng, t), logits[:, i - r0, j - c0, ch], model.data, top_k)
            return canvas.at[:, i, j, ch].set(value), total + lp

        return lax.fori_loop(start, h * w * c, body, (canvas, jnp.zeros((n,), jnp.float32)))

    return run


def _prefix_length(known, h: int, w: int) -> int:
    """The number of known pixels; ``known`` (concrete bool [H, W]) must be a raster-order prefix."""
    flat = np.asarray(known, bool)
    if flat.shape != (h, w):
        raise ValueError(f"known must be bool [{h}, {w}], got shape {flat.shape}")
    flat = flat.reshape(-1)
    k = int(flat.sum())
    if not flat[:k].all():
        raise ValueError("an autoregressive model completes a raster-order prefix: `known` must be True on the "
                         "first pixels (rows top to bottom, columns left to right) and False after them")
    return k


def density(model: Autoregressive, image_shape) -> Density:
    """The `Density` (``exact=True``) of an autoregressive network on images ``image_shape = (H, W, C)``.
    ``labels`` are passed to the network iff ``model.num_classes`` (unconditional models ignore them)."""
    h, w, c = image_shape
    data, dtype = model.data, _dtype(model.data)
    run = sampler(model, image_shape)

    def used(labels):
        if model.num_classes is None:
            return None
        if labels is None:
            raise ValueError(f"this model is class-conditional ({model.num_classes} classes) and needs labels")
        return jnp.asarray(labels, jnp.int32)

    def init(rng, x, labels=None):
        return model.init(rng, preprocess(x, data), used(labels))["params"]

    def nll(params, x, rng=None, labels=None):
        logits = model.apply({"params": params}, preprocess(x, data), used(labels))
        return -log_prob(logits, x, data), {}

    def sample(params, rng, n, labels=None):
        return run(params, rng, jnp.zeros((n, h, w, c), dtype), 0, used(labels))[0]

    def complete(params, rng, x, known, labels=None):
        start = _prefix_length(known, h, w) * c
        canvas = jnp.where(jnp.asarray(known)[None, :, :, None], jnp.asarray(x).astype(dtype), 0).astype(dtype)
        return run(params, rng, canvas, start, used(labels))[0]

    return Density(data=data, exact=True, init=init, nll=nll, sample=sample, complete=complete, module=model)


def config_getter(cfg, defaults: Callable[[], Any]) -> Callable[[str], Any]:
    """``get(key)``: ``cfg[key]``, falling back to ``defaults()[key]`` (so partial model configs work)."""
    fallback = defaults()
    return lambda key: cfg[key] if cfg is not None and key in cfg else fallback[key]


def validate(get: Callable[[str], Any], image_shape, *size_keys: str) -> tuple[str, int]:
    """Checks ``model.data``, the image shape and that the ``size_keys`` are positive multiples of the colour
    channels (each colour owns a block of features) -> ``(data, channels)``; errors name the key."""
    data = get("data")
    if data not in IMAGE_DATA:
        raise ConfigError(f"model.data={data!r}; autoregressive models take one of {IMAGE_DATA}")
    if len(image_shape) != 3:
        raise ConfigError(f"autoregressive models need images [H, W, C]; got {tuple(image_shape)} (data.image_size)")
    channels = int(image_shape[-1])
    for key in size_keys:
        value = int(get(key))
        if value < 1 or value % channels:
            raise ConfigError(f"model.{key}={value} must be a positive multiple of the {channels} colour channels")
    return data, channels
