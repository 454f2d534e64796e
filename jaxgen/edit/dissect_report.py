"""`jaxgen dissect`: a trained run's layer dissected (:mod:`jaxgen.edit.dissect`), its interventions measured, and
the files written into one directory:

    units.csv                  one row per unit, best IoU first: unit, concept, iou, threshold, insert_value
    interventions.csv          per concept: its units, pixel share before / ablated / inserted, the two effects
    dissect.json               all of it, with every unit's IoU for every concept and how it was made
    units.png                  the top units (rows): the samples where each is most active, each beside the sample
                               with the unit's thresholded region kept and the rest darkened
    interventions_<c>.png      concept c: rows before / ablated / inserted on the same samples
"""

from __future__ import annotations

import csv
import io
import json
import os

import jax
import numpy as np

from jaxgen import api
from jaxgen.edit import dissect as dissect_lib
from jaxgen.edit import masks as masks_lib
from jaxgen.edit.generator import Generator
from jaxgen.engine import writers
from jaxgen.errors import JaxgenError

__all__ = ["overlay", "run", "unit_images"]

FIGURE_PX = 64  # figures show images at least this large (nearest-neighbour enlarged)
UNIT_ROWS, UNIT_COLUMNS = 8, 4  # units.png: the top units, and each one's most active samples


def overlay(images, maps, thresholds):
    """``images [N, H, W, C]`` in [-1, 1] with the pixels where the up-sampled ``maps [N, h, w]`` do not exceed
    ``thresholds [N]`` darkened (to 30 % of their brightness)."""
    on = np.asarray(dissect_lib.upsample(np.asarray(maps)[..., None], images.shape[1:3]))[..., 0]
    on = on > np.asarray(thresholds)[:, None, None]
    return np.where(on[..., None], images, 0.3 * (images + 1) - 1)


def unit_images(gen, dissection, layer, rows: int = UNIT_ROWS, cols: int = UNIT_COLUMNS) -> np.ndarray:
    """``[rows * 2 cols, H, W, C]``: for each of the `rows` units of highest IoU, its `cols` most active samples
    (by peak activation), each followed by its `overlay`."""
    units = [r["unit"] for r in dissection.table()[:rows]]
    picks = np.argsort(-dissection.peak[:, units], axis=0, kind="stable")[:cols].T  # [rows, cols]
    images, acts = dissect_lib.samples(gen, dissection, picks.ravel(), layer)
    unit = np.repeat(units, picks.shape[1])
    shown = overlay(images, acts[np.arange(len(unit)), ..., unit], dissection.thresholds[unit])
    return np.stack([images, shown], axis=1).reshape(-1, *images.shape[1:])


def _csv(rows: list[dict]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


def run(workdir: str, layer: str, out: str, num: int = 512, step: int | None = None, seed: int = 0,
        units: int = 4, concepts=None, region=None, batch_size: int = 64, ema: bool | None = None) -> list[str]:
    """Dissects `layer` of the generator of `workdir` over `num` samples (seed `seed`), intervenes with each
    concept's top `units` units (`concepts`: names; default every concept that is some unit's best match; `region`
    a box ``(y0, x0, y1, x1)`` in image fractions for insertion, default everywhere; `ema` as `jaxgen.load`'s) and
    writes the files of the module docstring into `out`. Returns their paths."""
    model = api.load(workdir, step=step, ema=ema)
    gen = Generator(model)
    labels = None if model.num_classes is None else np.arange(num) % model.num_classes
    probe = dissect_lib.Layer(gen, layer, labels)
    known = masks_lib.names(probe.image_shape[-1])
    unknown = [c for c in concepts or () if c not in known]
    if unknown:
        raise JaxgenError(f"no concept {unknown[0]!r} for these images; the concepts are {', '.join(known)}")
    d = dissect_lib.dissect(gen, probe, num, jax.random.key(seed), labels, batch_size)
    table = d.table()
    if concepts is None:
        concepts = list(dict.fromkeys(r["concept"] for r in table if r["iou"] > 0))
    mask = None if region is None else dissect_lib.box_region(d.shape, region)
    effects = [dissect_lib.intervene(gen, d, c, units, mask, probe) for c in concepts]
    os.makedirs(out, exist_ok=True)
    paths = [os.path.join(out, name) for name in ("units.csv", "interventions.csv", "dissect.json", "units.png")]
    writers.write_atomic(paths[0], _csv(table))
    if effects:
        writers.write_atomic(paths[1], _csv([{**e, "units": " ".join(map(str, e["units"]))} for e in effects]))
    else:
        paths.remove(paths[1])
    info = dict(workdir=workdir, step=model.step, layer=d.layer, shape=list(d.shape), num=num, seed=seed,
                quantile=d.quantile, concepts=list(d.concepts), units_per_concept=units, region=region,
                shares={c: float(s) for c, s in zip(d.concepts, d.shares.mean(axis=0))},
                units=[{**r, "ious": dict(zip(d.concepts, map(float, d.iou[r["unit"]])))} for r in table],
                interventions=effects)
    writers.write_atomic(paths[2], json.dumps(info, indent=1) + "\n")
    images = unit_images(gen, d, probe)
    scale = max(1, FIGURE_PX // images.shape[1])
    writers.save_grid(paths[3], images, ncol=2 * UNIT_COLUMNS, scale=scale)
    for c in concepts:
        rows = dissect_lib.intervention_images(gen, d, c, units, mask, layer=probe)
        path = os.path.join(out, f"interventions_{c}.png")
        writers.save_grid(path, np.concatenate([rows["before"], rows["ablated"], rows["inserted"]]),
                          ncol=len(rows["before"]), scale=scale)
        paths.append(path)
    return paths
