"""LapGAN (Denton et al. 2015): a conditional GAN per level of a Laplacian pyramid, trained level by level.

Players ``g0 .. g{L-1}`` (group "g") and ``d0 .. d{L-1}`` (group "d"), the family's (`model.name`, default
:mod:`jaxgen.models.lapgan`: ``generators``, ``discriminators``, ``levels``, ``latent``, ``noise_plane``) networks of
the levels, coarsest first (:mod:`jaxgen.nn.laplacian`). Every level's parameters exist from init.

Stages: one per level, coarsest first, `model.level_steps` steps each (the last until `num_steps`). In stage l only
``g_l`` and ``d_l`` play; the others are not called, so they get zero gradients, and ``begin_stage`` zeroes both
optimizer groups' states (optax's initial state), so a zero gradient moves nothing: Adam's, RMSProp's and SGD's
update of a zero gradient from a zero state is exactly 0 (WGAN's weight clipping would clip their weights). The
levels are trained independently, as the paper's: level l's reals come from the batch's pyramid, not from the
coarser generators.

Terms (the paper's section 3, any `loss.objective`; the configs use ``ns``). Stage 0: D_0 tells the batch's low-pass
``I_0`` from ``G_0(z)``. Stage l >= 1: the conditioning image is ``low = u(I_{l-1})``, the batch's coarser level
up-sampled; D_l tells the real residual ``h_l = I_l - low`` from ``G_l(noise, low)``, both given ``low``
(penalties act on the residual, ``low`` fixed). No extra terms.

Samples run the pyramid: ``I_0 = G_0(z)``, then ``I_l = u(I_{l-1}) + G_l(noise_l, u(I_{l-1}))`` for the levels
trained so far (l <= the stage) and ``I_l = u(I_{l-1})`` for the levels not yet trained; the image is
``I_{L-1}`` at the data's size. The noise of a sample: ``z, noise_1, ..., noise_{L-1}`` from
``jax.random.split(key, L)`` in that order.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxgen import models
from jaxgen.defaults import games as game_defaults
from jaxgen.engine import accelerator, sharding
from jaxgen.errors import ConfigError
from jaxgen.games.base import Game
from jaxgen.nn import laplacian
from jaxgen.nn.laplacian import up


class Laplacian(Game):
    weights = game_defaults.WEIGHTS["laplacian"]
    options = ("dtype",)
    batch_keys = ("image",)

    def __init__(self, config, info: dict, mesh):
        cfg = self.model_cfg = config.model
        self.family = models.get(cfg.name)
        if not hasattr(self.family, "generators"):
            raise ConfigError(f"model.name={cfg.name!r} has no pyramid of networks: the laplacian game needs a "
                              f"generator and a discriminator per level, e.g. model.name='lapgan'")
        self.image_shape = tuple(info["image_shape"])
        self.sizes = self.family.levels(self.image_shape, cfg)
        self.levels = len(self.sizes)
        level_steps = int(cfg.level_steps)
        if level_steps < 1:
            raise ConfigError(f"config key 'model.level_steps' (steps per pyramid level) must be >= 1, "
                              f"got {cfg.level_steps}")
        self.stage_starts = tuple(level * level_steps for level in range(self.levels))
        gs, ds = (accelerator.network(build, config, cfg, self.image_shape)
                  for build in (self.family.generators, self.family.discriminators))
        self.g_players = tuple(f"g{level}" for level in range(self.levels))
        self.d_players = tuple(f"d{level}" for level in range(self.levels))
        self.modules = {**dict(zip(self.g_players, gs)), **dict(zip(self.d_players, ds))}
        self.batch = config.batch_size
        self.batch_sharded = sharding.batch_sharded(mesh)

    def _noise(self, rng, n, level):
        """Level `level`'s noise: ``z [n, z_dim]`` (level 0) or a plane ``[n, r, r, 1]``, sharded on the batch."""
        noise = (self.family.latent(rng, n, self.model_cfg) if level == 0
                 else self.family.noise_plane(rng, n, self.sizes[level]))
        return sharding.constrain(noise, self.batch_sharded)

    def _generate(self, players, noise, low, level, rng, train=True):
        """G_l: ``I_0`` (level 0, `low` None) or the residual ``h_l`` given ``low``."""
        name = self.g_players[level]
        return players(name, noise, rng=rng, train=train) if level == 0 else players(name, noise, low, rng=rng,
                                                                                       train=train)

    def _judge(self, players, x, low, level, rng, update=True):
        """D_l's logits [N] of ``I_0`` (level 0) or of a residual given ``low``."""
        name = self.d_players[level]
        args = (x,) if level == 0 else (x, low)
        return players(name, *args, rng=rng, update=update)

    def init(self, rng):
        params, model_state = {}, {}
        keys = jax.random.split(rng, 2 * self.levels + 1)
        z = self.family.latent(keys[-1], 2, self.model_cfg)
        channels = self.image_shape[-1]
        for level, size in enumerate(self.sizes):
            low = jnp.zeros((2, size, size, channels))
            g_args = (z,) if level == 0 else (jnp.zeros((2, size, size, 1)), low)
            d_args = (low,) if level == 0 else (low, low)
            for name, args, key in ((self.g_players[level], g_args, keys[2 * level]),
                                    (self.d_players[level], d_args, keys[2 * level + 1])):
                variables = dict(self.modules[name].init({"params": key, "dropout": key}, *args, train=False))
                params[name], model_state[name] = variables.pop("params"), variables
        return params, model_state

    def reals(self, images, level: int):
        """``images [N, H, H, C]`` -> (level `level`'s real: ``I_0`` or ``h_l``, its conditioning ``low`` or None)."""
        pyramid = laplacian.gaussian(images, self.levels)[: level + 1]
        if level == 0:
            return pyramid[0], None
        low = up(pyramid[level - 1])
        return pyramid[level] - low, low

    def d_inputs(self, players, batch, key):
        level = players.stage
        real, low = self.reals(batch["image"], level)
        kz, kg = jax.random.split(key)
        fake = self._generate(players, self._noise(kz, self.batch, level), low, level, kg)
        return {"real": real, "fake": fake, "low": low}

    def d_terms(self, players, inputs, keys):
        kr, kf = keys
        level, low = players.stage, inputs["low"]
        return {"d": (self._judge(players, inputs["real"], low, level, kr),
                      self._judge(players, inputs["fake"], low, level, kf))}, {}

    def critics(self, players, inputs, key):
        level, low = players.stage, inputs["low"]
        return {"d": (lambda x: self._judge(players, x, low, level, key, update=False), inputs["real"],
                      inputs["fake"])}

    def g_inputs(self, players, batch, keys):
        kz, _ = keys
        level = players.stage
        _, low = self.reals(batch["image"], level)
        return {"noise": self._noise(kz, self.batch, level), "low": low}

    def g_terms(self, players, inputs, keys):
        kg, kd = keys
        level, low = players.stage, inputs["low"]
        fake = self._generate(players, inputs["noise"], low, level, kg)
        return {"d": self._judge(players, fake, low, level, kd)}, {}

    def sample(self, players, key, n, labels=None, source=None):
        del labels, source
        keys = jax.random.split(key, self.levels)
        image = self._generate(players, self.family.latent(keys[0], n, self.model_cfg), None, 0, keys[0], False)
        for level in range(1, self.levels):
            low = up(image)
            image = low if level > players.stage else low + self._generate(
                players, self.family.noise_plane(keys[level], n, self.sizes[level]), low, level, keys[level], False)
        return image

    def begin_stage(self, state, stage: int):
        del stage
        return {**state, "opt": jax.tree.map(jnp.zeros_like, state["opt"])}


def build(config, info: dict, mesh) -> Laplacian:
    return Laplacian(config, info, mesh)
