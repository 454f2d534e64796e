"""A trained run's generator as pure functions of its latents: what every editing tool (interpolation, arithmetic,
style mixing, truncation, projection, dissection) calls.

    g = Generator(jaxgen.load("runs/stylegan"))
    z = g.latents(jax.random.key(0), 8)          # [8, z_dim] from the family's prior
    images = g(z)                                # [8, H, W, C] in [-1, 1] (eval mode, fixed noise key)
    w = g.mapping(z)                             # style-based generators only: [8, w_dim]
    ws = g.broadcast(w)                          # [8, num_layers, w_dim]: one w per synthesis layer
    images = g.synthesize(g.truncate(ws, 0.7))   # exactly g(z) at psi = 1
    images = g.synthesize(ws, noise=g.noise(8))  # the same noise images, given (the projector optimises them)

G is called with the arguments its game passes after the latent (`Task.generator_args`: a conditional model's
labels, the progressive game's stage and fade-in at the checkpoint), on the sampling weights of the `Model` (the EMA
generator where the run kept one). Per-pixel noise inputs draw from ``key`` (default ``jax.random.key(0)``) one
noise image per example of the batch, as training and `jaxgen sample` do: the same key and batch size give the same
noise. ``each(g.synthesize, ws)`` runs G on every example alone, so that every image of an edit grid gets the same
noise images and differs from the others only by its latents.
"""

from __future__ import annotations

import copy

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen import models
from jaxgen.errors import JaxgenError
from jaxgen.nn.progressive import lerp
from jaxgen.nn.style import NOISE


class Generator:
    """`model`'s generator ("g") as functions of z (and of w for a style-based one); `model` a `jaxgen.api.Model`."""

    def __init__(self, model):
        task = model.task
        if task.generator_args is None or "g" not in task.modules:
            raise JaxgenError(f"{model!r} has no generator of noise to edit (trainer {model.config.trainer!r}, game "
                              f"{model.config.get('game')!r}): editing needs a GAN trained from noise")
        self.model, self.module = model, task.modules["g"]
        self.variables = {"params": model.params["g"], **((model.state.get("model_state") or {}).get("g") or {})}
        self.family = models.get(model.config.model.name)
        self.style_based = all(hasattr(self.module, m) for m in ("mapping", "truncate", "styles"))
        self._call = jax.jit(self.apply, static_argnames=("method", "mutable"))

    def apply(self, variables, inputs, key, labels=None, method="__call__", mutable=False):
        """G's `method` on `inputs`, not jitted (for callers that trace G in their own jit, e.g. under flax's
        ``nn.intercept_methods``); ``__call__`` and ``styles`` get the game's arguments after them."""
        args = self.model.task.generator_args(self.model.state, labels) if method in ("__call__", "styles") else ()
        kwargs = {"train": False} if method == "__call__" else {}
        return self.module.apply(variables, inputs, *args, method=method, rngs={"dropout": key}, mutable=mutable,
                                 **kwargs)

    def with_variables(self, variables) -> Generator:
        """This generator on other variables of its network (e.g. a jitted function's arguments, so that the weights
        are not constants of its program), sharing the compiled functions."""
        other = copy.copy(self)
        other.variables = variables
        return other

    def latents(self, key, n: int):
        """``[n, z_dim]`` draws of the family's prior (what training and `jaxgen sample` feed G)."""
        return self.family.latent(key, n, self.model.config.model)

    def __call__(self, z, key=None, labels=None):
        """``z [N, z_dim]`` -> images ``[N, H, W, C]``; `labels` int ``[N]`` for a conditional model."""
        if (labels is None) != (self.model.num_classes is None):
            raise JaxgenError("labels must be given for a class-conditional generator, and only for one")
        return self._call(self.variables, z, _key(key), labels)

    def _style_only(self, what: str):
        if not self.style_based:
            raise JaxgenError(f"{what} needs a style-based generator (model.name stylegan or stylegan2), but this "
                              f"run's model is {self.model.config.model.name!r}: edit it in z instead")

    @property
    def num_layers(self) -> int:
        """The synthesis layers, each with its own w (StyleGAN: 2 per resolution)."""
        self._style_only("num_layers")
        return self.module.num_layers

    @property
    def w_avg(self):
        """``[w_dim]``: the moving average of w that training kept (the truncation centre)."""
        self._style_only("w_avg")
        return self.variables["batch_stats"]["w_avg"]

    def mapping(self, z):
        """``z [N, z_dim] -> w [N, w_dim]``."""
        self._style_only("mapping")
        return self._call(self.variables, z, _key(None), method="mapping")

    def broadcast(self, w):
        """``w [N, w_dim] -> ws [N, num_layers, w_dim]``: the same w on every layer."""
        return jnp.broadcast_to(w[:, None, :], (w.shape[0], self.num_layers, w.shape[-1]))

    def truncate(self, ws, psi):
        """``w_avg + psi (ws - w_avg)`` on every entry of ``ws [..., w_dim]`` (`psi` broadcasts against it: one per
        layer as ``[L, 1]``); exactly ``ws`` where ``psi = 1``, as G's own truncation."""
        self._style_only("truncation")
        return lerp(self.w_avg, ws, psi)

    def synthesize(self, ws, key=None, noise=None):
        """``ws [N, num_layers, w_dim]`` -> images ``[N, H, W, C]``; `noise` (from :meth:`noise`, or optimised)
        replaces the noise images `key` draws."""
        self._style_only("synthesis from w")
        if ws.ndim != 3 or ws.shape[1] != self.num_layers:
            raise JaxgenError(f"ws must be [N, {self.num_layers}, w_dim] (one w per layer), got shape {ws.shape}")
        variables = self.variables if noise is None else {**self.variables, NOISE: noise}
        return self._call(variables, ws, _key(key), method="styles")

    def noise(self, n: int, key=None) -> dict:
        """The noise images `key` draws for `n` images, as the ``"noise"`` collection `synthesize` takes
        (``{"synthesis": {"noise<i>": {"noise": [n, r_i, r_i, 1]}}}``; empty without noise inputs)."""
        self._style_only("noise inputs")
        ws = jnp.zeros((n, self.num_layers, self.w_avg.shape[-1]), jnp.float32)
        _, drawn = self._call(self.variables, ws, _key(key), method="styles", mutable=(NOISE,))
        return drawn.get(NOISE, {})


