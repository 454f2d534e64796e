"""MLP translators between low-dimensional domains and their critics: CycleGAN's players on toy points.

* Translator (``generator``): ``x [N, D] -> y [N, D]``, ``len(g_hidden)`` x [Dense -> ReLU] -> Dense(D); with
  ``residual`` the output is ``x + MLP(x)`` and a translator starts at the identity (the residual blocks of
  CycleGAN's ResNet generator, Zhu et al. 2017, in miniature). Off by default: on configs/cycle_toy.py the
  identity start stays near A (LSGAN: 0% of translated points within 0.1 of a mode of B after 2,000 steps;
  NS: 33% after 1,500), while the plain MLP puts 72% there after 1,500 steps and 100%, on all 8 modes, after
  3,000.
* Critic (``discriminator``): ``x [N, D] -> [N]``, ``len(d_units)`` x [Dense -> LeakyReLU(0.2)] -> Dense(1)
  (CycleGAN's PatchGAN activations, no normalisation, so input-gradient penalties see one example at a time).
* Weights ``N(0, init_std^2)``, biases 0; no BatchNorm (no model state), no dropout.

No ``latent``: a translator's input is a point of the other domain (:mod:`jaxgen.games.cycle`).
The contract of :mod:`jaxgen.models` holds with ``data_shape = (D,)`` in place of an image shape.
"""

from __future__ import annotations

import math

from flax import linen as nn

from jaxgen.errors import ConfigError
from jaxgen.nn.init import normal_around

__all__ = ["Critic", "Translator", "discriminator", "generator"]


class Translator(nn.Module):
    """``x [N, D] -> [N, out_dim]``: ``x + MLP(x)`` with `residual` (then ``out_dim`` is ``D``), else ``MLP(x)``."""

    out_dim: int
    hidden: tuple[int, ...] = (64, 64)
    residual: bool = False
    init_std: float = 0.02

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        del train  # nothing here depends on it
        if self.residual and x.shape[-1] != self.out_dim:
            raise ValueError(f"a residual translator maps {self.out_dim}-D points to themselves, got {x.shape[-1]}-D")
        init = normal_around(0.0, self.init_std)
        h = x
        for i, width in enumerate(self.hidden):
            h = nn.relu(nn.Dense(width, kernel_init=init, name=f"h{i}")(h))
        out = nn.Dense(self.out_dim, kernel_init=init, name="out")(h)
        return x + out if self.residual else out


class Critic(nn.Module):
    """``x [N, D] -> [N]`` logits (or critic values): a LeakyReLU MLP."""

    units: tuple[int, ...] = (64, 64)
    init_std: float = 0.02

    @nn.compact
    def __call__(self, x, *, train: bool = False):
        del train
        init = normal_around(0.0, self.init_std)
        h = x
        for i, width in enumerate(self.units):
            h = nn.leaky_relu(nn.Dense(width, kernel_init=init, name=f"h{i}")(h), 0.2)
        return nn.Dense(1, kernel_init=init, name="out")(h)[:, 0]


def _widths(cfg, key: str) -> tuple[int, ...]:
    widths = tuple(int(w) for w in cfg[key])
    if not widths or min(widths) < 1:
        raise ConfigError(f"model.{key} must be a non-empty tuple of positive widths, got {cfg[key]!r}")
    return widths


def generator(cfg, data_shape, num_classes=None) -> nn.Module:
    """The translator of `data_shape` = ``(D,)`` points to points of the same dimension."""
    if num_classes is not None:
        raise ConfigError("model.name='translator_mlp' has no class conditioning; set model.conditioning='none'")
    return Translator(out_dim=math.prod(data_shape), hidden=_widths(cfg, "g_hidden"), residual=bool(cfg.residual),
                      init_std=float(cfg.init_std))


def discriminator(cfg, data_shape=None, num_classes=None) -> nn.Module:
    del data_shape
    if num_classes is not None:
        raise ConfigError("model.name='translator_mlp' has no class conditioning; set model.conditioning='none'")
    return Critic(units=_widths(cfg, "d_units"), init_std=float(cfg.init_std))
