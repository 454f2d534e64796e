"""Figures of trained likelihood workdirs, into docs/images/ (see docs/likelihood.md).

    python tools/likelihood_figures.py runs/vae_mnist runs/vae2d_mnist runs/pixelcnn_mnist …

VAEs: `<name>_reconstructions.png` (rows: test images, their reconstructions), `<name>_interpolations.png`
(decoded straight lines between the posterior means of two test images), `<name>_samples.png`, and for a
2-D latent `<name>_manifold.png` (decoded normal quantiles on a 20×20 grid, Kingma & Welling 2014 Fig. 4).
Autoregressive models: `<name>_samples.png` (a class-conditional model: one row per class) and `<name>_completions.png` (per test image: original,
bottom half removed, four completions sampled given the top half). `<name>` is the workdir's basename.
Test images are spread over the split, in the fixed evaluation data space (one fixed binarisation).
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen import data as data_lib
from jaxgen import models
from jaxgen.engine import workdir as workdir_lib
from jaxgen.engine import writers
from jaxgen.losses import likelihood as lik
from jaxgen.models import vae


def _test_x(config, n: int, kind: str):
    """`n` test images spread evenly over the split (it is stored class by class), in the evaluation data
    space, and their labels."""
    examples = data_lib.read_split(config.data, "test")
    images, labels = examples["image"], examples["label"]
    pick = np.linspace(0, len(images) - 1, n).astype(int)
    return lik.eval_data_space(jnp.asarray(images[pick]), kind, 0), labels[pick]


def _save(out_dir: str, name: str, x, kind: str, ncol: int) -> None:
    path = writers.save_grid(os.path.join(out_dir, f"{name}.png"), np.asarray(lik.to_images(jnp.asarray(x), kind)),
                             ncol=ncol, scale=2)
    print("wrote", path)


def vae_figures(name: str, config, shape, params, out_dir: str) -> None:
    m, kind = config.model, config.model.data
    x, _ = _test_x(config, 10, kind)
    mu, _ = vae.encode(m, shape, params, x)
    _save(out_dir, f"{name}_reconstructions", np.concatenate([x, vae.decode(m, shape, params, mu)]), kind, 10)
    t = jnp.linspace(0.0, 1.0, 10)[None, :, None]
    line = (mu[0::2, None] * (1 - t) + mu[1::2, None] * t).reshape(-1, m.latent_dim)  # 5 pairs × 10 steps
    _save(out_dir, f"{name}_interpolations", vae.decode(m, shape, params, line), kind, 10)
    z = jax.random.normal(jax.random.key(0), (64, m.latent_dim))
    _save(out_dir, f"{name}_samples", vae.decode(m, shape, params, z), kind, 8)
    if m.latent_dim == 2:
        _save(out_dir, f"{name}_manifold", vae.decode(m, shape, params, vae.latent_grid(20)), kind, 20)


def autoregressive_figures(name: str, config, shape, params, num_classes, out_dir: str) -> None:
    m, kind = config.model, config.model.data
    dens = models.get(m.name).density(m, shape, num_classes)
    labels = lambda y: jnp.asarray(y, jnp.int32) if num_classes else None  # noqa: E731
    classes = np.repeat(np.arange(num_classes or 8), 8)  # conditional: one row of 8 per class
    samples = jax.jit(lambda p, k, y: dens.sample(p, k, len(classes), y))(params, jax.random.key(0),
                                                                           labels(classes))
    _save(out_dir, f"{name}_samples", samples, kind, 8)
    x, y = _test_x(config, 8, kind)
    known = np.zeros(shape[:2], bool)
    known[: shape[0] // 2] = True
    occluded = jnp.where(jnp.asarray(known)[None, :, :, None], x, 0)
    complete = jax.jit(lambda p, k, xx, yy: dens.complete(p, k, xx, known, yy))
    rows = [x, occluded] + [complete(params, jax.random.key(i), x, labels(y)) for i in range(4)]
    grid = np.stack([np.asarray(r) for r in rows], 1).reshape(-1, *shape)  # per image: its 6 variants
    _save(out_dir, f"{name}_completions", grid, kind, 6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdirs", nargs="+")
    parser.add_argument("--out", default="docs/images")
    args = parser.parse_args()
    for workdir in args.workdirs:
        config, _, state, _ = workdir_lib.restore(workdir)
        _, info = workdir_lib.read(workdir)
        shape = tuple(info["image_shape"])
        name = os.path.basename(os.path.normpath(workdir))
        if config.model.name == "vae":
            vae_figures(name, config, shape, state["params"], args.out)
        else:
            num_classes = info.get("num_classes") if config.model.get("conditional", False) else None
            autoregressive_figures(name, config, shape, state["params"], num_classes, args.out)


if __name__ == "__main__":
    main()
