"""Input validation shared by every metric: shapes, finiteness, sample counts, matching dimensions.

Each check raises :class:`jaxgen.errors.MetricError` with a message that names the problem and its fix,
and returns the array unchanged (NumPy stays NumPy, a ``jax.Array`` stays on its device; a list
becomes NumPy).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.errors import MetricError


def _as_array(name: str, x):
    """``x`` as a NumPy or JAX array of real numbers."""
    if not isinstance(x, (np.ndarray, jax.Array)):
        x = np.asarray(x)
    if not (jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(x.dtype, jnp.integer)):
        raise MetricError(f"{name} have dtype {x.dtype}: pass real-valued (float or int) arrays")
    return x


def non_finite_rows(x) -> int:
    """Number of rows of ``x [N, ...]`` with at least one NaN or Inf (0 for integer arrays)."""
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return 0
    xp = jnp if isinstance(x, jax.Array) else np
    bad = ~xp.isfinite(x).reshape(x.shape[0], -1).all(axis=1)
    return int(bad.sum())


def check_features(name: str, x, *, min_samples: int = 2, dim: int | None = None):
    """Checks that ``x`` is a ``[N, D]`` feature matrix of finite values with ``N >= min_samples``
    (and ``D == dim`` when given); returns ``x``.

    ``name`` says what the rows are in messages ("real features", "test points").
    """
    x = _as_array(name, x)
    if x.ndim != 2:
        hint = " (flatten images with x.reshape(len(x), -1))" if x.ndim > 2 else ""
        raise MetricError(f"{name} must be a [N, D] matrix, got shape {tuple(x.shape)}{hint}")
    n, d = x.shape
    if n < min_samples:
        raise MetricError(f"{name}: {n} rows, this metric needs at least {min_samples}: pass more samples")
    if d == 0:
        raise MetricError(f"{name} have 0 dimensions (shape {tuple(x.shape)}): check the feature extraction")
    if dim is not None and d != dim:
        raise MetricError(f"{name} are {d}-d, expected {dim}-d: extract them with the same feature network")
    bad = non_finite_rows(x)
    if bad:
        raise MetricError(
            f"{name}: {bad} of {n} feature rows contain NaN or Inf: the generator produced non-finite "
            "images or the feature network overflowed"
        )
    return x


def check_feature_pair(real, fake, *, names: tuple[str, str] = ("real features", "fake features"),
                       min_samples: int | tuple[int, int] = 2):
    """:func:`check_features` on both sets (``min_samples`` for both, or a pair), then that they have the
    same dimension; returns ``(real, fake)``."""
    min_real, min_fake = (min_samples, min_samples) if isinstance(min_samples, int) else min_samples
    real = check_features(names[0], real, min_samples=min_real)
    fake = check_features(names[1], fake, min_samples=min_fake)
    if real.shape[1] != fake.shape[1]:
        raise MetricError(
            f"{names[0]} are {real.shape[1]}-d, {names[1]} {fake.shape[1]}-d: "
            "extract both with the same feature network"
        )
    return real, fake


def check_same_shape(a, b, what: str) -> None:
    """Checks that one item of ``a`` and one of ``b`` have the same shape (all axes after the first, e.g.
    ``[H, W, C]`` of ``[N, H, W, C]`` image batches); ``what`` names the two, e.g. "samples and pool images"."""
    if a.ndim < 1 or b.ndim < 1 or tuple(a.shape[1:]) != tuple(b.shape[1:]):
        fmt = lambda s: "×".join(map(str, s)) or "scalar"  # noqa: E731
        raise MetricError(
            f"{what} differ in shape: {fmt(a.shape[1:])} vs {fmt(b.shape[1:])} per item (batches "
            f"{tuple(a.shape)} and {tuple(b.shape)}): bring both to the same resolution and channels first"
        )