def as_generator(model_or_generator) -> Generator:
    """A `Generator` as given, or the one of a `jaxgen.api.Model` (what the editing functions take)."""
    return model_or_generator if isinstance(model_or_generator, Generator) else Generator(model_or_generator)


def each(fn, *arrays, chunk: int = 16):
    """``fn`` on every example of ``arrays [N, ...]`` alone, as a batch of one (``jax.vmap``), stacked (numpy): with one
    key every image gets the same noise images, so an image depends on its latents only, not on its batch or its
    place in it (what edit grids want). `fn` takes and returns batches: ``each(g.synthesize, ws)``. The examples go
    through in chunks of `chunk` (the last one padded), so any N runs the program compiled for one chunk."""
    one = jax.vmap(lambda *xs: fn(*(x[None] for x in xs))[0])
    arrays = [np.asarray(x) for x in arrays]
    n = len(arrays[0])
    padded = [np.concatenate([x, np.repeat(x[-1:], -n % chunk, axis=0)]) for x in arrays]
    return np.concatenate([np.asarray(one(*(x[i:i + chunk] for x in padded))) for i in range(0, n, chunk)])[:n]


def render(generator: Generator, latents, space: str, key=None, labels=None):
    """Images ``[N, H, W, C]`` of ``latents [N, D]`` in `space`: ``"z"`` (G's input; `labels` int ``[N]`` for a
    conditional G) or ``"w"`` (a style-based G's, the same w on every layer); each image alone (`each`)."""
    if space == "w":
        return each(lambda w: generator.synthesize(generator.broadcast(w), key), latents)
    if labels is None:
        return each(lambda z: generator(z, key), latents)
    return each(lambda z, y: generator(z, key, y), latents, np.asarray(labels))


def _key(key):
    return jax.random.key(0) if key is None else key
