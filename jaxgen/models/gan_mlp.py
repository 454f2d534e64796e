"""The fully-connected GAN of Goodfellow et al. 2014 ("Generative Adversarial Nets"), MNIST setup.

From the paper's pylearn2 configuration (``goodfeli/adversarial``, ``mnist.yaml``):

* G: noise (100) -> ReLU(1200) -> ReLU(1200) -> output (784), weights ``U(-0.05, 0.05)``.
* D: input (784) -> Maxout(240 units x 5 pieces) -> Maxout(240 x 5) -> logit, weights ``U(-0.005, 0.005)``;
  dropout on every layer's input: keep 0.8 on the image, keep 0.5 on the hidden layers (pylearn2's
  ``input_include_probs``/``input_scales`` = inverted dropout, i.e. ``nn.Dropout(rate=0.2 / 0.5)``).
  Dropout needs the ``"dropout"`` rng in training mode.

Differences, on purpose: G's output is ``tanh`` for data in ``[-1, 1]`` (the paper used a sigmoid on data in
``[0, 1]`` with the output bias initialised from the pixel marginals; here it is 0). The noise is
``cfg.noise``: ``"gaussian"`` (default; ``N(0, 1)`` is what ``adversarial.Generator`` draws when, as in
``mnist.yaml``, no noise is configured), ``"uniform"`` (``U(-1, 1)``, the usual reading of the paper) or
``"uniform_unit"`` (``U(-sqrt 3, sqrt 3)``, pylearn2's ``noise: "uniform"``).

Class conditioning, ``cfg.conditioning`` (default ``"none"``; needs labelled data; see
:mod:`jaxgen.nn.conditioning`). G's input is ``[z; onehot(y)]`` for every conditional mode, as in the
conditional MLP GAN of Mirza & Osindero 2014 ("Conditional Generative Adversarial Nets", arXiv:1411.1784;
they first map z and y through separate hidden layers, which a dense layer on the concatenation contains).
D's features ``phi(x)`` are the last maxout layer's output (after its dropout):

* ``"concat"``: ``onehot(y)`` concatenated to the flattened image after the input dropout (labels are not
  dropped), so the first maxout layer sees ``[x; onehot(y)]`` (Mirza & Osindero 2014);
* ``"projection"``: ``logit = psi(phi(x)) + <embed(y), phi(x)>`` (Miyato & Koyama 2018, "cGANs with
  Projection Discriminator", arXiv:1802.05637), ``embed`` a ``[K, units]`` table with D's initialiser;
* ``"acgan"``: D does not see ``y`` and returns ``(logits [N], class_logits [N, K])`` (Odena, Olah & Shlens
  2017, "Conditional Image Synthesis with Auxiliary Classifier GANs", arXiv:1610.09585).

``cfg.spectral_norm`` (default False): D's dense layers (each maxout layer's ``Dense(units * pieces)``, the
heads and the projection embedding) are spectrally normalised with ``flax.linen.SpectralNorm`` (Miyato,
Kataoka, Koyama & Yoshida 2018, arXiv:1802.05957); power-iteration state in ``"batch_stats"``, updated when
``train=True``.

``dtype`` (``config.dtype``): the layers' computation dtype (parameters float32); both networks return float32.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.nn import conditioning as cond
from jaxgen.nn.init import uniform_range
from jaxgen.nn.maxout import Maxout

__all__ = ["Discriminator", "Generator", "discriminator", "generator", "latent"]

NOISES = ("gaussian", "uniform", "uniform_unit")


def _get(cfg, key):
    if cfg is not None and key in cfg:
        return cfg[key]
    return model_defaults.gan_mlp()[key]


class Generator(nn.Module):
    """``z [N, z_dim]`` (, ``labels`` int32 ``[N]`` iff ``num_classes``) ``-> images [N, H, W, C]`` in ``[-1, 1]``."""

    image_shape: tuple[int, int, int]
    hidden: tuple[int, ...] = (1200, 1200)
    init_range: float = 0.05
    num_classes: int | None = None  # conditional: z is concatenated with onehot(labels)
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, labels=None, *, train: bool):
        del train  # no dropout or BN in G
        cond.check_labels(labels, self.num_classes, "gan_mlp Generator")
        init = uniform_range(self.init_range)
        x = z if self.num_classes is None else cond.concat_one_hot(z, labels, self.num_classes)
        for i, h in enumerate(self.hidden):
            x = nn.relu(nn.Dense(h, kernel_init=init, dtype=self.dtype, name=f"h{i}")(x))
        x = nn.Dense(math.prod(self.image_shape), kernel_init=init, dtype=self.dtype, name="out")(x)
        return jnp.tanh(x).astype(jnp.float32).reshape((z.shape[0],) + tuple(self.image_shape))


class Discriminator(nn.Module):
    """``images [N, H, W, C]`` (, ``labels`` int32 ``[N]``) ``-> logits [N]``; ``(logits, class_logits [N, K])``
    for ``conditioning="acgan"`` (which ignores ``labels``)."""

    units: tuple[int, ...] = (240, 240)
    pieces: int = 5
    dropout: bool = True
    input_keep: float = 0.8
    hidden_keep: float = 0.5
    init_range: float = 0.005
    conditioning: str = "none"
    num_classes: int | None = None
    spectral_norm: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, labels=None, *, train: bool):
        if self.conditioning != "acgan":
            cond.check_labels(labels, self.num_classes, "gan_mlp Discriminator")
        init = uniform_range(self.init_range)
        x = x.reshape(x.shape[0], -1)
        for i, u in enumerate(self.units):
            if self.dropout:
                keep = self.input_keep if i == 0 else self.hidden_keep
                x = nn.Dropout(rate=1.0 - keep, deterministic=not train)(x)
            if i == 0 and self.conditioning == "concat":
                x = cond.concat_one_hot(x, labels, self.num_classes)
            maxout = Maxout(u, self.pieces, kernel_init=init, dtype=self.dtype, name=f"h{i}")
            x = cond.spectral(maxout, self.spectral_norm, train)(x)
        if self.dropout:
            x = nn.Dropout(rate=1.0 - self.hidden_keep, deterministic=not train)(x)
        return cond.discriminator_head(x, labels, conditioning=self.conditioning, num_classes=self.num_classes,
                                       kernel_init=init, spectral_norm=self.spectral_norm, train=train,
                                       dtype=self.dtype)


def generator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The Generator of ``cfg``; ``num_classes`` (the data's class count, None if unlabelled) is used iff
    ``cfg.conditioning != "none"``; ``dtype`` the computation dtype."""
    classes = cond.conditional_classes(lambda key: _get(cfg, key), num_classes)
    if len(image_shape) != 3:
        raise ConfigError(f"gan_mlp needs images [H, W, C]; got {tuple(image_shape)} (data.image_size)")
    return Generator(
        image_shape=tuple(int(s) for s in image_shape),
        hidden=tuple(int(h) for h in _get(cfg, "g_hidden")),
        init_range=float(_get(cfg, "g_init_range")),
        num_classes=classes,
        dtype=dtype,
    )


