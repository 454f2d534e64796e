"""Vector quantisation (van den Oord et al. 2017, "Neural Discrete Representation Learning"): the nearest of K
codebook vectors, the straight-through estimator, the codebook and commitment losses, the EMA codebook.

Shapes: encoder outputs ``z [..., D]``, codebook ``e [K, D]``, codes ``[...]`` int32.

* Assignment: ``k(z) = argmin_k |z - e_k|^2`` (:func:`nearest`; ties go to the lowest index).
* Straight-through (:func:`straight_through`): the forward value is ``e_k(z)``, the gradient w.r.t. ``z`` the
  identity (``z + sg(e_k - z)``).
* Losses (:func:`vq_losses`): ``codebook = mean |sg(z) - e_k|^2`` (moves the codes; absent with the EMA update),
  ``commitment = mean |z - sg(e_k)|^2`` (weighted by beta = 0.25 in the game's loss weights).
* EMA codebook (:func:`ema_update`, the paper's appendix A.1; Sonnet's ``VectorQuantizerEMA``): counts
  ``N_k <- d N_k + (1 - d) n_k``, sums ``m_k <- d m_k + (1 - d) sum_{k(z)=k} z``, Laplace-smoothed counts
  ``N'_k = (N_k + eps) / (sum N + K eps) * sum N`` and ``e_k = m_k / N'_k``. Here the running state starts at
  ``N_k = 1, m_k = e_k`` (the initial codebook, exactly: no zero-debiasing needed), where Sonnet starts at zero and
  debiases.
* Dead-code restarts (:func:`restart_dead`): a code that no input chose for ``restart_after`` updates is reset
  to a random encoder output of the batch (its ``m_k`` to it, ``N_k`` to 1, its idle count to 0).
* Metrics (:func:`usage`): perplexity ``exp(H(p))`` of the batch's code frequencies ``p`` and the fraction of codes
  used in the batch.

:class:`VectorQuantizer` is the Flax module: the codebook a parameter (loss-trained), or, with ``ema=True``, the
model-state collection ``"vq"`` (``codebook``, ``counts``, ``sums``, ``idle``) updated in training calls.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import linen as nn

__all__ = ["VectorQuantizer", "distances", "ema_update", "nearest", "restart_dead", "straight_through", "usage",
           "vq_losses"]


def distances(z: jax.Array, codebook: jax.Array) -> jax.Array:
    """Squared distances ``[N, K]`` between the rows of ``z [N, D]`` and the codes ``[K, D]``."""
    return (jnp.sum(z**2, -1, keepdims=True) - 2.0 * z @ codebook.T + jnp.sum(codebook**2, -1)[None, :])


def nearest(z: jax.Array, codebook: jax.Array) -> jax.Array:
    """The index of the nearest code of each vector of ``z [..., D]`` -> ``[...]`` int32."""
    flat = z.reshape(-1, z.shape[-1])
    return jnp.argmin(distances(flat, codebook), axis=-1).astype(jnp.int32).reshape(z.shape[:-1])


def straight_through(z: jax.Array, quantised: jax.Array) -> jax.Array:
    """``quantised`` in the forward pass, the identity's gradient w.r.t. ``z`` in the backward pass."""
    return z + jax.lax.stop_gradient(quantised - z)


def vq_losses(z: jax.Array, quantised: jax.Array) -> dict:
    """``{"codebook": mean |sg(z) - q|^2, "commitment": mean |z - sg(q)|^2}`` (scalars)."""
    sg = jax.lax.stop_gradient
    return {"codebook": jnp.mean(jnp.square(sg(z) - quantised)), "commitment": jnp.mean(jnp.square(z - sg(quantised)))}


def usage(codes: jax.Array, num_codes: int) -> dict:
    """``{"perplexity": exp(entropy of the code frequencies), "usage": fraction of codes used}`` of ``codes``."""
    p = jnp.bincount(codes.reshape(-1), length=num_codes) / codes.size
    entropy = -jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.where(p > 0, p, 1.0)), 0.0))
    return {"perplexity": jnp.exp(entropy), "usage": jnp.mean((p > 0).astype(jnp.float32))}


