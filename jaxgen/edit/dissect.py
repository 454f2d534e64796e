"""GAN Dissection (Bau et al. 2019, "GAN Dissection: Visualizing and Understanding Generative Adversarial
Networks"): which units of a generator layer draw which concept, and what removing or forcing them does.

    g = Generator(jaxgen.load("runs/stylegan"))
    layers(g)                                   # {"synthesis/style3": (8, 8, 128), ...}: G's feature maps
    d = dissect(g, "synthesis/style3", num=512) # thresholds, IoU [units, concepts], the unit-concept table
    d.table()[:5]                               # the best-matching units
    intervene(g, d, "red", units=4)             # the concept's pixel share before / ablated / inserted

A layer is any submodule of G whose call returns a feature map ``[N, h, w, U]`` (named by its flax path, e.g. a
DCGAN's ``up0_bn``, StyleGAN's ``synthesis/style3``); its output is read and edited with flax's
``nn.intercept_methods``, so no model file changes. The model's own activation follows a BatchNorm / AdaIN /
convolution output where the family applies it (DCGAN: ReLU after ``*_bn``, so zeroing a ``*_bn`` unit zeroes
the ReLU's).

Dissection of unit u (the paper's section 3.1) over `num` samples: its threshold ``t_u`` is the top-1 % quantile
(``quantile`` 0.99, as ``np.quantile``'s default linear interpolation) of its activations over every sample and
pixel at the layer's resolution; its map is up-sampled bilinearly (half-pixel centres, edges clamped: PyTorch's
``align_corners=False``) to the image size and thresholded at ``t_u``; the IoU with concept c is
``sum |map > t_u AND mask_c| / sum |map > t_u OR mask_c|`` over all samples (:mod:`jaxgen.edit.masks`' masks).

Interventions (section 3.2): the top-k units of a concept (by IoU) are set to 0 (ablation) or to their mean
activation within their top 1 % (insertion; within a `region` of the layer's map or everywhere) on the same
latents and noise; the concept's pixel share is measured before and after; the mean difference is the average
causal effect.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

from jaxgen.edit import masks as masks_lib
from jaxgen.errors import JaxgenError

__all__ = ["Dissection", "Layer", "box_region", "dissect", "intervene", "intervention_images", "iou_counts",
           "layers", "quantile_threshold", "samples", "top_count", "top_values", "upsample"]

QUANTILE = 0.99


def _path(module) -> str:
    return "/".join(module.path)


def _shapes(gen, labels=None):
    """``({name: (h, w, units)}, image shape (H, W, C))`` of `gen`: an abstract run (nothing is computed)."""
    shapes = {}

    def record(next_fun, args, kwargs, context):
        out = next_fun(*args, **kwargs)
        if context.method_name == "__call__" and context.module.path and getattr(out, "ndim", 0) == 4:
            shapes.setdefault(_path(context.module), tuple(int(s) for s in out.shape[1:]))
        return out

    def run(variables, z, key, labels):
        with nn.intercept_methods(record):
            return gen.apply(variables, z, key, labels)

    key = jax.random.key(0)
    images = jax.eval_shape(run, gen.variables, gen.latents(key, 1), key, None if labels is None else labels[:1])
    return shapes, tuple(images.shape[1:])


def layers(gen, labels=None) -> dict[str, tuple[int, int, int]]:
    """``{name: (h, w, units)}``: every submodule call of `gen` that returns a feature map ``[N, h, w, U]``, in
    call order (shapes only: nothing is computed). `gen`: a `jaxgen.edit.generator.Generator` (or anything with its
    ``variables``, ``latents(key, n)``, ``apply(variables, z, key, labels)``); `labels` a conditional G's ``[N]``."""
    return _shapes(gen, labels)[0]


