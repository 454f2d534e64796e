"""Loss landscapes: losses along lines and on planes through parameter space (Li et al. 2018,
"Visualizing the Loss Landscape of Neural Nets").

Every function is generic over a loss ``loss_fn(params) -> scalar`` or ``loss_fn(params) -> {name:
scalar}`` (e.g. ``{"g_loss", "d_loss"}``, so that both players of a GAN are evaluated in one pass),
where ``params`` is any pytree of float arrays (a flax params dict). ``loss_fn`` must be a pure,
deterministic function of ``params``: the batch, the latent noise and any non-parameter state
(BatchNorm statistics) are fixed by closing over them. The leaves ``params`` holds are the ones that
move; close over the others to hold them fixed.

Directions (:func:`random_direction`, :func:`filter_normalize`) are pytrees of the structure of
``params``. *Filter normalisation* rescales a random direction so that each filter has the norm of
the same filter of ``params``, which makes plots of networks of different weight scales comparable:

- a leaf of rank >= 2 (Dense ``[in, out]``, conv ``[kh, kw, in, out]``, flax's layout with the output
  unit last) has one filter per index of its last axis: ``d[..., j] *= |p[..., j]| / |d[..., j]|``;
- a leaf of rank <= 1 (biases, norm scales and offsets) is zero in the direction (the paper's
  choice, ``--xignore biasbn`` in its code), or, with ``zero_1d=False``, a copy of ``params`` (its code
  without that flag).

:func:`interpolate` and :func:`slice2d` evaluate ``loss_fn`` at many points with ``jax.vmap`` over
chunks of ``batch_size`` points; the last chunk is padded so that one program is compiled per call.
Memory grows with ``batch_size`` (one copy of the parameters and the activations of one loss
evaluation per point); ``report(line)``, when given, receives about 20 progress lines, the first with
the compile time. They return NumPy arrays: ``[N]`` / ``[len(ys), len(xs)]`` for a scalar loss,
a dict of them for a dict loss.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Params = Any  # a pytree of float arrays
Loss = jax.Array | Mapping[str, jax.Array]
LossFn = Callable[[Params], Loss]
Report = Callable[[str], None]


def loss_names(loss_fn: LossFn, params: Params) -> tuple[str, ...] | None:
    """The keys of a dict loss, or None for a scalar loss (found by ``jax.eval_shape``, nothing runs).

    Raises ValueError unless ``loss_fn(params)`` is a scalar or a flat dict of scalars.
    """
    out = jax.eval_shape(loss_fn, params)
    leaves = dict(out) if isinstance(out, Mapping) else {None: out}
    bad = {name: getattr(leaf, "shape", type(leaf).__name__) for name, leaf in leaves.items()
           if getattr(leaf, "shape", None) != ()}
    if bad:
        raise ValueError(f"loss_fn must return a scalar or a flat dict of scalars; got {bad} "
                         f"(reduce over the batch, e.g. with .mean())")
    return tuple(out) if isinstance(out, Mapping) else None


def check_like(tree: Params, params: Params, name: str) -> None:
    """Raises ValueError unless ``tree`` has the structure and leaf shapes of ``params``."""
    if jax.tree.structure(tree) != jax.tree.structure(params):
        raise ValueError(f"{name} must have the pytree structure of params: got {jax.tree.structure(tree)}, "
                         f"params has {jax.tree.structure(params)}")
    for (path, leaf), ref in zip(jax.tree_util.tree_flatten_with_path(tree)[0], jax.tree.leaves(params)):
        if jnp.shape(leaf) != jnp.shape(ref):
            raise ValueError(f"{name}{jax.tree_util.keystr(path)} has shape {jnp.shape(leaf)}, "
                             f"params has {jnp.shape(ref)}")


@jax.jit
def random_direction(rng: jax.Array, params: Params) -> Params:
    """A direction of the structure, shapes and dtypes of ``params``, every entry ``N(0, 1)``."""
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(rng, len(leaves))
    return jax.tree.unflatten(treedef, [jax.random.normal(k, jnp.shape(p), jnp.result_type(p))
                                        for k, p in zip(keys, leaves)])


@functools.partial(jax.jit, static_argnames="zero_1d")
def filter_normalize(direction: Params, params: Params, *, zero_1d: bool = True) -> Params:
    """``direction`` with each filter (last-axis slice of a leaf of rank >= 2) rescaled to the norm of
    the same filter of ``params``; leaves of rank <= 1 zero (``zero_1d``) or copied from ``params``."""
    check_like(direction, params, "direction")

    def normalize(d, p):
        if jnp.ndim(p) <= 1:
            return jnp.zeros_like(d) if zero_1d else jnp.asarray(p, d.dtype)
        axes = tuple(range(jnp.ndim(p) - 1))
        norm_p = jnp.sqrt(jnp.sum(jnp.square(p), axis=axes, keepdims=True))
        norm_d = jnp.sqrt(jnp.sum(jnp.square(d), axis=axes, keepdims=True))
        return d * (norm_p / (norm_d + 1e-10)).astype(d.dtype)  # the paper's 1e-10 guards zero filters

    return jax.tree.map(normalize, direction, params)


def interpolate(loss_fn: LossFn, params_a: Params, params_b: Params, alphas, *, batch_size: int = 16,
                report: Report | None = None):
    """Losses at ``(1 - alpha) a + alpha b`` for each of ``alphas [N]`` (the linear path of Goodfellow, Vinyals,
    Saxe 2015): ``[N]``, or ``{name: [N]}`` for a dict loss. ``alpha`` 0 and 1 give exactly ``a`` and ``b``."""
    check_like(params_b, params_a, "params_b")

    def at(ab, alpha):
        a, b = ab
        return loss_fn(jax.tree.map(lambda x, y: (1 - alpha.astype(x.dtype)) * x + alpha.astype(x.dtype) * y, a, b))

    return _sweep(loss_fn, params_a, at, (params_a, params_b), _coords(alphas, "alphas"), batch_size, report,
                  "interpolate")


def slice2d(loss_fn: LossFn, params: Params, dir_x: Params, dir_y: Params, xs, ys, *, batch_size: int = 16,
            report: Report | None = None):
    """Losses at ``params + x dir_x + y dir_y`` on the grid ``xs [NX]`` x ``ys [NY]``: ``[NY, NX]``
    (row ``i`` is ``y = ys[i]``, ready for ``contour(xs, ys, z)``), or ``{name: [NY, NX]}``."""
    check_like(dir_x, params, "dir_x")
    check_like(dir_y, params, "dir_y")
    xs, ys = _coords(xs, "xs"), _coords(ys, "ys")

    def at(args, xy):
        p, dx, dy = args
        return loss_fn(jax.tree.map(lambda w, u, v: w + xy[0].astype(w.dtype) * u + xy[1].astype(w.dtype) * v,
                                    p, dx, dy))

    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)  # row-major over (y, x)
    flat = _sweep(loss_fn, params, at, (params, dir_x, dir_y), grid, batch_size, report, "slice2d")
    return jax.tree.map(lambda v: v.reshape(len(ys), len(xs)), flat)


def _coords(values, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1 or not len(values):
        raise ValueError(f"{name} must be a non-empty 1-D array of coordinates, got shape {values.shape}")
    return values


def _sweep(loss_fn: LossFn, params: Params, at, args, coords: np.ndarray, batch_size: int, report: Report | None,
           what: str):
    """``at(args, coords[i])`` for every ``i``, ``batch_size`` points per call of one jitted vmap; the
    last chunk is padded with copies of the last point and the padding is dropped."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    loss_names(loss_fn, params)  # a clear error before compiling
    n = len(coords)
    size = min(batch_size, n)
    padded = np.concatenate([coords, np.repeat(coords[-1:], -n % size, axis=0)])
    chunk = jax.jit(jax.vmap(at, in_axes=(None, 0)))
    num_chunks = len(padded) // size
    every = max(1, num_chunks // 20)  # about 20 progress lines
    outs, start = [], time.perf_counter()
    for c in range(num_chunks):
        outs.append(jax.device_get(chunk(args, padded[c * size:(c + 1) * size])))
        done, elapsed = min((c + 1) * size, n), time.perf_counter() - start
        if c == 0:
            start, first = time.perf_counter(), done
            if report is not None:
                report(f"{what}: compiled and ran the first {done}/{n} points in {elapsed:.1f}s")
        elif report is not None and ((c + 1) % every == 0 or c + 1 == num_chunks):
            rate = (done - first) / max(elapsed, 1e-9)
            report(f"{what}: {done}/{n} points, {rate:.1f} points/s, ETA {(n - done) / rate:.0f}s")
    return jax.tree.map(lambda *parts: np.concatenate(parts)[:n], *outs)
