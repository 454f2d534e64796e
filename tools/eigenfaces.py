"""Eigenfaces of the bundled `lfw_faces` (scikit-image's 100 LFW faces, 25x25): three figures for docs/images/.

    python tools/eigenfaces.py [--out docs/images] [--ppca-components 20]

- eigenfaces.png: the mean face, then the first 15 principal axes (each scaled to [-1, 1] by its largest |value|).
- pca_reconstructions.png: 8 test faces (top row) and their reconstructions from k = 1, 5, 20, 50 and all 625
  axes (one row per k; the axes are those of the 80 training faces, so only "all" is exact).
- ppca_samples.png: 32 samples of a PPCA with `--ppca-components` axes, clipped to [0, 1].

PCA is fitted to the training split's pixel intensities k / 255 (no dequantisation noise, for clean pictures).
"""

from __future__ import annotations

import argparse
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxgen import data as data_lib
from jaxgen.engine import writers
from jaxgen.losses import likelihood
from jaxgen.models import pca

SHAPE = (25, 25, 1)


def faces(split: str) -> jax.Array:
    """The split's faces as intensities in [0, 1], flattened [N, 625]."""
    data_cfg = ml_collections.ConfigDict(dict(name="lfw_faces", data_dir=None))
    images = likelihood.intensities(jnp.asarray(data_lib.read_split(data_cfg, split)["image"]))
    return images.reshape(len(images), -1)


def save(path: str, x: jax.Array, ncol: int) -> None:
    """Images x [N, 625] in [0, 1] as a grid, 4x enlarged."""
    images = np.asarray(likelihood.to_images(x.reshape(-1, *SHAPE), "continuous"))
    print("wrote", writers.save_grid(path, images, ncol, scale=4))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/images")
    parser.add_argument("--ppca-components", type=int, default=20)
    args = parser.parse_args(argv)
    train, test = faces("train"), faces("test")
    dim = train.shape[1]
    full = pca.fit(train, dim)
    axes = full["components"][:15]
    axes = axes / jnp.max(jnp.abs(axes), axis=1, keepdims=True)  # [-1, 1]
    save(os.path.join(args.out, "eigenfaces.png"), jnp.concatenate([full["mean"][None], (axes + 1) / 2]), 8)
    originals = test[:8]
    rows = [originals] + [pca.reconstruct(full, originals, k) for k in (1, 5, 20, 50, dim)]
    save(os.path.join(args.out, "pca_reconstructions.png"), jnp.clip(jnp.concatenate(rows), 0, 1), 8)
    ppca = pca.fit(train, args.ppca_components)
    save(os.path.join(args.out, "ppca_samples.png"), jnp.clip(pca.sample(ppca, jax.random.key(0), 32), 0, 1), 8)


if __name__ == "__main__":
    main()
