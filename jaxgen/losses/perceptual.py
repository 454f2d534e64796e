"""Losses on feature maps (e.g. :class:`jaxgen.nn.vgg.VGG`'s outputs) and images: Gram matrices, style loss,
feature (perceptual/content) loss, total variation. Pure functions; each loss is a float32 scalar mean over the batch.

Features are dicts ``{layer: [N, H, W, C]}`` and ``weights`` dicts ``{layer: w}``: the weights' keys choose the
layers. Targets broadcast against the features along the batch (one style image ``[1, H, W, C]`` for a batch).

Gram matrices are normalised by the number of positions: ``G = F^T F / (H W)`` with ``F`` the ``[H W, C]`` feature
matrix, i.e. the mean over positions of ``f f^T``. Gatys et al. 2016 ("Image Style Transfer Using Convolutional
Neural Networks", eqs. 3-5) write ``E_l = 1 / (4 C^2 M^2) sum_ij (G^raw_ij - A^raw_ij)^2`` with the unnormalised
``G^raw = F^T F`` and ``M = H W``; in this normalisation that is ``mean_ij (G_ij - A_ij)^2 / 4``, so
:func:`style_loss` with weights ``w_l`` is ``sum_l 4 w_l E_l``.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from jaxgen.errors import ConfigError

__all__ = ["feature_loss", "gram", "normalized_distance", "style_loss", "total_variation"]

Array = jax.Array
Features = Mapping[str, Array]


def gram(features: Array) -> Array:
    """``[N, H, W, C]`` -> ``[N, C, C]``: ``G_ij = sum_p F_pi F_pj / (H W)`` over the ``H W`` positions ``p``."""
    n, h, w, c = features.shape
    f = features.reshape(n, h * w, c).astype(jnp.float32)
    return jnp.einsum("npi,npj->nij", f, f) / (h * w)


def _weighted(features: Features, targets: Features, weights: Mapping[str, float], term) -> Array:
    """``sum_l w_l * term(features[l], targets[l])`` over the layers of ``weights``."""
    missing = sorted(set(weights) - set(features) | set(weights) - set(targets))
    if missing:
        raise ConfigError(f"loss weights name layers {missing} that the features lack (they have {sorted(features)})")
    return sum(w * term(features[k].astype(jnp.float32), targets[k].astype(jnp.float32)) for k, w in weights.items())


def style_loss(features: Features, targets: Features, weights: Mapping[str, float], normalize: bool = False) -> Array:
    """``sum_l w_l * mean over N, C, C of (gram(features_l) - gram(targets_l))^2`` (= ``sum_l 4 w_l E_l`` of Gatys
    et al. for one image, see the module docstring).

    ``normalize``: each layer's term is divided by ``mean(gram(targets_l)^2)``, so that it does not change when a
    layer's features are scaled (1 at features of zeros) and layers of very different magnitudes weigh alike (what
    a random network's layers need: :mod:`jaxgen.nn.multiscale`)."""

    def term(f, t):
        g = gram(t)
        d = jnp.mean(jnp.square(gram(f) - g))
        return d / jnp.maximum(jnp.mean(jnp.square(g)), 1e-30) if normalize else d

    return _weighted(features, targets, weights, term)


def feature_loss(features: Features, targets: Features, weights: Mapping[str, float], distance: str = "mse") -> Array:
    """``sum_l w_l * mean over N, H, W, C of |features_l - targets_l|^p``, ``p`` = 2 (``"mse"``, Johnson et al. 2016's
    feature reconstruction loss, SRGAN's VGG loss) or 1 (``"l1"``)."""
    if distance not in ("mse", "l1"):
        raise ConfigError(f"feature loss distance must be 'mse' or 'l1', got {distance!r}")
    power = 2 if distance == "mse" else 1
    return _weighted(features, targets, weights, lambda f, t: jnp.mean(jnp.abs(f - t) ** power))


def normalized_distance(features: Features, targets: Features, eps: float = 1e-10) -> Array:
    """``[N]``: LPIPS's distance with uniform weights (Zhang et al. 2018, eq. 1 with ``w_l = 1``, their unlearned
    baseline): on every layer each position's feature vector is scaled to unit length (``f / (|f| + eps)`` over C),
    the squared difference is summed over C and averaged over H, W; the layers' values are summed."""
    if set(features) != set(targets):
        raise ConfigError(f"features have layers {sorted(features)} but targets {sorted(targets)}")

    def unit(f):
        f = f.astype(jnp.float32)
        return f / (jnp.sqrt(jnp.sum(jnp.square(f), axis=-1, keepdims=True)) + eps)

    return sum(jnp.mean(jnp.sum(jnp.square(unit(features[k]) - unit(targets[k])), axis=-1), axis=(1, 2))
               for k in features)


def total_variation(images: Array, power: float = 1.0) -> Array:
    """``[N, H, W, C]`` -> ``mean |x[i+1, j] - x[i, j]|^power + mean |x[i, j+1] - x[i, j]|^power`` (each mean over
    N, C and its ``(H-1) W`` or ``H (W-1)`` differences); ``power`` 1 is anisotropic TV, 2 the squared form."""
    x = images.astype(jnp.float32)
    return jnp.mean(jnp.abs(jnp.diff(x, axis=1)) ** power) + jnp.mean(jnp.abs(jnp.diff(x, axis=2)) ** power)
