"""Vector arithmetic on latents (DCGAN, Radford et al. 2015, sec. 6.3 and fig. 7: "smiling woman - neutral woman +
neutral man = smiling man").

    cells, info = figure(g, concepts.get("loop", "mnist5k"), "loop", "open", "open")

The paper averaged the z of three examples per concept (single samples were unstable), computed ``A - B + C`` and
showed the result's image beside eight images of the result plus uniform noise of scale +-0.25. Here the examples
are the generator's own: a pool of samples labelled by a `jaxgen.edit.concepts.Concept`, the first `per_group` of
each value in draw order. The arithmetic is in W for a style-based generator (w of the pool's z), in Z otherwise;
the noise scale is in units of the pool latents' standard deviation (for Gaussian z about 1, the paper's units).

The figure's rows: A, B and C, each its `per_group` examples and the image of their mean latent; then the result's
image and `per_group` noisy neighbours.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgen.edit.generator import as_generator, render
from jaxgen.errors import JaxgenError


def group_means(latents, labels, groups, per_group: int = 3):
    """``latents [N, D]``, int ``labels [N]`` -> (means ``[G, D]``, indices int ``[G, per_group]``): for each label
    of `groups`, the mean of the first `per_group` latents with that label (in order) and their indices."""
    labels = np.asarray(labels)
    if per_group < 1:
        raise JaxgenError(f"per_group must be at least 1, got {per_group}")
    indices = []
    for group in groups:
        members = np.flatnonzero(labels == group)[:per_group]
        if len(members) < per_group:
            raise JaxgenError(f"only {len(members)} of the {len(labels)} samples have label {group} ({per_group} "
                              f"needed): draw a larger pool")
        indices.append(members)
    indices = np.stack(indices)
    return jnp.mean(jnp.asarray(latents)[indices], axis=1), indices


def combine(means):
    """``means [3, D]`` of A, B, C -> ``A - B + C`` ``[D]``."""
    return means[0] - means[1] + means[2]


def neighbours(y, key, count: int, scale: float):
    """``[count, D]``: ``y [D]`` plus independent ``U(-scale, scale)`` noise on every entry."""
    return y + jax.random.uniform(key, (count, y.shape[-1]), y.dtype, -scale, scale)


def figure(generator, concept, a: str, b: str, c: str, pool: int = 512, per_group: int = 3, noise: float = 0.25,
           seed: int = 0, key=None):
    """(cells ``[4, per_group + 1, H, W, C]`` as in the module docstring, info) for ``A - B + C`` with A, B, C values
    of `concept`, from `pool` samples drawn with ``jax.random.key(seed)``; `key` the noise images' key. `info`: the
    space, the pool's count of every value, the chosen indices and the concept value of the result's image."""
    generator = as_generator(generator)
    if noise < 0:
        raise JaxgenError(f"noise must be at least 0, got {noise}")
    groups = [concept.index(v) for v in (a, b, c)]
    space = "w" if generator.style_based else "z"
    draw, jitter = jax.random.split(jax.random.key(seed))
    latents = generator.latents(draw, pool)
    latents = generator.mapping(latents) if space == "w" else latents
    images = render(generator, latents, space, key)
    labels = concept.label(np.asarray(images))
    counts = dict(zip(concept.values, np.bincount(labels, minlength=len(concept.values)).tolist()))
    for group in groups:
        if counts[concept.values[group]] < per_group:
            raise JaxgenError(f"only {counts[concept.values[group]]} of {pool} samples are {concept.name} "
                              f"{concept.values[group]!r} ({per_group} needed): draw a larger pool; the pool's "
                              f"counts: {counts}")
    means, indices = group_means(latents, labels, groups, per_group)
    y = combine(means)
    scale = noise * float(jnp.sqrt(jnp.mean(jnp.var(latents, axis=0))))
    made = render(generator, np.concatenate([means, y[None], neighbours(y, jitter, per_group, scale)]), space, key)
    rows = [np.concatenate([images[indices[g]], made[g:g + 1]]) for g in range(3)]
    cells = np.stack([*rows, made[3:]])
    info = {"space": space, "counts": counts, "indices": indices.tolist(),
            "result": concept.values[int(concept.label(np.asarray(made[3:4]))[0])]}
    return cells, info
