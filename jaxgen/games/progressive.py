"""Progressive growing (Karras et al. 2018): the classic game, one stage per resolution 4, 8, ..., H, with fade-in.

The players and terms are :mod:`jaxgen.games.unconditional`'s (G(noise) against D; every term, penalty and lazy
phase the same); the networks (`model.name`, default :mod:`jaxgen.models.progan`: a family with
``levels(image_shape)``, its number of stages) take two more arguments, the stage (static) and the fade-in ``alpha``,
which this game passes. Stage ``s`` trains at resolution ``4 * 2**s``; it lasts ``ceil(model.stage_images / images
per step)`` steps (images per step: `batch_size` x `accumulate`), the last stage until `num_steps`. In each stage s > 0, ``alpha`` rises linearly with the images shown in the stage before this
step, from 0 at its first step to 1 after half of `model.stage_images` (the paper: 600k images of fade-in, then 600k
stable, per resolution), and stays 1.

Real images (the batch at the full resolution H) are shown to D at the stage's resolution, blended as the official
``process_reals``: ``x_s`` = the batch average-pooled to ``4 * 2**s``, then ``lerp(up2(avg_pool(x_s)), x_s, alpha)``,
so the reals fade in as G's images do. Samples (grids, evaluation, `jaxgen sample`) are G's images at the stage's
resolution up-sampled (nearest) to H x H.

The extra D term ``drift`` = mean over the reals of D(x)^2, weight `loss.weights.drift` (the paper's
eps_drift = 0.001, with WGAN-GP). ``begin_stage`` sets both optimizer groups' states to zero, optax's initial state
(Adam's count and moments) when `model.fresh_optimizers` (the official code resets them when the resolution grows;
it also resets them once more when the fade-in ends, which this does not).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxgen import models
from jaxgen.defaults import games as game_defaults
from jaxgen.errors import ConfigError
from jaxgen.games import unconditional
from jaxgen.nn.progressive import avg_pool, lerp, upsample_nearest


class Drift:
    """Mixed in before a game with one critic ``d``: the extra D term ``drift`` = mean over the reals of D(x)^2."""

    def d_terms(self, players, inputs, keys):
        outs, extras = super().d_terms(players, inputs, keys)
        return outs, {**extras, "drift": jnp.mean(jnp.square(outs["d"][0]))}


class Progressive(Drift, unconditional.Unconditional):
    weights = game_defaults.WEIGHTS["progressive"]

    def __init__(self, config, info: dict, mesh):
        if not hasattr(models.get(config.model.name), "levels"):
            raise ConfigError(f"model.name={config.model.name!r} does not grow: the progressive game needs networks "
                              f"that take (stage, alpha), e.g. model.name='progan'")
        super().__init__(config, info, mesh)
        cfg = config.model
        self.levels = self.family.levels(self.image_shape)
        self.images_per_step = int(config.batch_size) * int(config.accumulate)
        stage_images = int(cfg.stage_images)
        if stage_images < 2 * self.images_per_step:
            raise ConfigError(f"config key 'model.stage_images' ({stage_images}) must be at least two steps' images "
                              f"({2 * self.images_per_step}: batch_size x accumulate x 2)")
        self.fade_images = stage_images / 2
        stage_steps = -(-stage_images // self.images_per_step)
        self.stage_starts = tuple(s * stage_steps for s in range(self.levels))
        self.fresh_optimizers = bool(cfg.fresh_optimizers)

    def alpha(self, stage: int, step):
        """The fade-in at `step` (steps done before this one) of `stage`: images shown in the stage / half its
        images, clipped to [0, 1]; 1 in stage 0 (nothing to fade from)."""
        if stage == 0:
            return jnp.ones((), jnp.float32)
        shown = (step - self.stage_starts[stage]) * self.images_per_step
        return jnp.clip(shown / self.fade_images, 0.0, 1.0).astype(jnp.float32)

    def net_args(self, players, labels):
        del labels
        return players.stage, self.alpha(players.stage, players.step)

    def init(self, rng):
        kg, kd, kz = jax.random.split(rng, 3)
        top, one = self.levels - 1, jnp.ones((), jnp.float32)  # the last stage with every level's toRGB / fromRGB
        g_vars = dict(self.modules["g"].init(kg, self.family.latent(kz, 2, self.model_cfg), top, one, train=False))
        d_vars = dict(self.modules["d"].init(kd, jnp.zeros((2, *self.image_shape)), top, one, train=False))
        return {"g": g_vars.pop("params"), "d": d_vars.pop("params")}, {"g": g_vars, "d": d_vars}

    def reals(self, images, stage: int, alpha):
        """``images [N, H, H, C]`` -> D's reals at stage `stage`: ``[N, r, r, C]``, r = 4 * 2**stage, faded in."""
        x = avg_pool(images, 2 ** (self.levels - 1 - stage))
        return lerp(upsample_nearest(avg_pool(x)), x, alpha) if stage > 0 else x

    def d_inputs(self, players, batch, key):
        inputs = super().d_inputs(players, batch, key)
        return {**inputs, "real": self.reals(inputs["real"], players.stage, self.alpha(players.stage, players.step))}

    def sample(self, players, key, n, labels=None, source=None):
        images = super().sample(players, key, n, labels, source)
        return upsample_nearest(images, 2 ** (self.levels - 1 - players.stage))

    def begin_stage(self, state, stage: int):
        del stage
        return {**state, "opt": jax.tree.map(jnp.zeros_like, state["opt"])} if self.fresh_optimizers else state


def build(config, info: dict, mesh) -> Progressive:
    return Progressive(config, info, mesh)
