"""Style mixing (StyleGAN, Karras et al. 2019, fig. 3): image A with the styles of some layers copied from image B.

    ws = mix(ws_a, ws_b, bands.layer_range("coarse", g.num_layers))   # B's coarse styles into A
    cells = grid(g, z_a, z_b, ("coarse", "middle", "fine"))            # [1 + 3 R, 1 + C, H, W, C]

Which layers a band (coarse, middle, fine) holds in a generator of any size: `jaxgen.edit.bands`.
"""

from __future__ import annotations

import numpy as np

from jaxgen.edit import bands as bands_lib
from jaxgen.edit.generator import as_generator, each
from jaxgen.errors import JaxgenError


def mix(ws_a, ws_b, layers: tuple[int, int]):
    """``ws_a, ws_b [N, L, D]`` -> ``[N, L, D]`` (numpy): B's w on the layers ``start <= i < stop``, A's on the
    others."""
    start, stop = layers
    index = np.arange(ws_a.shape[1])[None, :, None]
    return np.where((index >= start) & (index < stop), ws_b, ws_a)


def grid(generator, z_a, z_b, bands=None, key=None):
    """The figure's cells ``[1 + len(bands) R, 1 + C, H, W, C]`` for row sources ``z_a [R, z_dim]`` and column sources
    ``z_b [C, z_dim]``: the top row is a blank cell (white) and the B images; then for each band (a name or a layer
    range; default every band the generator has) R rows, each A's image and A with that band's layers from each B. Every cell has the same noise images
    (`each`), so a cell differs from its A only through the copied styles."""
    generator = as_generator(generator)
    if not generator.style_based:
        raise JaxgenError(f"style mixing needs a style-based generator (model.name stylegan or stylegan2); this "
                          f"run's model {generator.model.config.model.name!r} has one latent for every layer")
    ws_a = np.asarray(generator.broadcast(generator.mapping(z_a)))
    ws_b = np.asarray(generator.broadcast(generator.mapping(z_b)))
    rows, cols, num_layers = ws_a.shape[0], ws_b.shape[0], generator.num_layers
    ranges = [bands_lib.layer_range(b, num_layers) for b in (bands or bands_lib.present(num_layers))]
    mixed = [mix(np.repeat(ws_a, cols, axis=0), np.tile(ws_b, (rows, 1, 1)), r) for r in ranges]
    images = each(lambda w: generator.synthesize(w, key), np.concatenate([ws_b, ws_a, *mixed]))
    shape = images.shape[1:]
    b_images, a_images = images[:cols], images[cols:cols + rows]
    blocks = images[cols + rows:].reshape(len(ranges), rows, cols, *shape)
    top = np.concatenate([np.ones_like(b_images[:1]), b_images])[None]
    firsts = np.broadcast_to(a_images[None, :, None], (len(ranges), rows, 1, *shape))
    return np.concatenate([top, np.concatenate([firsts, blocks], axis=2).reshape(-1, cols + 1, *shape)])
