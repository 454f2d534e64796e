"""Rematerialised blocks: a model family's repeated blocks under ``flax.linen.remat`` (``config.remat``)."""

from __future__ import annotations

from collections.abc import Callable

from flax import linen as nn

__all__ = ["rematerialised"]


def rematerialised(block: Callable, enabled: bool) -> Callable:
    """``block(module, x, i)`` (a function, inside a compact ``__call__``, making block ``i``'s layers), under
    ``flax.linen.remat`` if `enabled`: only the block's input is kept for the backward pass, its activations
    are recomputed there; its layers keep their names (the same parameter tree either way)."""
    return nn.remat(block, static_argnums=(2,)) if enabled else block
