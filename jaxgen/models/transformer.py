"""A small decoder-only transformer over code grids (the VQ-GAN prior of Esser et al. 2021, GPT-2 style), and its
top-k sampler.

Codes ``[N, h, w, 1]`` (ints ``0..K-1``) are read in raster order as a sequence of ``L = h w`` tokens. The input is
the sequence shifted right by one: a start token first (the class embedding when class-conditional, else one
learned vector), then codes ``0..L-2``; plus learned position embeddings. ``layers`` pre-LayerNorm blocks
(``x + attention(LN(x))`` with causal self-attention of ``heads`` heads, then ``x + MLP(LN(x))``, MLP ``4 width``
with GELU), a final LayerNorm and a dense layer to ``K`` logits: the logits at position ``i`` are those of code ``i``
given the codes before it (and the class). Output ``[N, h, w, 1, K]``, the layout of the autoregressive head
(:mod:`jaxgen.models.autoregressive`), so one NLL serves both priors.

:func:`sample` draws the ``L`` codes one at a time (``lax.fori_loop``), each from its ``top_k`` most likely codes (0:
all) with key ``fold_in(rng, i)``. It runs the network one position at a time with a key/value cache (the same
module with ``decode=True``: flax's ``MultiHeadDotProductAttention`` keeps each layer's keys and values of the positions
so far in the collection ``"cache"``), so drawing L codes costs one pass over the sequence, not L.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn
from jax import lax

from jaxgen.errors import ConfigError
from jaxgen.models.autoregressive import top_k_logits

__all__ = ["Transformer", "prior", "sample"]


class Block(nn.Module):
    """``x [N, L, W]`` -> ``[N, L, W]``: causal self-attention and an MLP, each pre-LayerNorm and residual."""

    heads: int
    dtype: Any = jnp.float32
    decode: bool = False  # x is one position [N, 1, W]; keys and values of the earlier ones are in "cache"

    @nn.compact
    def __call__(self, x, mask):
        width = x.shape[-1]
        h = nn.LayerNorm(dtype=self.dtype, name="ln_attention")(x)
        x = x + nn.MultiHeadDotProductAttention(num_heads=self.heads, dtype=self.dtype, decode=self.decode,
                                                name="attention")(h, mask=mask)
        h = nn.LayerNorm(dtype=self.dtype, name="ln_mlp")(x)
        h = nn.Dense(width, dtype=self.dtype, name="mlp_out")(nn.gelu(nn.Dense(4 * width, dtype=self.dtype,
                                                                                 name="mlp_in")(h)))
        return x + h


class Transformer(nn.Module):
    """See the module docstring: ``codes [N, h, w, 1]``, ``labels [N]`` (iff ``num_classes``) -> ``[N, h, w, 1, K]``."""

    levels: int
    length: int
    width: int = 64
    layers: int = 4
    heads: int = 4
    num_classes: int | None = None
    dtype: Any = jnp.float32
    decode: bool = False  # `next_logits` through the key/value cache (module docstring)

    def setup(self):
        self.tokens = nn.Embed(self.levels, self.width)
        self.start = nn.Embed(self.num_classes or 1, self.width)  # the class token (or one start token)
        self.positions = self.param("positions", nn.initializers.normal(0.02), (self.length, self.width))
        self.blocks = [Block(self.heads, self.dtype, self.decode) for _ in range(self.layers)]
        self.ln = nn.LayerNorm(dtype=self.dtype)
        self.head = nn.Dense(self.levels, dtype=self.dtype)

    def embed(self, codes, labels=None):
        """``codes [N, L]`` -> the shifted input embeddings ``[N, L, W]`` (start token, codes 0..L-2, + positions)."""
        n = codes.shape[0]
        first = self.start(labels if self.num_classes else jnp.zeros((n,), jnp.int32))[:, None]
        return jnp.concatenate([first, self.tokens(codes[:, :-1])], axis=1) + self.positions[None]

    def logits(self, embeddings):
        """Input embeddings ``[N, L, W]`` -> logits ``[N, L, K]`` (float32); position i sees inputs 0..i."""
        mask = nn.make_causal_mask(jnp.zeros(embeddings.shape[:2]))
        x = embeddings.astype(self.dtype)
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln(x)).astype(jnp.float32)

    def __call__(self, x, labels=None):
        codes = x.reshape(x.shape[0], -1).astype(jnp.int32)
        return self.logits(self.embed(codes, labels)).reshape(*x.shape, self.levels)

    def next_logits(self, codes, i, labels=None):
        """(``decode=True``) codes ``[N, L]`` of which ``0..i-1`` are drawn, ``i`` (the positions before it already
        passed through the cache, in order) -> the logits ``[N, K]`` of code ``i`` (float32)."""
        n = codes.shape[0]
        first = self.start(labels if self.num_classes else jnp.zeros((n,), jnp.int32))
        x = jnp.where(i == 0, first, self.tokens(codes[:, jnp.maximum(i - 1, 0)])) + self.positions[i]
        x = x[:, None].astype(self.dtype)
        for block in self.blocks:
            x = block(x, None)
        return self.head(self.ln(x))[:, 0].astype(jnp.float32)


def sample(model: Transformer, params, rng, n: int, labels=None, top_k: int = 0):
    """``n`` code sequences ``[n, L]`` drawn position by position through the key/value cache (module docstring)."""
    decoder = model.clone(decode=True)
    # the cache's shapes ([n, L, heads, width / heads] per layer) from a full-length pass; empty, index 0
    shapes = jax.eval_shape(lambda: decoder.init(jax.random.key(0), jnp.zeros((n, model.length, 1, 1), jnp.int32),
                                                 labels))["cache"]
    cache = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)

    def body(i, carry):
        codes, cache = carry
        logits, updated = decoder.apply({"params": params, "cache": cache}, codes, i, labels, method="next_logits",
                                        mutable=["cache"])
        value = jax.random.categorical(jax.random.fold_in(rng, i), top_k_logits(logits, top_k), axis=-1)
        return codes.at[:, i].set(value.astype(jnp.int32)), updated["cache"]

    return lax.fori_loop(0, model.length, body, (jnp.zeros((n, model.length), jnp.int32), cache))[0]


def prior(cfg, grid, levels: int, num_classes=None, *, dtype=jnp.float32) -> Transformer:
    """The transformer prior of ``cfg`` (``model.prior_width``, ``prior_layers``, ``prior_heads``) over a code
    ``grid`` ``(h, w)`` of ``levels`` codes; class-conditional iff ``num_classes``."""
    width, heads = int(cfg.prior_width), int(cfg.prior_heads)
    if heads < 1 or width % heads:
        raise ConfigError(f"config key 'model.prior_heads' ({heads}) must divide model.prior_width ({width})")
    return Transformer(levels=levels, length=grid[0] * grid[1], width=width, layers=int(cfg.prior_layers),
                       heads=heads, num_classes=num_classes, dtype=dtype)
