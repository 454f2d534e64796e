"""Interpolation between latents, and strips of images along the paths.

    strips(g, z0, z1, steps=8)      # [P, 8, H, W, C]: row p walks from G(z0[p]) to G(z1[p])

In Z the default is spherical interpolation (White 2016, "Sampling Generative Networks"): a Gaussian z of many
dimensions lies near the sphere of radius sqrt(z_dim), which the straight line between two draws leaves (its middle
is shorter by up to 1/sqrt(2)), while slerp follows the great circle. Lerp in Z is offered for comparison. In W (a
style-based generator's intermediate latent, whose distribution is learned, not Gaussian) interpolation is linear,
as in StyleGAN's figures and its perceptual path length. A style-based generator interpolates in W by default, any
other in Z.
"""

from __future__ import annotations

import jax.numpy as jnp

from jaxgen.edit.generator import as_generator, render
from jaxgen.errors import JaxgenError
from jaxgen.nn.progressive import lerp as _lerp

SPACES, METHODS = ("z", "w"), ("slerp", "lerp")


def lerp(a, b, t):
    """``(1 - t) a + t b`` for ``a, b [..., D]`` and ``t`` broadcasting against ``[...]``: exactly a at 0, b at 1."""
    return _lerp(a, b, jnp.asarray(t, a.dtype)[..., None])


def slerp(a, b, t, eps: float = 1e-7):
    """Spherical interpolation ``(sin((1 - t) W) a + sin(t W) b) / sin W``, W the angle between ``a, b [..., D]``;
    ``t`` broadcasts against ``[...]``. Exactly a at 0 and b at 1; equal norms stay equal along the arc; lerp where
    the vectors are (anti)parallel (sin W < eps)."""
    t = jnp.asarray(t, a.dtype)[..., None]
    unit = lambda v: v / jnp.linalg.norm(v, axis=-1, keepdims=True)  # noqa: E731
    omega = jnp.arccos(jnp.clip(jnp.sum(unit(a) * unit(b), axis=-1, keepdims=True), -1.0, 1.0))
    sin = jnp.sin(omega)
    safe = jnp.where(sin < eps, 1.0, sin)
    arc = jnp.sin((1 - t) * omega) / safe * a + jnp.sin(t * omega) / safe * b  # coefficients 1 and 0 at the ends
    return jnp.where(sin < eps, _lerp(a, b, t), arc)


def path(a, b, steps: int, method: str = "slerp"):
    """``a, b [P, D]`` -> ``[P, steps, D]``: `steps` points from a to b (both included) at even ``t``."""
    if method not in METHODS:
        raise JaxgenError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if steps < 2:
        raise JaxgenError(f"steps must be at least 2 (the two ends), got {steps}")
    t = jnp.linspace(0.0, 1.0, steps)[None, :]
    return (slerp if method == "slerp" else lerp)(a[:, None, :], b[:, None, :], t)


def resolve(generator, space: str | None, method: str | None) -> tuple[str, str]:
    """The (space, method) to interpolate in: W for a style-based generator and Z otherwise; slerp in Z, lerp in
    W. Slerp in W is refused: w is not Gaussian, so its norm means nothing to keep."""
    space = space or ("w" if generator.style_based else "z")
    if space not in SPACES:
        raise JaxgenError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if space == "w" and not generator.style_based:
        raise JaxgenError(f"interpolation in W needs a style-based generator; this one "
                          f"({generator.model.config.model.name}) has only z: interpolate in Z")
    method = method or ("slerp" if space == "z" else "lerp")
    if space == "w" and method == "slerp":
        raise JaxgenError("slerp is for Gaussian z; w's distribution is learned: interpolate in W with lerp")
    return space, method


def strips(generator, z0, z1, steps: int = 8, space: str | None = None, method: str | None = None, key=None,
           labels=None):
    """Images ``[P, steps, H, W, C]``: row p goes from ``G(z0[p])`` to ``G(z1[p])`` (``z0, z1 [P, z_dim]``) along
    the `path` in `space` with `method` (defaults: `resolve`). Every image gets the same noise images (`each`);
    `labels` int ``[P]`` for a class-conditional generator (one class per row)."""
    generator = as_generator(generator)
    space, method = resolve(generator, space, method)
    ends = (generator.mapping(z0), generator.mapping(z1)) if space == "w" else (z0, z1)
    latents = path(*ends, steps, method).reshape(z0.shape[0] * steps, -1)
    images = render(generator, latents, space, key, None if labels is None else jnp.repeat(jnp.asarray(labels), steps))
    return images.reshape(z0.shape[0], steps, *images.shape[1:])