def ema_update(state: dict, z: jax.Array, codes: jax.Array, decay: float, eps: float = 1e-5) -> dict:
    """The EMA codebook update (module docstring) from ``z [N, D]`` and their ``codes [N]``: state
    ``{"codebook" [K, D], "counts" [K], "sums" [K, D], "idle" [K]}`` -> the new state (``idle``: updates since the
    code was last chosen)."""
    k = state["counts"].shape[0]
    onehot = jax.nn.one_hot(codes, k, dtype=z.dtype)
    n = jnp.sum(onehot, axis=0)
    counts = decay * state["counts"] + (1.0 - decay) * n
    sums = decay * state["sums"] + (1.0 - decay) * onehot.T @ z
    total = jnp.sum(counts)
    smoothed = (counts + eps) / (total + k * eps) * total
    idle = jnp.where(n > 0, 0, state["idle"] + 1)
    return {"codebook": sums / smoothed[:, None], "counts": counts, "sums": sums, "idle": idle}


def restart_dead(state: dict, z: jax.Array, rng: jax.Array, restart_after: int) -> dict:
    """Codes idle for ``restart_after`` updates or more reset to random rows of ``z [N, D]`` (module docstring)."""
    k = state["counts"].shape[0]
    dead = state["idle"] >= restart_after
    picks = z[jax.random.randint(rng, (k,), 0, z.shape[0])]
    return {"codebook": jnp.where(dead[:, None], picks, state["codebook"]),
            "sums": jnp.where(dead[:, None], picks, state["sums"]),
            "counts": jnp.where(dead, 1.0, state["counts"]),
            "idle": jnp.where(dead, 0, state["idle"])}


class VectorQuantizer(nn.Module):
    """``z [..., D]`` -> ``(straight-through quantised z [..., D], codes [...], {"codebook", "commitment",
    "perplexity", "usage"})``; ``train=True`` updates the EMA state (``ema``) and restarts dead codes (needs the
    ``"dropout"`` rng)."""

    num_codes: int
    dim: int
    ema: bool = True
    decay: float = 0.99
    eps: float = 1e-5
    restart_after: int = 0  # 0 = never

    def setup(self):
        init = nn.initializers.variance_scaling(1.0, "fan_in", "uniform")  # U(-sqrt(3/D), sqrt(3/D))
        if self.ema:
            self.cb = self.variable("vq", "codebook", lambda: init(self.make_rng("params"), (self.num_codes, self.dim)))
            self.counts = self.variable("vq", "counts", jnp.ones, (self.num_codes,))
            self.sums = self.variable("vq", "sums", lambda: self.cb.value)
            self.idle = self.variable("vq", "idle", jnp.zeros, (self.num_codes,), jnp.int32)
        else:
            self.codebook = self.param("codebook", init, (self.num_codes, self.dim))

    def embedding(self) -> jax.Array:
        """The codebook ``[K, D]``."""
        return self.cb.value if self.ema else self.codebook

    def lookup(self, codes: jax.Array) -> jax.Array:
        """``codes [...]`` -> code vectors ``[..., D]``."""
        return jnp.take(self.embedding(), codes, axis=0)

    def __call__(self, z: jax.Array, train: bool = False):
        z = z.astype(jnp.float32)
        codebook = self.embedding()
        codes = nearest(z, codebook)
        q = jnp.take(codebook, codes, axis=0)
        losses = vq_losses(z, q)
        if self.ema:
            losses["codebook"] = jnp.zeros((), jnp.float32)
            if train and not self.is_initializing():
                flat, flat_codes = jax.lax.stop_gradient(z.reshape(-1, self.dim)), codes.reshape(-1)
                state = {"codebook": self.cb.value, "counts": self.counts.value, "sums": self.sums.value,
                         "idle": self.idle.value}
                state = ema_update(state, flat, flat_codes, self.decay, self.eps)
                if self.restart_after > 0:
                    state = restart_dead(state, flat, self.make_rng("dropout"), self.restart_after)
                self.cb.value, self.counts.value = state["codebook"], state["counts"]
                self.sums.value, self.idle.value = state["sums"], state["idle"]
        return straight_through(z, q), codes, {**losses, **usage(codes, self.num_codes)}
