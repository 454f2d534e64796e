"""The truncation trick in W (StyleGAN, Karras et al. 2019, sec. B and fig. 8): ``w' = w_avg + psi (w - w_avg)``.

    images = sample(model, 16, seed=0, psi=0.7)          # Model.sample(16, seed=0, psi=0.7), `jaxgen sample --psi`
    rows = grid(g, z, psis=(1, 0.7, 0.5, 0, -0.5, -1))   # [R, 6, H, W, C]: a row per latent, a column per psi

``psi = 1`` is the untruncated w, 0 the average w (every row the same image), negative psi the "opposite" of the
image through w_avg. `cutoff` truncates only the layers ``< cutoff`` (the official code's ``truncation_cutoff``,
8 of the 18 layers at 1024 px: the coarse styles), leaving the others exactly as they were.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxgen.edit.generator import as_generator, each
from jaxgen.errors import JaxgenError

PAPER_PSIS = (1.0, 0.7, 0.5, 0.0, -0.5, -1.0)  # the columns of the paper's figure 8


def _style_based(generator, what: str):
    if not generator.style_based:
        raise JaxgenError(f"{what} needs a style-based generator (model.name stylegan or stylegan2); this run's model "
                          f"{generator.model.config.model.name!r} has no w to truncate")


def check_cutoff(cutoff: int | None, num_layers: int) -> None:
    if cutoff is not None and not 1 <= cutoff <= num_layers:
        raise JaxgenError(f"the truncation cutoff must be a layer count in 1..{num_layers} (the generator's layers), "
                          f"got {cutoff}")


def truncate(generator, ws, psi, cutoff: int | None = None):
    """``ws [N, L, D]`` with the layers ``< cutoff`` (all if None) moved to ``w_avg + psi (w - w_avg)``; the other
    layers are `ws`'s own."""
    _style_based(generator, "truncation")
    check_cutoff(cutoff, ws.shape[1])
    layers = jnp.arange(ws.shape[1])[:, None]
    per_layer = jnp.where(layers < (ws.shape[1] if cutoff is None else cutoff), jnp.asarray(psi, ws.dtype), 1.0)
    return generator.truncate(ws, per_layer)


def grid(generator, z, psis=PAPER_PSIS, cutoff: int | None = None, key=None):
    """Images ``[R, len(psis), H, W, C]``: row r is ``z[r]`` (``[R, z_dim]``) at every psi, each image with the same
    noise images (`each`); the column of ``psi = 1`` is the untruncated image."""
    generator = as_generator(generator)
    _style_based(generator, "a truncation grid")
    ws = generator.broadcast(generator.mapping(z))
    cells = jnp.stack([truncate(generator, ws, psi, cutoff) for psi in psis], axis=1)  # [R, P, L, D]
    images = each(lambda w: generator.synthesize(w, key), cells.reshape(-1, *ws.shape[1:]))
    return images.reshape(*cells.shape[:2], *images.shape[1:])


def sample(model, n: int, seed: int, psi: float, cutoff: int | None = None):
    """``[n, H, W, C]``: the `n` images ``Model.sample(n, seed)`` draws (the same z and noise, from
    ``jax.random.key(seed)``), with w truncated by `psi`, clipped to [-1, 1] as they are; ``psi = 1`` gives them again
    (to float rounding).
    Images are at the generator's resolution (a run stopped while growing: its stage's, which `sample`
    up-samples)."""
    generator = as_generator(model)
    _style_based(generator, "psi (truncation)")
    key = jax.random.key(seed)
    ws = generator.broadcast(generator.mapping(generator.latents(key, n)))
    return jnp.clip(generator.synthesize(truncate(generator, ws, psi, cutoff), key), -1.0, 1.0)
