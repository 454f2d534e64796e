"""Class conditioning and spectral normalisation for GAN generators and discriminators (all families).

``model.conditioning`` (labels ``y`` int32 ``[N]`` in ``0..K-1``):

* ``"none"``: unconditional; modules take ``labels=None``.
* ``"concat"`` (Mirza & Osindero 2014, arXiv:1411.1784): G sees ``[z; onehot(y)]``; D sees ``onehot(y)``
  concatenated to its input (as ``K`` constant image channels, or ``K`` extra features).
* ``"projection"`` (Miyato & Koyama 2018, arXiv:1802.05637): G as ``"concat"``; D's output is
  ``psi(phi(x)) + <embed(y), phi(x)>`` with ``phi(x)`` D's last features and ``embed`` a learned
  ``[K, F]`` table.
* ``"acgan"`` (Odena, Olah & Shlens 2017, arXiv:1610.09585): G as ``"concat"``; D does not see ``y`` but
  returns ``(logits [N], class_logits [N, K])``, a second linear head on ``phi(x)`` (the trainer adds the
  auxiliary classification loss).

G's label code is the one-hot vector, not a separately learned embedding: G's first layer is dense, so
``W [z; onehot(y)] = W_z z + W_y[:, y]`` *is* a learned per-class embedding added to the first layer's
pre-activation (any learned embedding followed by that layer is a special case), with no extra size key.

``model.spectral_norm`` (Miyato, Kataoka, Koyama & Yoshida 2018, arXiv:1802.05957): every conv/dense
layer of D (and the projection embedding, as in the authors' code) is wrapped in
``flax.linen.SpectralNorm``: its matrix (a conv kernel reshaped to ``[kh*kw*Cin, Cout]``) is divided by its
largest singular value, estimated by one power-iteration step per call from a persistent vector ``u``
kept in the ``"batch_stats"`` collection (updated only when ``train``). The parameter tree is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.errors import ConfigError

__all__ = ["CONDITIONINGS", "check_labels", "concat_one_hot", "conditional_classes", "discriminator_head",
           "spectral"]

CONDITIONINGS = ("none", "concat", "projection", "acgan")


def conditional_classes(cfg_get: Callable[[str], object], num_classes: int | None) -> int | None:
    """Validates ``model.conditioning``; the class count the modules take (``None`` when unconditional).
    ``cfg_get(key)`` reads a model key (with its default)."""
    mode = cfg_get("conditioning")
    if mode not in CONDITIONINGS:
        raise ConfigError(f"model.conditioning={mode!r}; choose one of {CONDITIONINGS}")
    if mode == "none":
        return None
    if num_classes is None:
        raise ConfigError(
            f"model.conditioning={mode!r} needs class labels, but the data has none (no ClassLabel feature "
            f"'data.label_key', or data.keep_labels=False); use labelled data or model.conditioning='none'")
    return int(num_classes)


def check_labels(labels, num_classes: int | None, module: str) -> None:
    """A conditional module needs ``labels``; an unconditional one must not get them (trace-time check)."""
    if num_classes is None and labels is not None:
        raise ValueError(f"{module} is unconditional (model.conditioning='none') but got labels")
    if num_classes is not None and labels is None:
        raise ValueError(f"{module} is class-conditional ({num_classes} classes) and needs labels int32[N]")


def concat_one_hot(x: jax.Array, labels: jax.Array, num_classes: int) -> jax.Array:
    """``x [N, ..., F]``, ``labels int [N]`` -> ``[N, ..., F + K]``: ``onehot(labels)`` broadcast over the
    middle axes (``z [N, D]`` -> ``[N, D + K]``; images ``[N, H, W, C]`` -> ``[N, H, W, C + K]``)."""
    code = jax.nn.one_hot(labels, num_classes, dtype=x.dtype)
    code = code.reshape((x.shape[0],) + (1,) * (x.ndim - 2) + (num_classes,))
    return jnp.concatenate([x, jnp.broadcast_to(code, x.shape[:-1] + (num_classes,))], axis=-1)


def spectral(layer: nn.Module, enabled: bool, train: bool) -> Callable:
    """``layer`` itself, or ``layer`` under ``flax.linen.SpectralNorm`` (named ``<layer.name>_sn``, power
    iteration state in ``"batch_stats"``, updated iff ``train``), as a function of the layer's inputs."""
    if not enabled:
        return layer
    wrapped = nn.SpectralNorm(layer, name=f"{layer.name}_sn")
    return lambda *inputs: wrapped(*inputs, update_stats=train)


def discriminator_head(phi: jax.Array, labels, *, conditioning: str, num_classes: int | None,
                       kernel_init, spectral_norm: bool, train: bool, dtype=jnp.float32):
    """D's output on its last features ``phi [N, F]``: float32 logits ``[N]``, or ``(logits, class_logits [N, K])``
    for ``"acgan"``, computed in `dtype`. Call inside the discriminator's compact ``__call__``: it creates the
    caller's ``logit`` (``psi``), ``embed`` (``"projection"``) and ``class_logits`` (``"acgan"``) layers."""
    logits = spectral(nn.Dense(1, kernel_init=kernel_init, dtype=dtype, name="logit"), spectral_norm, train)(phi)
    logits = logits[:, 0]
    if conditioning == "projection":
        embed = nn.Embed(num_classes, phi.shape[-1], embedding_init=kernel_init, dtype=dtype, name="embed")
        logits = logits + jnp.sum(spectral(embed, spectral_norm, train)(labels) * phi, axis=-1)
    logits = logits.astype(jnp.float32)
    if conditioning == "acgan":
        head = nn.Dense(num_classes, kernel_init=kernel_init, dtype=dtype, name="class_logits")
        return logits, spectral(head, spectral_norm, train)(phi).astype(jnp.float32)
    return logits
