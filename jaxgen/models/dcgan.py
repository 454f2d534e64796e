"""DCGAN (Radford, Metz & Chintala 2015, arXiv:1511.06434).

Generator: ``z -> Dense(base*base*C0) -> BN -> ReLU -> [ConvT(4, s2) -> BN -> ReLU] * (n-1) -> ConvT(4, s2) to C
-> tanh``, channels halving from ``C0 = width * 2**(n-1)`` to ``width``. Discriminator (mirror):
``[Conv(4, s2, p1) -> (BN) -> LeakyReLU(0.2)] * n`` (no BN on the input layer), channels doubling from
``width``, then ``flatten -> Dense(1)``; returns logits ``[N]``.

For 28x28 (MNIST): ``base = 7``, ``n = 2``: G is ``z -> 7x7x(2w) -> 14x14xw -> 28x28xC``; D is
``28x28xC -> 14x14xw -> 7x7x(2w) -> 1``. 32x32 and 64x64 use a 4x4 base (``n = 3, 4``), as in the paper.
``base`` is computed from ``image_shape`` (see :func:`layout`); ``cfg.base_size`` overrides it.

``dtype`` (``config.dtype``): the computation dtype of every layer (parameters stay float32, BatchNorm statistics
are float32, both networks return float32). ``remat`` (``config.remat``): each up-/down-sampling block (conv,
BatchNorm, activation) is rematerialised in the backward pass (``flax.linen.remat``); same parameter names.

Initialisation as the paper: conv/dense weights ``N(0, 0.02)``, biases 0, BatchNorm scales ``N(1, 0.02)``
(the PyTorch DCGAN example), BN momentum 0.9 (= PyTorch ``momentum=0.1``), eps 1e-5.
Layers followed by BatchNorm carry no bias (it would be cancelled by BN's mean subtraction), exactly as
``tools/torch_dcgan.py``. (Flax keeps the *biased* batch variance in its running average, PyTorch the
unbiased one: running statistics differ by a factor ``m/(m-1)``, ``m = N*H*W``; training is identical.)

G up-samples with :class:`jaxgen.nn.ConvTranspose` (``flax.linen.ConvTranspose``'s parameters and numbers) and D
down-samples with :class:`jaxgen.nn.StridedConv` (``flax.linen.Conv``'s). Their lowering is the backend's
(:func:`jaxgen.nn.upsample.default_impl`), not a config key: on the CPU each role (forward, input and kernel
gradient) takes the fastest XLA:CPU form (the ``lax.conv_transpose`` kernel gradient is ~20x slower than PyTorch
there), as a ``custom_jvp``, so nested ``grad`` (R1, WGAN-GP) and ``jvp`` work; the same on GPU (measured faster
there too); on TPU XLA's own convolutions. For speed on CPU also jit with ``jaxgen.engine.compilation.jit``.
(Workdirs saved when ``model.use_fast_upsample``, ``model.upsample_impl`` and ``model.use_fast_downsample``
were config keys still load: ``jaxgen.config.RETIRED_KEYS``.)

Class conditioning, ``cfg.conditioning`` (default ``"none"``; needs labelled data, ``num_classes``; see
:mod:`jaxgen.nn.conditioning`). G's input is ``[z; onehot(y)]`` for every conditional mode (Mirza & Osindero
2014, arXiv:1411.1784). D:

* ``"concat"``: ``onehot(y)`` broadcast to ``K`` constant channels concatenated to the image
  (``[N, H, W, C + K]`` into the first conv; Mirza & Osindero 2014 adapted to convolutions);
* ``"projection"``: ``logit = psi(phi(x)) + <embed(y), phi(x)>``, ``phi(x)`` the flattened last feature map
  (``[N, base*base*C_last]``), ``psi`` the usual ``logit`` Dense, ``embed`` a ``[K, F]`` table initialised
  ``N(0, 0.02)`` (Miyato & Koyama 2018, "cGANs with Projection Discriminator", arXiv:1802.05637);
* ``"acgan"``: D does not see ``y`` and returns ``(logits [N], class_logits [N, K])``, a second Dense head
  on ``phi(x)`` (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs",
  arXiv:1610.09585).

``cfg.spectral_norm`` (default False): every conv and dense layer of D (and the projection embedding) is
divided by its largest singular value, estimated by one power-iteration step per call (Miyato, Kataoka,
Koyama & Yoshida 2018, "Spectral Normalization for GANs", arXiv:1802.05957) with ``flax.linen.SpectralNorm``;
the vectors ``u`` live in D's ``"batch_stats"`` and are updated when ``train=True`` (apply with
``mutable=["batch_stats"]``). Works with :class:`jaxgen.nn.StridedConv` and under nested ``grad``; the
paper's D has no BatchNorm (``d_norm="none"``), but ``d_norm="batch"`` is allowed.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgen.defaults import models as model_defaults
from jaxgen.errors import ConfigError
from jaxgen.nn import conditioning as cond
from jaxgen.nn.init import dcgan_bn_scale, dcgan_normal
from jaxgen.nn.remat import rematerialised
from jaxgen.nn.upsample import ConvTranspose, StridedConv

__all__ = ["Discriminator", "Generator", "discriminator", "generator", "latent", "layout"]

D_NORMS = ("batch", "none")


def _get(cfg, key):
    """``cfg[key]`` falling back to :func:`default_config` (so partial model configs work)."""
    if cfg is not None and key in cfg:
        return cfg[key]
    return model_defaults.dcgan()[key]


def layout(image_shape, base_size: int = 0) -> tuple[int, int]:
    """``(base, n)`` with ``H = W = base * 2**n``: G starts at ``base x base`` and up-samples ``n`` times.

    Auto rule: the largest ``n`` with an integer ``base >= 4`` (28 -> 7x4, 32 -> 4x8, 64 -> 4x16); if that
    leaves fewer than two up-samplings, the largest ``n <= 2`` with ``base >= 2`` (8 -> 2x4, 12 -> 3x4).
    """
    if len(image_shape) != 3:
        raise ConfigError(f"dcgan needs images [H, W, C]; got image shape {tuple(image_shape)} (data.image_size)")
    h, w, _ = image_shape
    if h != w:
        raise ConfigError(f"dcgan needs square images; data.image_size gives {h}x{w}")
    if base_size:
        n = 0
        while base_size * 2**n < h:
            n += 1
        if base_size * 2**n != h or n < 1:
            raise ConfigError(
                f"model.base_size={base_size} does not reach data.image_size={h} by doubling "
                f"(need {h} = base * 2**n, n >= 1)"
            )
        return base_size, n

    def twos(v):
        k = 0
        while v % 2 == 0 and v > 1:
            v //= 2
            k += 1
        return k

    n = 0
    for k in range(1, twos(h) + 1):
        if h // 2**k >= 4:
            n = k
    if n < 2:
        for k in (2, 1):
            if k <= twos(h) and h // 2**k >= 2:
                n = max(n, k)
                break
    if n < 1:
        raise ConfigError(
            f"dcgan cannot build a generator for data.image_size={h}: it needs an even size "
            f"H = base * 2**n with base >= 2 (e.g. 8, 28, 32, 64); resize the data or set model.base_size"
        )
    return h // 2**n, n


def _bn(train: bool, momentum: float, name: str | None = None, dtype: Any = jnp.float32):
    return nn.BatchNorm(
        use_running_average=not train, momentum=momentum, epsilon=1e-5, scale_init=dcgan_bn_scale, name=name,
        dtype=dtype,
    )


class Generator(nn.Module):
    """``z [N, z_dim]`` (, ``labels`` int32 ``[N]`` iff ``num_classes``) ``-> images [N, H, W, C]`` in ``[-1, 1]``."""

    image_shape: tuple[int, int, int]
    width: int = 64
    base: int = 7
    n_up: int = 2
    bn_momentum: float = 0.9
    num_classes: int | None = None  # conditional: z is concatenated with onehot(labels)
    dtype: Any = jnp.float32
    remat: bool = False

    @nn.compact
    def __call__(self, z, labels=None, *, train: bool):
        cond.check_labels(labels, self.num_classes, "dcgan Generator")
        if self.num_classes is not None:
            z = cond.concat_one_hot(z, labels, self.num_classes)
        channels = self.image_shape[-1]
        ch = self.width * 2 ** (self.n_up - 1)
        x = nn.Dense(self.base * self.base * ch, use_bias=False, kernel_init=dcgan_normal, dtype=self.dtype,
                     name="project")(z)
        x = x.reshape(z.shape[0], self.base, self.base, ch)
        x = nn.relu(_bn(train, self.bn_momentum, "project_bn", self.dtype)(x))

        def up(module, x, i):  # ConvT(4, s2) [-> BN -> ReLU]; channels halve, the last to the image's
            last = i == self.n_up - 1
            out = channels if last else x.shape[-1] // 2
            x = ConvTranspose(
                features=out,
                kernel_size=(4, 4),
                strides=(2, 2),
                padding="SAME",  # == ((2, 2), (2, 2)) == PyTorch ConvTranspose2d(4, 2, padding=1): exact 2x
                use_bias=last,
                kernel_init=dcgan_normal,
                dtype=self.dtype,
                name=f"up{i}",
            )(x)
            return x if last else nn.relu(_bn(train, self.bn_momentum, f"up{i}_bn", self.dtype)(x))

        up = rematerialised(up, self.remat)
        for i in range(self.n_up):
            x = up(self, x, i)
        return jnp.tanh(x).astype(jnp.float32)


class Discriminator(nn.Module):
    """``images [N, H, W, C]`` (, ``labels`` int32 ``[N]``) ``-> logits [N]``; ``(logits, class_logits [N, K])``
    for ``conditioning="acgan"`` (which ignores ``labels``)."""

    width: int = 64
    n_down: int = 2
    norm: str = "batch"
    bn_momentum: float = 0.9
    conditioning: str = "none"
    num_classes: int | None = None
    spectral_norm: bool = False
    dtype: Any = jnp.float32
    remat: bool = False

    @nn.compact
    def __call__(self, x, labels=None, *, train: bool):
        if self.conditioning != "acgan":
            cond.check_labels(labels, self.num_classes, "dcgan Discriminator")
        if self.conditioning == "concat":
            x = cond.concat_one_hot(x, labels, self.num_classes)

        def down(module, x, i):  # Conv(4, s2) [-> BN] -> LeakyReLU(0.2), channels doubling from `width`
            use_bn = i > 0 and self.norm == "batch"
            conv = StridedConv(
                features=self.width * 2**i,
                kernel_size=(4, 4),
                strides=(2, 2),
                padding=((1, 1), (1, 1)),  # PyTorch Conv2d(4, 2, padding=1): exact /2
                use_bias=not use_bn,
                kernel_init=dcgan_normal,
                dtype=self.dtype,
                name=f"down{i}",
            )
            x = cond.spectral(conv, self.spectral_norm, train)(x)
            if use_bn:
                x = _bn(train, self.bn_momentum, f"down{i}_bn", self.dtype)(x)
            return nn.leaky_relu(x, 0.2)

        down = rematerialised(down, self.remat)
        for i in range(self.n_down):
            x = down(self, x, i)
        return cond.discriminator_head(x.reshape(x.shape[0], -1), labels, conditioning=self.conditioning,
                                       num_classes=self.num_classes, kernel_init=dcgan_normal,
                                       spectral_norm=self.spectral_norm, train=train, dtype=self.dtype)


def generator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> nn.Module:
    """The Generator of ``cfg``; ``num_classes`` (the data's class count, None if unlabelled) is used iff
    ``cfg.conditioning != "none"``; ``dtype``, ``remat`` as the module docstring."""
    classes = cond.conditional_classes(lambda key: _get(cfg, key), num_classes)
    base, n = layout(image_shape, _get(cfg, "base_size"))
    return Generator(
        image_shape=tuple(int(s) for s in image_shape),
        width=int(_get(cfg, "width")),
        base=base,
        n_up=n,
        bn_momentum=float(_get(cfg, "bn_momentum")),
        num_classes=classes,
        dtype=dtype,
        remat=remat,
    )


def discriminator(cfg, image_shape, num_classes=None, *, dtype=jnp.float32, remat=False) -> nn.Module:
    """The Discriminator of ``cfg`` (see :func:`generator` for the arguments)."""
    classes = cond.conditional_classes(lambda key: _get(cfg, key), num_classes)
    _, n = layout(image_shape, _get(cfg, "base_size"))
    norm = _get(cfg, "d_norm")
    if norm not in D_NORMS:
        raise ConfigError(f"model.d_norm={norm!r}; choose one of {D_NORMS} "
                          f"(spectral normalisation is model.spectral_norm=True)")
    return Discriminator(
        width=int(_get(cfg, "width")),
        n_down=n,
        norm=norm,
        bn_momentum=float(_get(cfg, "bn_momentum")),
        conditioning=_get(cfg, "conditioning"),
        num_classes=classes,
        spectral_norm=bool(_get(cfg, "spectral_norm")),
        dtype=dtype,
        remat=remat,
    )


def latent(rng, n: int, cfg) -> jax.Array:
    """``z ~ N(0, I)``, shape ``[n, z_dim]`` (the paper used U(-1, 1); N(0, 1) is the common PyTorch choice)."""
    return jax.random.normal(rng, (n, int(_get(cfg, "z_dim"))), jnp.float32)