class Layer:
    """G with one layer's output captured and optionally overwritten: ``layer(z, key, labels, units, values,
    region) -> (images [N, H, W, C], activations [N, h, w, U])``, one jitted program for every edit; ``shape``
    ``(h, w, U)``, ``image_shape`` ``(H, W, C)``."""

    def __init__(self, gen, name: str, labels=None):
        shapes, self.image_shape = _shapes(gen, labels)
        if name not in shapes:
            listing = ", ".join(f"{k} {'x'.join(map(str, s))}" for k, s in shapes.items())
            raise JaxgenError(f"no layer {name!r} in this generator; its layers (h x w x units) are: {listing}")
        self.gen, self.name, self.shape = gen, name, shapes[name]
        self._run = jax.jit(self._apply)

    def _apply(self, variables, z, key, labels, units, values, region):
        captured = []

        def edit(next_fun, args, kwargs, context):
            out = next_fun(*args, **kwargs)
            if context.method_name == "__call__" and _path(context.module) == self.name:
                out = jnp.where(units & region[:, :, None], values.astype(out.dtype), out)
                captured.append(out)
            return out

        with nn.intercept_methods(edit):
            images = self.gen.apply(variables, z, key, labels)
        return images, captured[0].astype(jnp.float32)

    def __call__(self, z, key, labels=None, units=None, values=None, region=None):
        """G on ``z [N, ...]`` with units ``units`` (bool ``[U]`` or indices; default none) set to ``values``
        (``[U]`` or a scalar; default 0) where ``region`` (bool ``[h, w]``; default everywhere) holds."""
        h, w, count = self.shape
        mask = np.zeros(count, bool)
        if units is not None:
            units = np.asarray(units)
            mask[units if units.dtype != bool else np.flatnonzero(units)] = True
        values = np.broadcast_to(np.asarray(0.0 if values is None else values, np.float32), (count,))
        region = np.ones((h, w), bool) if region is None else np.asarray(region, bool)
        if region.shape != (h, w):
            raise JaxgenError(f"region must be a [{h}, {w}] mask of layer {self.name!r}'s map, got shape "
                              f"{region.shape}")
        return self._run(self.gen.variables, z, key, labels, mask, values, region)


def box_region(shape, box) -> np.ndarray:
    """Bool ``[h, w]`` of a layer map ``shape = (h, w, ...)``: the cells that the box ``(y0, x0, y1, x1)``
    (fractions of the image's height and width, ``0 <= y0 < y1 <= 1``) overlaps."""
    y0, x0, y1, x1 = (float(v) for v in box)
    if not (0 <= y0 < y1 <= 1 and 0 <= x0 < x1 <= 1):
        raise JaxgenError(f"a region box is y0,x0,y1,x1 with 0 <= y0 < y1 <= 1 and 0 <= x0 < x1 <= 1, got {box}")
    h, w = shape[:2]
    region = np.zeros((h, w), bool)
    region[math.floor(y0 * h):math.ceil(y1 * h), math.floor(x0 * w):math.ceil(x1 * w)] = True
    return region


def upsample(acts, size: tuple[int, int]):
    """``[N, h, w, U] -> [N, H, W, U]`` bilinear (half-pixel centres, clamped edges)."""
    n, _, _, u = acts.shape
    return jax.image.resize(acts, (n, *size, u), "bilinear")


def top_values(top, acts, valid):
    """``top [U, k]`` (descending) merged with the valid samples' activations ``acts [N, h, w, U]`` (``valid``
    bool ``[N]``): each unit's k largest values so far."""
    acts = jnp.where(valid[:, None, None, None], acts, -jnp.inf)
    return jax.lax.top_k(jnp.concatenate([top, acts.reshape(-1, acts.shape[-1]).T], axis=1), top.shape[1])[0]


def top_count(total: int, quantile: float) -> int:
    """How many of the largest of `total` values the `quantile` (np.quantile's linear interpolation) reads."""
    return total - math.floor(quantile * (total - 1))


def quantile_threshold(top, total: int, quantile: float = QUANTILE) -> np.ndarray:
    """``[U]``: ``np.quantile(values, quantile)`` per unit from its ``top [U, k]`` largest of `total` values
    (``k >= top_count(total, quantile)``)."""
    top = np.asarray(top, np.float64)
    position = quantile * (total - 1)
    below = total - 1 - math.floor(position)  # the descending index of the order statistic below the quantile
    above = max(below - 1, 0)
    return top[:, below] + (position - math.floor(position)) * (top[:, above] - top[:, below])


def iou_counts(acts, thresholds, masks, valid):
    """``(intersection [U, K], area [U])``: pixels where the up-sampled ``acts [N, h, w, U]`` exceed
    ``thresholds [U]``, and where they meet ``masks [N, H, W, K]`` (bool), over the ``valid [N]`` samples."""
    on = (upsample(acts, masks.shape[1:3]) > thresholds) & valid[:, None, None, None]
    on = on.reshape(-1, on.shape[-1]).astype(jnp.float32)
    return on.T @ masks.reshape(-1, masks.shape[-1]).astype(jnp.float32), on.sum(axis=0)


