"""Concepts of images, one int label per image: what latent arithmetic groups a generator's samples by.

    concept = get("loop", "mnist5k")           # "open" / "loop": the binarised image has a hole (0, 6, 8, 9, ...)
    concept = get("class", "twemoji")          # EmojiNet's predicted emoji category (9); LeNet's digit on digits
    labels = concept.label(images)             # images [N, H, W, C] in [-1, 1] -> int [N]

``class`` uses the domain classifier the metrics use (`jaxgen.metrics.features`: EmojiNet on the emoji datasets,
LeNet on the digit datasets, trained into the cache on first use), or any trained classifier workdir; images are
resized (bilinear) to the classifier's input. ``loop`` needs no network: the foreground is every pixel with a channel
more than half the value range from the background's (the median of the border pixels, per channel); an image has
a loop when at least `min_hole` background pixels are cut off from the border (``scipy.ndimage.binary_fill_holes``:
background 4-connected, strokes 8-connected).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from jaxgen.errors import JaxgenError

NAMES = ("class", "loop")
LOOP_VALUES = ("open", "loop")
DIGITS = tuple(str(i) for i in range(10))


@dataclasses.dataclass(frozen=True)
class Concept:
    """`values[i]` names label i; `label(images [N, H, W, C] in [-1, 1]) -> int [N]`."""

    name: str
    values: tuple[str, ...]
    label: Callable[[np.ndarray], np.ndarray]

    def index(self, value: str) -> int:
        """The label of `value`: one of `values`, or its index."""
        if value in self.values:
            return self.values.index(value)
        if value.isdigit() and int(value) < len(self.values):
            return int(value)
        raise JaxgenError(f"concept {self.name!r} has no value {value!r}; its values: {', '.join(self.values)}")


def closed_loop(images, min_hole: int = 2) -> np.ndarray:
    """int ``[N]``: 1 where the binarised image (module docstring) encloses at least `min_hole` background pixels."""
    from scipy import ndimage

    x = np.asarray(images, np.float32)
    border = np.concatenate([x[:, 0], x[:, -1], x[:, 1:-1, 0], x[:, 1:-1, -1]], axis=1)  # [N, 4 (H - 1), C]
    foreground = np.max(np.abs(x - np.median(border, axis=1)[:, None, None]), axis=-1) > 1.0
    holes = [int((ndimage.binary_fill_holes(f) & ~f).sum()) for f in foreground]
    return (np.asarray(holes) >= min_hole).astype(np.int32)


def classifier(net) -> Callable[[np.ndarray], np.ndarray]:
    """images -> the argmax class of the `jaxgen.metrics.features.FeatureNet` `net`, images resized to its input."""
    import jax

    def label(images):
        images = np.asarray(images, np.float32)
        if net.input_shape is not None and images.shape[1:] != tuple(net.input_shape):
            h, w, c = net.input_shape
            if images.shape[-1] != c:
                raise JaxgenError(f"the {net.name} classifier takes {c}-channel images; these have {images.shape[-1]}")
            images = np.asarray(jax.image.resize(images, (len(images), h, w, c), "bilinear"))
        return np.argmax(net.extract(images, "generated images")["logits"], axis=1).astype(np.int32)

    return label


def class_values(net_name: str) -> tuple[str, ...]:
    """The class names of a domain classifier: the emoji categories (EmojiNet), the digits (LeNet)."""
    if net_name == "emojinet":
        from jaxgen.data.builders import emoji

        return emoji.CATEGORIES
    return DIGITS


def default(dataset: str) -> str:
    """The concept for a dataset: the emoji category on emoji, the closed loop on digits."""
    from jaxgen.metrics import features

    net = features.domain_net(None, dataset)
    if net is None:
        raise JaxgenError(f"no default concept for dataset {dataset!r}: name one ({', '.join(NAMES)}; class with a "
                          f"classifier workdir)")
    return "class" if net.name == "emojinet" else "loop"


def get(name: str | None, dataset: str, classifier_spec: str | None = None) -> Concept:
    """The concept `name` (default: `default(dataset)`) for images of `dataset`. `classifier_spec`: the
    ``class`` concept's network as `jaxgen.metrics.features.get` names it (``emojinet:<workdir>``, ``lenet``, ...);
    default the dataset's domain classifier."""
    from jaxgen.metrics import features

    name = name or default(dataset)
    if name == "loop":
        return Concept("loop", LOOP_VALUES, closed_loop)
    if name != "class":
        raise JaxgenError(f"unknown concept {name!r}: choose from {', '.join(NAMES)}")
    if classifier_spec is None:
        net = features.domain_net(None, dataset)
        if net is None:
            raise JaxgenError(f"no classifier for dataset {dataset!r}: give a classifier workdir (emojinet:<workdir> "
                              f"or lenet:<workdir>)")
        classifier_spec = net.name
    net = features.get(classifier_spec, dataset)
    return Concept("class", class_values(net.name), classifier(net))
