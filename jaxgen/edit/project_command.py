"""What `jaxgen edit project` and `jaxgen edit ppl` compute on a trained workdir, and the files they write.

    jaxgen edit project --workdir W --split test --num 8 --out DIR      # or --images FILE (.png/.jpg, .npz, .npy)
        DIR/projection.png   a row per target: target, its projection, the path in (ws, noise) to the next
                             target's projection at t = 1/4, 1/2, 3/4, that projection, that target
        DIR/projection.json  PSNR (dB) and perceptual distance per target and their means, the settings
        DIR/projection.npz   targets, projections, ws [N, L, w_dim] (the projected latents, for more edits)
    jaxgen edit ppl --workdir W --space w --sampling end --num-samples 10000
        one JSON line {"step", "workdir", "ppl_w_end_n10k_vgg16hed": ...}, also appended to W/metrics.jsonl
"""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.edit import project as project_lib
from jaxgen.edit.generator import Generator
from jaxgen.errors import ConfigError

__all__ = ["EDIT_STEPS", "run_ppl", "run_project", "targets"]

EDIT_STEPS = (0.25, 0.5, 0.75)  # the interpolation columns of projection.png


def targets(generator: Generator, images: str | None, split: str | None, num: int) -> np.ndarray:
    """``[num, H, W, C]`` at G's output size: the first `num` images of `images` (an image file, resized; an .npz or
    .npy of images) or of the run's dataset split `split`, area-resized to G's output when the sizes differ."""
    from jaxgen.data import images as images_lib

    shape = jax.eval_shape(lambda w: generator.synthesize(generator.broadcast(w)), generator.w_avg[None]).shape[1:]
    if images is not None:
        pictures = images_lib.read_images(images, shape)[:num]
    else:
        from jaxgen.metrics import reference

        pictures = reference.real_images(generator.model.config.data, split, num)
        if pictures.shape[1:] != shape:
            pictures = np.asarray(jax.image.resize(pictures, (len(pictures), *shape), "linear", antialias=True))
    return pictures.astype(np.float32)


def _edits(generator: Generator, result: project_lib.Projection) -> np.ndarray:
    """``[N, 3, H, W, C]``: each projection's (ws, noise) moved toward the next one's (cyclically) at `EDIT_STEPS`."""
    ws, nxt = result.ws, jnp.roll(result.ws, -1, axis=0)
    columns = []
    for t in EDIT_STEPS:
        noise = jax.tree.map(lambda a: a + t * (jnp.roll(a, -1, axis=0) - a), result.noise)
        columns.append(np.asarray(generator.synthesize(ws + t * (nxt - ws), noise=noise)))
    return np.stack(columns, axis=1)


def run_project(workdir: str, out: str, *, images: str | None = None, split: str | None = None, num: int = 8,
                space: str = "w", steps: int = 1000, mse_weight: float = 0.0, seed: int = 0,
                step: int | None = None, ema: bool | None = None) -> list[str]:
    """Projects `num` targets (:func:`targets`) into `space` of the run's G, writes the files of the module
    docstring into `out`; their paths."""
    import jaxgen
    from jaxgen.engine import writers

    generator = Generator(jaxgen.load(workdir, step, ema))
    project_lib.require_style_based(generator)
    wanted = targets(generator, images, split, num)
    schedule = project_lib.Schedule(steps=steps, mse_weight=mse_weight)

    def report(done, distances):
        print(f"step {done}/{steps}: perceptual distance {np.mean(distances):.4g}", flush=True)

    result = project_lib.project(generator, wanted, space=space, schedule=schedule, key=jax.random.key(seed),
                                 progress=report)
    if not np.isfinite(result.images).all():
        raise ConfigError(f"the projections of {workdir} are not finite (its generator's images are not?)")
    n = len(wanted)
    edits = _edits(generator, result)
    rows = np.concatenate([wanted[:, None], result.images[:, None], edits, np.roll(result.images, -1, 0)[:, None],
                           np.roll(wanted, -1, 0)[:, None]], axis=1)
    os.makedirs(out, exist_ok=True)
    paths = [writers.save_grid(os.path.join(out, "projection.png"), rows.reshape(-1, *rows.shape[2:]),
                               ncol=rows.shape[1], scale=max(1, 64 // wanted.shape[1]))]
    summary = {"workdir": workdir, "step": generator.model.step, "space": space, "steps": steps,
               "mse_weight": mse_weight, "seed": seed,
               "targets": images or f"{generator.model.config.data.name}/{split}[:{n}]",
               "distance": result.distance_name,
               "psnr_mean": float(np.mean(result.psnr)), "distance_mean": float(np.mean(result.distance)),
               "psnr": [float(v) for v in result.psnr], "perceptual_distance": [float(v) for v in result.distance],
               "columns": ["target", "projection", *(f"toward the next projection, t = {t}" for t in EDIT_STEPS),
                           "next projection", "next target"]}
    paths.append(os.path.join(out, "projection.json"))
    writers.write_atomic(paths[-1], json.dumps(summary, indent=2) + "\n")
    paths.append(os.path.join(out, "projection.npz"))
    np.savez(paths[-1], targets=wanted, projections=result.images, ws=np.asarray(result.ws))
    return paths


def run_ppl(workdir: str, *, space: str = "w", sampling: str = "end", num_samples: int = 10000,
            batch_size: int = 100, seed: int = 0, step: int | None = None, ema: bool | None = None) -> dict:
    """The PPL of the run's G (:func:`jaxgen.metrics.ppl.ppl`), appended to the workdir's metrics.jsonl; the line.
    ema=False: the raw G of a run with an EMA, the name ending in ``_rawg``."""
    import jaxgen
    from jaxgen.engine import writers
    from jaxgen.metrics import names, ppl

    model = jaxgen.load(workdir, step, ema)
    result = ppl.ppl(Generator(model), jax.random.key(seed), space=space, sampling=sampling,
                     num_samples=num_samples, batch_size=batch_size)
    name = result.name if model.ema or "ema" not in model.state else names.raw_generator(result.name)
    writer = writers.MetricWriter(workdir)
    writer.write(model.step, {name: result.value, "ppl_seed": seed})
    writer.close()
    return {"step": model.step, "workdir": workdir, name: result.value}
