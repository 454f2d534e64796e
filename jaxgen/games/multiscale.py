"""Multi-scale gradients (Karnewar & Wang 2020, MSG-GAN): G's images at every resolution against D on all of them.

The classic game (:mod:`jaxgen.games.unconditional`: G(noise) against D, the same phases, objective and penalty)
with a multi-scale family (`model.name`, default :mod:`jaxgen.models.msggan`: a module with ``MULTI_SCALE``,
whose G returns the list ``[images_4, images_8, ..., images_H]`` and whose D takes such a list). One stage: no
growing, no fade-in.

D's reals are the batch average-pooled to every resolution, ``[avg_pool(x, H / r) for r = 4, ..., H]`` (the
paper's real pyramid); its fakes are G's list as it is, so D's gradient reaches every G level through that level's
own image. Penalties act on the whole list (WGAN-GP interpolates every scale with one eps per example, and the
gradient norm is taken over all scales together: :mod:`jaxgen.losses.penalties`). Samples (grids, evaluation,
`jaxgen sample`) are G's H x H images.

The extra D term ``drift`` = mean over the reals of D(x)^2 (weight `loss.weights.drift`, ProGAN's eps_drift 0.001,
with WGAN-GP). Unconditional only; there is no path-length term (G's output is a list).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxgen import models
from jaxgen.defaults import games as game_defaults
from jaxgen.errors import ConfigError
from jaxgen.games import progressive, unconditional
from jaxgen.nn.progressive import avg_pool


class MultiScale(progressive.Drift, unconditional.Unconditional):
    weights = game_defaults.WEIGHTS["multiscale"]
    g_reg = None
    g_reg_terms = ()

    def __init__(self, config, info: dict, mesh):
        if not getattr(models.get(config.model.name), "MULTI_SCALE", False):
            raise ConfigError(f"model.name={config.model.name!r} is not multi-scale: the multiscale game needs a G "
                              f"that returns an image per resolution, e.g. model.name='msggan'")
        super().__init__(config, info, mesh)
        self.levels = self.family.levels(self.image_shape)

    def pyramid(self, images):
        """``images [N, H, H, C]`` -> ``[avg_pool(images, H / r) [N, r, r, C] for r = 4, 8, ..., H]``."""
        return [avg_pool(images, 2 ** (self.levels - 1 - level)) for level in range(self.levels)]

    def init(self, rng):
        kg, kd, kz = jax.random.split(rng, 3)
        g_vars = dict(self.modules["g"].init(kg, self.family.latent(kz, 2, self.model_cfg), train=False))
        d_vars = dict(self.modules["d"].init(kd, self.pyramid(jnp.zeros((2, *self.image_shape))), train=False))
        return {"g": g_vars.pop("params"), "d": d_vars.pop("params")}, {"g": g_vars, "d": d_vars}

    def d_inputs(self, players, batch, key):
        inputs = super().d_inputs(players, batch, key)
        return {**inputs, "real": self.pyramid(inputs["real"])}

    def sample(self, players, key, n, labels=None, source=None):
        return super().sample(players, key, n, labels, source)[-1]


def build(config, info: dict, mesh) -> MultiScale:
    return MultiScale(config, info, mesh)