def discriminator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32) -> nn.Module:
    """The Discriminator of ``cfg`` (see :func:`generator` for the arguments)."""
    del image_shape
    classes = cond.conditional_classes(lambda key: _get(cfg, key), num_classes)
    for key in ("d_input_keep", "d_hidden_keep"):
        if not 0.0 < float(_get(cfg, key)) <= 1.0:
            raise ConfigError(f"model.{key}={_get(cfg, key)!r} must be in (0, 1]")
    return Discriminator(
        units=tuple(int(u) for u in _get(cfg, "d_units")),
        pieces=int(_get(cfg, "d_pieces")),
        dropout=bool(_get(cfg, "dropout")),
        input_keep=float(_get(cfg, "d_input_keep")),
        hidden_keep=float(_get(cfg, "d_hidden_keep")),
        init_range=float(_get(cfg, "d_init_range")),
        conditioning=_get(cfg, "conditioning"),
        num_classes=classes,
        spectral_norm=bool(_get(cfg, "spectral_norm")),
        dtype=dtype,
    )


def latent(rng, n: int, cfg) -> jax.Array:
    shape = (n, int(_get(cfg, "z_dim")))
    noise = _get(cfg, "noise")
    if noise == "gaussian":
        return jax.random.normal(rng, shape, jnp.float32)
    if noise == "uniform":
        return jax.random.uniform(rng, shape, jnp.float32, -1.0, 1.0)
    if noise == "uniform_unit":
        r = math.sqrt(3.0)
        return jax.random.uniform(rng, shape, jnp.float32, -r, r)
    raise ConfigError(f"model.noise={noise!r}; choose one of {NOISES}")