_merge_top = jax.jit(top_values)
_count = jax.jit(iou_counts)


@dataclasses.dataclass
class Dissection:
    """One layer dissected: per unit ``u`` and concept ``c``, over the samples of ``z`` (noise of ``key``).

    thresholds ``[U]`` (t_u), insert_values ``[U]`` (mean activation in the top 1 %), iou ``[U, K]``, peak
    ``[N, U]`` (each sample's largest activation of each unit), shares ``[N, K]`` (each sample's pixel share of
    each concept), and what reproduces the samples: ``z``, ``labels``, ``key``, ``batch_size``.
    """

    layer: str
    shape: tuple[int, int, int]
    concepts: tuple[str, ...]
    quantile: float
    thresholds: np.ndarray
    insert_values: np.ndarray
    iou: np.ndarray
    peak: np.ndarray
    shares: np.ndarray
    z: np.ndarray
    labels: np.ndarray | None
    key: jax.Array
    batch_size: int

    def table(self) -> list[dict]:
        """One row per unit, best IoU first: ``unit, concept, iou, threshold, insert_value``."""
        best = np.argmax(self.iou, axis=1)
        rows = [dict(unit=u, concept=self.concepts[best[u]], iou=float(self.iou[u, best[u]]),
                     threshold=float(self.thresholds[u]), insert_value=float(self.insert_values[u]))
                for u in range(len(best))]
        return sorted(rows, key=lambda r: (-r["iou"], r["unit"]))

    def top_units(self, concept: str, k: int) -> np.ndarray:
        """The `k` units of highest IoU with `concept`."""
        if concept not in self.concepts:
            raise JaxgenError(f"no concept {concept!r}; the concepts are {', '.join(self.concepts)}")
        return np.argsort(-self.iou[:, self.concepts.index(concept)], kind="stable")[:k]


def _batches(samples, n: int):
    """``(index, z [B, ...], labels [B] | None, valid [B])`` covering the n samples of ``samples = (z, labels,
    B)``, the last batch padded with copies of the last sample."""
    z, labels, size = samples
    for b, start in enumerate(range(0, n, size)):
        rows = np.minimum(np.arange(start, start + size), n - 1)
        yield b, z[rows], None if labels is None else labels[rows], np.arange(start, start + size) < n


