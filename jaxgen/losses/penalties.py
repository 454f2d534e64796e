"""Input-gradient penalties on a discriminator, each a nested ``jax.grad`` inside the caller's loss.

``d_fn(x [N, ...]) -> [N]`` is the discriminator with its parameters closed over; the penalties take
``grad(sum(d_fn(x)))`` with respect to ``x``, which is the per-example gradient only when examples do
not interact inside D (no batch normalisation: trainers refuse that combination). Because the gradient
is built inside the caller's ``value_and_grad`` over D's parameters, the penalty trains D (a double
backward), as the papers intend.

- ``wgan_gp``: ``E[(||grad D(x_hat)||_2 - 1)^2]``, ``x_hat = eps x + (1 - eps) G(z)``, ``eps ~ U[0, 1]``
  per example (Gulrajani et al. 2017, Algorithm 1; two-sided).
- ``dragan``: ``E[(||grad D(x + delta)||_2 - 1)^2]``, ``delta ~ N(0, (c * std(x))^2 I)`` around the real
  data (Kodali et al. 2017, eq. 9; the noise scale is tied to the batch's pixel std as in the authors'
  code, ``c`` configurable).
- ``r1`` / ``r2``: ``1/2 E[||grad D(x)||_2^2]`` on real / on generated data, zero-centred (Mescheder
  et al. 2018, eq. 9), so that a weight ``gamma`` gives their ``gamma/2`` term.
- ``wgan_gp_pixel``: WGAN-GP's term with the norm taken over the channels at each position of an image
  ``[N, H, W, C]`` and averaged over positions and examples, ``E[(||grad_{x[n,h,w,:]} D(x_hat)||_2 - 1)^2]``: the
  official SinGAN code's penalty (``gradients.norm(2, dim=1)`` of an NCHW gradient), for patch critics whose
  score is a map: every position's gradient is held near norm 1, where ``wgan_gp`` holds the whole image's.

Inputs may be pytrees of arrays with a common leading example axis (MSG-GAN's images at every scale, a
paired game's (source, target)): an example's gradient norm is taken over all its leaves together,
WGAN-GP's ``eps`` is one per example shared by its leaves, DRAGAN's noise scale is each leaf's own std.

Each penalty is a term at given points (:func:`two_sided`, :func:`zero_centred`) evaluated at the points
of its sampler (:func:`interpolates`, :func:`perturbed`; R1/R2 use the data), so the deterministic part can
be checked on given points (``tests/losses/test_penalties.py`` does, against PyTorch autograd).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxgen.errors import ConfigError

DFn = Callable[[jax.Array], jax.Array]  # x (an array [N, ...] or a pytree of them) -> [N]


def input_gradients(d_fn: DFn, x):
    """``d D(x_i) / d x_i`` for every example, shaped as ``x`` (one backward pass of ``sum_i D(x_i)``)."""
    return jax.grad(lambda inputs: jnp.sum(d_fn(inputs)))(x)


def _squares(grads) -> jax.Array:
    """Per-example squared L2 norms ``[N]`` over every leaf of ``grads``."""
    per_leaf = [jnp.sum(jnp.reshape(g, (g.shape[0], -1)) ** 2, axis=1) for g in jax.tree.leaves(grads)]
    return functools.reduce(lambda a, b: a + b, per_leaf)


def _norms(grads) -> jax.Array:
    """Per-example L2 norms ``[N]``; the tiny epsilon keeps the gradient of the norm finite at 0."""
    return jnp.sqrt(_squares(grads) + 1e-12)


def two_sided(d_fn: DFn, x) -> jax.Array:
    """``E[(||grad D(x)||_2 - 1)^2]`` at the given points ``x [N, ...]`` (the WGAN-GP / DRAGAN term)."""
    return jnp.mean((_norms(input_gradients(d_fn, x)) - 1.0) ** 2)


def pixelwise_two_sided(d_fn: DFn, x: jax.Array) -> jax.Array:
    """``E_{n,h,w}[(||grad_{x[n,h,w,:]} D||_2 - 1)^2]`` at images ``x [N, H, W, C]``: the norm over channels at each
    position (SinGAN's official penalty)."""
    if not isinstance(x, jax.Array) or x.ndim != 4:
        raise ConfigError("config key 'loss.penalty' = 'wgan_gp_pixel' needs image inputs [N, H, W, C] to D; got "
                          f"{jax.tree.map(jnp.shape, x)} (use 'wgan_gp')")
    norms = jnp.sqrt(jnp.sum(input_gradients(d_fn, x) ** 2, axis=-1) + 1e-12)  # [N, H, W]
    return jnp.mean((norms - 1.0) ** 2)


def zero_centred(d_fn: DFn, x) -> jax.Array:
    """``1/2 E[||grad D(x)||_2^2]`` at the given points ``x [N, ...]`` (the R1 / R2 term)."""
    return 0.5 * jnp.mean(_squares(input_gradients(d_fn, x)))


def interpolates(real, fake, rng: jax.Array):
    """WGAN-GP's points ``eps x + (1 - eps) G(z)``, one ``eps ~ U[0, 1]`` per example (shared by the leaves of
    a pytree); shaped as ``real``."""
    first = jax.tree.leaves(real)[0]
    eps = jax.random.uniform(rng, (first.shape[0],) + (1,) * (first.ndim - 1), first.dtype)

    def mix(r, f):
        e = jnp.reshape(eps, (r.shape[0],) + (1,) * (r.ndim - 1))
        return e * r + (1.0 - e) * f

    return jax.tree.map(mix, real, fake)


def perturbed(real, rng: jax.Array, c: float = 0.5):
    """DRAGAN's points ``x + delta``, ``delta ~ N(0, (c * std(x))^2 I)`` (the std of the whole batch, of each
    leaf of a pytree, no gradient through it); shaped as ``real``."""
    leaves, treedef = jax.tree.flatten(real)
    keys = [rng] if len(leaves) == 1 else list(jax.random.split(rng, len(leaves)))
    out = [x + c * jax.lax.stop_gradient(jnp.std(x)) * jax.random.normal(k, x.shape, x.dtype)
           for x, k in zip(leaves, keys)]
    return jax.tree.unflatten(treedef, out)


def wgan_gp(d_fn: DFn, real: jax.Array, fake: jax.Array, rng: jax.Array) -> jax.Array:
    """Two-sided penalty on random interpolates between real and generated examples."""
    return two_sided(d_fn, interpolates(real, fake, rng))


def wgan_gp_pixel(d_fn: DFn, real: jax.Array, fake: jax.Array, rng: jax.Array) -> jax.Array:
    """The pixel-wise two-sided penalty (:func:`pixelwise_two_sided`) on WGAN-GP's interpolates."""
    return pixelwise_two_sided(d_fn, interpolates(real, fake, rng))


def dragan(d_fn: DFn, real: jax.Array, rng: jax.Array, c: float = 0.5) -> jax.Array:
    """Two-sided penalty on real examples perturbed with Gaussian noise of std ``c * std(real)``."""
    return two_sided(d_fn, perturbed(real, rng, c))


def r1(d_fn: DFn, real: jax.Array) -> jax.Array:
    """``1/2 E ||grad D(x)||^2`` over real examples."""
    return zero_centred(d_fn, real)


def r2(d_fn: DFn, fake: jax.Array) -> jax.Array:
    """``1/2 E ||grad D(G(z))||^2`` over generated examples (the same term as :func:`r1` on other data)."""
    return zero_centred(d_fn, fake)


PENALTIES = ("none", "wgan_gp", "dragan", "r1", "r2", "wgan_gp_pixel")


def penalty(name: str, d_fn: DFn, real: jax.Array, fake: jax.Array, rng: jax.Array, dragan_c: float = 0.5):
    """The penalty called ``name`` (config key ``loss.penalty``); ``"none"`` is 0."""
    if name == "wgan_gp":
        return wgan_gp(d_fn, real, fake, rng)
    if name == "dragan":
        return dragan(d_fn, real, rng, dragan_c)
    if name == "wgan_gp_pixel":
        return wgan_gp_pixel(d_fn, real, fake, rng)
    if name == "r1":
        return r1(d_fn, real)
    if name == "r2":
        return r2(d_fn, fake)
    if name == "none":
        return jnp.zeros((), jax.tree.leaves(real)[0].dtype)
    raise ConfigError(f"config key 'loss.penalty' must be one of {list(PENALTIES)}, got {name!r}")
