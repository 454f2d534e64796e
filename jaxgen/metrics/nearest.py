"""Nearest training images of generated samples: the memorisation check of GAN papers (Goodfellow et al.
2014, Fig. 2: "the rightmost column shows the nearest training example of the neighboring sample").

:func:`nearest_neighbours` finds, by Euclidean distance on flattened pixels or features, the ``k`` nearest
rows of a pool (the training set) for each query, blockwise (:func:`jaxgen.metrics.distances.knn`);
:func:`neighbour_grid` lays the images out for ``jaxgen.engine.writers.save_grid(path, grid, ncol=k + 1)``:
one row per sample, the sample first, then its neighbours, nearest first.
"""

from __future__ import annotations

import numpy as np

from jaxgen.errors import MetricError
from jaxgen.metrics.checks import check_feature_pair, check_same_shape
from jaxgen.metrics.distances import knn


def nearest_neighbours(queries, pool, k: int = 1, *, row_block: int = 1024,
                       col_block: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``[M, k]`` (int) into ``pool [N, D]`` of the ``k`` nearest rows to each of ``queries [M, D]``,
    nearest first (ties to the lower index), and their squared distances ``[M, k]`` (float32).

    Flatten images first (``x.reshape(len(x), -1)``); memory: both sets plus ``row_block × col_block`` floats.
    """
    queries, pool = check_feature_pair(queries, pool, names=("queries", "pool"), min_samples=1)
    idx, sq = knn(queries, pool, k, row_block=row_block, col_block=col_block)
    return np.asarray(idx), np.asarray(sq)


def neighbour_grid(samples, pool_images, indices) -> np.ndarray:
    """``[M (k + 1), H, W, C]``: for each of ``samples [M, H, W, C]``, the sample followed by its ``k``
    neighbours ``pool_images[indices[i]]`` (``indices [M, k]`` from :func:`nearest_neighbours`), so that
    ``save_grid(path, grid, ncol=k + 1)`` draws one sample per row."""
    samples, pool_images, indices = np.asarray(samples), np.asarray(pool_images), np.asarray(indices)
    if samples.ndim != 4:
        raise MetricError(f"samples must be [M, H, W, C] images, got shape {samples.shape}")
    check_same_shape(samples, pool_images, "samples and pool images")
    if indices.ndim != 2 or indices.shape[0] != samples.shape[0]:
        raise MetricError(
            f"indices {indices.shape} must be [M, k] with M = {samples.shape[0]} samples: pass the indices "
            "nearest_neighbours returned for these samples"
        )
    if indices.size and not (0 <= indices.min() and indices.max() < pool_images.shape[0]):
        raise MetricError(
            f"indices range over [{indices.min()}, {indices.max()}] but the pool has {pool_images.shape[0]} "
            "images: pass the pool the neighbours were searched in"
        )
    rows = np.concatenate([samples[:, None], pool_images[indices]], axis=1)  # [M, k + 1, H, W, C]
    return rows.reshape(-1, *samples.shape[1:])