def dissect(gen, layer: str | Layer, num: int = 512, key=None, labels=None, batch_size: int = 64,
            quantile: float = QUANTILE) -> Dissection:
    """Dissects `layer` of `gen` (a `Generator`, see `layers`) over `num` samples of ``gen.latents(key)``.

    `labels` ``[num]`` for a class-conditional G. Two passes over the same latents and noise: the thresholds,
    then the IoU counts with :func:`jaxgen.edit.masks.concept_masks` of the images."""
    if num < 1 or not 0 < quantile < 1:
        raise JaxgenError(f"dissect needs num >= 1 and 0 < quantile < 1, got num={num}, quantile={quantile}")
    layer = layer if isinstance(layer, Layer) else Layer(gen, layer, labels)
    key = jax.random.key(0) if key is None else key
    z, noise = np.asarray(gen.latents(jax.random.fold_in(key, 0), num)), jax.random.fold_in(key, 1)
    batch_size = min(batch_size, num)
    h, w, count = layer.shape
    total = num * h * w
    top = jnp.full((count, top_count(total, quantile)), -jnp.inf)
    for b, zb, lb, valid in _batches((z, labels, batch_size), num):
        top = _merge_top(top, layer(zb, jax.random.fold_in(noise, b), lb)[1], valid)
    thresholds = quantile_threshold(top, total, quantile).astype(np.float32)
    inter, area, mask_area, peak, shares, names = 0.0, 0.0, 0.0, [], [], None
    for b, zb, lb, valid in _batches((z, labels, batch_size), num):
        images, acts = layer(zb, jax.random.fold_in(noise, b), lb)
        masks = masks_lib.concept_masks(np.asarray(images))
        names = tuple(masks)
        stacked = np.stack([masks[c] for c in names], axis=-1) & valid[:, None, None, None]
        counts = _count(acts, thresholds, stacked, valid)
        inter, area = inter + np.asarray(counts[0], np.float64), area + np.asarray(counts[1], np.float64)
        mask_area = mask_area + stacked.sum(axis=(0, 1, 2))
        peak.append(np.asarray(acts.max(axis=(1, 2)))[valid])
        shares.append(stacked.mean(axis=(1, 2))[valid])
    union = area[:, None] + mask_area[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return Dissection(layer.name, layer.shape, names, quantile, thresholds, np.asarray(top.mean(axis=1)), iou,
                      np.concatenate(peak), np.concatenate(shares), z, labels, key, batch_size)


def _edits(dissection: Dissection, concept: str, units: int, region) -> dict[str, dict]:
    """The keyword arguments of `Layer` for each row of an intervention: before, ablated, inserted."""
    chosen = dissection.top_units(concept, units)
    return {"before": {}, "ablated": dict(units=chosen, values=0.0),
            "inserted": dict(units=chosen, values=dissection.insert_values, region=region)}


def _edited(layer: Layer, dissection: Dissection, edit: dict, batches=None):
    """``(b, images [B', H, W, C], activations [B', h, w, U])`` of the dissection's samples (same latents and
    noise) with `edit`, batch by batch (B' the batch's real samples; only the batches in `batches`, if given)."""
    noise, n = jax.random.fold_in(dissection.key, 1), len(dissection.z)
    for b, zb, lb, valid in _batches((dissection.z, dissection.labels, dissection.batch_size), n):
        if batches is None or b in batches:
            images, acts = layer(zb, jax.random.fold_in(noise, b), lb, **edit)
            yield b, np.asarray(images)[valid], np.asarray(acts)[valid]


def samples(gen, dissection: Dissection, indices, layer: Layer | None = None, **edit):
    """``(images [len, H, W, C], activations [len, h, w, U])`` of the dissection's samples `indices`, exactly as
    the dissection drew them (their batches are rerun), with the `Layer` keyword arguments `edit`."""
    layer = layer or Layer(gen, dissection.layer, dissection.labels)
    indices = np.asarray(indices, int)
    size = dissection.batch_size
    runs = {b: (images, acts) for b, images, acts in _edited(layer, dissection, edit, set(indices // size))}
    return tuple(np.stack([runs[i // size][k][i % size] for i in indices]) for k in (0, 1))


def intervene(gen, dissection: Dissection, concept: str, units: int = 4, region=None,
              layer: Layer | None = None) -> dict:
    """The average causal effect on `concept`'s pixel share of its top `units` units of the dissected layer.

    On the dissection's samples (same latents and noise): the share before, with the units set to 0 (ablated),
    and with them set to their insert values within `region` (bool ``[h, w]`` of the layer's map; default
    everywhere). Returns ``{concept, units, before, ablated, inserted, ablate_effect, insert_effect}``: shares are
    means over the samples, effects the means of the per-sample differences from before. `layer`: a `Layer` of
    `gen` to reuse (its compiled program).
    """
    layer = layer or Layer(gen, dissection.layer, dissection.labels)
    edits, c = _edits(dissection, concept, units, region), dissection.concepts.index(concept)
    result = dict(concept=concept, units=[int(u) for u in edits["ablated"]["units"]],
                  before=float(dissection.shares[:, c].mean()))
    for name, effect in (("ablated", "ablate_effect"), ("inserted", "insert_effect")):
        shares = np.concatenate([masks_lib.concept_masks(images)[concept].mean(axis=(1, 2))
                                 for _, images, _ in _edited(layer, dissection, edits[name])])
        result[name] = float(shares.mean())
        result[effect] = float((shares - dissection.shares[:, c]).mean())
    return result


def intervention_images(gen, dissection: Dissection, concept: str, units: int = 4, region=None, count: int = 8,
                        layer: Layer | None = None) -> dict[str, np.ndarray]:
    """``{"before", "ablated", "inserted": [count, H, W, C]}``: the first `count` samples under `intervene`'s
    edits."""
    layer = layer or Layer(gen, dissection.layer, dissection.labels)
    indices = np.arange(min(count, len(dissection.z)))
    return {name: samples(gen, dissection, indices, layer, **edit)[0]
            for name, edit in _edits(dissection, concept, units, region).items()}
